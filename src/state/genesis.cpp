#include "state/genesis.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/fs.h"
#include "core/status.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "state/tx.h"

namespace guts::state {

Bytes Genesis::encode() const {
  codec::Writer w;
  w.str("guts/genesis").u8(1).str(chain_id).varint(genesis_time_ms).varint(validators.size());
  for (const auto& v : validators) w.fixed(v.key).str(v.p2p_address);
  w.varint(leader_timeout_ms).varint(certification_timeout_ms).varint(timeout_retry_ms);
  if (!accounts.empty()) {
    w.str("accounts").varint(accounts.size());
    for (const auto& a : accounts) {
      w.fixed(a.key).str(a.username).varint(a.repositories.size());
      for (const auto& r : a.repositories) w.str(r);
    }
  }
  if (governance) {
    w.str("governance").str(governance->organization).varint(governance->owners.size());
    for (const auto& o : governance->owners) w.str(o);
    w.varint(governance->epoch_length);
  }
  return w.take();
}

Digest Genesis::id() const {
  return crypto::sha256(encode());
}

Digest Genesis::initial_state_root() const {
  codec::Writer w;
  w.str("guts/state-root/genesis").fixed(id());
  return crypto::sha256(w.data());
}

std::string Genesis::to_json() const {
  nlohmann::ordered_json j;
  j["chain_id"] = chain_id;
  j["genesis_time_ms"] = genesis_time_ms;
  auto vals = nlohmann::ordered_json::array();
  for (const auto& v : validators)
    vals.push_back({{"did", crypto::did_from_key(v.key)}, {"p2p_address", v.p2p_address}});
  j["validators"] = vals;
  j["consensus"] = {{"leader_timeout_ms", leader_timeout_ms},
                    {"certification_timeout_ms", certification_timeout_ms},
                    {"timeout_retry_ms", timeout_retry_ms}};
  if (!accounts.empty()) {
    auto accs = nlohmann::ordered_json::array();
    for (const auto& a : accounts)
      accs.push_back({{"did", crypto::did_from_key(a.key)},
                      {"username", a.username},
                      {"repositories", a.repositories}});
    j["accounts"] = accs;
  }
  if (governance)
    j["governance"] = {{"organization", governance->organization},
                       {"owners", governance->owners},
                       {"epoch_length", governance->epoch_length}};
  return j.dump(2) + "\n";
}

namespace {
constexpr size_t kMaxGenesisAccounts = 10000;
constexpr size_t kMaxGenesisRepositories = 1000;
constexpr uint64_t kMinEpochLength = 2;
constexpr uint64_t kMaxEpochLength = 1'000'000'000;
}  // namespace

Genesis Genesis::from_json(std::string_view text) {
  auto bad = [](const std::string& why) {
    return Error(Code::kInvalidArgument, "genesis: " + why);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw bad(std::string("not valid JSON: ") + e.what());
  }
  try {
    Genesis g;
    g.chain_id = j.at("chain_id").get<std::string>();
    if (g.chain_id.empty() || g.chain_id.size() > kMaxChainIdBytes)
      throw bad("chain_id must be 1 to 64 bytes");
    g.genesis_time_ms = j.value("genesis_time_ms", uint64_t{0});
    for (const auto& v : j.at("validators")) {
      auto key = crypto::parse_did(v.at("did").get<std::string>());
      if (!key) throw bad("invalid validator did " + v.at("did").get<std::string>());
      g.validators.push_back({*key, v.value("p2p_address", std::string())});
    }
    if (g.validators.empty()) throw bad("at least one validator is required");
    if (j.contains("consensus")) {
      const auto& c = j["consensus"];
      g.leader_timeout_ms = c.value("leader_timeout_ms", g.leader_timeout_ms);
      g.certification_timeout_ms = c.value("certification_timeout_ms", g.certification_timeout_ms);
      g.timeout_retry_ms = c.value("timeout_retry_ms", g.timeout_retry_ms);
    }
    if (j.contains("accounts")) {
      if (j["accounts"].size() > kMaxGenesisAccounts) throw bad("too many accounts");
      for (const auto& a : j["accounts"]) {
        GenesisAccount acc;
        auto key = crypto::parse_did(a.at("did").get<std::string>());
        if (!key) throw bad("invalid account did " + a.at("did").get<std::string>());
        acc.key = *key;
        acc.username = a.at("username").get<std::string>();
        if (a.contains("repositories")) {
          if (a["repositories"].size() > kMaxGenesisRepositories)
            throw bad("too many repositories for " + acc.username);
          for (const auto& r : a["repositories"]) acc.repositories.push_back(r.get<std::string>());
        }
        g.accounts.push_back(std::move(acc));
      }
    }
    if (j.contains("governance")) {
      const auto& gj = j["governance"];
      GenesisGovernance gov;
      gov.organization = gj.at("organization").get<std::string>();
      gov.epoch_length = gj.at("epoch_length").get<uint64_t>();
      if (gov.epoch_length < kMinEpochLength || gov.epoch_length > kMaxEpochLength)
        throw bad("governance.epoch_length must be " + std::to_string(kMinEpochLength) + " to " +
                  std::to_string(kMaxEpochLength) + " blocks");
      if (gj.at("owners").size() > kMaxGenesisAccounts) throw bad("too many governance owners");
      for (const auto& o : gj.at("owners")) {
        auto name = o.get<std::string>();
        bool known = std::any_of(g.accounts.begin(), g.accounts.end(),
                                 [&](const GenesisAccount& a) { return a.username == name; });
        if (!known) throw bad("governance owner " + name + " is not a genesis account");
        gov.owners.push_back(std::move(name));
      }
      if (gov.owners.empty()) throw bad("governance needs at least one owner");
      g.governance = std::move(gov);
    }
    return g;
  } catch (const nlohmann::json::exception& e) {
    throw bad(e.what());
  }
}

Genesis Genesis::load(const std::filesystem::path& path) {
  auto data = read_file(path, 1 << 20);
  return from_json(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

void Genesis::save(const std::filesystem::path& path) const {
  atomic_write_file(path, as_bytes(to_json()), 0644);
}

Genesis Genesis::single_validator(const crypto::PublicKey& validator, uint64_t now_ms) {
  Genesis g;
  g.chain_id = "guts-local-" + hex_encode(crypto::random_array<6>());
  g.genesis_time_ms = now_ms;
  g.validators.push_back({validator, ""});
  return g;
}

}  // namespace guts::state
