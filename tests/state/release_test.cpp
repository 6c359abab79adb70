// Releases as replicated state (state/release.h): codec round trips, the validity rules and the
// blob a release asset names (state/blob_refs.h).
#include "state/release.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/blob_refs.h"
#include "state/executor.h"
#include "tests/state/fixtures.h"

namespace guts::state {
namespace {

using testing::expect_roundtrip;
using testing::key;
using testing::kT0;
using testing::own_tx;

Digest sha(uint8_t b) {
  Digest d{};
  d.fill(b);
  return d;
}

TEST(ReleaseCodec, BodiesAndRecordsRoundTrip) {
  UpsertRelease u;
  u.repo_id = 3;
  u.tag_name = "v1.0.0";
  u.body = "# Notes\n";
  u.draft = true;
  expect_roundtrip(u);
  expect_roundtrip(DeleteRelease{7});
  SetReleaseAsset a;
  a.repo_id = 3;
  a.release_id = 1;
  a.name = "app.tar.gz";
  a.content_type = "application/gzip";
  a.size = 1234;
  a.sha256 = sha(5);
  expect_roundtrip(a);
  auto tx = decode_transaction(own_tx(key(1), 1, a).encode());
  EXPECT_EQ(tx.kind(), TxKind::kSetReleaseAsset);
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kUpsertRelease), 46u);
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kDeleteRelease), 47u);
  EXPECT_EQ(static_cast<uint32_t>(TxKind::kSetReleaseAsset), 48u);
  EXPECT_STREQ(tx_kind_name(TxKind::kUpsertRelease), "upsert_release");

  Release r;
  r.id = 4;
  r.tag_name = "v2";
  r.body = "text";
  r.published_ms = 9;
  auto r2 = decode_release(encode_release(r));
  EXPECT_EQ(r2.tag_name, "v2");
  EXPECT_EQ(r2.published_ms, 9u);
  EXPECT_THROW(decode_release(encode_release(r) + "x"), codec::DecodeError);
  ReleaseAsset ra;
  ra.id = 2;
  ra.name = "x.bin";
  ra.sha256 = sha(1);
  EXPECT_EQ(decode_release_asset(encode_release_asset(ra)).sha256, sha(1));
}

TEST(ReleaseRules, TagAndAssetNames) {
  EXPECT_FALSE(release_tag_error("v1.0.0"));
  EXPECT_FALSE(release_tag_error("release/2024-01"));
  EXPECT_TRUE(release_tag_error(""));
  EXPECT_TRUE(release_tag_error("bad..tag"));
  EXPECT_TRUE(release_tag_error("-v1"));
  EXPECT_TRUE(release_tag_error(std::string(300, 'a')));
  EXPECT_FALSE(asset_name_error("app-1.0.tar.gz"));
  EXPECT_TRUE(asset_name_error(""));
  EXPECT_TRUE(asset_name_error("a/b"));
  EXPECT_TRUE(asset_name_error(".."));
}

TEST(ReleaseBlobRefs, AnAddedAssetNamesItsBlob) {
  SetReleaseAsset a;
  a.repo_id = 3;
  a.release_id = 1;
  a.name = "x";
  a.size = 10;
  a.sha256 = sha(7);
  auto refs = blob_refs(own_tx(key(1), 1, a));
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].repo_id, 3u);
  EXPECT_EQ(refs[0].size, 10u);
  EXPECT_EQ(refs[0].sha256[0], 7);
  SetReleaseAsset rename;
  rename.asset_id = 4;
  rename.name = "y";
  EXPECT_TRUE(blob_refs(own_tx(key(1), 1, rename)).empty());
  EXPECT_TRUE(blob_refs(own_tx(key(1), 1, DeleteRelease{1})).empty());
}

struct ReleaseEnv : testing::ExecEnv {
  ReleaseEnv() : ExecEnv("release") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(alice, CreateRepo{"r", "", false, "main"});
    ok(alice, CreateRepo{"secret", "", true, "main"});
    ok(alice, SetCollaborator{1, carol.public_key(), 3});  // write
  }
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3);
  Schema& s = schema;

  static UpsertRelease create(std::string tag, uint64_t repo = 1) {
    UpsertRelease u;
    u.repo_id = repo;
    u.tag_name = std::move(tag);
    return u;
  }
  static SetReleaseAsset add(uint64_t release, std::string name, uint8_t b = 1) {
    SetReleaseAsset a;
    a.repo_id = 1;
    a.release_id = release;
    a.name = std::move(name);
    a.content_type = "application/octet-stream";
    a.size = 100;
    a.sha256 = sha(b);
    return a;
  }
};

TEST(ReleaseExec, CreateNeedsWriteAndAUniqueTag) {
  ReleaseEnv e;
  EXPECT_EQ(e.as(e.bob, ReleaseEnv::create("v1")).code(), Code::kPermissionDenied);  // reader
  EXPECT_EQ(e.as(e.bob, ReleaseEnv::create("v1", 2)).code(), Code::kNotFound);       // private
  EXPECT_EQ(e.as(e.alice, ReleaseEnv::create("v1", 9)).code(), Code::kNotFound);
  EXPECT_EQ(e.as(e.alice, ReleaseEnv::create("bad..tag")).code(), Code::kInvalidArgument);
  UpsertRelease no_tag;
  no_tag.repo_id = 1;
  EXPECT_EQ(e.as(e.alice, no_tag).code(), Code::kInvalidArgument);

  auto c = ReleaseEnv::create("v1");
  c.name = "First";
  c.body = "notes";
  e.ok(e.carol, c);  // a collaborator with write
  auto r = releases::get(e.s, e.state, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag_name, "v1");
  EXPECT_EQ(r->target_commitish, "main");  // the default branch
  EXPECT_EQ(r->author, e.carol.public_key());
  EXPECT_EQ(r->created_ms, kT0);
  EXPECT_EQ(r->published_ms, kT0);
  auto dup = e.as(e.alice, ReleaseEnv::create("v1"));
  EXPECT_EQ(dup.code(), Code::kInvalidArgument);
  EXPECT_EQ(dup.message(), "tag_name: already_exists");
  ASSERT_TRUE(releases::by_tag(e.s, e.state, 1, "v1"));

  auto draft = ReleaseEnv::create("v2");
  draft.draft = true;
  e.ok(e.alice, draft);
  EXPECT_EQ(releases::get(e.s, e.state, 2)->published_ms, 0u);
  auto list = releases::of_repo(e.s, e.state, 1);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, 2u);  // newest first
}

TEST(ReleaseExec, UpdatePublishesRenamesTagsAndDeletes) {
  ReleaseEnv e;
  auto draft = ReleaseEnv::create("v1");
  draft.draft = true;
  e.ok(e.alice, draft);
  e.ok(e.alice, ReleaseEnv::create("v2"));
  UpsertRelease u;
  u.release_id = 1;
  u.draft = false;
  u.tag_name = "v2";
  EXPECT_EQ(e.as(e.alice, u).code(), Code::kInvalidArgument);  // v2 is taken
  u.tag_name = "v1.1";
  EXPECT_EQ(e.as(e.bob, u).code(), Code::kPermissionDenied);
  e.ok(e.alice, u);
  auto r = releases::get(e.s, e.state, 1);
  EXPECT_FALSE(r->draft);
  EXPECT_EQ(r->published_ms, kT0);
  EXPECT_FALSE(releases::by_tag(e.s, e.state, 1, "v1"));
  EXPECT_TRUE(releases::by_tag(e.s, e.state, 1, "v1.1"));
  UpsertRelease missing;
  missing.release_id = 99;
  EXPECT_EQ(e.as(e.alice, missing).code(), Code::kNotFound);

  e.ok(e.alice, ReleaseEnv::add(1, "a.bin"));
  EXPECT_EQ(e.as(e.bob, DeleteRelease{1}).code(), Code::kPermissionDenied);
  e.ok(e.alice, DeleteRelease{1});
  EXPECT_FALSE(releases::get(e.s, e.state, 1));
  EXPECT_FALSE(releases::asset(e.s, e.state, 1));
  EXPECT_FALSE(releases::by_tag(e.s, e.state, 1, "v1.1"));
  ASSERT_TRUE(releases::deleted(e.s, e.state, 1));
  EXPECT_EQ(releases::deleted(e.s, e.state, 1)->tag_name, "v1.1");
  EXPECT_EQ(e.as(e.alice, DeleteRelease{1}).code(), Code::kNotFound);
  e.ok(e.alice, ReleaseEnv::create("v1.1"));  // the tag is free again
}

TEST(ReleaseExec, AssetsAreUniqueBoundedAndNeedWrite) {
  ReleaseEnv e;
  e.ok(e.alice, ReleaseEnv::create("v1"));
  EXPECT_EQ(e.as(e.bob, ReleaseEnv::add(1, "a.bin")).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, ReleaseEnv::add(9, "a.bin")).code(), Code::kNotFound);
  auto wrong_repo = ReleaseEnv::add(1, "a.bin");
  wrong_repo.repo_id = 2;
  EXPECT_EQ(e.as(e.alice, wrong_repo).code(), Code::kNotFound);
  EXPECT_EQ(e.as(e.alice, ReleaseEnv::add(1, "a/b")).code(), Code::kInvalidArgument);
  auto huge = ReleaseEnv::add(1, "big.iso");
  huge.size = kMaxAssetBytes + 1;
  EXPECT_EQ(e.as(e.alice, huge).code(), Code::kInvalidArgument);

  e.ok(e.carol, ReleaseEnv::add(1, "a.bin"));
  auto dup = e.as(e.alice, ReleaseEnv::add(1, "a.bin", 2));
  EXPECT_EQ(dup.message(), "name: already_exists");
  e.ok(e.alice, ReleaseEnv::add(1, "b.bin", 2));
  auto assets = releases::assets_of(e.s, e.state, 1);
  ASSERT_EQ(assets.size(), 2u);
  EXPECT_EQ(assets[0].name, "a.bin");
  EXPECT_EQ(assets[0].uploader, e.carol.public_key());
  EXPECT_EQ(assets[1].sha256, sha(2));

  SetReleaseAsset rename;
  rename.asset_id = 1;
  rename.name = "b.bin";
  EXPECT_EQ(e.as(e.alice, rename).code(), Code::kInvalidArgument);  // taken
  rename.name = "c.bin";
  rename.label = "The C build";
  EXPECT_EQ(e.as(e.bob, rename).code(), Code::kPermissionDenied);
  e.ok(e.alice, rename);
  EXPECT_EQ(releases::asset(e.s, e.state, 1)->label, "The C build");

  SetReleaseAsset remove;
  remove.asset_id = 1;
  remove.remove = true;
  e.ok(e.alice, remove);
  EXPECT_FALSE(releases::asset(e.s, e.state, 1));
  EXPECT_EQ(releases::assets_of(e.s, e.state, 1).size(), 1u);
  EXPECT_EQ(e.as(e.alice, remove).code(), Code::kNotFound);
}

}  // namespace
}  // namespace guts::state
