// The bootstrap parser, the address book and the Prometheus renderer (address_book.h).
#include "p2p/address_book.h"

#include <algorithm>

#include "codec/codec.h"
#include "core/status.h"
#include "core/utf8.h"
#include "crypto/did.h"
#include "storage/db.h"

namespace guts::p2p {

namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(Code::kInvalidArgument,
              "invalid peer address '" + printable_excerpt(text) + "': " + why);
}

std::string key_of(const crypto::PublicKey& id) {
  return std::string(id.begin(), id.end());
}

}  // namespace

BootstrapPeer parse_bootstrap(std::string_view text) {
  auto at = text.find('@');
  if (at == std::string_view::npos) bad(text, "expected did:key:…@host:port");
  if (text.find('@', at + 1) != std::string_view::npos) bad(text, "more than one '@'");
  auto did = text.substr(0, at);
  auto pk = crypto::parse_did(did);
  if (!pk) bad(text, "not a valid did:key (Ed25519)");
  BootstrapPeer b;
  b.id = *pk;
  b.addr = parse_host_port(text.substr(at + 1));
  return b;
}

// ---------------------------------------------------------------------------------------------

Bytes AddressEntry::encode() const {
  codec::Writer w(128 + announcement.size());
  w.u8(1).fixed(id).varint(addresses.size());
  for (const auto& a : addresses) w.str(a);
  w.boolean(bootstrap).u64be(last_seen).u64be(last_success).varint(failures).u64be(next_attempt);
  w.bytes(announcement);
  return w.take();
}

AddressEntry AddressEntry::decode(ByteView data) {
  codec::Reader r(data);
  if (r.u8() != 1) throw codec::DecodeError("address entry version");
  AddressEntry e;
  e.id = r.fixed<32>();
  size_t n = r.count(gossip::kMaxAddresses + 1, "addresses");
  for (size_t i = 0; i < n; ++i) e.addresses.push_back(r.str(gossip::kMaxAddressLen, "address"));
  e.bootstrap = r.boolean();
  e.last_seen = r.u64be();
  e.last_success = r.u64be();
  e.failures = static_cast<uint32_t>(r.varint_max(1000, "failures"));
  e.next_attempt = r.u64be();
  e.announcement = r.bytes(gossip::kMaxNodeAnnouncementLen, "announcement");
  r.finish();
  return e;
}

AddressBook::AddressBook(storage::Db* db, AddressBookConfig config) : db_(db), cfg_(config) {}

size_t AddressBook::load() {
  if (!db_) return 0;
  auto cf = db_->cf(kFamily);
  std::vector<std::string> broken;
  db_->scan_prefix(cf, "", [&](std::string_view k, std::string_view v) {
    try {
      auto e = AddressEntry::decode(as_bytes(v));
      if (key_of(e.id) != k) throw codec::DecodeError("key mismatch");
      entries_[e.id] = std::move(e);
    } catch (const Error&) {
      broken.emplace_back(k);
    }
    return true;
  });
  for (const auto& k : broken) {
    storage::Batch b;
    b.del(cf, k);
    db_->write(b, false);
  }
  return entries_.size();
}

void AddressBook::persist(const AddressEntry& e) {
  if (!db_) return;
  auto v = e.encode();
  db_->put(db_->cf(kFamily), key_of(e.id),
           std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
}

void AddressBook::erase(const crypto::PublicKey& id) {
  entries_.erase(id);
  if (!db_) return;
  storage::Batch b;
  b.del(db_->cf(kFamily), key_of(id));
  db_->write(b, false);
}

void AddressBook::add_bootstrap(const BootstrapPeer& peer) {
  auto& e = entries_[peer.id];
  e.id = peer.id;
  e.bootstrap = true;
  auto addr = peer.addr.to_string();
  if (std::find(e.addresses.begin(), e.addresses.end(), addr) == e.addresses.end()) {
    e.addresses.insert(e.addresses.begin(), addr);
    if (e.addresses.size() > gossip::kMaxAddresses + 1)
      e.addresses.resize(gossip::kMaxAddresses + 1);
  }
  persist(e);
}

bool AddressBook::add_announcement(const gossip::NodeAnnouncement& ann, Bytes encoded) {
  auto it = entries_.find(ann.node);
  if (it != entries_.end() && !it->second.announcement.empty()) {
    try {
      if (gossip::decode_node(it->second.announcement).timestamp >= ann.timestamp) return false;
    } catch (const Error&) {
    }
  }
  auto& e = entries_[ann.node];
  e.id = ann.node;
  if (!ann.addresses.empty() || !e.bootstrap) {
    std::vector<std::string> addrs = ann.addresses;
    // Keep a configured bootstrap address as a fallback after the announced ones.
    if (e.bootstrap && !e.addresses.empty() &&
        std::find(addrs.begin(), addrs.end(), e.addresses.front()) == addrs.end()) {
      addrs.push_back(e.addresses.front());
    }
    if (addrs != e.addresses) {
      e.addresses = std::move(addrs);
      e.failures = 0;  // new addresses: try them now
      e.next_attempt = 0;
    }
  }
  e.last_seen = std::max(e.last_seen, ann.timestamp);
  e.announcement = std::move(encoded);
  persist(e);
  return true;
}

uint64_t AddressBook::backoff(uint32_t failures) const {
  if (failures >= 40) return cfg_.backoff_cap_ms;
  uint64_t d = cfg_.backoff_unit_ms << failures;
  if (cfg_.backoff_unit_ms != 0 && (d >> failures) != cfg_.backoff_unit_ms)
    return cfg_.backoff_cap_ms;
  return std::min(d, cfg_.backoff_cap_ms);
}

void AddressBook::dial_failed(const crypto::PublicKey& id, uint64_t now) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto& e = it->second;
  e.failures = std::min<uint32_t>(e.failures + 1, 1000);
  e.next_attempt = now + backoff(e.failures);
  persist(e);
}

void AddressBook::connected(const crypto::PublicKey& id, uint64_t now) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // an inbound peer we have no address for
  auto& e = it->second;
  e.failures = 0;
  e.next_attempt = 0;
  e.last_success = now;
  e.last_seen = std::max(e.last_seen, now);
  persist(e);
}

std::vector<DialCandidate> AddressBook::candidates(uint64_t now,
                                                   const std::set<crypto::PublicKey>& exclude,
                                                   size_t n, std::mt19937_64& rng) const {
  std::vector<const AddressEntry*> pool;
  for (const auto& [id, e] : entries_) {
    if (e.addresses.empty() || exclude.count(id) || e.next_attempt > now) continue;
    pool.push_back(&e);
  }
  std::shuffle(pool.begin(), pool.end(), rng);
  std::stable_sort(pool.begin(), pool.end(), [](const AddressEntry* a, const AddressEntry* b) {
    auto rank = [](const AddressEntry* e) { return e->bootstrap ? 0 : e->last_success ? 1 : 2; };
    return rank(a) < rank(b);
  });
  std::vector<DialCandidate> out;
  for (const auto* e : pool) {
    if (out.size() >= n) break;
    // Rotate through the addresses as dials fail.
    for (size_t i = 0; i < e->addresses.size(); ++i) {
      const auto& a = e->addresses[(e->failures + i) % e->addresses.size()];
      try {
        out.push_back({e->id, parse_host_port(a)});
        break;
      } catch (const Error&) {
      }
    }
  }
  return out;
}

size_t AddressBook::expire(uint64_t now) {
  if (now <= cfg_.ttl_ms) return 0;
  std::vector<crypto::PublicKey> dead;
  for (const auto& [id, e] : entries_) {
    if (!e.bootstrap && std::max(e.last_seen, e.last_success) < now - cfg_.ttl_ms)
      dead.push_back(id);
  }
  for (const auto& id : dead) erase(id);
  return dead.size();
}

std::optional<AddressEntry> AddressBook::get(const crypto::PublicKey& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<AddressEntry> AddressBook::entries() const {
  std::vector<AddressEntry> out;
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

// ---------------------------------------------------------------------------------------------

std::string render_prometheus(const std::map<std::string, uint64_t>& metrics) {
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> families;
  for (const auto& [name, value] : metrics)
    families[name.substr(0, name.find('{'))].emplace_back(name, value);
  std::string out;
  for (const auto& [f, samples] : families) {
    bool counter = f.size() > 6 && f.compare(f.size() - 6, 6, "_total") == 0;
    out += "# TYPE " + f + (counter ? " counter\n" : " gauge\n");
    for (const auto& [name, value] : samples) out += name + " " + std::to_string(value) + "\n";
  }
  return out;
}

}  // namespace guts::p2p
