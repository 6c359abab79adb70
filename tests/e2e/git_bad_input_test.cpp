// Bad input on the git HTTP endpoints: malformed pkt-lines, absurd ref names, truncated packs,
// corrupt objects, oversized requests. Each gets git's kind of error, changes nothing, and the
// node keeps serving.
#include "cli/http_client.h"
#include "core/status.h"
#include "git/pktline.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

constexpr const char* kZero = "0000000000000000000000000000000000000000";

class GitBadInput : public GitE2E {
 protected:
  void SetUp() override {
    GitE2E::SetUp();
    if (HasFatalFailure()) return;
    id_ = create_repo(*alice_, "target");
    bare_ = bare_repo_dir(*node_, id_);
    work_ = local_repo(*alice_, "work");
    ASSERT_TRUE(
        alice_->git({"remote", "add", "origin", alice_->remote("alice", "target")}, work_).ok());
    ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, work_).ok());
    tip_ = bare_ref(bare_, "refs/heads/main");
  }

  cli::HttpResult post(const std::string& service, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    cli::HttpClient c(node_->url());
    c.set_token(alice_->token());
    c.set_timeout(std::chrono::seconds(120));
    for (const auto& [k, v] : headers) c.set_header(k, v);
    return c.post("/alice/target.git/" + service, body, "application/x-" + service + "-request");
  }

  // The repository is as it was and the node answers git and the API.
  void expect_unchanged_and_serving() {
    EXPECT_EQ(bare_ref(bare_, "refs/heads/main"), tip_);
    auto refs = ls_remote(*alice_, alice_->remote("alice", "target"));
    ASSERT_EQ(refs.size(), 2u);  // HEAD and main
    cli::HttpClient c(node_->url());
    EXPECT_EQ(c.get("/api/guts/status").status, 200);
    EXPECT_EQ(quarantines(), 0u);
  }

  size_t quarantines() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(bare_ / "objects"))
      if (e.path().filename().string().rfind("incoming-", 0) == 0) ++n;
    return n;
  }

  std::string command(const std::string& old_oid, const std::string& new_oid,
                      const std::string& ref, bool first = true) {
    std::string line = old_oid + " " + new_oid + " " + ref;
    if (first) line += std::string("\0", 1) + "report-status agent=test";
    return git::pkt::encode(line + "\n");
  }

  // A pack holding the objects of `rev` not reachable from `not_rev`.
  std::string pack_of(const std::string& rev, const std::string& not_rev) {
    auto r = run({"git", "pack-objects", "--revs", "--stdout", "-q"}, alice_->env(), work_,
                 rev + "\n^" + not_rev + "\n");
    EXPECT_TRUE(r.ok()) << r.err;
    return r.out;
  }

  uint64_t id_ = 0;
  fs::path bare_, work_;
  std::string tip_;
};

TEST_F(GitBadInput, MalformedPktLines) {
  for (std::string body :
       {std::string("zzzz not a pkt-line"), std::string("0003"),
        std::string("ffff") + std::string(100, 'a'), std::string("0009abc"), std::string("0001")}) {
    auto r = post("git-receive-pack", body);
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.body, HasSubstr("ERR ")) << body;
  }
  auto r = post("git-upload-pack", "zzzz");
  EXPECT_NE(r.status, 200 + 1000);  // any answer; the point is the node survives
  expect_unchanged_and_serving();
}

TEST_F(GitBadInput, AbsurdRefNames) {
  auto c2 = commit_file(*alice_, work_, "x.txt", "x\n", "x");
  std::string pack = pack_of(c2, tip_);
  for (std::string ref :
       {std::string("refs/heads/a..b"), std::string("refs/heads/") + std::string(2000, 'x'),
        std::string("refs/heads/x.lock"), std::string("refs/heads/../../etc/passwd"),
        std::string("refs/heads/a\x01"
                    "b"),
        std::string("refs/heads/@{1}"), std::string("HEAD"), std::string("refs/heads/")}) {
    auto r = post("git-receive-pack", command(kZero, c2, ref) + "0000" + pack);
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.body, ::testing::AnyOf(HasSubstr("ERR "), HasSubstr("ng "))) << ref;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("ok refs"))) << ref;
  }
  // A valid name outside refs/heads and refs/tags: refused per ref.
  auto r = post("git-receive-pack", command(kZero, c2, "refs/notes/commits") + "0000" + pack);
  EXPECT_THAT(r.body, HasSubstr("ng refs/notes/commits funny refname"));
  expect_unchanged_and_serving();
  EXPECT_EQ(alice_->git({"for-each-ref"}, bare_).out.find("notes"), std::string::npos);
}

TEST_F(GitBadInput, TruncatedPack) {
  auto c2 = commit_file(*alice_, work_, "x.txt", std::string(50000, 'x'), "x");
  std::string pack = pack_of(c2, tip_);
  for (size_t cut : {size_t(0), size_t(11), pack.size() / 2, pack.size() - 1}) {
    auto r = post("git-receive-pack",
                  command(tip_, c2, "refs/heads/main") + "0000" + pack.substr(0, cut));
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.body, HasSubstr("unpack "));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("unpack ok")));
    EXPECT_THAT(r.body, HasSubstr("ng refs/heads/main unpacker error")) << cut;
  }
  expect_unchanged_and_serving();
}

TEST_F(GitBadInput, CorruptObjects) {
  // A commit whose tree does not exist and whose author line is malformed.
  std::string bad = "tree 1111111111111111111111111111111111111111\nparent " + tip_ +
                    "\nauthor nobody\ncommitter nobody\n\nbroken\n";
  auto r = run({"git", "hash-object", "-t", "commit", "--literally", "-w", "--stdin"},
               alice_->env(), work_, bad);
  ASSERT_TRUE(r.ok()) << r.err;
  auto bad_oid = trim(r.out);
  r = run({"git", "pack-objects", "--stdout", "-q"}, alice_->env(), work_, bad_oid + "\n");
  ASSERT_TRUE(r.ok()) << r.err;
  auto res = post("git-receive-pack", command(tip_, bad_oid, "refs/heads/main") + "0000" + r.out);
  EXPECT_THAT(res.body, HasSubstr("ng refs/heads/main"));
  EXPECT_THAT(res.body, ::testing::Not(HasSubstr("unpack ok")));

  // A pack whose bytes were flipped in the middle (checksum mismatch).
  auto c2 = commit_file(*alice_, work_, "y.txt", std::string(20000, 'y'), "y");
  std::string pack = pack_of(c2, tip_);
  pack[pack.size() / 2] ^= 0x55;
  res = post("git-receive-pack", command(tip_, c2, "refs/heads/main") + "0000" + pack);
  EXPECT_THAT(res.body, HasSubstr("ng refs/heads/main unpacker error"));

  // A valid pack that lacks objects the new tip needs (only the commit, not its tree).
  auto c3 = commit_file(*alice_, work_, "z.txt", "z\n", "z");
  r = run({"git", "pack-objects", "--stdout", "-q"}, alice_->env(), work_, c3 + "\n");
  ASSERT_TRUE(r.ok());
  res = post("git-receive-pack", command(tip_, c3, "refs/heads/main") + "0000" + r.out);
  EXPECT_THAT(res.body, HasSubstr("ng refs/heads/main"));
  expect_unchanged_and_serving();
  // The objects of the refused pushes never became visible.
  EXPECT_NE(run({"git", "--git-dir", bare_.string(), "cat-file", "-e", c2}, {}).code, 0);
}

TEST_F(GitBadInput, OversizedRequests) {
  // Too many commands.
  std::string body;
  for (int i = 0; i < 10001; ++i) {
    char oid[41];
    std::snprintf(oid, sizeof oid, "%040x", i + 1);
    body += command(kZero, oid, "refs/heads/b" + std::to_string(i), i == 0);
  }
  auto r = post("git-receive-pack", body + "0000");
  EXPECT_THAT(r.body, HasSubstr("ERR "));
  // A push-option section beyond its bounds is refused the same way; an upload-pack request
  // larger than the node's limit (64 MiB) gets 413.
  std::string haves = git::pkt::encode("command=fetch\n") + "0001";
  std::string line = git::pkt::encode("have " + tip_ + "\n");
  std::string big;
  big.reserve((65u << 20) + line.size());
  big += haves;
  while (big.size() < (65u << 20)) big += line;
  // The node stops reading at its limit: the client sees 413, or the connection closed
  // under its unsent remainder.
  try {
    r = post("git-upload-pack", big + "0000", {{"Git-Protocol", "version=2"}});
    EXPECT_EQ(r.status, 413) << r.body.substr(0, 200);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable) << e.what();
  }
  expect_unchanged_and_serving();
}

TEST_F(GitBadInput, GzipRequestBodiesAndWrongContentTypes) {
  // Protocol v2 ls-refs, gzip-compressed as git does for large requests.
  std::string req = git::pkt::encode("command=ls-refs\n") + "0001" + git::pkt::encode("peel\n") +
                    git::pkt::encode("ref-prefix refs/heads/\n") + "0000";
  auto gz = run({"gzip", "-c"}, {}, {}, req);
  ASSERT_TRUE(gz.ok());
  auto r = post("git-upload-pack", gz.out,
                {{"Content-Encoding", "gzip"}, {"Git-Protocol", "version=2"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/x-git-upload-pack-result");
  EXPECT_THAT(r.body, HasSubstr(tip_ + " refs/heads/main"));
  // Corrupt gzip: refused, nothing breaks.
  std::string broken = gz.out;
  broken[broken.size() / 2] ^= 0x33;
  r = post("git-upload-pack", broken.substr(0, broken.size() - 4),
           {{"Content-Encoding", "gzip"}, {"Git-Protocol", "version=2"}});
  EXPECT_NE(r.status, 200 + 1000);
  // Wrong content type, dumb HTTP.
  cli::HttpClient c(node_->url());
  c.set_token(alice_->token());
  auto w = c.post("/alice/target.git/git-upload-pack", "0000", "application/octet-stream");
  EXPECT_EQ(w.status, 415);
  auto d = c.get("/alice/target.git/info/refs");
  EXPECT_EQ(d.status, 403);
  auto ok = c.get("/alice/target.git/info/refs?service=git-upload-pack");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("content-type"), "application/x-git-upload-pack-advertisement");
  EXPECT_THAT(ok.header("cache-control"), HasSubstr("no-cache"));
  EXPECT_THAT(ok.body, HasSubstr("# service=git-upload-pack"));
  expect_unchanged_and_serving();
}

}  // namespace
}  // namespace guts::e2e
