// The audit log: one record per state-changing action (docs/audit.md).
//
// Chain records: every transaction of every finalized block (a block holds only transactions
// that applied; rejected ones never change state and are not recorded). They are a function of
// the block and the state around it, written in the block's own commit batch (Chain::commit),
// so a node that replays or syncs from scratch holds the same records and `guts-node check`
// compares them. Local records: actions of this node that change node-local state without a
// transaction (API tokens issued and revoked); they are this node's alone and never replayed.
//
// Layout in the "audit" column family (keys sort oldest first; queries walk them backwards):
//   "e" + be64(height) + u8(local) + be64(n)   → the record (n: tx index, or a local sequence)
//   "a" + actor key (32)       + same suffix   → ""   (index by actor)
//   "r" + be64(repo id)        + same suffix   → ""   (index by repository)
//   "m:from"                                   → be64: chain records are complete from here
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "state/block.h"
#include "state/view.h"
#include "storage/db.h"

namespace guts::state {

// What an action touched. Derived generically from the transaction body (audit_target()): a
// kind whose body has repo_id / number / comment_id fields needs no code here.
struct AuditTarget {
  uint64_t repo_id = 0;  // 0: none
  std::string repo;      // "owner/name" when the action happened ("" if none or unknown)
  uint64_t number = 0;   // issue or pull request number, 0: none
  std::vector<std::string> refs;
  std::string detail;  // kind-specific, short (a username, a node DID, a token id, ...)
  bool operator==(const AuditTarget&) const = default;
};

struct AuditRecord {
  uint64_t height = 0;  // block height; local: the head's height when it happened
  uint64_t index = 0;   // position in the block; local: a sequence (microseconds)
  bool local = false;
  uint64_t time_ms = 0;        // block timestamp; local: the node's clock
  std::string kind;            // tx_kind_name(); local: "token.create", "token.revoke"
  crypto::PublicKey actor{};   // the author (who)
  crypto::PublicKey signer{};  // who signed: the author or a node under delegation
  Digest tx_id{};              // zero for local records
  std::string outcome = "applied";
  AuditTarget target;

  bool operator==(const AuditRecord&) const = default;
  std::string suffix() const;  // the key suffix: be64(height) u8(local) be64(index)
  Bytes encode() const;
};
// Throws codec::DecodeError.
AuditRecord decode_audit_record(ByteView data);

// The target of `tx`, with repository names resolved in `before` (the state before its block)
// and else `after` (the state after it: repositories created in the block).
AuditTarget audit_target(const Transaction& tx, const StateView& before, const StateView& after);

// The records of a block (one per transaction, in order).
std::vector<AuditRecord> block_audit_records(const Block& block, const StateView& before,
                                             const StateView& after);

struct AuditQuery {
  std::optional<crypto::PublicKey> actor;
  std::optional<uint64_t> repo_id;
  std::string kind;  // exact kind name; empty: any
  uint64_t since = 0;
  uint64_t until = UINT64_MAX;  // heights, inclusive
  size_t limit = 30;
  std::string cursor;  // from AuditPage::next_cursor; empty: from the newest
  bool include_local = true;
};

struct AuditPage {
  std::vector<AuditRecord> records;  // newest first
  std::string next_cursor;           // empty: no more
};

// Reads and writes the audit column family. A cheap handle; safe from any thread.
class AuditLog {
 public:
  AuditLog(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}

  // The entries of `records` (Chain::commit puts them in the block's batch).
  static void add_to_batch(storage::Batch& batch, storage::Cf cf,
                           const std::vector<AuditRecord>& records);
  // Records a node-local action (local = true; index assigned), durably.
  void record_local(AuditRecord record);
  // Newest first. Scans a bounded number of entries per call: a page may hold fewer than
  // `limit` records and still have a next cursor.
  AuditPage query(const AuditQuery& q) const;
  // Chain records are complete from this height (1: since genesis).
  uint64_t complete_from() const;

  // The chain (non-local) records, oldest first: to compare two databases.
  std::vector<AuditRecord> chain_records() const;

  static constexpr std::string_view kFromKey = "m:from";

 private:
  storage::Db& db_;
  storage::Cf cf_;
};

}  // namespace guts::state
