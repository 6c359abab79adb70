#include "git/receive.h"

#include <gtest/gtest.h>

#include "git/object_presence.h"
#include "git/pktline.h"
#include "git/repo_store.h"
#include "git/upload.h"
#include "git_test_util.h"

using namespace guts;
using namespace guts::git;
using namespace guts::git::testing;
using namespace std::string_literals;

namespace {

const std::string kZero(kZeroOid);

std::string command_list(const std::vector<RefCommand>& cmds, const std::string& caps,
                         const std::vector<std::string>& options = {}) {
  std::string out;
  bool first = true;
  for (const auto& c : cmds) {
    std::string line = c.old_oid + " " + c.new_oid + " " + c.ref;
    if (first) line += std::string(1, '\0') + caps;
    pkt::append(out, line + "\n");
    first = false;
  }
  out += "0000";
  if (!options.empty()) {
    for (const auto& o : options) pkt::append(out, o + "\n");
    out += "0000";
  }
  return out;
}

struct Fixture : ::testing::Test {
  TempDir tmp{"recv"};
  RepoStore store{tmp.path / "data"};
  fs::path repo;
  WorkRepo work{tmp.path / "work"};

  void SetUp() override {
    ASSERT_TRUE(store.create("r1"));
    repo = store.path_for("r1");
  }

  IncomingPush receive(const std::vector<RefCommand>& cmds, const std::string& pack,
                       const std::string& caps = "report-status") {
    std::string body = command_list(cmds, caps) + pack;
    std::string rest;
    auto src = source_from(as_bytes(body));
    auto req = read_push_request(src, rest);
    return IncomingPush::receive(repo, std::move(req), source_concat(rest, src));
  }

  bool has_object(const std::string& oid) { return git_run(repo, {"cat-file", "-e", oid}).ok(); }
  std::string ref(const std::string& name) { return resolve_ref(repo, name).value_or(kZero); }

  // Pushes all commits of work's main to the repository (creating or ff-updating refs/heads/main).
  void push_main(const std::string& old_oid) {
    std::string tip = work.head();
    std::vector<std::string> excl;
    if (old_oid != kZero) excl.push_back(old_oid);
    auto p = receive({{old_oid, tip, "refs/heads/main"}}, work.pack({tip}, excl, true));
    ASSERT_EQ(p.unpack_error(), "");
    auto res = decide(p, {});
    ASSERT_TRUE(res[0].ok()) << res[0].error;
    ASSERT_TRUE(p.apply(p.request().commands).ok());
  }
};

}  // namespace

// ---------------- advertisement and command parsing ----------------

TEST(ReceiveAdvertisement, EmptyRepoAndRefs) {
  auto empty = receive_advertisement({});
  auto pkts = pkt::decode_all(empty);
  ASSERT_EQ(pkts.size(), 2u);
  EXPECT_EQ(pkts[0].data, kZero + " capabilities^{}" + std::string(1, '\0') +
                              std::string(kReceiveCapabilities) + "\n");
  EXPECT_EQ(pkts[1].type, pkt::Type::kFlush);

  std::vector<Ref> refs = {{"refs/heads/main", std::string(40, 'a'), ""},
                           {"refs/tags/v1", std::string(40, 'b'), std::string(40, 'c')}};
  auto adv = pkt::decode_all(receive_advertisement(refs, true));
  ASSERT_EQ(adv.size(), 4u);
  EXPECT_EQ(adv[0].data, "version 1\n");
  EXPECT_EQ(adv[1].data.substr(0, 57), std::string(40, 'a') + " refs/heads/main\0"s.substr(0, 17));
  EXPECT_NE(adv[1].data.find("report-status-v2"), std::string::npos);
  EXPECT_EQ(adv[2].data, std::string(40, 'b') + " refs/tags/v1\n");
  EXPECT_EQ(service_header("git-receive-pack"), "001f# service=git-receive-pack\n0000");
}

TEST(PushRequestParser, ParsesCommandsCapsOptionsShallow) {
  std::string a(40, 'a'), b(40, 'b');
  std::string body;
  pkt::append(body, "shallow " + a + "\n");
  pkt::append(body, kZero + " " + a + " refs/heads/x" + std::string(1, '\0') +
                        "report-status-v2 side-band-64k atomic push-options agent=git/2.39.5\n");
  pkt::append(body, b + " " + kZero + " refs/heads/y\n");
  body += "0000";
  pkt::append(body, "ci.skip\n");
  body += "0000PACK....";
  PushRequestParser p;
  // byte by byte: the parser is incremental
  for (size_t i = 0; i < body.size(); ++i) p.feed(body.substr(i, 1));
  ASSERT_TRUE(p.done());
  auto req = p.take_request();
  ASSERT_EQ(req.commands.size(), 2u);
  EXPECT_TRUE(req.commands[0].is_create());
  EXPECT_TRUE(req.commands[1].is_delete());
  EXPECT_TRUE(req.report_status());
  EXPECT_TRUE(req.report_status_v2());
  EXPECT_TRUE(req.side_band());
  EXPECT_TRUE(req.atomic());
  EXPECT_FALSE(req.quiet());
  EXPECT_EQ(req.agent, "git/2.39.5");
  EXPECT_EQ(req.push_options, std::vector<std::string>{"ci.skip"});
  EXPECT_EQ(req.shallow, std::vector<std::string>{a});
  EXPECT_TRUE(req.expects_pack());
  EXPECT_EQ(p.take_remaining(), "PACK....");
}

TEST(PushRequestParser, RejectsBadInput) {
  std::string a(40, 'a');
  auto parse = [](const std::string& body, ReceiveLimits lim = {}) {
    PushRequestParser p(lim);
    p.feed(body);
    return p.done();
  };
  auto line = [&](const std::string& ref, const std::string& caps = "") {
    return pkt::encode(kZero + " " + a + " " + ref +
                       (caps.empty() ? "" : std::string(1, '\0') + caps) + "\n");
  };
  EXPECT_TRUE(parse("0000"));  // nothing to push
  EXPECT_THROW(parse(line("refs/heads/a..b") + "0000"), Error);
  EXPECT_THROW(parse(line("refs/heads/x") + line("refs/heads/x") + "0000"), Error);
  EXPECT_THROW(parse(pkt::encode(kZero + " zz refs/heads/x\n") + "0000"), Error);
  EXPECT_THROW(parse(pkt::encode("garbage\n") + "0000"), Error);
  EXPECT_THROW(parse(line("refs/heads/x", "object-format=sha256") + "0000"), Error);
  EXPECT_THROW(parse(pkt::encode("push-cert\0caps\n"s) + "0000"), Error);
  EXPECT_THROW(parse("0001"), Error);
  ReceiveLimits lim;
  lim.max_commands = 2;
  EXPECT_THROW(
      parse(line("refs/heads/a") + line("refs/heads/b") + line("refs/heads/c") + "0000", lim),
      Error);
  lim = {};
  lim.max_ref_length = 20;
  EXPECT_THROW(parse(line("refs/heads/aaaaaaaaaaaaaaaaaaa") + "0000", lim), Error);
  // truncated request
  auto src = source_from(as_bytes(std::string_view("00")));
  std::string rest;
  EXPECT_THROW(read_push_request(src, rest), Error);
}

TEST(ReportStatus, PlainAndSideband) {
  std::vector<RefStatus> res = {{"refs/heads/a", ""}, {"refs/heads/b", "non-fast-forward"}};
  auto plain = report_status("", res, false);
  EXPECT_EQ(plain,
            "000eunpack ok\n0014ok refs/heads/a\n0025ng refs/heads/b non-fast-forward\n0000");
  auto sb = report_status("", res, true);
  pkt::SidebandReader r;
  std::string inner;
  r.on_data = [&](std::string_view s) { inner += s; };
  EXPECT_TRUE(r.feed(sb));
  EXPECT_EQ(inner, plain);
  auto bad = pkt::decode_all(report_status("index-pack failed: early EOF", {}, false));
  EXPECT_EQ(bad[0].data, "unpack index-pack failed: early EOF\n");
}

// ---------------- receive path against real git ----------------

TEST_F(Fixture, FirstPushThenFastForwardThenNonFastForward) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  push_main(kZero);
  EXPECT_EQ(ref("refs/heads/main"), c1);

  std::string c2 = work.commit("a.txt", "two\n", "second");
  push_main(c1);
  EXPECT_EQ(ref("refs/heads/main"), c2);

  // Rewrite history: c3 is a sibling of c2 (non-fast-forward).
  git_ok(work.dir, {"reset", "-q", "--hard", c1});
  std::string c3 = work.commit("b.txt", "other\n", "diverge");
  auto p = receive({{c2, c3, "refs/heads/main"}}, work.pack({c3}, {c1}, true));
  ASSERT_EQ(p.unpack_error(), "");
  EXPECT_FALSE(p.checks()[0].fast_forward);
  EXPECT_TRUE(p.checks()[0].connected);
  EXPECT_FALSE(p.checks()[0].stale);
  auto res = decide(p, {});
  EXPECT_EQ(res[0].error, "non-fast-forward");
  // The quarantine holds c3 but the repository does not see it.
  EXPECT_FALSE(has_object(c3));
  EXPECT_TRUE(git_run(repo, {"cat-file", "-e", c3}, {}, p.quarantine().env()).ok());
  fs::path qdir = p.quarantine().dir();
  EXPECT_TRUE(fs::exists(qdir));
  {
    auto dropped = std::move(p);  // destroying the push discards its quarantine
  }
  EXPECT_FALSE(fs::exists(qdir));
  EXPECT_FALSE(has_object(c3));
  EXPECT_EQ(ref("refs/heads/main"), c2);

  // Forced: policy allows it.
  auto p2 = receive({{c2, c3, "refs/heads/main"}}, work.pack({c3}, {c1}, true));
  auto res2 = decide(p2, {.allow_non_fast_forward = true});
  ASSERT_TRUE(res2[0].ok()) << res2[0].error;
  ASSERT_TRUE(p2.apply(p2.request().commands).ok());
  EXPECT_EQ(ref("refs/heads/main"), c3);
  EXPECT_TRUE(has_object(c3));
  EXPECT_TRUE(git_run(repo, {"fsck", "--strict", "--no-dangling"}).ok());
  // No quarantine or .keep left behind.
  for (auto& e : fs::directory_iterator(repo / "objects"))
    EXPECT_EQ(e.path().filename().string().rfind("incoming-", 0), std::string::npos);
  for (auto& e : fs::directory_iterator(repo / "objects" / "pack"))
    EXPECT_NE(e.path().extension(), ".keep");
}

TEST_F(Fixture, StaleOldValueFailsWholeTransaction) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  push_main(kZero);
  std::string c2 = work.commit("a.txt", "two\n", "second");
  // Two refs in one transaction; one has a wrong old value.
  auto p = receive({{c1, c2, "refs/heads/main"}, {c2, c2, "refs/heads/other"}},
                   work.pack({c2}, {c1}, true));
  ASSERT_EQ(p.unpack_error(), "");
  EXPECT_TRUE(p.checks()[1].stale);
  Status st = p.apply(p.request().commands);
  EXPECT_EQ(st.code(), Code::kConflict) << st.to_string();
  EXPECT_EQ(ref("refs/heads/main"), c1);
  EXPECT_EQ(ref("refs/heads/other"), kZero);
  p.quarantine().discard();
  EXPECT_FALSE(has_object(c2));  // objects never became visible
}

TEST_F(Fixture, ConcurrentPushesToOneRefExactlyOneWins) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  push_main(kZero);
  std::string c2 = work.commit("a.txt", "two\n", "second");
  git_ok(work.dir, {"reset", "-q", "--hard", c1});
  std::string c3 = work.commit("a.txt", "three\n", "third");
  auto p1 = receive({{c1, c2, "refs/heads/main"}}, work.pack({c2}, {c1}, true));
  auto p2 = receive({{c1, c3, "refs/heads/main"}}, work.pack({c3}, {c1}, true));
  EXPECT_TRUE(p1.apply(p1.request().commands).ok());
  EXPECT_EQ(p2.apply(p2.request().commands).code(), Code::kConflict);
  EXPECT_EQ(ref("refs/heads/main"), c2);
}

TEST_F(Fixture, TruncatedPackIsUnpackError) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  std::string pack = work.pack({c1}, {});
  auto p = receive({{kZero, c1, "refs/heads/main"}}, pack.substr(0, pack.size() / 2));
  EXPECT_NE(p.unpack_error(), "");
  auto res = decide(p, {});
  EXPECT_EQ(res[0].error, "unpacker error");
  EXPECT_FALSE(p.apply(p.request().commands).ok());
  EXPECT_EQ(ref("refs/heads/main"), kZero);
  auto garbage = receive({{kZero, c1, "refs/heads/main"}}, "PACK\0\0\0\2garbage"s);
  EXPECT_NE(garbage.unpack_error(), "");
}

TEST_F(Fixture, PackMissingObjectsIsRejected) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  std::string c2 = work.commit("a.txt", "two\n", "second");
  // A pack with c2 only (not thin-fixable: the server lacks c1): broken links.
  auto p = receive({{kZero, c2, "refs/heads/main"}}, work.pack({c2}, {c1}, false));
  bool rejected = !p.unpack_error().empty() || !p.checks()[0].connected;
  EXPECT_TRUE(rejected);
  EXPECT_FALSE(decide(p, {})[0].ok());
  p.quarantine().discard();
  EXPECT_FALSE(has_object(c2));

  // A tip that exists nowhere, with an empty pack: the connectivity check catches it.
  std::string empty_pack = work.pack({}, {});
  auto q = receive({{kZero, std::string(40, 'e'), "refs/heads/ghost"}}, empty_pack);
  EXPECT_EQ(q.unpack_error(), "");
  EXPECT_FALSE(q.checks()[0].connected);
  EXPECT_EQ(decide(q, {})[0].error, "missing necessary objects");
}

TEST_F(Fixture, DeletionNeedsNoPackAndTagsWork) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  git_ok(work.dir, {"tag", "-a", "-m", "release", "v1"});
  std::string tag = git_ok(work.dir, {"rev-parse", "v1"});
  auto p = receive({{kZero, c1, "refs/heads/main"},
                    {kZero, c1, "refs/heads/topic"},
                    {kZero, tag, "refs/tags/v1"}},
                   work.pack({tag, c1}, {}));
  auto res = decide(p, {});
  for (auto& r : res) EXPECT_TRUE(r.ok()) << r.ref << ": " << r.error;
  ASSERT_TRUE(p.apply(p.request().commands).ok());
  auto refs = list_refs(repo);
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[2].name, "refs/tags/v1");
  EXPECT_EQ(refs[2].peeled, c1);

  // Pure deletion: the body ends after the command list.
  auto d = receive({{c1, kZero, "refs/heads/topic"}}, "");
  EXPECT_FALSE(d.request().expects_pack());
  EXPECT_EQ(d.unpack_error(), "");
  ASSERT_TRUE(decide(d, {})[0].ok());
  ASSERT_TRUE(d.apply(d.request().commands).ok());
  EXPECT_EQ(ref("refs/heads/topic"), kZero);
  // Deleting a missing ref / prohibited deletions.
  auto d2 = receive({{c1, kZero, "refs/heads/topic"}}, "");
  EXPECT_EQ(decide(d2, {})[0].error, "no such ref");
  auto d3 = receive({{c1, kZero, "refs/heads/main"}}, "");
  EXPECT_EQ(decide(d3, {.allow_deletes = false})[0].error, "deletion prohibited");
}

// list_refs reads refs in process (libgit2): it must list what `git for-each-ref` lists, with
// packed and loose refs, a tag of a tag (peeled one level), and a symbolic ref inside refs/.
TEST(ListRefs, MatchesGitForEachRef) {
  TempDir tmp("refs");
  WorkRepo work(tmp.path / "w");
  std::string c1 = work.commit("a.txt", "one\n", "first");
  git_ok(work.dir, {"tag", "-a", "-m", "release", "v1"});
  git_ok(work.dir, {"tag", "-a", "-m", "of a tag", "v1-signed", "v1"});
  git_ok(work.dir, {"branch", "topic"});
  git_ok(work.dir, {"pack-refs", "--all"});
  std::string c2 = work.commit("a.txt", "two\n", "second");  // main now loose, over packed
  git_ok(work.dir, {"branch", "later"});
  git_ok(work.dir, {"symbolic-ref", "refs/heads/alias", "refs/heads/topic"});
  fs::path git_dir = work.dir / ".git";
  std::string expected =
      git_ok(git_dir, {"for-each-ref", "--format=%(objectname) %(*objectname) %(refname)"});
  std::string listed;
  for (const auto& r : list_refs(git_dir))
    listed += (listed.empty() ? "" : "\n") + r.oid + " " + r.peeled + " " + r.name;
  EXPECT_EQ(listed, expected);
  EXPECT_NE(listed.find(c2 + "  refs/heads/main"), std::string::npos) << listed;
  EXPECT_NE(listed.find(c1 + "  refs/heads/alias"), std::string::npos) << listed;
  EXPECT_EQ(head_target(git_dir).value_or(""), "refs/heads/main");
  git_ok(work.dir, {"checkout", "-q", "--detach"});
  EXPECT_FALSE(head_target(git_dir));
  EXPECT_THROW(list_refs(tmp.path / "absent"), Error);
  EXPECT_FALSE(head_target(tmp.path / "absent"));

  // Object presence, in process: loose objects, then the same packed.
  std::string none(40, 'e');
  EXPECT_EQ(absent_objects(git_dir / "objects", {c1, c2, none}), std::set<std::string>{none});
  git_ok(work.dir, {"repack", "-a", "-d", "-q"});
  git_ok(work.dir, {"prune-packed"});
  EXPECT_EQ(absent_objects(git_dir / "objects", {c1, c2, none}), std::set<std::string>{none});
  EXPECT_THROW(absent_objects(git_dir / "objects", {"not-hex"}), Error);
  EXPECT_THROW(absent_objects(tmp.path / "absent", {c1}), Error);
}

TEST_F(Fixture, AtomicPushOneBadRefFailsAll) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  auto p = receive({{kZero, c1, "refs/heads/main"}, {kZero, c1, "refs/pull/1/head"}},
                   work.pack({c1}, {}), "report-status atomic");
  auto res = decide(p, {});
  EXPECT_EQ(res[0].error, "atomic push failed");
  EXPECT_EQ(res[1].error, "funny refname");
}

TEST_F(Fixture, BranchMustPointAtCommit) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  std::string tree = git_ok(work.dir, {"rev-parse", "HEAD^{tree}"});
  auto p = receive({{kZero, tree, "refs/heads/tree"}}, work.pack({c1}, {}));
  EXPECT_FALSE(decide(p, {})[0].ok());
}

// The type and ancestry checks read the repository and the quarantine in process: objects
// only in the quarantine count, a tree or a tag is not a commit, missing objects answer false.
TEST_F(Fixture, QuarantineObjectsSeesRepositoryAndQuarantine) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  push_main(kZero);
  std::string c2 = work.commit("a.txt", "two\n", "second");
  std::string tree = git_ok(work.dir, {"rev-parse", "HEAD^{tree}"});
  git_ok(work.dir, {"tag", "-a", "-m", "annotated", "v2", c2});
  std::string tag = git_ok(work.dir, {"rev-parse", "v2"});
  auto p = receive({{c1, c2, "refs/heads/main"}, {kZero, tag, "refs/tags/v2"}},
                   work.pack({c2, tag}, {c1}, true));
  ASSERT_EQ(p.unpack_error(), "");
  ASSERT_FALSE(has_object(c2));  // only in the quarantine
  QuarantineObjects objects(p.quarantine());
  EXPECT_TRUE(objects.is_commit(c1));
  EXPECT_TRUE(objects.is_commit(c2));
  EXPECT_FALSE(objects.is_commit(tree));
  EXPECT_FALSE(objects.is_commit(tag));
  EXPECT_FALSE(objects.is_commit(std::string(40, 'a'))) << "missing";
  EXPECT_FALSE(objects.is_commit("not-an-object-id"));
  EXPECT_TRUE(objects.is_ancestor(c1, c2));
  EXPECT_TRUE(objects.is_ancestor(c2, c2));
  EXPECT_FALSE(objects.is_ancestor(c2, c1));
  EXPECT_FALSE(objects.is_ancestor(tag, c2)) << "a tag is not a commit";
  EXPECT_FALSE(objects.is_ancestor(std::string(40, 'b'), c2)) << "missing";
  EXPECT_TRUE(p.checks()[0].fast_forward);
  EXPECT_TRUE(p.checks()[0].new_is_commit);
  auto res = decide(p, {});
  EXPECT_TRUE(res[0].ok()) << res[0].error;
  EXPECT_TRUE(res[1].ok()) << res[1].error << " (tags may name any object)";
}

TEST_F(Fixture, ServeReceivePackEndToEndWithSideband) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  std::string body =
      command_list({{kZero, c1, "refs/heads/main"}}, "report-status side-band-64k agent=test") +
      work.pack({c1}, {});
  std::string response;
  auto results = serve_receive_pack(repo, source_from(as_bytes(body)), sink_to(response));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok());
  pkt::SidebandReader r;
  std::string inner;
  r.on_data = [&](std::string_view s) { inner += s; };
  EXPECT_TRUE(r.feed(response));
  EXPECT_EQ(inner, "000eunpack ok\n0017ok refs/heads/main\n0000");
  EXPECT_EQ(ref("refs/heads/main"), c1);

  // Malformed request: ERR packet, nothing changes.
  std::string bad_resp;
  auto none = serve_receive_pack(repo, source_from(as_bytes(std::string_view("0009zz"))),
                                 sink_to(bad_resp));
  EXPECT_TRUE(none.empty());
  EXPECT_NE(bad_resp.find("ERR "), std::string::npos);
}

// ---------------- repo store ----------------

TEST(RepoStore, CreateConfigureRemoveCollect) {
  TempDir tmp("store");
  RepoStore store(tmp.path / "data", std::chrono::hours(1));
  EXPECT_FALSE(RepoStore::is_valid_key(""));
  EXPECT_FALSE(RepoStore::is_valid_key("../x"));
  EXPECT_FALSE(RepoStore::is_valid_key(".x"));
  EXPECT_FALSE(RepoStore::is_valid_key("a/b"));
  EXPECT_TRUE(RepoStore::is_valid_key("0123abcd-repo_1.x"));
  EXPECT_THROW(store.path_for("../etc"), Error);

  EXPECT_TRUE(store.create("abc"));
  EXPECT_FALSE(store.create("abc"));  // idempotent
  EXPECT_TRUE(store.exists("abc"));
  auto dir = store.path_for("abc");
  EXPECT_EQ(dir, tmp.path / "data" / "repos" / "abc.git");
  EXPECT_EQ(git_ok(dir, {"config", "uploadpack.allowFilter"}), "true");
  EXPECT_EQ(git_ok(dir, {"config", "uploadpack.allowAnySHA1InWant"}), "false");
  EXPECT_EQ(git_ok(dir, {"config", "repack.writeBitmaps"}), "true");
  EXPECT_EQ(git_ok(dir, {"config", "core.bare"}), "true");  // git init's section and ours
  EXPECT_EQ(git_ok(dir, {"config", "core.logAllRefUpdates"}), "always");
  EXPECT_EQ(git_ok(dir, {"config", "core.fsync"}), "objects,derived-metadata,reference");
  EXPECT_EQ(git_ok(dir, {"config", "http.receivepack"}), "false");
  EXPECT_EQ(head_target(dir).value_or(""), "refs/heads/main");
  EXPECT_TRUE(store.list_refs("abc").empty());
  EXPECT_FALSE(store.resolve("abc", "refs/heads/main"));
  EXPECT_EQ(store.list(), std::vector<std::string>{"abc"});
  store.set_default_branch("abc", "trunk");
  EXPECT_EQ(head_target(dir).value_or(""), "refs/heads/trunk");

  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(store.remove("abc", now));
  EXPECT_FALSE(store.exists("abc"));
  EXPECT_FALSE(store.remove("abc", now));
  EXPECT_THROW(store.list_refs("abc"), Error);
  EXPECT_EQ(store.collect_garbage(now + std::chrono::minutes(30)), 0u);  // within grace
  EXPECT_EQ(std::distance(fs::directory_iterator(store.trash_dir()), fs::directory_iterator()), 1);
  EXPECT_EQ(store.collect_garbage(now + std::chrono::hours(2)), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(store.trash_dir()), fs::directory_iterator()), 0);
  // The key can be reused after deletion.
  EXPECT_TRUE(store.create("abc"));
}

// ---------------- upload ----------------

TEST_F(Fixture, UploadPackAdvertiseAndFetch) {
  std::string c1 = work.commit("a.txt", "one\n", "first");
  push_main(kZero);

  std::string adv;
  ASSERT_TRUE(upload_pack_advertise(repo, sink_to(adv)).ok());
  EXPECT_EQ(adv.rfind("001e# service=git-upload-pack\n0000", 0), 0u);
  EXPECT_NE(adv.find(c1 + " HEAD"), std::string::npos);
  EXPECT_NE(adv.find("allow-reachable-sha1-in-want"), std::string::npos);
  EXPECT_NE(adv.find("filter"), std::string::npos);

  std::string v2;
  ASSERT_TRUE(upload_pack_advertise(repo, sink_to(v2), {.git_protocol = "version=2"}).ok());
  EXPECT_EQ(v2.rfind("000eversion 2\n", 0), 0u);
  EXPECT_NE(v2.find("ls-refs"), std::string::npos);

  // v2 ls-refs over stateless-rpc
  std::string req;
  pkt::append(req, "command=ls-refs\n");
  pkt::append(req, "object-format=sha1\n");
  req += "0001";
  pkt::append(req, "peel\n");
  req += "0000";
  std::string resp;
  ASSERT_TRUE(upload_pack_rpc(repo, source_from(as_bytes(req)), sink_to(resp),
                              {.git_protocol = "version=2"})
                  .ok());
  EXPECT_NE(resp.find(c1 + " refs/heads/main"), std::string::npos);

  // v0 fetch: want c1, done → NAK + side-band pack; index it in a fresh repository.
  std::string want;
  pkt::append(want, "want " + c1 + " side-band-64k ofs-delta\n");
  want += "0000";
  pkt::append(want, "done\n");
  std::string out;
  ASSERT_TRUE(upload_pack_rpc(repo, source_from(as_bytes(want)), sink_to(out)).ok());
  ASSERT_EQ(out.substr(0, 8), "0008NAK\n");
  std::string pack;
  pkt::SidebandReader r;
  r.on_data = [&](std::string_view s) { pack += s; };
  EXPECT_TRUE(r.feed(out.substr(8)));
  ASSERT_EQ(pack.substr(0, 4), "PACK");
  TempDir clone("clone");
  git_ok(clone.path, {"init", "-q", "--bare"});
  git_ok(clone.path, {"index-pack", "--stdin", "--strict"}, pack);
  EXPECT_TRUE(git_run(clone.path, {"cat-file", "-e", c1}).ok());

  // gzip request body
  TempDir z("gz");
  write_file(z.path / "req", want);
  ProcessOptions po;
  po.argv = {"gzip", "-c", (z.path / "req").string()};
  auto gz = Process::spawn(po);
  std::string compressed;
  gz.pump(Source(), sink_to(compressed), Sink());
  std::string out2, pack2;
  ASSERT_TRUE(
      upload_pack_rpc(repo, gunzip_source(source_from(as_bytes(compressed))), sink_to(out2)).ok());
  pkt::SidebandReader r2;
  r2.on_data = [&](std::string_view s) { pack2 += s; };
  EXPECT_TRUE(r2.feed(out2.substr(8)));
  EXPECT_EQ(pack2, pack);
  EXPECT_THROW(
      {
        auto s = gunzip_source(source_from(as_bytes(std::string_view("\x1f\x8bgarbage"))));
        uint8_t b[64];
        while (s(b, sizeof b) > 0) {
        }
      },
      Error);

  EXPECT_EQ(upload_pack_advertise(tmp.path / "nope.git", sink_to(adv)).code(), Code::kNotFound);
  EXPECT_EQ(sanitize_git_protocol("version=2:bad value:x=y"), "version=2:x=y");
  EXPECT_EQ(protocol_version("version=1"), 1);
  EXPECT_EQ(protocol_version(""), 0);

  std::string radv;
  ASSERT_TRUE(receive_pack_advertise(repo, sink_to(radv)).ok());
  EXPECT_EQ(radv.rfind("001f# service=git-receive-pack\n0000", 0), 0u);
  EXPECT_NE(radv.find(c1 + " refs/heads/main"), std::string::npos);
}

// `guts-node --data-dir ./data` (scripts/run): git runs inside the repository directory, so the
// store must hand out absolute paths or every git subprocess looks in the wrong place.
TEST(RepoStore, RelativeDataDirGivesAbsolutePaths) {
  TempDir tmp("store-rel");
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(tmp.path);
  RepoStore store("data", std::chrono::hours(1));
  std::filesystem::current_path(cwd);  // a relative path must not depend on the cwd later
  ASSERT_TRUE(store.create("rel"));
  auto dir = store.path_for("rel");
  EXPECT_TRUE(dir.is_absolute());
  EXPECT_EQ(dir, tmp.path / "data" / "repos" / "rel.git");
  EXPECT_EQ(git_ok(dir, {"config", "core.bare"}), "true");
  EXPECT_TRUE(store.list_refs("rel").empty());
}
