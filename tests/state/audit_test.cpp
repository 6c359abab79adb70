// The audit log (state/audit.h): records written with each block, their targets, queries
// (filters, newest first, cursor pages), local records, replay comparison and the backfill of a
// database from before the audit log.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

std::vector<PendingTx> pending(std::vector<Transaction> txs) {
  std::vector<PendingTx> out;
  for (auto& t : txs) out.push_back({std::move(t), false});
  return out;
}

void commit(Chain& chain, std::vector<Transaction> txs, uint64_t view) {
  auto r = chain.build(chain.head().id, pending(std::move(txs)), view, kT0 + view,
                       key(200).public_key());
  ASSERT_TRUE(r.rejected.empty()) << r.rejected[0].second.message();
  chain.commit(r.block);
}

// alice registers and creates "r" (block 1), pushes main (block 2); bob registers and comments
// on an issue alice opens (block 3); alice deletes the repository (block 4).
void populate(Chain& chain) {
  auto alice = key(1), bob = key(2);
  commit(chain,
         {own_tx(alice, 1, RegisterUser{"alice"}),
          own_tx(alice, 2, CreateRepo{"r", "", false, "main"})},
         1);
  commit(chain, {own_tx(alice, 3, UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 1)}}})}, 2);
  CreateIssue issue;
  issue.repo_id = 1;
  issue.title = "bug";
  commit(chain,
         {own_tx(bob, 1, RegisterUser{"bob"}), own_tx(alice, 4, std::move(issue)),
          own_tx(bob, 2, CreateComment{1, 1, "me too"})},
         3);
  commit(chain, {own_tx(alice, 5, DeleteRepo{1})}, 4);
}

std::vector<std::string> kinds(const AuditPage& p) {
  std::vector<std::string> out;
  for (const auto& r : p.records) out.push_back(r.kind);
  return out;
}

}  // namespace

TEST(Audit, RecordsEveryTransactionWithItsTarget) {
  TempDb tmp("audit");
  Chain chain(*tmp.db, test_genesis());
  populate(chain);
  auto log = chain.audit();
  EXPECT_EQ(log.complete_from(), 1u);
  auto all = log.query({});
  ASSERT_EQ(all.records.size(), 7u);
  EXPECT_TRUE(all.next_cursor.empty());
  EXPECT_EQ(kinds(all), (std::vector<std::string>{"delete_repo", "create_comment", "create_issue",
                                                  "register_user", "update_refs", "create_repo",
                                                  "register_user"}));
  const auto& del = all.records[0];
  EXPECT_EQ(del.height, 4u);
  EXPECT_EQ(del.time_ms, chain.block_at(4)->header.timestamp_ms);
  EXPECT_EQ(del.tx_id, chain.block_at(4)->txs[0].id());
  EXPECT_EQ(del.actor, key(1).public_key());
  EXPECT_EQ(del.target.repo, "alice/r");  // named as it was before the block deleted it
  EXPECT_EQ(del.target.repo_id, 1u);
  EXPECT_EQ(del.outcome, "applied");
  const auto& comment = all.records[1];
  EXPECT_EQ(comment.actor, key(2).public_key());
  EXPECT_EQ(comment.target.repo, "alice/r");
  EXPECT_EQ(comment.target.number, 1u);
  EXPECT_EQ(comment.index, 2u);
  const auto& push = all.records[4];
  EXPECT_EQ(push.target.refs, std::vector<std::string>{"refs/heads/main"});
  const auto& create = all.records[5];
  EXPECT_EQ(create.target.repo, "alice/r");  // created in this block: named after it
  EXPECT_EQ(create.target.repo_id, 1u);
  EXPECT_EQ(all.records[6].target.detail, "alice");
}

TEST(Audit, FiltersAndCursorPages) {
  TempDb tmp("audit-query");
  Chain chain(*tmp.db, test_genesis());
  populate(chain);
  auto log = chain.audit();
  AuditQuery q;
  q.actor = key(2).public_key();
  EXPECT_EQ(kinds(log.query(q)), (std::vector<std::string>{"create_comment", "register_user"}));
  q = {};
  q.repo_id = 1;
  EXPECT_EQ(log.query(q).records.size(), 5u);
  q.kind = "update_refs";
  EXPECT_EQ(kinds(log.query(q)), std::vector<std::string>{"update_refs"});
  q = {};
  q.since = 2;
  q.until = 3;
  EXPECT_EQ(log.query(q).records.size(), 4u);
  q.actor = key(1).public_key();
  EXPECT_EQ(kinds(log.query(q)), (std::vector<std::string>{"create_issue", "update_refs"}));

  // Pages of two, newest first, until the cursor runs out: every record exactly once.
  q = {};
  q.limit = 2;
  std::vector<AuditRecord> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto p = log.query(q);
    EXPECT_LE(p.records.size(), 2u);
    seen.insert(seen.end(), p.records.begin(), p.records.end());
    if (p.next_cursor.empty()) break;
    q.cursor = p.next_cursor;
  }
  EXPECT_EQ(seen, log.query({}).records);
  q.cursor = "zz";
  EXPECT_THROW(log.query(q), Error);
}

TEST(Audit, LocalRecordsAreNotChainRecords) {
  TempDb tmp("audit-local");
  auto genesis = test_genesis();
  Chain chain(*tmp.db, genesis);
  populate(chain);
  AuditRecord r;
  r.height = chain.head().height;
  r.kind = "token.create";
  r.actor = r.signer = key(1).public_key();
  r.outcome = "ok";
  r.target.detail = "token 0011223344556677";
  chain.audit().record_local(r);
  chain.audit().record_local(r);
  auto newest = chain.audit().query({});
  ASSERT_EQ(newest.records.size(), 9u);
  EXPECT_TRUE(newest.records[0].local);
  EXPECT_EQ(newest.records[0].kind, "token.create");
  EXPECT_NE(newest.records[0].index, newest.records[1].index);
  AuditQuery chain_only;
  chain_only.include_local = false;
  EXPECT_EQ(chain.audit().query(chain_only).records.size(), 7u);
  // Local records take no part in the replay's comparison.
  auto scratch = tmp.dir.string() + "-replay";
  EXPECT_NO_THROW(Chain::replay(*tmp.db, genesis, scratch));
  std::filesystem::remove_all(scratch);
}

TEST(Audit, ReplayComparesAndOldDatabasesAreBackfilled) {
  TempDb tmp("audit-replay");
  auto genesis = test_genesis();
  std::vector<AuditRecord> before;
  {
    Chain chain(*tmp.db, genesis);
    populate(chain);
    before = chain.audit().chain_records();
  }
  Schema s(*tmp.db);
  auto scratch = tmp.dir.string() + "-replay";
  // A tampered record: the replay names the height.
  auto first = before[0];
  first.target.detail = "mallory";
  storage::Batch b;
  b.put(s.audit, "e" + first.suffix(), to_string(first.encode()));
  tmp.db->write(b, true);
  try {
    Chain::replay(*tmp.db, genesis, scratch);
    ADD_FAILURE() << "replay accepted a tampered audit log";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("audit log differs"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(scratch);

  // A database from before the audit log (no records, no marker): opening it derives them.
  storage::Batch wipe;
  tmp.db->scan_prefix(s.audit, "", [&](std::string_view k, std::string_view) {
    wipe.del(s.audit, k);
    return true;
  });
  tmp.db->write(wipe, true);
  Chain reopened(*tmp.db, genesis);
  EXPECT_EQ(reopened.audit().complete_from(), 1u);
  EXPECT_EQ(reopened.audit().chain_records(), before);
  AuditQuery q;
  q.actor = key(2).public_key();
  EXPECT_EQ(reopened.audit().query(q).records.size(), 2u);  // the indexes too
  EXPECT_NO_THROW(Chain::replay(*tmp.db, genesis, scratch));
  std::filesystem::remove_all(scratch);
}

TEST(Audit, RecordEncodingRoundTripsAndRejectsGarbage) {
  AuditRecord r;
  r.height = 7;
  r.index = 3;
  r.kind = "update_refs";
  r.actor = key(1).public_key();
  r.signer = key(3).public_key();
  r.tx_id[0] = 9;
  r.target = {4, "alice/r", 2, {"refs/heads/a", "refs/tags/v1"}, "force"};
  EXPECT_EQ(decode_audit_record(r.encode()), r);
  auto bytes = r.encode();
  bytes.push_back(0);
  EXPECT_THROW(decode_audit_record(bytes), codec::DecodeError);
  bytes.resize(10);
  EXPECT_THROW(decode_audit_record(bytes), codec::DecodeError);
}
