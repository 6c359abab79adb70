// Pack transfer primitives (git/pack_transfer.h) against the real git binary: full packs from
// repository + push quarantines, verified ingestion into a quarantine, all-or-nothing.
#include "git/pack_transfer.h"

#include <gtest/gtest.h>

#include "git/receive.h"
#include "git/refs.h"
#include "tests/git/git_test_util.h"

namespace guts::git {
namespace {

namespace fs = std::filesystem;
using testing::git_ok;
using testing::git_run;
using testing::TempDir;
using testing::WorkRepo;

struct Fixture {
  TempDir tmp{"pt"};
  WorkRepo work{tmp.path / "work"};
  fs::path server = tmp.path / "server.git";
  fs::path client = tmp.path / "client.git";
  std::string c1, c2;
  Fixture() {
    c1 = work.commit("a.txt", "one\n", "first");
    c2 = work.commit("b/c.txt", std::string(5000, 'x') + "\n", "second");
    git_ok(tmp.path, {"clone", "-q", "--bare", work.dir.string(), server.string()});
    git_ok(tmp.path, {"init", "-q", "--bare", client.string()});
  }
  std::string pack_of(const fs::path& repo, PackRequest req) {
    std::string out;
    write_pack(repo, req, [&](ByteView c, bool) { out.append(c.begin(), c.end()); });
    return out;
  }
  size_t object_count(const fs::path& repo) {
    auto out = git_ok(repo, {"count-objects", "-v"});
    size_t n = 0;
    for (auto key : {"count: ", "in-pack: "}) {
      auto p = out.find(key);
      if (p != std::string::npos) n += std::stoul(out.substr(p + std::string(key).size()));
    }
    return n;
  }
};

TEST(PackTransfer, FullPackIngestedWithoutMovingRefs) {
  Fixture f;
  auto pack = f.pack_of(f.server, {{f.c2}, {}});
  ASSERT_GT(pack.size(), 32u);
  EXPECT_FALSE(has_closure(f.client, {f.c2}, true));
  ingest_pack(f.client, source_from(as_bytes(pack)), {f.c2});
  EXPECT_TRUE(has_closure(f.client, {f.c2}, false));
  EXPECT_TRUE(list_refs(f.client).empty());         // objects only; refs move in the projection
  EXPECT_TRUE(Quarantine::list(f.client).empty());  // migrated
  // Byte-identical objects.
  EXPECT_EQ(git_ok(f.client, {"cat-file", "-p", f.c2 + ":b/c.txt"}),
            git_ok(f.server, {"cat-file", "-p", f.c2 + ":b/c.txt"}));
  EXPECT_EQ(git_ok(f.client, {"cat-file", "commit", f.c2}),
            git_ok(f.server, {"cat-file", "commit", f.c2}));
  git_ok(f.client, {"update-ref", "refs/heads/main", f.c2});
  git_ok(f.client, {"fsck", "--strict", "--no-dangling"});
}

TEST(PackTransfer, HavesLeaveOutWhatTheReceiverHas) {
  Fixture f;
  ingest_pack(f.client, source_from(as_bytes(f.pack_of(f.server, {{f.c1}, {}}))), {f.c1});
  git_ok(f.client, {"update-ref", "refs/heads/main", f.c1});
  auto full = f.pack_of(f.server, {{f.c2}, {}});
  // An unknown have is ignored, not an error.
  auto thin = f.pack_of(f.server, {{f.c2}, {f.c1, std::string(40, 'e')}});
  EXPECT_LT(thin.size(), full.size());
  ingest_pack(f.client, source_from(as_bytes(thin)), {f.c2});
  EXPECT_TRUE(has_closure(f.client, {f.c2}, false));
}

TEST(PackTransfer, ChunksAreBoundedAndTheLastIsFlagged) {
  Fixture f;
  PackRequest req{{f.c2}, {}};
  req.chunk_size = 100;
  std::string all;
  size_t lasts = 0, chunks = 0;
  write_pack(f.server, req, [&](ByteView c, bool last) {
    EXPECT_LE(c.size(), 100u);
    EXPECT_EQ(lasts, 0u);  // nothing after the last
    lasts += last;
    ++chunks;
    all.append(c.begin(), c.end());
  });
  EXPECT_EQ(lasts, 1u);
  EXPECT_GT(chunks, 2u);
  EXPECT_EQ(all, f.pack_of(f.server, {{f.c2}, {}}));
}

TEST(PackTransfer, ServesObjectsOfPushQuarantines) {
  Fixture f;
  // A push waiting for consensus: its objects only in <server>/objects/incoming-*.
  auto c3 = f.work.commit("d.txt", "pending\n", "third");
  auto q = Quarantine::create(f.server);
  std::string push = f.work.pack({c3}, {f.c2});
  index_pack(q, source_from(as_bytes(push)), ReceiveOptions{});
  EXPECT_EQ(missing_objects(f.server, {c3}, false), std::set<std::string>{c3});
  EXPECT_TRUE(missing_objects(f.server, {c3}, true).empty());
  auto pack = f.pack_of(f.server, {{c3}, {}});
  ingest_pack(f.client, source_from(as_bytes(pack)), {c3});
  EXPECT_TRUE(has_closure(f.client, {c3}, false));
  // Without the quarantine the object is unknown.
  q.discard();
  EXPECT_THROW(f.pack_of(f.server, {{c3}, {}}), Error);
}

TEST(PackTransfer, ServingErrors) {
  Fixture f;
  try {
    f.pack_of(f.server, {{std::string(40, 'a')}, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
  }
  PackRequest big{{f.c2}, {}};
  big.max_bytes = 50;
  try {
    f.pack_of(f.server, big);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kTooLarge);
  }
  EXPECT_THROW(f.pack_of(f.server, {{"not-an-oid"}, {}}), Error);
  EXPECT_THROW(f.pack_of(f.server, {{}, {}}), Error);
}

// Every bad pack: kInvalidArgument, no quarantine left, not one object added.
void expect_rejected(Fixture& f, const std::string& pack, const std::vector<std::string>& tips) {
  size_t before = f.object_count(f.client);
  try {
    ingest_pack(f.client, source_from(as_bytes(pack)), tips);
    ADD_FAILURE() << "bad pack accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument) << e.what();
  }
  EXPECT_TRUE(Quarantine::list(f.client).empty());
  EXPECT_EQ(f.object_count(f.client), before);
}

TEST(PackTransfer, TamperedPackRejected) {
  Fixture f;
  auto pack = f.pack_of(f.server, {{f.c2}, {}});
  for (size_t at : {size_t(20), pack.size() / 2, pack.size() - 25}) {
    auto bad = pack;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    expect_rejected(f, bad, {f.c2});
  }
  expect_rejected(f, pack.substr(0, pack.size() / 2), {f.c2});  // truncated
  expect_rejected(f, "", {f.c2});                               // nothing
  expect_rejected(f, "garbage that is no pack", {f.c2});
}

TEST(PackTransfer, PackMissingObjectsRejected) {
  Fixture f;
  // The commit alone, without its tree and blobs.
  auto only_commit = git_run(f.work.dir, {"pack-objects", "--stdout", "-q"}, f.c2 + "\n").out;
  expect_rejected(f, only_commit, {f.c2});
  // A valid, complete pack of something else than the wanted tip.
  expect_rejected(f, f.pack_of(f.server, {{f.c1}, {}}), {f.c2});
}

TEST(PackTransfer, LinksQuarantineObjectsAndLeavesTheQuarantine) {
  Fixture f;
  auto c3 = f.work.commit("d.txt", "pending\n", "third");
  auto q = Quarantine::create(f.server);
  index_pack(q, source_from(as_bytes(f.work.pack({c3}, {f.c2}))), ReceiveOptions{});
  EXPECT_GT(link_quarantine_objects(f.server, q.dir()), 0u);
  EXPECT_TRUE(missing_objects(f.server, {c3}, false).empty());
  EXPECT_TRUE(q.active());
  EXPECT_TRUE(fs::exists(q.dir() / "pack"));
  EXPECT_EQ(link_quarantine_objects(f.server, q.dir()), 0u);  // idempotent
  git_ok(f.server, {"fsck", "--strict"});
}

}  // namespace
}  // namespace guts::git
