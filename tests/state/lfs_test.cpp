// Git LFS state (state/lfs.h): kinds 49-51, their codec, validity rules (write permission,
// sorted oids, one lock per path, unlock by the owner or an admin with force), usage
// accounting without double counting, and "no partial effect".
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/blob_refs.h"
#include "state/executor.h"
#include "state/lfs_state.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Env : ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3);
  uint64_t repo = 0;

  Env() : ExecEnv("lfs") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(alice, CreateRepo{"art", "", false, "main"});
    repo = view().repo_by_name(alice.public_key(), "art")->id;
  }
};

std::array<uint8_t, 32> sha(uint8_t b) {
  std::array<uint8_t, 32> s{};
  s.fill(b);
  return s;
}

}  // namespace

TEST(LfsState, KindsRoundTripCanonically) {
  LfsAddObjects add{7, {{sha(1), 10}, {sha(2), 0}}};
  EXPECT_EQ(static_cast<int>(kind_of(add)), 49);
  EXPECT_EQ(static_cast<int>(kind_of(LfsCreateLock{})), 50);
  EXPECT_EQ(static_cast<int>(kind_of(LfsDeleteLock{})), 51);
  EXPECT_STREQ(tx_kind_name(TxKind::kLfsAddObjects), "lfs_add_objects");
  auto back = std::get<LfsAddObjects>(decode_body(TxKind::kLfsAddObjects, encode_body(add)));
  EXPECT_EQ(back.repo_id, 7u);
  EXPECT_EQ(back.objects, add.objects);
  auto lock = std::get<LfsCreateLock>(
      decode_body(TxKind::kLfsCreateLock, encode_body(LfsCreateLock{7, "a/b.bin"})));
  EXPECT_EQ(lock.path, "a/b.bin");
  auto del = std::get<LfsDeleteLock>(
      decode_body(TxKind::kLfsDeleteLock, encode_body(LfsDeleteLock{7, 3, true})));
  EXPECT_EQ(del.lock_id, 3u);
  EXPECT_TRUE(del.force);
  // Not canonical: unsorted, repeated, empty; trailing bytes.
  LfsAddObjects rev{7, {{sha(2), 1}, {sha(1), 1}}};
  EXPECT_THROW(decode_body(TxKind::kLfsAddObjects, encode_body(rev)), codec::DecodeError);
  LfsAddObjects dup{7, {{sha(1), 1}, {sha(1), 1}}};
  EXPECT_THROW(decode_body(TxKind::kLfsAddObjects, encode_body(dup)), codec::DecodeError);
  EXPECT_THROW(decode_body(TxKind::kLfsAddObjects, encode_body(LfsAddObjects{7, {}})),
               codec::DecodeError);
  Bytes enc = encode_body(add);
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kLfsAddObjects, enc), codec::DecodeError);
}

TEST(LfsState, BlobRefsNameTheUploadedObjects) {
  Transaction tx;
  tx.body = LfsAddObjects{7, {{sha(1), 10}, {sha(2), 20}}};
  auto refs = blob_refs(tx);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0], (BlobRef{7, sha(1), 10}));
  EXPECT_EQ(refs[1], (BlobRef{7, sha(2), 20}));
  tx.body = LfsCreateLock{7, "x"};
  EXPECT_TRUE(blob_refs(tx).empty());
}

TEST(LfsState, ObjectsNeedWriteAndAreCountedOnce) {
  Env e;
  e.ok(e.alice, LfsAddObjects{e.repo, {{sha(1), 100}, {sha(2), 50}}});
  EXPECT_EQ(lfs_object_size(e.view(), e.repo, sha(1)), 100u);
  EXPECT_EQ(lfs_usage(e.view(), e.repo), 150u);
  // The same object again, with a new one: only the new one counts.
  e.ok(e.alice, LfsAddObjects{e.repo, {{sha(2), 50}, {sha(3), 7}}});
  EXPECT_EQ(lfs_usage(e.view(), e.repo), 157u);
  EXPECT_EQ(lfs_owner_usage(e.view(), e.alice.public_key()), 157u);
  auto before = e.state.digest();
  // A recorded object with another size; bob without write access (public repository: read).
  EXPECT_EQ(e.as(e.alice, LfsAddObjects{e.repo, {{sha(1), 99}}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.bob, LfsAddObjects{e.repo, {{sha(9), 1}}}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, LfsAddObjects{e.repo + 100, {{sha(9), 1}}}).code(), Code::kNotFound);
  EXPECT_EQ(e.state.digest(), before);
  e.ok(e.alice, SetCollaborator{e.repo, e.bob.public_key(), 3});  // write
  e.ok(e.bob, LfsAddObjects{e.repo, {{sha(9), 1}}});
  EXPECT_EQ(lfs_usage(e.view(), e.repo), 158u);
}

TEST(LfsState, LocksOnePerPathUnlockByOwnerOrAdminWithForce) {
  Env e;
  e.ok(e.alice, SetCollaborator{e.repo, e.bob.public_key(), 3});    // write
  e.ok(e.alice, SetCollaborator{e.repo, e.carol.public_key(), 3});  // write
  e.ok(e.bob, LfsCreateLock{e.repo, "art/a.bin"});
  auto l = lfs_lock_by_path(e.view(), e.repo, "art/a.bin");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->id, 1u);
  EXPECT_EQ(l->owner, e.bob.public_key());
  EXPECT_EQ(l->locked_ms, kT0);
  auto before = e.state.digest();
  EXPECT_EQ(e.as(e.carol, LfsCreateLock{e.repo, "art/a.bin"}).code(), Code::kConflict);
  EXPECT_EQ(e.as(e.carol, LfsCreateLock{e.repo, "/abs"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.carol, LfsCreateLock{e.repo, ""}).code(), Code::kInvalidArgument);
  // Not the owner: denied without force, and with force without admin.
  EXPECT_EQ(e.as(e.carol, LfsDeleteLock{e.repo, 1, false}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.carol, LfsDeleteLock{e.repo, 1, true}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.bob, LfsDeleteLock{e.repo, 2, false}).code(), Code::kNotFound);
  EXPECT_EQ(e.state.digest(), before);
  // The owner unlocks; ids are not reused.
  e.ok(e.bob, LfsDeleteLock{e.repo, 1, false});
  EXPECT_FALSE(lfs_lock_by_path(e.view(), e.repo, "art/a.bin"));
  e.ok(e.carol, LfsCreateLock{e.repo, "art/a.bin"});
  EXPECT_EQ(lfs_lock_by_path(e.view(), e.repo, "art/a.bin")->id, 2u);
  // The admin (owner of the repository) with force.
  EXPECT_EQ(e.as(e.alice, LfsDeleteLock{e.repo, 2, false}).code(), Code::kPermissionDenied);
  e.ok(e.alice, LfsDeleteLock{e.repo, 2, true});
  EXPECT_TRUE(lfs_locks(e.view(), e.repo).empty());
}
