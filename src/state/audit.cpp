#include "state/audit.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <type_traits>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/did.h"

namespace guts::state {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kSuffixBytes = 17;
constexpr size_t kMaxRefs = 32;
constexpr size_t kScanBudget = 10000;  // entries examined per query call

std::string actor_prefix(const crypto::PublicKey& k) {
  return "a" + std::string(k.begin(), k.end());
}
std::string repo_prefix(uint64_t id) {
  return "r" + storage::be64(id);
}

std::string repo_name(uint64_t id, const StateView& before, const StateView& after) {
  for (const StateView* v : {&before, &after}) {
    auto r = v->repo(id);
    if (!r) continue;
    auto owner = before.account(r->owner);
    if (!owner) owner = after.account(r->owner);
    return (owner ? owner->username : crypto::did_from_key(r->owner)) + "/" + r->name;
  }
  return "";
}

}  // namespace

std::string AuditRecord::suffix() const {
  std::string s = storage::be64(height);
  s.push_back(local ? '\x01' : '\x00');
  s += storage::be64(index);
  return s;
}

Bytes AuditRecord::encode() const {
  codec::Writer w;
  w.u8(kVersion)
      .u64be(height)
      .u64be(index)
      .boolean(local)
      .varint(time_ms)
      .str(kind)
      .fixed(actor)
      .fixed(signer)
      .fixed(tx_id)
      .str(outcome)
      .varint(target.repo_id)
      .str(target.repo)
      .varint(target.number)
      .varint(target.refs.size());
  for (const auto& r : target.refs) w.str(r);
  w.str(target.detail);
  return w.take();
}

AuditRecord decode_audit_record(ByteView data) {
  codec::Reader r(data);
  if (r.u8() != kVersion) throw codec::DecodeError("unknown audit record version");
  AuditRecord a;
  a.height = r.u64be();
  a.index = r.u64be();
  a.local = r.boolean();
  a.time_ms = r.varint();
  a.kind = r.str(64, "kind");
  a.actor = r.fixed<32>();
  a.signer = r.fixed<32>();
  a.tx_id = r.fixed<32>();
  a.outcome = r.str(64, "outcome");
  a.target.repo_id = r.varint();
  a.target.repo = r.str(512, "repo");
  a.target.number = r.varint();
  size_t n = r.count(kMaxRefs, "refs");
  for (size_t i = 0; i < n; ++i) a.target.refs.push_back(r.str(1024, "ref"));
  a.target.detail = r.str(1024, "detail");
  r.finish();
  return a;
}

AuditTarget audit_target(const Transaction& tx, const StateView& before, const StateView& after) {
  AuditTarget t;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        // Generic fields first: any kind with these members is covered.
        if constexpr (requires { b.repo_id; }) t.repo_id = b.repo_id;
        if constexpr (requires { b.number; }) t.number = b.number;
        if constexpr (requires { b.comment_id; })
          t.detail = "comment " + std::to_string(b.comment_id);
        if constexpr (requires { b.review_id; }) t.detail = "review " + std::to_string(b.review_id);
        // Kinds whose target is not a repo_id field.
        if constexpr (std::is_same_v<T, RegisterUser>) {
          t.detail = b.username;
        } else if constexpr (std::is_same_v<T, GrantDelegation> ||
                             std::is_same_v<T, RevokeDelegation>) {
          t.detail = "node " + crypto::did_from_key(b.node);
        } else if constexpr (std::is_same_v<T, CreateRepo> || std::is_same_v<T, ForkRepo>) {
          if (auto r = after.repo_by_name(tx.author, b.name)) t.repo_id = r->id;
          if constexpr (std::is_same_v<T, ForkRepo>)
            t.detail = "fork of " + repo_name(b.parent_id, before, after);
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          for (const auto& c : b.changes)
            if (t.refs.size() < kMaxRefs) t.refs.push_back(c.ref);
          if (b.force) t.detail = "force";
        } else if constexpr (std::is_same_v<T, SetCollaborator>) {
          t.detail = "user " + crypto::did_from_key(b.user) + " permission " +
                     std::to_string(b.permission);
        } else if constexpr (std::is_same_v<T, SetLabel>) {
          t.detail = "label " + b.name;
        }
      },
      tx.body);
  if (t.repo_id != 0) t.repo = repo_name(t.repo_id, before, after);
  if (t.detail.size() > 1024) t.detail.resize(1024);
  return t;
}

std::vector<AuditRecord> block_audit_records(const Block& block, const StateView& before,
                                             const StateView& after) {
  std::vector<AuditRecord> out;
  out.reserve(block.txs.size());
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const auto& tx = block.txs[i];
    AuditRecord r;
    r.height = block.header.height;
    r.index = i;
    r.time_ms = block.header.timestamp_ms;
    r.kind = tx_kind_name(tx.kind());
    r.actor = tx.author;
    r.signer = tx.signer;
    r.tx_id = tx.id();
    r.target = audit_target(tx, before, after);
    out.push_back(std::move(r));
  }
  return out;
}

void AuditLog::add_to_batch(storage::Batch& batch, storage::Cf cf,
                            const std::vector<AuditRecord>& records) {
  for (const auto& r : records) {
    auto suffix = r.suffix();
    batch.put(cf, "e" + suffix, to_string(r.encode()));
    batch.put(cf, actor_prefix(r.actor) + suffix, "");
    if (r.target.repo_id != 0) batch.put(cf, repo_prefix(r.target.repo_id) + suffix, "");
  }
}

void AuditLog::record_local(AuditRecord record) {
  static std::mutex mu;
  static uint64_t last = 0;
  std::lock_guard lock(mu);
  auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  last = std::max(now, last + 1);
  record.local = true;
  record.index = last;
  storage::Batch b;
  add_to_batch(b, cf_, {record});
  db_.write(b, /*sync=*/true);
}

uint64_t AuditLog::complete_from() const {
  auto v = db_.get(cf_, kFromKey);
  return v ? storage::read_be64(*v) : 0;
}

std::vector<AuditRecord> AuditLog::chain_records() const {
  std::vector<AuditRecord> out;
  db_.scan_prefix(cf_, "e", [&](std::string_view, std::string_view value) {
    auto r = decode_audit_record(as_bytes(value));
    if (!r.local) out.push_back(std::move(r));
    return true;
  });
  return out;
}

AuditPage AuditLog::query(const AuditQuery& q) const {
  std::string prefix = q.repo_id ? repo_prefix(*q.repo_id) : q.actor ? actor_prefix(*q.actor) : "e";
  std::string start;
  bool exclusive = false;
  if (!q.cursor.empty()) {
    auto c = hex_decode(q.cursor);
    if (!c || c->size() != kSuffixBytes)
      throw Error(Code::kInvalidArgument, "cursor is not one this node gave");
    start = prefix + to_string(*c);
    exclusive = true;
  } else {
    start = prefix + storage::be64(q.until) + std::string(9, '\xff');
  }
  AuditPage page;
  auto it = db_.iterate(cf_);
  it->seek_for_prev(start);
  if (exclusive && it->valid() && it->key() == start) it->prev();
  size_t scanned = 0;
  auto in_range = [&](std::string_view key, uint64_t* height) {
    if (key.size() != prefix.size() + kSuffixBytes || key.substr(0, prefix.size()) != prefix)
      return false;
    *height = storage::read_be64(key.substr(prefix.size(), 8));
    return *height >= q.since;
  };
  uint64_t height = 0;
  while (it->valid() && in_range(it->key(), &height)) {
    std::string suffix(it->key().substr(prefix.size()));
    if (height <= q.until) {
      std::optional<std::string> value;
      if (prefix == "e")
        value = std::string(it->value());
      else
        value = db_.get(cf_, "e" + suffix);
      if (value) {
        auto r = decode_audit_record(as_bytes(*value));
        bool match = (q.include_local || !r.local) && (q.kind.empty() || r.kind == q.kind) &&
                     (!q.actor || r.actor == *q.actor) &&
                     (!q.repo_id || r.target.repo_id == *q.repo_id);
        if (match) page.records.push_back(std::move(r));
      }
    }
    ++scanned;
    it->prev();
    bool more = it->valid() && in_range(it->key(), &height);
    if (!more) break;
    if (page.records.size() >= q.limit || scanned >= kScanBudget) {
      page.next_cursor = hex_encode(as_bytes(suffix));
      break;
    }
  }
  return page;
}

}  // namespace guts::state
