// Kind 74 (set_validator_set): wire encodings, records and the epoch schedule
// (state/validator_set.h).
#include "state/validator_set.h"

#include <algorithm>
#include <set>

#include "codec/codec.h"
#include "core/assert.h"
#include "core/status.h"

namespace guts::state {

namespace {
constexpr uint8_t kRecordVersion = 1;

void put_validators(codec::Writer& w, const std::vector<Validator>& vs) {
  w.varint(vs.size());
  for (const auto& v : vs) w.fixed(v.key).str(v.p2p_address);
}

std::vector<Validator> get_validators(codec::Reader& r) {
  std::vector<Validator> out(r.count(kMaxValidators, "validators"));
  for (auto& v : out) {
    v.key = r.fixed<32>();
    v.p2p_address = r.str(kMaxP2pAddress, "p2p_address");
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
}  // namespace

void encode_set_validator_set(codec::Writer& w, const SetValidatorSet& b) {
  w.varint(b.activation_height);
  put_validators(w, b.validators);
}

SetValidatorSet decode_set_validator_set(codec::Reader& r) {
  SetValidatorSet b;
  b.activation_height = r.varint();
  b.validators = get_validators(r);
  return b;
}

std::string encode_network_governance(const NetworkGovernance& g) {
  codec::Writer w;
  w.u8(kRecordVersion).fixed(g.org).varint(g.epoch_length);
  return guts::to_string(w.data());
}

NetworkGovernance decode_network_governance(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("unsupported network governance version");
  NetworkGovernance g;
  g.org = r.fixed<32>();
  g.epoch_length = r.varint();
  r.finish();
  return g;
}

std::string encode_validator_change(const ValidatorChange& c) {
  codec::Writer w;
  w.u8(kRecordVersion).varint(c.activation_height);
  put_validators(w, c.validators);
  w.fixed(c.author).varint(c.executed_height).varint(c.executed_ms);
  return guts::to_string(w.data());
}

ValidatorChange decode_validator_change(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("unsupported validator change version");
  ValidatorChange c;
  c.activation_height = r.varint();
  c.validators = get_validators(r);
  c.author = r.fixed<32>();
  c.executed_height = r.varint();
  c.executed_ms = r.varint();
  r.finish();
  return c;
}

std::string validator_change_key(uint64_t activation_height) {
  codec::Writer w;
  w.u64be(activation_height);
  return std::string(kValidatorChangePrefix) + guts::to_string(w.data());
}

std::optional<std::string> validator_set_error(const std::vector<Validator>& validators) {
  if (validators.empty() || validators.size() > kMaxValidators)
    return "validators: 1 to " + std::to_string(kMaxValidators) + " validators";
  std::set<crypto::PublicKey> seen;
  for (size_t i = 0; i < validators.size(); ++i) {
    const auto& v = validators[i];
    const std::string at = "validators[" + std::to_string(i) + "]";
    if (!seen.insert(v.key).second) return at + ".key: listed twice";
    // host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
    const auto& a = v.p2p_address;
    auto colon = a.rfind(':');
    if (a.size() > kMaxP2pAddress || colon == std::string::npos || colon == 0 ||
        colon + 1 == a.size() || a.size() - colon - 1 > 5 ||
        !std::all_of(a.begin() + static_cast<ptrdiff_t>(colon) + 1, a.end(), is_digit) ||
        std::stoul(a.substr(colon + 1)) == 0 || std::stoul(a.substr(colon + 1)) > 65535)
      return at + ".p2p_address: host:port is required";
    for (char c : a)
      if (c <= ' ' || c > '~') return at + ".p2p_address: printable ASCII without spaces";
  }
  return std::nullopt;
}

std::vector<crypto::PublicKey> ValidatorEpoch::keys() const {
  std::vector<crypto::PublicKey> out;
  out.reserve(validators.size());
  for (const auto& v : validators) out.push_back(v.key);
  return out;
}

ValidatorSchedule::ValidatorSchedule(const Genesis& genesis,
                                     const std::vector<ValidatorChange>& changes) {
  epochs_.push_back({0, 1, genesis.validators});
  for (const auto& c : changes)
    epochs_.push_back({epochs_.size(), c.activation_height, c.validators});
  epoch_length_ = genesis.governance ? genesis.governance->epoch_length : 0;
}

ValidatorSchedule ValidatorSchedule::fixed(std::vector<Validator> validators) {
  ValidatorSchedule s;
  s.epochs_.push_back({0, 1, std::move(validators)});
  return s;
}

const ValidatorEpoch& ValidatorSchedule::at_height(uint64_t h) const {
  GUTS_ASSERT(!epochs_.empty(), "a schedule built from a genesis");
  // The last epoch whose first height is <= h (epoch 0 starts at 1 and also answers 0).
  auto it =
      std::upper_bound(epochs_.begin() + 1, epochs_.end(), h,
                       [](uint64_t x, const ValidatorEpoch& e) { return x < e.first_height; });
  return *(it - 1);
}

const ValidatorEpoch* ValidatorSchedule::epoch(uint64_t number) const {
  return number < epochs_.size() ? &epochs_[number] : nullptr;
}

std::optional<uint64_t> ValidatorSchedule::last_height(uint64_t number) const {
  if (number + 1 >= epochs_.size()) return std::nullopt;
  return epochs_[number + 1].first_height - 1;
}

}  // namespace guts::state
