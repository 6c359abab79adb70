// Browse API (GitHub shapes, libgit2 reads) and the CLI's git integration (repo clone,
// credential helper) against a running node.
#include <sodium.h>

#include "cli/http_client.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string unbase64(std::string s) {
  std::string clean;
  for (char c : s)
    if (c != '\n') clean += c;
  std::string out(clean.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), clean.data(),
                        clean.size(), nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return "<bad base64>";
  out.resize(len);
  return out;
}

class BrowseApi : public GitE2E {
 protected:
  void SetUp() override {
    GitE2E::SetUp();
    if (HasFatalFailure()) return;
    create_repo(*alice_, "browse");
    work_ = local_repo(*alice_, "work");  // README.md
    first_ = rev_parse(*alice_, work_, "HEAD");
    commit_file(*alice_, work_, "docs/guide.md", "# Guide\n\nRead me.\n", "add guide");
    commit_file(*alice_, work_, "src/main.c", "int main(void) { return 0; }\n", "add main");
    commit_file(*alice_, work_, "docs/guide.md", "# Guide\n\nRead me twice.\n", "edit guide");
    ASSERT_TRUE(alice_->git({"tag", "-a", "v1.0", "-m", "first release"}, work_).ok());
    ASSERT_TRUE(alice_->git({"tag", "light"}, work_).ok());
    ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "feature/x"}, work_).ok());
    commit_file(*alice_, work_, "src/x.c", "/* x */\n", "feature x");
    ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, work_).ok());
    ASSERT_TRUE(
        alice_->git({"remote", "add", "origin", alice_->remote("alice", "browse")}, work_).ok());
    auto r = alice_->git({"push", "-q", "origin", "main", "feature/x", "--tags"}, work_);
    ASSERT_TRUE(r.ok()) << r.both();
    main_ = rev_parse(*alice_, work_, "main");
    feature_ = rev_parse(*alice_, work_, "feature/x");
  }

  cli::HttpResult get(const std::string& path, const std::string& accept = "") {
    cli::HttpClient c(node_->url());
    c.set_token(alice_->token());
    if (!accept.empty()) c.set_header("Accept", accept);
    return c.get("/api/v3/repos/alice/browse" + path);
  }
  json get_json(const std::string& path) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  std::string top_tree_sha() { return rev_parse(*alice_, work_, "main^{tree}"); }

  fs::path work_;
  std::string first_, main_, feature_;
};

TEST_F(BrowseApi, BranchesAndTags) {
  auto b = get_json("/branches");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0]["name"], "feature/x");
  EXPECT_EQ(b[1]["name"], "main");
  EXPECT_EQ(b[1]["commit"]["sha"], main_);
  auto one = get_json("/branches/feature/x");
  EXPECT_EQ(one["commit"]["sha"], feature_);
  EXPECT_EQ(one["commit"]["commit"]["message"], "feature x\n");
  EXPECT_EQ(get("/branches/nope").status, 404);
  auto t = get_json("/tags");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["name"], "light");
  EXPECT_EQ(t[1]["name"], "v1.0");
  EXPECT_EQ(t[1]["commit"]["sha"], main_);  // peeled
}

TEST_F(BrowseApi, CommitsPaginationAndFilters) {
  auto r = get("/commits?per_page=2");
  ASSERT_EQ(r.status, 200);
  auto page1 = json::parse(r.body);
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0]["sha"], main_);
  EXPECT_EQ(page1[0]["commit"]["author"]["name"], "alice");
  EXPECT_THAT(r.header("link"), HasSubstr("rel=\"next\""));
  EXPECT_THAT(r.header("link"), HasSubstr("page=2"));
  auto page2 = get_json("/commits?per_page=2&page=2");
  ASSERT_EQ(page2.size(), 2u);
  EXPECT_EQ(page2[1]["sha"], first_);
  r = get("/commits?per_page=2&page=2");
  EXPECT_THAT(r.header("link"), ::testing::Not(HasSubstr("rel=\"next\"")));
  auto feat = get_json("/commits?sha=feature/x&per_page=1");
  EXPECT_EQ(feat[0]["sha"], feature_);
  auto docs = get_json("/commits?path=docs/guide.md");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["commit"]["message"], "edit guide\n");
  EXPECT_EQ(get("/commits?sha=no-such-branch").status, 404);

  auto c = get_json("/commits/" + main_);
  EXPECT_EQ(c["sha"], main_);
  ASSERT_EQ(c["files"].size(), 1u);
  EXPECT_EQ(c["files"][0]["filename"], "docs/guide.md");
  EXPECT_EQ(c["files"][0]["status"], "modified");
  EXPECT_EQ(c["stats"]["additions"], 1);
  EXPECT_EQ(get_json("/commits/main~3")["sha"], first_);
}

TEST_F(BrowseApi, TreesContentsReadme) {
  auto t = get_json("/git/trees/main?recursive=1");
  EXPECT_EQ(t["truncated"], false);
  std::set<std::string> paths;
  for (auto& e : t["tree"]) paths.insert(e["path"].get<std::string>());
  EXPECT_TRUE(paths.count("docs/guide.md"));
  EXPECT_TRUE(paths.count("src"));
  auto top = get_json("/git/trees/main");
  EXPECT_EQ(top["tree"].size(), 3u);  // README.md, docs, src

  auto f = get_json("/contents/docs/guide.md");
  EXPECT_EQ(f["type"], "file");
  EXPECT_EQ(f["encoding"], "base64");
  EXPECT_EQ(unbase64(f["content"]), "# Guide\n\nRead me twice.\n");
  EXPECT_EQ(get("/contents/docs/guide.md?ref=" + first_).status, 404);  // not there yet
  EXPECT_EQ(unbase64(get_json("/contents/README.md?ref=" + first_)["content"]), "# work\n");
  // A tree by its sha.
  auto by_sha = get_json("/git/trees/" + top_tree_sha());
  EXPECT_EQ(by_sha["tree"].size(), 3u);
  auto raw = get("/contents/docs/guide.md", "application/vnd.github.raw");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, "# Guide\n\nRead me twice.\n");
  auto dir = get_json("/contents/docs");
  ASSERT_TRUE(dir.is_array());
  EXPECT_EQ(dir[0]["name"], "guide.md");
  auto root = get_json("/contents/");
  EXPECT_EQ(root.size(), 3u);
  EXPECT_EQ(get("/contents/nope.txt").status, 404);
  auto at_feature = get_json("/contents/src/x.c?ref=feature/x");
  EXPECT_EQ(unbase64(at_feature["content"]), "/* x */\n");

  auto readme = get_json("/readme");
  EXPECT_EQ(readme["name"], "README.md");
  EXPECT_EQ(unbase64(readme["content"]), "# work\n");
  EXPECT_EQ(get("/readme", "application/vnd.github.raw").body, "# work\n");
}

TEST_F(BrowseApi, CompareAndArchives) {
  auto c = get_json("/compare/main...feature/x");
  EXPECT_EQ(c["status"], "ahead");
  EXPECT_EQ(c["ahead_by"], 1);
  EXPECT_EQ(c["behind_by"], 0);
  ASSERT_EQ(c["commits"].size(), 1u);
  EXPECT_EQ(c["commits"][0]["sha"], feature_);
  ASSERT_EQ(c["files"].size(), 1u);
  EXPECT_EQ(c["files"][0]["filename"], "src/x.c");
  EXPECT_EQ(get("/compare/main...nope").status, 404);

  auto tar = get("/tarball/main");
  ASSERT_EQ(tar.status, 200);
  ASSERT_GT(tar.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(tar.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(tar.body[1]), 0x8b);
  EXPECT_THAT(tar.header("content-disposition"),
              HasSubstr("alice-browse-" + main_.substr(0, 7) + ".tar.gz"));
  auto tarfile = root_->path() / "a.tar.gz";
  write_file(tarfile, tar.body);
  auto list = run({"tar", "tzf", tarfile.string()});
  EXPECT_THAT(list.out, HasSubstr("docs/guide.md"));
  auto zip = get("/zipball/v1.0");
  ASSERT_EQ(zip.status, 200);
  EXPECT_EQ(zip.body.substr(0, 2), "PK");
  EXPECT_EQ(get("/tarball/").status, 200);  // default branch
}

TEST_F(BrowseApi, PrivateRepositoryAndEmptyRepository) {
  create_repo(*alice_, "hidden", true);
  auto w = local_repo(*alice_, "w2");
  ASSERT_TRUE(alice_->git({"push", "-q", alice_->remote("alice", "hidden"), "main"}, w).ok());
  User bob = make_user("bob");
  EXPECT_EQ(bob.api("GET", "/api/v3/repos/alice/hidden/branches"), 404);
  EXPECT_EQ(bob.api("GET", "/api/v3/repos/alice/hidden/contents/README.md"), 404);
  EXPECT_EQ(bob.api("GET", "/api/v3/repos/alice/hidden/tarball/main"), 404);
  EXPECT_EQ(alice_->api("GET", "/api/v3/repos/alice/hidden/contents/README.md"), 200);
  cli::HttpClient anon(node_->url());
  EXPECT_EQ(anon.get("/api/v3/repos/alice/hidden/branches").status, 404);
  EXPECT_EQ(anon.get("/api/v3/repos/alice/browse/branches").status, 200);  // public

  create_repo(*alice_, "empty");
  std::string body;
  EXPECT_EQ(alice_->api("GET", "/api/v3/repos/alice/empty/branches", "", &body), 200);
  EXPECT_EQ(body, "[]");
  EXPECT_EQ(alice_->api("GET", "/api/v3/repos/alice/empty/commits"), 409);
}

TEST_F(GitE2E, CliCloneAndCredentialHelper) {
  create_repo(*alice_, "cli");
  // guts repo clone: plain URL, no token in it; the CLI answers git's credential requests.
  auto r = run({(bin_dir() / "guts").string(), "repo", "clone", "alice/cli"}, alice_->env(),
               root_->path());
  ASSERT_TRUE(r.ok()) << r.both();
  auto work = root_->path() / "cli";
  ASSERT_TRUE(fs::exists(work / ".git"));
  auto url = trim(alice_->git({"remote", "get-url", "origin"}, work).out);
  EXPECT_EQ(url, node_->url() + "/alice/cli.git");
  EXPECT_EQ(url.find(alice_->token()), std::string::npos);
  auto c = commit_file(*alice_, work, "a.txt", "a\n", "via the helper");
  r = alice_->git({"push", "origin", "main"}, work);
  ASSERT_TRUE(r.ok()) << r.both();
  auto refs = ls_remote(*alice_, alice_->anonymous_remote("alice", "cli"));
  ASSERT_FALSE(refs.empty());

  // The helper protocol itself.
  std::string host = node_->url().substr(7);
  auto get = run({(bin_dir() / "guts").string(), "credential", "get"}, alice_->env(), {},
                 "protocol=http\nhost=" + host + "\npath=alice/cli.git\n\n");
  ASSERT_TRUE(get.ok()) << get.both();
  EXPECT_EQ(get.out, "username=alice\npassword=" + alice_->token() + "\n");
  auto other = run({(bin_dir() / "guts").string(), "credential", "get"}, alice_->env(), {},
                   "protocol=http\nhost=example.com\n\n");
  EXPECT_TRUE(other.ok());
  EXPECT_EQ(other.out, "");
  EXPECT_TRUE(run({(bin_dir() / "guts").string(), "credential", "erase"}, alice_->env(), {},
                  "protocol=http\nhost=" + host + "\n\n")
                  .ok());

  // Configured globally, as documented: any clone of the node's repositories pushes.
  ASSERT_TRUE(alice_
                  ->git({"config", "--global", "credential." + node_->url() + ".helper",
                         "!" + (bin_dir() / "guts").string() + " credential"})
                  .ok());
  auto plain = root_->path() / "plain";
  r = alice_->git({"clone", "-q", node_->url() + "/alice/cli", plain.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(rev_parse(*alice_, plain, "HEAD"), c);
  commit_file(*alice_, plain, "b.txt", "b\n", "global helper");
  r = alice_->git({"push", "origin", "main"}, plain);
  ASSERT_TRUE(r.ok()) << r.both();
}

}  // namespace
}  // namespace guts::e2e
