// Token scopes (api/scopes.h): coverage between scopes and the scope each kind of request needs.
#include "api/scopes.h"

#include <gtest/gtest.h>

namespace guts::api {
namespace {

using V = std::vector<std::string>;

V need(std::string_view access, std::string_view method, std::string_view route,
       bool repo_private = false) {
  return accepted_scopes({access, method, route, repo_private});
}

TEST(Scopes, BroaderScopesCoverNarrowerOnesTransitively) {
  EXPECT_TRUE(scope_covers("repo", "public_repo"));
  EXPECT_TRUE(scope_covers("repo", "repo:status"));
  EXPECT_TRUE(scope_covers("admin:org", "read:org"));  // admin:org > write:org > read:org
  EXPECT_TRUE(scope_covers("write:org", "read:org"));
  EXPECT_TRUE(scope_covers("public_repo", "public_repo"));
  EXPECT_FALSE(scope_covers("public_repo", "repo"));
  EXPECT_FALSE(scope_covers("read:org", "write:org"));
  EXPECT_FALSE(scope_covers("repo", "delete_repo"));  // as on GitHub: its own scope
  EXPECT_TRUE(holds_any({"read:org", "repo"}, {"public_repo"}));
  EXPECT_FALSE(holds_any({"read:org"}, {"public_repo"}));
  EXPECT_TRUE(holds_any({}, {}));  // nothing needed
}

TEST(Scopes, RepositoryRoutes) {
  const char* repo = "/api/v3/repos/{owner}/{repo}";
  EXPECT_EQ(need("repo:read", "GET", repo), V{});              // public data: no scope
  EXPECT_EQ(need("repo:read", "GET", repo, true), V{"repo"});  // private: repo
  EXPECT_EQ(need("repo:admin", "PATCH", repo), V{"public_repo"});
  EXPECT_EQ(need("repo:admin", "PATCH", repo, true), V{"repo"});
  EXPECT_EQ(need("repo:admin", "DELETE", repo), V{"delete_repo"});
  EXPECT_EQ(need("repo:write", "POST", "/api/v3/repos/{owner}/{repo}/issues"), V{"public_repo"});
  EXPECT_EQ(need("repo:write", "POST", "/api/v3/repos/{owner}/{repo}/statuses/{sha}"),
            V{"repo:status"});
  EXPECT_EQ(need("repo:admin", "POST", "/api/v3/repos/{owner}/{repo}/hooks"), V{"write:repo_hook"});
  EXPECT_EQ(need("repo:admin", "GET", "/api/v3/repos/{owner}/{repo}/hooks"), V{"read:repo_hook"});
  // git: a fetch (even its POST) is a read, a push a write.
  EXPECT_EQ(need("repo:read", "POST", "/{owner}/{repo}/git-upload-pack"), V{});
  EXPECT_EQ(need("repo:read", "POST", "/{owner}/{repo}/git-upload-pack", true), V{"repo"});
  EXPECT_EQ(need("repo:write", "POST", "/{owner}/{repo}/git-receive-pack"), V{"public_repo"});
}

TEST(Scopes, OrganizationUserAndOtherRoutes) {
  EXPECT_EQ(need("org:read", "GET", "/api/v3/orgs/{org}"), V{});
  EXPECT_EQ(need("org:member", "GET", "/api/v3/orgs/{org}/members"), V{"read:org"});
  EXPECT_EQ(need("org:admin", "PATCH", "/api/v3/orgs/{org}"), V{"admin:org"});
  EXPECT_EQ(need("team:admin", "PUT", "/api/v3/orgs/{org}/teams/{team_slug}/memberships/{u}"),
            V{"write:org"});
  EXPECT_EQ(need("org:member", "POST", "/api/v3/orgs/{org}/repos"), V{"public_repo"});
  EXPECT_EQ(need("user", "POST", "/api/v3/user/repos"), V{"public_repo"});
  EXPECT_EQ(need("user", "GET", "/api/v3/user"), V{});
  EXPECT_EQ(need("user", "POST", "/api/guts/orgs"), V{"write:org"});
  EXPECT_EQ(need("public", "POST", "/api/guts/transactions"), V{});
  EXPECT_EQ(need("operator", "GET", "/api/guts/audit"), V{});
}

TEST(Scopes, NormalizeRefusesUnknownNamesAndOrdersKnownOnes) {
  std::string bad;
  EXPECT_FALSE(normalize_scopes({"repo", "root"}, &bad));
  EXPECT_EQ(bad, "root");
  auto ok = normalize_scopes({"read:org", "repo", "repo"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (V{"repo", "read:org"}));
  EXPECT_EQ(scope_header(*ok), "repo, read:org");
}

}  // namespace
}  // namespace guts::api
