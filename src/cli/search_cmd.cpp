// guts search repos|issues|code QUERY [--sort] [--order] [--limit] and guts search status
// (docs/search.md): GitHub's /search routes and the node's /api/guts/search.
#include "cli/commands.h"
#include "cli/http_client.h"
#include "core/status.h"

namespace guts::cli {

void add_search_commands(CLI::App& app, ContextFn ctx) {
  struct Args {
    std::string query, sort, order;
    int limit = 30;
  };
  auto a = std::make_shared<Args>();
  auto* search = app.add_subcommand(
      "search", "Search repositories, issues and pull requests, and code (docs/search.md)");
  search->require_subcommand(1);

  auto url = [a](const char* type) {
    std::string u = std::string("/api/v3/search/") + type + "?q=" + percent_encode(a->query) +
                    "&per_page=" + std::to_string(a->limit);
    if (!a->sort.empty()) u += "&sort=" + percent_encode(a->sort);
    if (!a->order.empty()) u += "&order=" + percent_encode(a->order);
    return u;
  };
  auto add = [&](const char* name, const char* type, const char* help, auto line) {
    auto* cmd = search->add_subcommand(name, help);
    cmd->add_option("query", a->query, "Words, \"phrases\" and qualifiers (repo:, is:, author:...)")
        ->required();
    cmd->add_option("--sort", a->sort, "updated, created (issues also: comments)");
    cmd->add_option("--order", a->order, "desc (default) or asc");
    cmd->add_option("--limit", a->limit, "Results to show (1-100)")->check(CLI::Range(1, 100));
    cmd->callback([ctx, url, type, line] {
      auto& c = ctx();
      auto r = c.expect(c.client().get(url(type)));
      std::string human;
      for (const auto& item : r["items"]) human += line(item) + "\n";
      human += std::to_string(r["total_count"].get<uint64_t>()) + " result" +
               (r["total_count"].get<uint64_t>() == 1 ? "" : "s") +
               (r["incomplete_results"].get<bool>() ? " (incomplete)" : "");
      c.print(r, human);
    });
  };
  add("repos", "repositories", "Search repositories", [](const json& i) {
    std::string desc = i["description"].is_string() ? i["description"].get<std::string>() : "";
    return i["full_name"].get<std::string>() + (desc.empty() ? "" : "  " + desc);
  });
  add("issues", "issues", "Search issues and pull requests", [](const json& i) {
    std::string url = i["html_url"].get<std::string>();
    auto repo = i["repository_url"].get<std::string>();
    auto at = repo.find("/repos/");
    std::string full = at == std::string::npos ? repo : repo.substr(at + 7);
    return std::string(i.contains("pull_request") ? "PR    " : "issue ") + full + "#" +
           std::to_string(i["number"].get<uint64_t>()) + "  [" + i["state"].get<std::string>() +
           "] " + i["title"].get<std::string>();
  });
  add("code", "code", "Search code on default branches (substring)", [](const json& i) {
    return i["repository"]["full_name"].get<std::string>() + ": " + i["path"].get<std::string>();
  });

  auto* status = search->add_subcommand("status", "How far the node's search index is");
  status->callback([ctx] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/guts/search"));
    c.print(r, "indexed height " + std::to_string(r["indexed_height"].get<uint64_t>()) + " of " +
                   std::to_string(r["height"].get<uint64_t>()) + ", " +
                   std::to_string(r["rebuilds"].get<uint64_t>()) + " rebuilds, " +
                   std::to_string(r["failures"].get<uint64_t>()) + " failures");
  });
}

}  // namespace guts::cli
