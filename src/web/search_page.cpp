// GET /search?q=&type=repositories|issues|code&page=: the search page over the node's search
// index (docs/search.md), with the same query syntax, visibility and results as the REST
// /search routes (api::search_for).
#include "api/search_routes.h"
#include "core/status.h"
#include "core/time.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kPerPage = 20;

struct Tab {
  const char* type;
  const char* label;
};
constexpr Tab kTabs[] = {
    {"repositories", "Repositories"}, {"issues", "Issues and pull requests"}, {"code", "Code"}};

}  // namespace

api::Response search_page(WebEnv& env, api::Request& req) {
  std::string q = req.query_param("q").value_or("");
  std::string type = req.query_param("type").value_or("repositories");
  if (type != "issues" && type != "code") type = "repositories";
  Html h;
  h.raw("<h1>Search</h1><form class=\"search-form\" action=\"/search\" method=\"get\">");
  h.raw("<input type=\"search\" name=\"q\" aria-label=\"Search\" value=\"") << q;
  h.raw("\"><input type=\"hidden\" name=\"type\" value=\"") << type;
  h.raw("\"><button type=\"submit\">Search</button></form>");
  if (q.empty()) {
    h.raw(
        "<p class=\"muted\">Words, \"phrases\" and qualifiers such as "
        "<code>repo:owner/name</code>, "
        "<code>is:open</code>, <code>is:pr</code>, <code>author:</code>, <code>label:</code>, "
        "<code>user:</code>, <code>extension:</code> (docs/search.md).</p>");
    return page(env, 200, "Search", h);
  }
  if (!env.search) throw Error(Code::kUnavailable, "search is turned off on this node");
  search::Search s;
  try {
    s = api::search_for(env.svc, req, q);
  } catch (const Error& e) {
    h.raw("<p class=\"flash error\">") << e.what() << Safe{"</p>"};
    return page(env, 422, "Search", h);
  }
  s.per_page = kPerPage;
  s.page = page_number(req);
  // Counts for every tab (one candidate pass each), results for the current one.
  auto counts = [&](std::string_view t) -> std::optional<uint64_t> {
    search::Search c = s;
    c.page = 1;
    c.per_page = 1;
    try {
      if (t == "repositories") return env.search->search_repos(c).total_count;
      if (t == "issues") return env.search->search_issues(c).total_count;
      return env.search->search_code(c).total_count;
    } catch (const Error&) {
      return std::nullopt;  // e.g. code search with terms under three characters
    }
  };
  h.raw("<nav class=\"tabs\">");
  for (const auto& tab : kTabs) {
    auto n = counts(tab.type);
    h.raw("<a href=\"/search?q=") << url_query(q) << "&type=" << tab.type;
    h.raw(type == tab.type ? "\" class=\"on\">" : "\">") << tab.label;
    if (n) h.raw(" <span class=\"count\">") << *n << Safe{"</span>"};
    h.raw("</a>");
  }
  h.raw("</nav><div class=\"box\"><ul class=\"list results\">");
  auto view = env.svc.chain().view();
  uint64_t now = unix_millis();
  uint64_t total = 0;
  size_t shown = 0;
  try {
    if (type == "repositories") {
      auto r = env.search->search_repos(s);
      total = r.total_count;
      for (const auto& d : r.items) {
        auto repo = view.repo(d.id);
        if (!repo) continue;
        repo_item(h, *repo, display_name(view, repo->owner), now);
        ++shown;
      }
    } else if (type == "issues") {
      auto r = env.search->search_issues(s);
      total = r.total_count;
      for (const auto& d : r.items) {
        auto repo = view.repo(d.repo_id);
        auto x = repo ? view.issue(d.repo_id, d.number) : std::nullopt;
        if (!x) continue;
        std::string full = display_name(view, repo->owner) + "/" + repo->name;
        std::string state = x->merged                       ? "merged"
                            : x->state == state::kIssueOpen ? "open"
                                                            : "closed";
        h.raw("<li><span class=\"label state-") << (state == "open" ? "open" : "closed");
        h.raw("\">") << state << Safe{"</span> <a href=\"/"} << url_path(full)
                     << (x->is_pull ? "/pull/" : "/issues/") << d.number << Safe{"\"><strong>"}
                     << x->title << Safe{"</strong></a><br><span class=\"muted\">"} << full << "#"
                     << d.number << " · " << (d.author.empty() ? std::string("?") : d.author)
                     << " · updated " << age(d.updated_ms, now) << Safe{"</span></li>"};
        ++shown;
      }
    } else {
      auto r = env.search->search_code(s);
      total = r.total_count;
      for (const auto& hit : r.items) {
        auto repo = view.repo(hit.repo_id);
        if (!repo) continue;
        std::string full = display_name(view, repo->owner) + "/" + repo->name;
        h.raw("<li><a href=\"/") << url_path(full) << "/blob/" << url_path(repo->default_branch)
                                 << "/" << url_path(hit.path) << Safe{"\"><strong>"} << hit.path;
        h.raw("</strong></a> <span class=\"muted\">in ") << full << Safe{"</span>"};
        if (!hit.fragments.empty()) {
          h.raw("<pre class=\"fragment\">");
          for (const auto& f : hit.fragments) h << f << "\n";
          h.raw("</pre>");
        }
        h.raw("</li>");
        ++shown;
      }
    }
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument) throw;
    h.raw("<li class=\"flash error\">") << e.what() << Safe{"</li>"};
  }
  if (shown == 0) h.raw("<li class=\"muted\">Nothing found.</li>");
  h.raw("</ul></div>");
  size_t pages = static_cast<size_t>((total + kPerPage - 1) / kPerPage);
  if (pages > 1) {
    h.raw("<nav class=\"pager\">");
    std::string base = "/search?q=" + url_query(q) + "&type=" + type + "&page=";
    if (s.page > 1)
      h.raw("<a href=\"") << base + std::to_string(s.page - 1) << Safe{"\">Previous</a>"};
    h.raw("<span>Page ") << static_cast<uint64_t>(s.page) << " of " << static_cast<uint64_t>(pages);
    h.raw("</span>");
    if (s.page < pages)
      h.raw("<a href=\"") << base + std::to_string(s.page + 1) << Safe{"\">Next</a>"};
    h.raw("</nav>");
  }
  return page(env, 200, "Search: " + q, h);
}

}  // namespace guts::web
