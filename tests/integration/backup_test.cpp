// Backup and restore (node/backup.h; docs/operator.md "Backup and restore") with real processes
// and the stock git client: `guts-node backup` of a running node while pushes and issue
// creations keep arriving, `guts-node restore` into a new data directory, `guts-node check`
// replays it to the manifest's state root, and the restored node serves every push acknowledged
// before the backup with identical refs. Damaged backups (a truncated database file, a modified
// manifest, a missing file) are refused with the file named, and the target is not created.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e_harness.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

std::string node_bin() {
  return (bin_dir() / "guts-node").string();
}

nlohmann::json manifest_of(const fs::path& backup) {
  return nlohmann::json::parse(read_file(backup / "backup.json"));
}

// `guts-node check` output: "height H\nstate_root R\nreplay ok".
std::string field_of(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  return "";
}

struct Pushed {
  int index = 0;
  std::string tip;
};

TEST(Backup, UnderWriteLoadRestoresAndReplaysToTheSameStateRoot) {
  TempDir root("backup-load");
  Node node(root.path() / "node", {"--maintenance-interval-ms", "300"});
  node.start();
  User alice(root.path(), "alice", node);
  alice.sign_up();
  alice.token();  // cached: the same token works on the restored node (tokens are backed up)
  auto r = alice.guts({"repo", "create", "busy", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  auto work = root.path() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  ASSERT_TRUE(alice.git({"remote", "add", "origin", alice.remote("alice", "busy")}, work).ok());

  // The write load: a push (a commit and a tag t<i>) and an issue per round, until told to stop.
  std::mutex mu;
  std::vector<Pushed> pushed;  // acknowledged pushes, in order
  std::vector<int> issues;     // acknowledged issue numbers
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
      for (int i = 0; !stop; ++i) {
        auto tip = commit_file(alice, work, "file" + std::to_string(i % 7) + ".txt",
                               "round " + std::to_string(i) + "\n", "round " + std::to_string(i));
        auto t = alice.git({"tag", "t" + std::to_string(i)}, work);
        if (!t.ok()) throw std::runtime_error("git tag: " + t.both());
        auto p = alice.git({"push", "-q", "origin", "main", "t" + std::to_string(i)}, work);
        if (!p.ok()) throw std::runtime_error("push " + std::to_string(i) + ": " + p.both());
        {
          std::lock_guard l(mu);
          pushed.push_back({i, tip});
        }
        std::string body;
        int st = alice.api("POST", "/api/v3/repos/alice/busy/issues",
                           nlohmann::json{{"title", "issue " + std::to_string(i)}}.dump(), &body);
        if (st != 201) throw std::runtime_error("issue: " + std::to_string(st) + " " + body);
        {
          std::lock_guard l(mu);
          issues.push_back(nlohmann::json::parse(body)["number"].get<int>());
        }
        ++rounds;
      }
    } catch (const std::exception& e) {
      std::lock_guard l(mu);
      writer_error = e.what();
    }
  });
  auto writer_ok = [&] {
    std::lock_guard l(mu);
    return writer_error.empty();
  };
  ASSERT_TRUE(wait_until([&] { return rounds >= 3 || !writer_ok(); }, std::chrono::seconds(120)))
      << node.log();

  // The backup, while the writer goes on.
  std::vector<Pushed> before;
  std::vector<int> issues_before;
  {
    std::lock_guard l(mu);
    before = pushed;
    issues_before = issues;
  }
  auto backup = root.path() / "backup";
  auto b = run({node_bin(), "backup", "--out", backup.string(), "--data-dir",
                node.data_dir().string(), "--api", node.url(), "--include-keys"});
  int rounds_at_backup = rounds;
  // A few more rounds after it: the backup did not stop the node.
  bool more = wait_until([&] { return rounds >= rounds_at_backup + 2 || !writer_ok(); },
                         std::chrono::seconds(120));
  stop = true;
  writer.join();
  ASSERT_TRUE(b.ok()) << b.both() << "\n" << node.log();
  ASSERT_TRUE(writer_ok()) << writer_error << "\n" << node.log();
  ASSERT_TRUE(more);
  EXPECT_THAT(b.err, HasSubstr("private key"));  // --include-keys warns
  auto manifest = manifest_of(backup);
  auto height = manifest["height"].get<uint64_t>();
  auto state_root = manifest["state_root"].get<std::string>();
  EXPECT_EQ(field_of(b.out, "height"), std::to_string(height)) << b.out;
  EXPECT_EQ(field_of(b.out, "state_root"), state_root);
  EXPECT_TRUE(manifest["includes_keys"].get<bool>());
  EXPECT_EQ(fs::status(backup / "node.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(backup / "consensus"));
  EXPECT_FALSE(fs::exists(backup / "admin.token"));
  node.stop();

  // Restore into a new directory; it replays to the manifest's state root.
  auto restored = root.path() / "restored";
  r = run({node_bin(), "restore", "--from", backup.string(), "--data-dir", restored.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_FALSE(fs::exists(restored / "consensus"));  // the signing guard is never restored
  r = run({node_bin(), "check", "--data-dir", restored.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(field_of(r.out, "height"), std::to_string(height)) << r.out;
  EXPECT_EQ(field_of(r.out, "state_root"), state_root) << r.out;
  EXPECT_THAT(r.out, HasSubstr("replay ok"));

  // The restored node serves every push acknowledged before the backup, with identical refs:
  // the refs of exactly the pushes t0..tk (k at least the last acknowledged before it).
  Node again(restored);
  again.start();
  alice.set_node(again);
  auto refs = ls_remote(alice, alice.remote("alice", "busy"));
  std::map<std::string, std::string> got(refs.begin(), refs.end());
  std::vector<Pushed> all;
  {
    std::lock_guard l(mu);
    all = pushed;
  }
  int k = -1;
  while (got.count("refs/tags/t" + std::to_string(k + 1))) ++k;
  ASSERT_GE(k, before.back().index) << "pushes acknowledged before the backup are missing";
  ASSERT_LT(k, static_cast<int>(all.size()));
  EXPECT_EQ(got["refs/heads/main"], all[static_cast<size_t>(k)].tip);
  for (int i = 0; i <= k; ++i)
    EXPECT_EQ(got["refs/tags/t" + std::to_string(i)], all[static_cast<size_t>(i)].tip) << i;
  EXPECT_EQ(got.size(), static_cast<size_t>(k + 1 + 2)) << "HEAD, main and t0..tk only";

  auto clone = root.path() / "clone";
  r = alice.git({"clone", "-q", "--mirror", alice.remote("alice", "busy"), clone.string()});
  ASSERT_TRUE(r.ok()) << r.both() << again.log();
  r = alice.git({"fsck", "--strict", "--no-progress"}, clone);
  EXPECT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(alice, clone, "refs/heads/main"), all[static_cast<size_t>(k)].tip);
  for (int n : issues_before) {
    std::string body;
    EXPECT_EQ(alice.api("GET", "/api/v3/repos/alice/busy/issues/" + std::to_string(n), "", &body),
              200)
        << n << " " << body;
  }
  // A one-validator network's validator restored from a backup does not sign (its signing
  // guard is not restored: docs/operator.md), and says why.
  EXPECT_TRUE(wait_until([&] { return again.log().find("will not sign") != std::string::npos; },
                         std::chrono::seconds(30)))
      << again.log();
  again.stop();
}

// Runs `guts-node restore` of `backup` into a fresh target; expects a refusal naming `names`.
void expect_refused(const fs::path& backup, const fs::path& target, const std::string& names,
                    const std::string& problem) {
  auto r = run({node_bin(), "restore", "--from", backup.string(), "--data-dir", target.string()});
  EXPECT_FALSE(r.ok()) << r.both();
  EXPECT_THAT(r.err, HasSubstr(names)) << r.err;
  EXPECT_THAT(r.err, HasSubstr(problem)) << r.err;
  EXPECT_FALSE(fs::exists(target)) << "restore created " << target;
  EXPECT_FALSE(
      fs::exists(target.parent_path() / ("." + target.filename().string() + ".restoring")));
}

// A copy of a backup (new inodes: the backup's files may be hard links to a node's own).
fs::path copy_backup(const fs::path& from, const fs::path& to) {
  auto r = run({"cp", "-r", from.string(), to.string()});
  EXPECT_TRUE(r.ok()) << r.both();
  return to;
}

TEST(Backup, DamagedBackupsAreRefusedNamingTheFileAndChangeNothing) {
  TempDir root("backup-bad");
  Node node(root.path() / "node");
  node.start();
  User alice(root.path(), "alice", node);
  alice.sign_up();
  ASSERT_TRUE(alice.guts({"repo", "create", "small"}).ok());
  auto work = root.path() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  commit_file(alice, work, "a.txt", "a\n", "a");
  ASSERT_TRUE(alice.git({"push", "-q", alice.remote("alice", "small"), "main"}, work).ok());

  // The admin route: only the local operator's token.
  auto curl = [&](const std::vector<std::string>& headers) {
    std::vector<std::string> argv{
        "curl",         "-s", "-o",   "/dev/null", "-w",
        "%{http_code}", "-X", "POST", "-d",        "{\"out\":\"/tmp/never\"}"};
    for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
    argv.push_back(node.url() + "/api/guts/admin/backup");
    return run(argv).out;
  };
  EXPECT_EQ(curl({}), "403");
  EXPECT_EQ(curl({"X-Guts-Admin-Token: " + std::string(64, '0')}), "403");
  EXPECT_EQ(curl({"Authorization: token " + alice.token()}), "403");
  EXPECT_FALSE(fs::exists("/tmp/never"));

  // The offline mode refuses a running node's database, and says what to do.
  auto r = run({node_bin(), "backup", "--offline", "--out", (root.path() / "off").string(),
                "--data-dir", node.data_dir().string()});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("without --offline"));
  EXPECT_FALSE(fs::exists(root.path() / "off"));

  // A non-empty --out is refused.
  fs::create_directories(root.path() / "full");
  write_file(root.path() / "full" / "x", "x");
  r = run({node_bin(), "backup", "--out", (root.path() / "full").string(), "--data-dir",
           node.data_dir().string(), "--api", node.url()});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("not an empty directory"));

  auto backup = root.path() / "backup";
  r = run({node_bin(), "backup", "--out", backup.string(), "--data-dir", node.data_dir().string(),
           "--api", node.url()});
  ASSERT_TRUE(r.ok()) << r.both() << node.log();
  EXPECT_FALSE(fs::exists(backup / "node.key"));
  node.stop();
  // A stopped node: the offline mode works too, at the same height.
  auto offline = root.path() / "offline";
  r = run({node_bin(), "backup", "--offline", "--out", offline.string(), "--data-dir",
           node.data_dir().string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_GE(manifest_of(offline)["height"].get<uint64_t>(),
            manifest_of(backup)["height"].get<uint64_t>());
  r = run({node_bin(), "restore", "--verify-only", "--from", backup.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_THAT(r.out, HasSubstr("verify ok"));

  auto manifest = manifest_of(backup);
  std::string sst, pack;
  for (const auto& f : manifest["files"]) {
    auto p = f["path"].get<std::string>();
    if (sst.empty() && p.rfind("db/", 0) == 0 && p.size() > 4 && p.substr(p.size() - 4) == ".sst")
      sst = p;
    if (pack.empty() && p.rfind("repos/", 0) == 0 && p.find("/objects/") != std::string::npos)
      pack = p;
  }
  ASSERT_FALSE(sst.empty()) << manifest.dump(1);
  ASSERT_FALSE(pack.empty()) << manifest.dump(1);

  {  // A truncated checkpoint file.
    auto c = copy_backup(backup, root.path() / "truncated");
    fs::resize_file(c / sst, fs::file_size(c / sst) / 2);
    expect_refused(c, root.path() / "t1", (c / sst).string(), "truncated");
  }
  {  // A modified manifest: a changed state root (valid JSON) and a cut-off one.
    auto c = copy_backup(backup, root.path() / "modified");
    auto m = manifest;
    auto root_hex = m["state_root"].get<std::string>();
    root_hex[0] = root_hex[0] == '0' ? '1' : '0';
    m["state_root"] = root_hex;
    write_file(c / "backup.json", m.dump(1));
    expect_refused(c, root.path() / "t2", (c / "db").string(), "the manifest says height");
    auto text = read_file(backup / "backup.json");
    write_file(c / "backup.json", text.substr(0, text.size() / 2));
    expect_refused(c, root.path() / "t3", (c / "backup.json").string(), "not valid JSON");
    auto m2 = manifest;
    m2["files"][0]["sha256"] = std::string(64, 'a');
    write_file(c / "backup.json", m2.dump(1));
    expect_refused(c, root.path() / "t4", m2["files"][0]["path"].get<std::string>(),
                   "SHA-256 differs");
  }
  {  // A missing file, and a missing manifest (an incomplete backup).
    auto c = copy_backup(backup, root.path() / "missing");
    fs::remove(c / pack);
    expect_refused(c, root.path() / "t5", (c / pack).string(), "missing");
    fs::remove(c / "backup.json");
    expect_refused(c, root.path() / "t6", (c / "backup.json").string(), "incomplete");
  }
  {  // A corrupted byte, same size.
    auto c = copy_backup(backup, root.path() / "corrupted");
    auto text = read_file(c / "genesis.json");
    text[text.size() / 2] = text[text.size() / 2] == 'x' ? 'y' : 'x';
    write_file(c / "genesis.json", text);
    expect_refused(c, root.path() / "t7", (c / "genesis.json").string(), "SHA-256 differs");
  }
  // A non-empty target is refused and left as it was.
  fs::create_directories(root.path() / "busy");
  write_file(root.path() / "busy" / "keep", "keep");
  r = run({node_bin(), "restore", "--from", backup.string(), "--data-dir",
           (root.path() / "busy").string()});
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.err, HasSubstr("not an empty directory"));
  EXPECT_EQ(read_file(root.path() / "busy" / "keep"), "keep");

  // The good backup restores (without a key: --key installs the node's own), and runs.
  auto restored = root.path() / "restored";
  r = run({node_bin(), "restore", "--from", backup.string(), "--data-dir", restored.string(),
           "--key", (node.data_dir() / "node.key").string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(read_file(restored / "node.key"), read_file(node.data_dir() / "node.key"));
  r = run({node_bin(), "check", "--data-dir", restored.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(field_of(r.out, "state_root"), manifest["state_root"].get<std::string>());
  Node again(restored);
  again.start();
  alice.set_node(again);
  auto clone = root.path() / "clone";
  r = alice.git({"clone", "-q", alice.remote("alice", "small"), clone.string()});
  ASSERT_TRUE(r.ok()) << r.both() << again.log();
  EXPECT_EQ(rev_parse(alice, clone, "HEAD"), rev_parse(alice, work, "HEAD"));
  again.stop();
}

}  // namespace
}  // namespace guts::e2e
