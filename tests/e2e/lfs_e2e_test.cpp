// Git LFS end to end (docs/lfs.md): the stock git and git-lfs clients against a network of two
// validators. A binary tracked by LFS is pushed through node 0 and cloned (smudged) from node 0
// and from node 1, which fetched the object over p2p before voting for the block that recorded
// it (replication/blob_sync.h); `git lfs lock`/`locks`/`unlock`; a malformed batch request
// answers 400/422 and changes nothing; an upload whose bytes do not match its oid is refused and
// leaves nothing behind. A release asset uploaded to node 0 is downloaded from node 1.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "crypto/hash.h"
#include "tests/e2e/e2e_harness.h"
#include "tests/support/cluster_harness.h"

namespace guts::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

std::string sha256_hex(const std::string& s) {
  return hex_encode(crypto::sha256(as_bytes(s)));
}

// curl against the LFS API with the user's token; returns {status, body}.
std::pair<int, std::string> lfs_call(
    const User& u, const std::string& method, const std::string& url, const std::string& body,
    const std::string& content_type = "application/vnd.git-lfs+json") {
  auto r = run({"curl", "-sS", "-X", method, "-u", u.name() + ":" + u.token(), "-H",
                "Accept: application/vnd.git-lfs+json", "-H", "Content-Type: " + content_type,
                "--data-binary", "@-", "-w", "\n%{http_code}", url},
               {}, {}, body, 60s);
  auto nl = r.out.rfind('\n');
  if (!r.ok() || nl == std::string::npos) return {0, r.both()};
  return {std::atoi(r.out.c_str() + nl + 1), r.out.substr(0, nl)};
}

TEST(LfsE2e, PushCloneFromBothNodesLocksAndBadInput) {
  testing::ClusterOptions opts;
  opts.validators = 2;
  opts.log_level = "info";
  testing::Cluster net(opts);
  net.start_all();
  TempDir root("LfsE2e");
  User alice(root.path(), "alice", net.node(0));
  alice.sign_up();
  ASSERT_TRUE(alice.guts({"repo", "create", "media"}).ok());
  auto g = alice.git({"lfs", "install"});  // the user's (isolated) global config: smudge/clean
  ASSERT_TRUE(g.ok()) << g.both();

  // A work tree tracking *.bin, with a 3 MiB binary.
  auto work = root.path() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  ASSERT_TRUE(alice.git({"lfs", "install", "--local"}, work).ok());
  g = alice.git({"lfs", "track", "*.bin"}, work);
  ASSERT_TRUE(g.ok()) << g.both();
  const std::string big = random_bytes(3 << 20, 17);
  write_file(work / "big.bin", big);
  write_file(work / "README.md", "# media\n");
  ASSERT_TRUE(alice.git({"add", ".gitattributes", "big.bin", "README.md"}, work).ok());
  ASSERT_TRUE(alice.git({"commit", "-q", "-m", "binary"}, work).ok());
  // What git stored is a pointer, not the bytes.
  auto pointer = alice.git({"show", "HEAD:big.bin"}, work);
  ASSERT_NE(pointer.out.find("oid sha256:" + sha256_hex(big)), std::string::npos) << pointer.out;
  ASSERT_TRUE(alice.git({"remote", "add", "origin", alice.remote("alice", "media")}, work).ok());
  g = alice.git({"push", "origin", "main"}, work);
  ASSERT_TRUE(g.ok()) << g.both() << net.logs();

  // Clone from node 0: the smudge filter downloads the real bytes.
  auto clone0 = root.path() / "clone0";
  g = alice.git({"clone", "-q", alice.remote("alice", "media"), clone0.string()});
  ASSERT_TRUE(g.ok()) << g.both();
  EXPECT_EQ(read_file(clone0 / "big.bin"), big);

  // Clone from node 1: it holds the object (fetched over p2p before voting).
  User alice1(root.path(), "alice", net.node(1));
  testing::CmdResult login;
  ASSERT_TRUE(wait_until(
      [&] {
        login = alice1.guts({"auth", "login"});
        return login.ok();
      },
      30s, 200ms))
      << login.both();
  auto clone1 = root.path() / "clone1";
  ASSERT_TRUE(wait_until(
      [&] {
        fs::remove_all(clone1);
        g = alice1.git({"clone", "-q", alice1.remote("alice", "media"), clone1.string()});
        return g.ok();
      },
      60s, 500ms))
      << g.both() << net.logs();
  EXPECT_EQ(read_file(clone1 / "big.bin"), big);
  auto blob1 = net.node(1).data_dir() / "blobs" / sha256_hex(big).substr(0, 2) / sha256_hex(big);
  EXPECT_TRUE(fs::exists(blob1));

  // A release asset uploaded to node 0 is replicated like an LFS object (state::blob_refs names
  // it): node 1 serves the same bytes (docs/releases.md, docs/blobs.md).
  const std::string asset = random_bytes(300000, 23);
  write_file(root.path() / "tool.bin", asset);
  g = alice.guts({"release", "create", "alice/media", "v1.0.0", "--title", "One",
                  (root.path() / "tool.bin").string()});
  ASSERT_TRUE(g.ok()) << g.both();
  auto dl = root.path() / "dl1";
  fs::create_directories(dl);
  ASSERT_TRUE(wait_until(
      [&] {
        g = alice1.guts({"release", "download", "alice/media", "v1.0.0", "--dir", dl.string()});
        return g.ok();
      },
      60s, 300ms))
      << g.both() << net.logs();
  EXPECT_EQ(read_file(dl / "tool.bin"), asset);
  EXPECT_TRUE(fs::exists(net.node(1).data_dir() / "blobs" / sha256_hex(asset).substr(0, 2) /
                         sha256_hex(asset)));

  // Locks: lock, list, another user's view, unlock.
  g = alice.git({"lfs", "lock", "big.bin"}, work);
  ASSERT_TRUE(g.ok()) << g.both();
  g = alice.git({"lfs", "locks"}, work);
  ASSERT_TRUE(g.ok()) << g.both();
  EXPECT_NE(g.out.find("big.bin"), std::string::npos) << g.out;
  g = alice.git({"lfs", "lock", "big.bin"}, work);  // held
  EXPECT_FALSE(g.ok()) << g.both();
  g = alice.git({"lfs", "unlock", "big.bin"}, work);
  ASSERT_TRUE(g.ok()) << g.both();
  g = alice.git({"lfs", "locks"}, work);
  EXPECT_EQ(g.out.find("big.bin"), std::string::npos) << g.out;

  // Malformed batch requests: 400/422, nothing changes.
  const std::string base = net.node(0).url() + "/alice/media.git/info/lfs";
  uint64_t height = net.height(0);
  auto [st, body] = lfs_call(alice, "POST", base + "/objects/batch", "{not json");
  EXPECT_EQ(st, 400) << body;
  std::tie(st, body) = lfs_call(alice, "POST", base + "/objects/batch",
                                R"({"operation":"erase","objects":[{"oid":"x","size":1}]})");
  EXPECT_EQ(st, 422) << body;
  std::tie(st, body) = lfs_call(alice, "POST", base + "/objects/batch",
                                R"({"operation":"download","objects":[{"oid":"zz","size":1}]})");
  ASSERT_EQ(st, 200) << body;
  EXPECT_EQ(json::parse(body)["objects"][0]["error"]["code"], 422) << body;
  // A known object downloads; an unknown one is a per-object 404.
  json req{{"operation", "download"},
           {"objects",
            {{{"oid", sha256_hex(big)}, {"size", big.size()}},
             {{"oid", std::string(64, '0')}, {"size", 1}}}}};
  std::tie(st, body) = lfs_call(alice, "POST", base + "/objects/batch", req.dump());
  ASSERT_EQ(st, 200) << body;
  auto objs = json::parse(body)["objects"];
  EXPECT_TRUE(objs[0].contains("actions")) << body;
  EXPECT_EQ(objs[1]["error"]["code"], 404) << body;
  EXPECT_EQ(net.height(0), height);  // no transaction came out of any of these

  // An upload whose bytes do not hash to the oid of its URL: 422, nothing kept.
  const std::string claimed = sha256_hex("the real bytes");
  std::tie(st, body) = lfs_call(alice, "PUT", base + "/objects/" + claimed, "other bytes",
                                "application/octet-stream");
  EXPECT_EQ(st, 422) << body;
  EXPECT_FALSE(fs::exists(net.node(0).data_dir() / "blobs" / claimed.substr(0, 2) / claimed));
  req = {{"operation", "download"}, {"objects", {{{"oid", claimed}, {"size", 14}}}}};
  std::tie(st, body) = lfs_call(alice, "POST", base + "/objects/batch", req.dump());
  EXPECT_EQ(json::parse(body)["objects"][0]["error"]["code"], 404) << body;
  // Anonymous upload batch: 401 with a Basic challenge (git-lfs then asks for credentials).
  auto anon = run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                   "Content-Type: application/vnd.git-lfs+json", "--data-binary",
                   R"({"operation":"upload","objects":[{"oid":")" + claimed + R"(","size":1}]})",
                   base + "/objects/batch"},
                  {}, {}, "", 30s);
  EXPECT_EQ(anon.out, "401");
}

}  // namespace
}  // namespace guts::e2e
