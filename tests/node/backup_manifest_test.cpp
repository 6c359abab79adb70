// The backup manifest (node/backup_manifest.h): round trip, and the refusals that keep a
// manifest from naming a file outside the backup; storage::Db::checkpoint.
#include "node/backup_manifest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "storage/db.h"

using namespace guts;
using namespace guts::node;

namespace {

BackupManifest sample() {
  BackupManifest m;
  m.chain_id = "guts-test";
  m.genesis_id = std::string(64, 'a');
  m.height = 42;
  m.head_id = std::string(64, 'b');
  m.state_root = std::string(64, 'c');
  m.created_unix_ms = 1700000000000;
  m.node = "did:key:z6Mk";
  m.files = {{"repos/1.git/refs/heads/main", 41, std::string(64, '1')},
             {"genesis.json", 10, std::string(64, '2')},
             {"db/CURRENT", 16, std::string(64, '3')}};
  return m;
}

std::string expect_refused(const std::string& text) {
  try {
    parse_backup_manifest(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

TEST(BackupManifest, RoundTripSortsFiles) {
  auto m = sample();
  auto back = parse_backup_manifest(encode_backup_manifest(m));
  std::sort(m.files.begin(), m.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.path < b.path; });
  EXPECT_EQ(back, m);
  EXPECT_EQ(back.files.front().path, "db/CURRENT");
}

TEST(BackupManifest, PathsStayInsideTheBackup) {
  for (const char* ok : {"db/000012.sst", "genesis.json", "node.key", "repos/7.git/HEAD",
                         "repos/7.git/refs/heads/a b"})
    EXPECT_TRUE(is_valid_backup_path(ok)) << ok;
  for (const char* bad :
       {"", "/etc/passwd", "../x", "db/../../x", "db//x", "db/./x", "db/",
        "consensus/signing.guard", "p2p/book", "x", "repos/a\nb", "db\\x", "repos/.."})
    EXPECT_FALSE(is_valid_backup_path(bad)) << bad;
  auto j = nlohmann::json::parse(encode_backup_manifest(sample()));
  j["files"][0]["path"] = "db/../../etc/passwd";
  EXPECT_NE(expect_refused(j.dump()).find("not valid in a backup"), std::string::npos);
}

TEST(BackupManifest, RefusesMalformedManifests) {
  auto good = encode_backup_manifest(sample());
  EXPECT_NE(expect_refused(good.substr(0, good.size() / 2)).find("not valid JSON"),
            std::string::npos);
  auto j = nlohmann::json::parse(good);
  auto with = [&](auto edit) {
    auto c = j;
    edit(c);
    return expect_refused(c.dump());
  };
  EXPECT_NE(with([](auto& c) { c["version"] = 2; }).find("version 2"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c["format"] = "tar"; }).find("format"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c.erase("height"); }).find("\"height\" is missing"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c["height"] = -1; }).find("negative"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c["state_root"] = "zz"; }).find("state_root"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c["files"][0]["sha256"] = "ABC"; }).find("checksum"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { std::swap(c["files"][0], c["files"][1]); }).find("out of order"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c["files"][1] = c["files"][0]; }).find("listed twice"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c["includes_keys"] = true; }).find("node.key"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c["files"].erase(0); }).find("db/CURRENT"), std::string::npos);
  EXPECT_NE(expect_refused("[]").find("not a JSON object"), std::string::npos);
}

TEST(DbCheckpoint, CopiesTheDatabaseAtOneMoment) {
  auto dir = std::filesystem::temp_directory_path() /
             ("guts-checkpoint-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto db = storage::Db::open(dir / "live", {"a"});
    auto cf = db->cf("a");
    db->put(cf, "k1", "v1", true);
    db->checkpoint(dir / "copy");
    db->put(cf, "k2", "v2", true);
    EXPECT_THROW(db->checkpoint(dir / "copy"), Error);  // exists
    auto copy = storage::Db::open(dir / "copy", {"a"});
    EXPECT_EQ(copy->get(copy->cf("a"), "k1"), "v1");
    EXPECT_EQ(copy->get(copy->cf("a"), "k2"), std::nullopt);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
