// Golden vectors of the collaboration transaction bodies (docs/collaboration.md §2): byte for
// byte. A change to any of these encodings breaks the tests and needs a new protocol version.
#include <gtest/gtest.h>

#include <map>

#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using guts::state::testing::key;

namespace {
Bytes oid(uint8_t b) {
  return Bytes(20, b);
}

struct CollabVectors {
  crypto::SigningKey alice = key(1), bob = key(4), node = key(2);
  std::vector<std::pair<const char*, TxBody>> bodies() const {
    EditIssue close;
    close.repo_id = 1;
    close.number = 1;
    close.state = kIssueClosed;
    close.state_reason = kReasonNotPlanned;
    close.labels_add = {"bug"};
    return {
        {"set_collaborator", SetCollaborator{1, bob.public_key(), 3}},
        {"fork_repo", ForkRepo{1, "proj", false}},
        {"create_issue", CreateIssue{1, "Crash", "on start", {"bug"}, {}, 0}},
        {"edit_issue", close},
        {"create_comment", CreateComment{1, 1, "me too"}},
        {"edit_comment", EditComment{1, 7, "me three"}},
        {"delete_comment", DeleteComment{1, 7}},
        {"set_label",
         SetLabel{1, kLabelCreate, "bug", std::nullopt, "d73a4a", "Something is wrong"}},
        {"set_milestone",
         SetMilestone{1, kMilestoneCreate, 0, "v1.0", std::nullopt, std::nullopt, 1798761600000}},
        {"set_reaction", SetReaction{1, kReactIssue, 1, "+1", false}},
        {"open_pull_request",
         OpenPullRequest{1, "Feature", "", 2, "feat", "main", oid(0xab), false}},
        {"merge_pull_request",
         MergePullRequest{1, 2, kMergeSquash, oid(0xab), oid(0x11), oid(0xcd)}},
        {"submit_review",
         SubmitReview{1, 2, kReviewRequestChanges, "fix", {}, {{"a.c", 3, kSideRight, 0, "nit"}}}},
        {"create_review_comment", CreateReviewComment{1, 2, "why?", {}, "", 0, kSideRight, 0, 9}},
        {"dismiss_review", DismissReview{1, 2, 5, "stale"}},
    };
  }
};
}  // namespace

TEST(CollabGolden, Bodies) {
  const std::map<std::string, std::string> expected = {
      {"set_collaborator", "01ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c03"},
      {"fork_repo", "010470726f6a00"},
      {"create_issue", "01054372617368086f6e20737461727401036275670000"},
      {"edit_issue", "010100000102020001036275670000000000000000000000"},
      {"create_comment", "0101066d6520746f6f"},
      {"edit_comment", "0107086d65207468726565"},
      {"delete_comment", "0107"},
      {"set_label", "0101036275670001066437336134610112536f6d657468696e672069732077726f6e67"},
      {"set_milestone", "010100010476312e3000000180a8aff4ac34"},
      {"set_reaction", "010101022b3100"},
      {"open_pull_request",
       "01074665617475726500020466656174046d61696e14abababababababababababababababababababab00"},
      {"merge_pull_request",
       "01020214abababababababababababababababababababab1411111111111111111111111111111111111111111"
       "4cdcd"
       "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"},
      {"submit_review", "01020203666978000103612e63030200036e6974"},
      {"create_review_comment", "0102047768793f000000020009"},
      {"dismiss_review", "010205057374616c65"},
  };
  CollabVectors v;
  auto bodies = v.bodies();
  ASSERT_EQ(bodies.size(), expected.size());
  for (const auto& [name, body] : bodies) {
    EXPECT_STREQ(tx_kind_name(kind_of(body)), name);
    auto enc = encode_body(body);
    EXPECT_EQ(hex_encode(enc), expected.at(name)) << name;
    EXPECT_EQ(encode_body(decode_body(kind_of(body), enc)), enc) << name;
  }
}

TEST(CollabGolden, DelegatedCreateIssueTransaction) {
  CollabVectors v;
  // Signed by the node under alice's delegation (kind 10 = create_issue).
  auto tx = guts::state::testing::make_tx(v.node, v.alice.public_key(), 1,
                                          CreateIssue{1, "Crash", "on start", {"bug"}, {}, 0},
                                          1795000000000, "guts-test");
  EXPECT_EQ(
      hex_encode(tx.encode()),
      "0109677574732d746573740a8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c8139"
      "770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3940180bcd9f29e34170105437261736808"
      "6f"
      "6e20737461727401036275670000b76f221ae2f1aa43ed1914a8edbdc0c65292b073c05e5ad32bc96d3e22131c51"
      "da"
      "bd249e1a45faf091fc5e3457fa8df2523a4e4dd8c112bcae05b69218c20103");
  EXPECT_EQ(hex_encode(tx.id()),
            "599a257c5935195e028a2eb487bdd7e8bd3b2e1a700c5e5df8917ffde25721cd");
  EXPECT_TRUE(tx.verify_signature());
  EXPECT_EQ(decode_transaction(tx.encode()).encode(), tx.encode());
}
