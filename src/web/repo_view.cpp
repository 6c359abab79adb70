#include "web/repo_view.h"

#include <algorithm>

#include "api/git_routes.h"
#include "api/http_parse.h"
#include "crypto/did.h"
#include "git/repo_store.h"
#include "state/permission.h"
#include "state/placeholder_state.h"

namespace guts::web {

RepoView open_repo(WebEnv& env, const api::Request& req) {
  RepoView rv;
  rv.rc = &api::repo_context(req);
  rv.full = rv.rc->owner.username + "/" + rv.rc->repo.name;
  rv.base = repo_base_url(*rv.rc);
  auto key = api::git_repo_key(rv.rc->repo.id);
  rv.hosted = !env.hosts || env.hosts(rv.rc->repo.id);
  if (rv.hosted && env.repos.exists(key)) {
    rv.dir = env.repos.path_for(key);
    rv.git = std::make_unique<git::Browser>(rv.dir);
    if (rv.git->empty()) rv.git.reset();
  }
  return rv;
}

git::Browser& git_of(const RepoView& rv) {
  if (!rv.hosted) throw Error(Code::kNotFound, "This node does not host this repository's files.");
  if (!rv.git) throw Error(Code::kNotFound, "This repository is empty.");
  return *rv.git;
}

std::pair<std::string, std::string> split_ref(const git::Browser& git, std::string_view rest,
                                              const std::string& default_branch) {
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return {default_branch, ""};
  std::string best;
  auto consider = [&](const std::string& name) {
    if (name.size() <= best.size()) return;
    if (rest == name || (rest.size() > name.size() && rest.substr(0, name.size()) == name &&
                         rest[name.size()] == '/'))
      best = name;
  };
  for (const auto& b : git.branches()) consider(b.name);
  for (const auto& t : git.tags()) consider(t.name);
  if (best.empty()) {
    size_t slash = rest.find('/');
    best = std::string(rest.substr(0, slash));
  }
  std::string path = rest.size() > best.size() ? std::string(rest.substr(best.size() + 1)) : "";
  return {best, path};
}

void repo_header(Html& h, const RepoView& rv, std::string_view tab, std::string_view ref) {
  const auto& repo = rv.rc->repo;
  h.raw("<h1><a href=\"/") << url_path(rv.rc->owner.username);
  h.raw("\">") << rv.rc->owner.username;
  h.raw("</a> / <a href=\"") << rv.base;
  h.raw("\">") << repo.name;
  h.raw("</a> <span class=\"pill\">") << (repo.is_private ? "Private" : "Public");
  h.raw("</span></h1>");
  if (!repo.description.empty()) h.raw("<p class=\"muted\">") << repo.description << Safe{"</p>"};
  std::string r = ref.empty() ? repo.default_branch : std::string(ref);
  struct Tab {
    const char* id;
    const char* label;
    std::string href;
  };
  const Tab tabs[] = {{"code", "Code", rv.base},
                      {"commits", "Commits", rv.base + "/commits/" + url_path(r)},
                      {"branches", "Branches", rv.base + "/branches"},
                      {"tags", "Tags", rv.base + "/tags"},
                      {"issues", "Issues", rv.base + "/issues"},
                      {"pulls", "Pull requests", rv.base + "/pulls"},
                      {"actions", "Actions", rv.base + "/actions"},
                      {"proposals", "Proposals", rv.base + "/proposals"}};
  h.raw("<nav class=\"tabs\">");
  for (const auto& t : tabs) {
    h.raw("<a href=\"") << t.href;
    h.raw(tab == t.id ? "\" class=\"on\">" : "\">") << t.label;
    h.raw("</a>");
  }
  h.raw("</nav>");
}

void breadcrumbs(Html& h, const RepoView& rv, std::string_view ref, std::string_view path) {
  h.raw("<div class=\"crumbs\"><a href=\"") << rv.base + "/tree/" + url_path(ref);
  h.raw("\">") << rv.rc->repo.name;
  h.raw("</a>");
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view upto = path.substr(0, slash);
    h.raw(" / ");
    if (slash == path.size()) {
      h.raw("<strong>") << path.substr(pos, slash - pos) << Safe{"</strong>"};
    } else {
      h.raw("<a href=\"") << rv.base + "/tree/" + url_path(ref) + "/" + url_path(upto);
      h.raw("\">") << path.substr(pos, slash - pos) << Safe{"</a>"};
    }
    pos = slash + 1;
  }
  h.raw(" <span class=\"pill\">") << ref << Safe{"</span></div>"};
}

bool can_read(WebEnv& env, const api::Principal& who, const state::Repo& repo) {
  if (!repo.is_private) return true;
  if (!who.authenticated) return false;
  auto key = crypto::parse_did(who.did);
  if (!key) return false;
  return state::effective_permission(env.svc.chain().view(), repo, key) >= state::Permission::kRead;
}

std::string summary_line(std::string_view message) {
  size_t nl = message.find('\n');
  return std::string(message.substr(0, nl));
}

std::string display_name(const state::StateView& view, const crypto::PublicKey& key) {
  if (auto a = view.account(key); a && !a->username.empty()) return a->username;
  auto did = crypto::did_from_key(key);
  return did.size() > 20 ? did.substr(0, 20) + "…" : did;
}

crypto::PublicKey shown_author(const state::StateView& view, uint64_t repo_id,
                               const crypto::PublicKey& author, std::string_view body) {
  return state::claimed_author(view, repo_id, author, body).value_or(author);
}

void repo_item(Html& h, const state::Repo& r, const std::string& owner, uint64_t now) {
  std::string base = "/" + url_path(owner) + "/" + url_path(r.name);
  h.raw("<li><a href=\"") << base;
  h.raw("\"><strong>") << owner + "/" + r.name << Safe{"</strong></a>"};
  if (r.is_private) h.raw(" <span class=\"pill\">Private</span>");
  if (!r.description.empty()) h.raw("<br>") << r.description;
  h.raw("<br><span class=\"muted\">Updated ")
      << age(std::max(r.updated_ms, r.pushed_ms), now) << Safe{"</span></li>"};
}

std::optional<std::string> form_field(const api::Request& req, std::string_view name) {
  auto v = api::find_query_param(req.body, name);
  if (!v) return std::nullopt;
  std::string out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i)
    if (!((*v)[i] == '\r' && i + 1 < v->size() && (*v)[i + 1] == '\n')) out += (*v)[i];
  return out;
}

std::optional<uint64_t> decimal(std::string_view text) {
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > (1ull << 50)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string repo_base_url(const api::RepoContext& ctx) {
  return "/" + url_path(ctx.owner.username) + "/" + url_path(ctx.repo.name);
}

}  // namespace guts::web
