#include "p2p/gossip.h"

#include <algorithm>

#include "codec/codec.h"
#include "core/status.h"
#include "p2p/address_book.h"

namespace guts::p2p::gossip {

namespace {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;

Bytes signing_input(std::string_view network, const Bytes& unsigned_bytes) {
  Writer w(unsigned_bytes.size() + network.size() + 2);
  w.str(network).fixed(unsigned_bytes);
  return w.take();
}

void put_type(Writer& w, Type t) {
  w.u8(static_cast<uint8_t>(t));
}

// Every decoder starts after the type byte.
NodeAnnouncement read_node(Reader& r) {
  NodeAnnouncement a;
  a.node = r.fixed<32>();
  a.timestamp = r.u64be();
  a.features = r.varint();
  a.user_agent = r.str(kMaxUserAgent, "user agent");
  for (char c : a.user_agent) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw DecodeError("control character in user agent");
  }
  size_t n = r.count(kMaxAddresses, "addresses");
  std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    auto addr = r.str(kMaxAddressLen, "address");
    try {
      if (parse_host_port(addr).to_string() != addr) throw DecodeError("non-canonical address");
    } catch (const DecodeError&) {
      throw;
    } catch (const Error& e) {
      throw DecodeError(e.what());
    }
    if (!seen.insert(addr).second) throw DecodeError("duplicate address");
    a.addresses.push_back(std::move(addr));
  }
  a.signature = r.fixed<64>();
  return a;
}

InventoryAnnouncement read_inventory(Reader& r) {
  InventoryAnnouncement a;
  a.node = r.fixed<32>();
  a.timestamp = r.u64be();
  a.page = r.varint();
  a.pages = r.varint_max(kMaxInventoryPages, "inventory pages");
  if (a.pages == 0 || a.page >= a.pages) throw DecodeError("inventory page out of range");
  size_t n = r.count(kInventoryPageSize, "repositories");
  a.repos.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto repo = r.str(kMaxRepoIdLen, "repository id");
    if (repo.empty()) throw DecodeError("empty repository id");
    if (!a.repos.empty() && !(a.repos.back() < repo)) {
      throw DecodeError("repositories not strictly ascending");
    }
    a.repos.push_back(std::move(repo));
  }
  a.signature = r.fixed<64>();
  return a;
}

RefsAnnouncement read_refs(Reader& r) {
  RefsAnnouncement a;
  a.node = r.fixed<32>();
  a.repo = r.str(kMaxRepoIdLen, "repository id");
  if (a.repo.empty()) throw DecodeError("empty repository id");
  a.timestamp = r.u64be();
  size_t n = r.count(kMaxRefs, "refs");
  a.refs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Ref ref;
    ref.name = r.str(kMaxRefNameLen, "ref name");
    if (ref.name.empty()) throw DecodeError("empty ref name");
    if (!a.refs.empty() && !(a.refs.back().name < ref.name)) {
      throw DecodeError("refs not strictly ascending");
    }
    ref.oid = r.bytes(kMaxOidLen, "object id");
    if (ref.oid.empty()) throw DecodeError("empty object id");
    a.refs.push_back(std::move(ref));
  }
  a.signature = r.fixed<64>();
  return a;
}

template <typename T>
T decode_one(ByteView data, Type type, T (*read)(Reader&)) {
  Reader r(data);
  if (r.u8() != static_cast<uint8_t>(type)) throw DecodeError("unexpected gossip message type");
  auto v = read(r);
  r.finish();
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoding

Bytes NodeAnnouncement::unsigned_bytes() const {
  Writer w(128);
  put_type(w, Type::kNode);
  w.fixed(node).u64be(timestamp).varint(features).str(user_agent).varint(addresses.size());
  for (const auto& a : addresses) w.str(a);
  return w.take();
}
Bytes NodeAnnouncement::encode() const {
  auto b = unsigned_bytes();
  b.insert(b.end(), signature.begin(), signature.end());
  return b;
}
void NodeAnnouncement::sign(const crypto::SigningKey& key, std::string_view network) {
  node = key.public_key();
  signature = key.sign(kNodeDomain, signing_input(network, unsigned_bytes()));
}
bool NodeAnnouncement::verify(std::string_view network) const {
  return crypto::verify(node, kNodeDomain, signing_input(network, unsigned_bytes()), signature);
}

Bytes InventoryAnnouncement::unsigned_bytes() const {
  Writer w(64 + repos.size() * 16);
  put_type(w, Type::kInventory);
  w.fixed(node).u64be(timestamp).varint(page).varint(pages).varint(repos.size());
  for (const auto& r : repos) w.str(r);
  return w.take();
}
Bytes InventoryAnnouncement::encode() const {
  auto b = unsigned_bytes();
  b.insert(b.end(), signature.begin(), signature.end());
  return b;
}
void InventoryAnnouncement::sign(const crypto::SigningKey& key, std::string_view network) {
  node = key.public_key();
  signature = key.sign(kInventoryDomain, signing_input(network, unsigned_bytes()));
}
bool InventoryAnnouncement::verify(std::string_view network) const {
  return crypto::verify(node, kInventoryDomain, signing_input(network, unsigned_bytes()),
                        signature);
}

Bytes RefsAnnouncement::unsigned_bytes() const {
  Writer w(64 + refs.size() * 64);
  put_type(w, Type::kRefs);
  w.fixed(node).str(repo).u64be(timestamp).varint(refs.size());
  for (const auto& r : refs) w.str(r.name).bytes(r.oid);
  return w.take();
}
Bytes RefsAnnouncement::encode() const {
  auto b = unsigned_bytes();
  b.insert(b.end(), signature.begin(), signature.end());
  return b;
}
void RefsAnnouncement::sign(const crypto::SigningKey& key, std::string_view network) {
  node = key.public_key();
  signature = key.sign(kRefsDomain, signing_input(network, unsigned_bytes()));
}
bool RefsAnnouncement::verify(std::string_view network) const {
  return crypto::verify(node, kRefsDomain, signing_input(network, unsigned_bytes()), signature);
}

Bytes Subscribe::encode() const {
  Writer w(9);
  put_type(w, Type::kSubscribe);
  w.u64be(since);
  return w.take();
}

Bytes GetPeers::encode() const {
  Writer w(4);
  put_type(w, Type::kGetPeers);
  w.varint(max);
  return w.take();
}

Bytes Peers::encode() const {
  Writer w(16 + nodes.size() * 200);
  put_type(w, Type::kPeers);
  w.varint(nodes.size());
  for (const auto& n : nodes) w.bytes(n.encode());
  return w.take();
}

// ---------------------------------------------------------------------------------------------
// Decoding

NodeAnnouncement decode_node(ByteView data) {
  return decode_one(data, Type::kNode, &read_node);
}
InventoryAnnouncement decode_inventory(ByteView data) {
  return decode_one(data, Type::kInventory, &read_inventory);
}
RefsAnnouncement decode_refs(ByteView data) {
  return decode_one(data, Type::kRefs, &read_refs);
}

Message decode(ByteView data) {
  Reader r(data);
  auto type = r.u8();
  switch (static_cast<Type>(type)) {
    case Type::kNode:
      return decode_node(data);
    case Type::kInventory:
      return decode_inventory(data);
    case Type::kRefs:
      return decode_refs(data);
    case Type::kSubscribe: {
      Subscribe s;
      s.since = r.u64be();
      r.finish();
      return s;
    }
    case Type::kGetPeers: {
      GetPeers g;
      g.max = r.varint_max(kMaxPeers, "peers requested");
      if (g.max == 0) throw DecodeError("zero peers requested");
      r.finish();
      return g;
    }
    case Type::kPeers: {
      Peers p;
      size_t n = r.count(kMaxPeers, "peers");
      for (size_t i = 0; i < n; ++i) {
        p.nodes.push_back(decode_node(r.bytes_view(kMaxNodeAnnouncementLen, "node announcement")));
      }
      r.finish();
      return p;
    }
  }
  throw DecodeError("unknown gossip message type " + std::to_string(type));
}

std::vector<InventoryAnnouncement> make_inventory(const crypto::SigningKey& key,
                                                  std::string_view network, uint64_t timestamp,
                                                  std::vector<std::string> repos) {
  std::sort(repos.begin(), repos.end());
  repos.erase(std::unique(repos.begin(), repos.end()), repos.end());
  for (const auto& r : repos) {
    if (r.empty() || r.size() > kMaxRepoIdLen) {
      throw Error(Code::kInvalidArgument,
                  "repository id must be 1.." + std::to_string(kMaxRepoIdLen) + " bytes: " + r);
    }
  }
  uint64_t pages =
      std::max<uint64_t>(1, (repos.size() + kInventoryPageSize - 1) / kInventoryPageSize);
  if (pages > kMaxInventoryPages) throw Error(Code::kTooLarge, "inventory too large");
  std::vector<InventoryAnnouncement> out;
  for (uint64_t p = 0; p < pages; ++p) {
    InventoryAnnouncement a;
    a.timestamp = timestamp;
    a.page = p;
    a.pages = pages;
    size_t begin = p * kInventoryPageSize;
    size_t end = std::min(repos.size(), begin + kInventoryPageSize);
    a.repos.assign(repos.begin() + static_cast<ptrdiff_t>(begin),
                   repos.begin() + static_cast<ptrdiff_t>(end));
    a.sign(key, network);
    out.push_back(std::move(a));
  }
  return out;
}

const char* result_name(Outcome::Result r) {
  switch (r) {
    case Outcome::Result::kAccepted:
      return "accepted";
    case Outcome::Result::kDuplicate:
      return "duplicate";
    case Outcome::Result::kStale:
      return "stale";
    case Outcome::Result::kFuture:
      return "future";
    case Outcome::Result::kUnknownNode:
      return "unknown_node";
    case Outcome::Result::kOwn:
      return "own";
    case Outcome::Result::kCapacity:
      return "capacity";
    case Outcome::Result::kRequest:
      return "request";
    case Outcome::Result::kViolation:
      return "violation";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// State machine

Gossip::Gossip(crypto::SigningKey key, GossipConfig config) : key_(key), cfg_(std::move(config)) {}

uint64_t Gossip::next_timestamp(uint64_t now) {
  last_own_ts_ = std::max(now, last_own_ts_ + 1);
  return last_own_ts_;
}

std::optional<Outcome::Result> Gossip::check_time(uint64_t ts, uint64_t now) const {
  if (ts > now && ts - now > cfg_.max_clock_skew_ms) return Outcome::Result::kFuture;
  if (now > ts && now - ts > cfg_.ttl_ms) return Outcome::Result::kStale;
  return std::nullopt;
}

Outcome Gossip::handle(const crypto::PublicKey& from, ByteView message, uint64_t now) {
  Message msg;
  try {
    msg = decode(message);
  } catch (const codec::DecodeError& e) {
    Outcome o;
    o.result = Outcome::Result::kViolation;
    o.reason = std::string("gossip ") + e.what();
    return o;
  }
  if (auto* n = std::get_if<NodeAnnouncement>(&msg))
    return on_node(from, std::move(*n), message, now);
  if (auto* i = std::get_if<InventoryAnnouncement>(&msg))
    return on_inventory(std::move(*i), message, now);
  if (auto* r = std::get_if<RefsAnnouncement>(&msg)) return on_refs(std::move(*r), message, now);
  Outcome o;
  o.result = Outcome::Result::kRequest;
  if (auto* s = std::get_if<Subscribe>(&msg)) {
    o.replies = replay(s->since);
  } else if (auto* g = std::get_if<GetPeers>(&msg)) {
    o.replies.push_back(peers_message(g->max, from));
  } else if (auto* p = std::get_if<Peers>(&msg)) {
    // Each entry is handled as a node announcement; a bad one is the sender's misbehaviour.
    o.result = Outcome::Result::kDuplicate;
    for (auto& ann : p->nodes) {
      auto raw = ann.encode();
      auto sub = on_node(from, std::move(ann), raw, now);
      if (sub.result == Outcome::Result::kViolation) return sub;
      if (sub.result == Outcome::Result::kAccepted) o.result = Outcome::Result::kAccepted;
      o.reannounce = o.reannounce || sub.reannounce;
      for (auto& b : sub.relay) o.relay.push_back(std::move(b));
      for (auto& n : sub.nodes) o.nodes.push_back(std::move(n));
    }
  }
  return o;
}

Outcome Gossip::on_node(const crypto::PublicKey& from, NodeAnnouncement ann, ByteView raw,
                        uint64_t now) {
  Outcome o;
  if (!ann.verify(cfg_.network)) {
    o.result = Outcome::Result::kViolation;
    o.reason = "gossip: bad node announcement signature";
    return o;
  }
  if (ann.node == id()) {
    o.result = Outcome::Result::kOwn;
    if (ann.timestamp >= last_own_ts_) {  // e.g. our clock went back across a restart
      last_own_ts_ = ann.timestamp;
      o.reannounce = true;
    }
    return o;
  }
  if (auto t = check_time(ann.timestamp, now)) {
    o.result = *t;
    return o;
  }
  auto it = nodes_.find(ann.node);
  if (it != nodes_.end() && ann.timestamp <= it->second.ann.timestamp) {
    o.result = Outcome::Result::kDuplicate;
    return o;
  }
  if (it == nodes_.end() && cfg_.max_nodes != 0 && nodes_.size() >= cfg_.max_nodes) {
    o.result = Outcome::Result::kCapacity;
    return o;
  }
  (void)from;
  Bytes bytes(raw.begin(), raw.end());
  o.result = Outcome::Result::kAccepted;
  o.relay.push_back(bytes);
  o.nodes.push_back(ann);
  auto node = ann.node;  // (the right side of = is evaluated first)
  nodes_[node] = NodeEntry{std::move(ann), std::move(bytes)};
  return o;
}

Outcome Gossip::on_inventory(InventoryAnnouncement inv, ByteView raw, uint64_t now) {
  Outcome o;
  if (!inv.verify(cfg_.network)) {
    o.result = Outcome::Result::kViolation;
    o.reason = "gossip: bad inventory signature";
    return o;
  }
  if (inv.node == id()) {
    o.result = Outcome::Result::kOwn;
    if (inv.timestamp >= last_own_ts_) {
      last_own_ts_ = inv.timestamp;
      o.reannounce = true;
    }
    return o;
  }
  if (auto t = check_time(inv.timestamp, now)) {
    o.result = *t;
    return o;
  }
  if (!nodes_.count(inv.node)) {
    o.result = Outcome::Result::kUnknownNode;
    return o;
  }
  auto it = inventories_.find(inv.node);
  if (it != inventories_.end()) {
    const auto& cur = it->second;
    // Older generation, a page already held, or a page count that contradicts the generation.
    if (inv.timestamp < cur.timestamp ||
        (inv.timestamp == cur.timestamp && (cur.raw.count(inv.page) || cur.pages != inv.pages))) {
      o.result = Outcome::Result::kDuplicate;
      return o;
    }
  }
  Bytes bytes(raw.begin(), raw.end());
  o.result = Outcome::Result::kAccepted;
  o.relay.push_back(bytes);
  store_inventory(inv, std::move(bytes));
  return o;
}

void Gossip::store_inventory(const InventoryAnnouncement& inv, Bytes raw) {
  auto& cur = inventories_[inv.node];
  if (inv.timestamp > cur.timestamp || cur.pages == 0) {
    cur.timestamp = inv.timestamp;
    cur.pages = inv.pages;
    cur.raw.clear();
    cur.complete = false;
  }
  cur.raw[inv.page] = std::move(raw);
  auto& hosted = hosted_[inv.node];
  for (const auto& repo : inv.repos) {
    auto& ts = routes_[repo][inv.node];
    ts = std::max(ts, inv.timestamp);
    hosted.insert(repo);
  }
  if (cur.raw.size() == cur.pages && !cur.complete) {
    // A complete generation replaces the previous one: repositories it no longer lists go.
    cur.complete = true;
    for (auto h = hosted.begin(); h != hosted.end();) {
      auto rit = routes_.find(*h);
      auto nit = rit->second.find(inv.node);
      if (nit->second < cur.timestamp) {
        rit->second.erase(nit);
        if (rit->second.empty()) routes_.erase(rit);
        h = hosted.erase(h);
      } else {
        ++h;
      }
    }
  }
  if (hosted.empty()) hosted_.erase(inv.node);
}

Outcome Gossip::on_refs(RefsAnnouncement refs, ByteView raw, uint64_t now) {
  Outcome o;
  if (!refs.verify(cfg_.network)) {
    o.result = Outcome::Result::kViolation;
    o.reason = "gossip: bad refs announcement signature";
    return o;
  }
  if (refs.node == id()) {
    o.result = Outcome::Result::kOwn;
    if (refs.timestamp >= last_own_ts_) {
      last_own_ts_ = refs.timestamp;
      o.reannounce = true;
    }
    return o;
  }
  if (auto t = check_time(refs.timestamp, now)) {
    o.result = *t;
    return o;
  }
  if (!nodes_.count(refs.node)) {
    o.result = Outcome::Result::kUnknownNode;
    return o;
  }
  auto key = std::make_pair(refs.node, refs.repo);
  auto it = refs_.find(key);
  if (it != refs_.end() && refs.timestamp <= it->second.ann.timestamp) {
    o.result = Outcome::Result::kDuplicate;
    return o;
  }
  Bytes bytes(raw.begin(), raw.end());
  o.result = Outcome::Result::kAccepted;
  o.relay.push_back(bytes);
  o.refs.push_back(refs);
  refs_[key] = RefsEntry{std::move(refs), std::move(bytes)};
  return o;
}

Bytes Gossip::announce_node(uint64_t features, std::string user_agent,
                            std::vector<std::string> addresses, uint64_t now) {
  NodeAnnouncement a;
  a.timestamp = next_timestamp(now);
  a.features = features;
  a.user_agent = std::move(user_agent);
  a.addresses = std::move(addresses);
  a.sign(key_, cfg_.network);
  auto raw = a.encode();
  decode_node(raw);    // our own output obeys the decoder's rules (addresses, lengths)
  auto node = a.node;  // (the right side of = is evaluated first)
  nodes_[node] = NodeEntry{std::move(a), raw};
  return raw;
}

std::vector<Bytes> Gossip::announce_inventory(std::vector<std::string> repos, uint64_t now) {
  auto pages = make_inventory(key_, cfg_.network, next_timestamp(now), std::move(repos));
  std::vector<Bytes> out;
  for (const auto& p : pages) {
    auto raw = p.encode();
    store_inventory(p, raw);
    out.push_back(std::move(raw));
  }
  return out;
}

Bytes Gossip::announce_refs(std::string repo, std::vector<Ref> refs, uint64_t now) {
  RefsAnnouncement a;
  a.repo = std::move(repo);
  a.timestamp = next_timestamp(now);
  std::sort(refs.begin(), refs.end(), [](const Ref& x, const Ref& y) { return x.name < y.name; });
  a.refs = std::move(refs);
  a.sign(key_, cfg_.network);
  auto raw = a.encode();
  decode_refs(raw);  // throws on duplicate names, oversize, ...
  // The key first: the right side of = is evaluated first, and moving `a` empties a.repo.
  std::pair<crypto::PublicKey, std::string> key{a.node, a.repo};
  refs_[key] = RefsEntry{std::move(a), raw};
  return raw;
}

std::optional<Bytes> Gossip::own_node() const {
  auto it = nodes_.find(id());
  if (it == nodes_.end()) return std::nullopt;
  return it->second.raw;
}

std::vector<Bytes> Gossip::replay(uint64_t since) const {
  std::vector<Bytes> out;
  for (const auto& [pk, e] : nodes_) {
    if (e.ann.timestamp >= since) out.push_back(e.raw);
  }
  for (const auto& [pk, inv] : inventories_) {
    if (inv.timestamp < since || !nodes_.count(pk)) continue;
    for (const auto& [page, raw] : inv.raw) out.push_back(raw);
  }
  for (const auto& [key, e] : refs_) {
    if (e.ann.timestamp >= since && nodes_.count(key.first)) out.push_back(e.raw);
  }
  return out;
}

Bytes Gossip::peers_message(size_t max, const crypto::PublicKey& exclude) const {
  Peers p;
  // Most recently announced first: the likeliest to be reachable.
  std::vector<const NodeEntry*> all;
  for (const auto& [pk, e] : nodes_) {
    if (pk != exclude && !e.ann.addresses.empty()) all.push_back(&e);
  }
  std::sort(all.begin(), all.end(), [](const NodeEntry* a, const NodeEntry* b) {
    return a->ann.timestamp > b->ann.timestamp;
  });
  for (size_t i = 0; i < all.size() && i < std::min(max, kMaxPeers); ++i) {
    p.nodes.push_back(all[i]->ann);
  }
  return p.encode();
}

bool Gossip::restore_node(const NodeAnnouncement& ann, uint64_t now) {
  if (ann.node == id() || !ann.verify(cfg_.network) || check_time(ann.timestamp, now)) return false;
  auto it = nodes_.find(ann.node);
  if (it != nodes_.end() && it->second.ann.timestamp >= ann.timestamp) return false;
  nodes_[ann.node] = NodeEntry{ann, ann.encode()};
  return true;
}

void Gossip::drop_node(const crypto::PublicKey& pk) {
  nodes_.erase(pk);
  inventories_.erase(pk);
  if (auto h = hosted_.find(pk); h != hosted_.end()) {
    for (const auto& repo : h->second) {
      auto rit = routes_.find(repo);
      if (rit == routes_.end()) continue;
      rit->second.erase(pk);
      if (rit->second.empty()) routes_.erase(rit);
    }
    hosted_.erase(h);
  }
  for (auto it = refs_.lower_bound({pk, std::string()});
       it != refs_.end() && it->first.first == pk;) {
    it = refs_.erase(it);
  }
}

size_t Gossip::prune(uint64_t now) {
  if (now <= cfg_.ttl_ms) return 0;
  uint64_t cutoff = now - cfg_.ttl_ms;
  size_t removed = 0;
  std::vector<crypto::PublicKey> dead;
  for (const auto& [pk, e] : nodes_) {
    if (pk != id() && e.ann.timestamp < cutoff) dead.push_back(pk);
  }
  for (const auto& pk : dead) {
    drop_node(pk);
    ++removed;
  }
  for (auto it = inventories_.begin(); it != inventories_.end();) {
    if (it->first != id() && it->second.timestamp < cutoff) {
      it = inventories_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  for (auto rit = routes_.begin(); rit != routes_.end();) {
    for (auto nit = rit->second.begin(); nit != rit->second.end();) {
      if (nit->first != id() && nit->second < cutoff) {
        if (auto h = hosted_.find(nit->first); h != hosted_.end()) {
          h->second.erase(rit->first);
          if (h->second.empty()) hosted_.erase(h);
        }
        nit = rit->second.erase(nit);
        ++removed;
      } else {
        ++nit;
      }
    }
    rit = rit->second.empty() ? routes_.erase(rit) : std::next(rit);
  }
  for (auto it = refs_.begin(); it != refs_.end();) {
    if (it->first.first != id() && it->second.ann.timestamp < cutoff) {
      it = refs_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

RoutingTable Gossip::routing_table() const {
  RoutingTable t;
  for (const auto& [repo, nodes] : routes_) {
    auto& s = t[repo];
    for (const auto& [pk, ts] : nodes) s.insert(pk);
  }
  return t;
}

std::set<crypto::PublicKey> Gossip::nodes_for(const std::string& repo) const {
  std::set<crypto::PublicKey> s;
  auto it = routes_.find(repo);
  if (it != routes_.end()) {
    for (const auto& [pk, ts] : it->second) s.insert(pk);
  }
  return s;
}

std::optional<NodeAnnouncement> Gossip::node(const crypto::PublicKey& pk) const {
  auto it = nodes_.find(pk);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.ann;
}

std::vector<NodeAnnouncement> Gossip::nodes() const {
  std::vector<NodeAnnouncement> out;
  for (const auto& [pk, e] : nodes_) out.push_back(e.ann);
  return out;
}

std::optional<RefsAnnouncement> Gossip::refs(const crypto::PublicKey& node,
                                             const std::string& repo) const {
  auto it = refs_.find({node, repo});
  if (it == refs_.end()) return std::nullopt;
  return it->second.ann;
}

size_t Gossip::routing_entries() const {
  size_t n = 0;
  for (const auto& [repo, nodes] : routes_) n += nodes.size();
  return n;
}

}  // namespace guts::p2p::gossip
