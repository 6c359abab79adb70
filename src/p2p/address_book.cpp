// Parsers, the address book and the Prometheus renderer (sans-I/O; guts_p2p). The live
// Discovery component is in discovery_service.cpp (guts_p2p_net).
#include "p2p/discovery.h"

#include <arpa/inet.h>

#include <algorithm>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/did.h"
#include "storage/db.h"

namespace guts::p2p {

namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  std::string shown(text.substr(0, 120));
  for (auto& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  throw Error(Code::kInvalidArgument, "invalid peer address '" + shown + "': " + why);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    auto part = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (!all_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return parts == 4;
}

bool valid_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    auto label = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return true;
}

std::string key_of(const crypto::PublicKey& id) {
  return std::string(id.begin(), id.end());
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

HostPort parse_host_port(std::string_view text) {
  if (text.empty()) bad(text, "empty");
  if (text.size() > gossip::kMaxAddressLen) bad(text, "too long");
  HostPort hp;
  std::string_view port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) bad(text, "unterminated '['");
    auto host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') bad(text, "missing ':port' after ']'");
    port = text.substr(close + 2);
    in6_addr a6;
    std::string h(host);
    if (h.empty() || h.find('%') != std::string::npos || inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
      bad(text, "not an IPv6 address between brackets");
    }
    hp.host = std::move(h);
  } else {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) bad(text, "missing ':port'");
    if (text.find(':', colon + 1) != std::string_view::npos) {
      bad(text, "IPv6 addresses must be written in brackets ([::1]:9000)");
    }
    auto host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) bad(text, "missing host");
    bool numeric = std::all_of(host.begin(), host.end(),
                               [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric ? !valid_ipv4(host) : !valid_dns_name(host)) {
      bad(text, numeric ? "not a dotted-quad IPv4 address" : "not a valid host name");
    }
    hp.host = std::string(host);
  }
  if (!all_digits(port) || port.size() > 5 || port[0] == '0') bad(text, "port must be 1..65535");
  auto p = std::stoul(std::string(port));
  if (p == 0 || p > 65535) bad(text, "port must be 1..65535");
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

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
