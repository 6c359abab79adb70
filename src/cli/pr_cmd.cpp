// guts pr list|create|view|diff|checkout|review|merge|close — modelled on `gh pr`.
#include <iostream>
#include <sstream>

#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string pr_details(const json& p) {
  std::ostringstream s;
  s << p["title"].get<std::string>() << " #" << p["number"].get<uint64_t>() << "\n";
  std::string state = p["merged"].get<bool>() ? "merged" : p["state"].get<std::string>();
  if (p["draft"].get<bool>()) state += " (draft)";
  s << state << " • " << p["user"]["login"].get<std::string>() << " wants to merge "
    << p["commits"].get<uint64_t>() << " commit(s) into " << p["base"]["label"].get<std::string>()
    << " from " << p["head"]["label"].get<std::string>() << "\n";
  s << "+" << p["additions"].get<uint64_t>() << " -" << p["deletions"].get<uint64_t>() << " in "
    << p["changed_files"].get<uint64_t>() << " file(s)";
  if (!p["merged"].get<bool>() && p["state"] == "open")
    s << " • mergeable: "
      << (p["mergeable"].is_boolean() ? (p["mergeable"].get<bool>() ? "yes" : "no (conflicts)")
                                      : "unknown");
  s << "\n";
  std::string reviewers;
  for (const auto& r : p["requested_reviewers"])
    reviewers += (reviewers.empty() ? "" : ", ") + r["login"].get<std::string>();
  if (!reviewers.empty()) s << "Review requested from: " << reviewers << "\n";
  s << "\n"
    << (p["body"].is_string() ? p["body"].get<std::string>() : "No description provided.") << "\n";
  s << "\nView this pull request on Guts: " << p["html_url"].get<std::string>();
  return s.str();
}

}  // namespace

void add_pr_commands(CLI::App& app, ContextFn ctx) {
  auto* pr = app.add_subcommand("pr", "Work with pull requests");
  pr->require_subcommand(1);
  auto repo_flag = std::make_shared<std::string>();
  pr->add_option("-R,--repo", *repo_flag, "Repository as OWNER/REPO (default: the clone's origin)");

  struct ListArgs {
    std::string state = "open", base, head;
    size_t limit = 30;
  };
  auto la = std::make_shared<ListArgs>();
  auto* list = pr->add_subcommand("list", "List pull requests");
  list->add_option("-s,--state", la->state, "open, closed or all")->capture_default_str();
  list->add_option("-B,--base", la->base, "Filter by base branch");
  list->add_option("-H,--head", la->head, "Filter by head (branch or OWNER:branch)");
  list->add_option("-L,--limit", la->limit, "Maximum number to list")->capture_default_str();
  list->callback([ctx, repo_flag, la] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string q = "?state=" + la->state;
    if (!la->base.empty()) q += "&base=" + la->base;
    if (!la->head.empty()) q += "&head=" + la->head;
    json all = json::array();
    for (size_t page = 1; all.size() < la->limit; ++page) {
      auto r = c.expect(c.client().get(repo_api(full, "/pulls") + q +
                                       "&per_page=100&page=" + std::to_string(page)));
      for (auto& p : r)
        if (all.size() < la->limit) all.push_back(p);
      if (r.size() < 100) break;
    }
    std::string human;
    for (const auto& p : all)
      human += issue_line(p) + "  " + p["head"]["label"].get<std::string>() + " → " +
               p["base"]["ref"].get<std::string>() + "\n";
    if (all.empty()) human = "No pull requests match in " + full + ".";
    c.print(all, human);
  });

  struct CreateArgs {
    std::string title, body, head, base;
    bool draft = false;
  };
  auto ca = std::make_shared<CreateArgs>();
  auto* create = pr->add_subcommand("create", "Open a pull request");
  create->add_option("-t,--title", ca->title, "Title")->required();
  create->add_option("-b,--body", ca->body, "Body (\"-\" reads standard input)");
  create->add_option("-H,--head", ca->head,
                     "Head branch, or OWNER:branch for a fork (default: the current branch)");
  create->add_option("-B,--base", ca->base,
                     "Base branch (default: the repository's default branch)");
  create->add_flag("-d,--draft", ca->draft, "Open as a draft");
  create->callback([ctx, repo_flag, ca] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string head =
        ca->head.empty() ? run_git_here({"rev-parse", "--abbrev-ref", "HEAD"}) : ca->head;
    std::string base = ca->base;
    if (base.empty())
      base = c.expect(c.client().get(repo_api(full)))["default_branch"].get<std::string>();
    std::string body = ca->body;
    if (body == "-") body.assign(std::istreambuf_iterator<char>(std::cin), {});
    json req{
        {"title", ca->title}, {"body", body}, {"head", head}, {"base", base}, {"draft", ca->draft}};
    auto r = c.expect(c.client().post(repo_api(full, "/pulls"), req.dump()), {201});
    c.print(r, "Created pull request #" + std::to_string(r["number"].get<uint64_t>()) + " in " +
                   full + "\n" + r["html_url"].get<std::string>());
  });

  auto num = std::make_shared<uint64_t>(0);
  auto* view = pr->add_subcommand("view", "Show a pull request");
  view->add_option("number", *num, "Pull request number")->required();
  view->callback([ctx, repo_flag, num] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto p = c.expect(c.client().get(repo_api(full, "/pulls/" + std::to_string(*num))));
    c.print(p, pr_details(p));
  });

  auto diff_num = std::make_shared<uint64_t>(0);
  auto name_only = std::make_shared<bool>(false);
  auto* diff = pr->add_subcommand("diff", "Show the changes of a pull request");
  diff->add_option("number", *diff_num, "Pull request number")->required();
  diff->add_flag("--name-only", *name_only, "Only the names of changed files");
  diff->callback([ctx, repo_flag, diff_num, name_only] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto path = repo_api(full, "/pulls/" + std::to_string(*diff_num));
    if (*name_only || c.options().json) {
      json files = json::array();
      for (size_t page = 1;; ++page) {
        auto r =
            c.expect(c.client().get(path + "/files?per_page=100&page=" + std::to_string(page)));
        for (auto& f : r) files.push_back(f);
        if (r.size() < 100) break;
      }
      std::string human;
      for (const auto& f : files) human += f["filename"].get<std::string>() + "\n";
      c.print(files, human);
      return;
    }
    c.client().set_header("Accept", "application/vnd.github.diff");
    auto r = c.client().get(path);
    c.client().set_header("Accept", "application/vnd.github+json");
    if (r.status != 200) c.expect(r);
    std::cout << r.body;
  });

  auto co_num = std::make_shared<uint64_t>(0);
  auto co_branch = std::make_shared<std::string>();
  auto* checkout =
      pr->add_subcommand("checkout", "Check out a pull request's head in the current clone");
  checkout->add_option("number", *co_num, "Pull request number")->required();
  checkout->add_option("-b,--branch", *co_branch, "Local branch name (default: the head branch)");
  checkout->callback([ctx, repo_flag, co_num, co_branch] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto p = c.expect(c.client().get(repo_api(full, "/pulls/" + std::to_string(*co_num))));
    std::string branch = co_branch->empty() ? p["head"]["ref"].get<std::string>() : *co_branch;
    if (!p["head"]["repo"].is_object())
      throw Error(Code::kNotFound, "the head repository no longer exists");
    std::string url = p["head"]["repo"]["clone_url"].get<std::string>();
    std::string sha = p["head"]["sha"].get<std::string>();
    run_git_here({"fetch", url, "refs/heads/" + p["head"]["ref"].get<std::string>()});
    run_git_here({"checkout", "-B", branch, sha});
    c.print(json{{"branch", branch}, {"sha", sha}},
            "Switched to branch '" + branch + "' at " + sha.substr(0, 7));
  });

  struct ReviewArgs {
    uint64_t number = 0;
    bool approve = false, request_changes = false, comment = false;
    std::string body;
  };
  auto ra = std::make_shared<ReviewArgs>();
  auto* review = pr->add_subcommand("review", "Review a pull request");
  review->add_option("number", ra->number, "Pull request number")->required();
  auto* a = review->add_flag("-a,--approve", ra->approve, "Approve");
  auto* r = review->add_flag("-r,--request-changes", ra->request_changes, "Request changes");
  auto* cm = review->add_flag("-c,--comment", ra->comment, "Comment");
  a->excludes(r)->excludes(cm);
  r->excludes(cm);
  review->add_option("-b,--body", ra->body, "Review body");
  review->callback([ctx, repo_flag, ra] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string event = ra->approve           ? "APPROVE"
                        : ra->request_changes ? "REQUEST_CHANGES"
                                              : "COMMENT";
    if (!ra->approve && !ra->request_changes && !ra->comment)
      throw Error(Code::kInvalidArgument, "pass --approve, --request-changes or --comment");
    auto rv = c.expect(
        c.client().post(repo_api(full, "/pulls/" + std::to_string(ra->number) + "/reviews"),
                        json{{"event", event}, {"body", ra->body}}.dump()));
    c.print(rv, "Reviewed pull request #" + std::to_string(ra->number) + ": " +
                    rv["state"].get<std::string>());
  });

  struct MergeArgs {
    uint64_t number = 0;
    bool merge = false, squash = false, rebase = false, delete_branch = false;
    std::string subject, body, match_head;
  };
  auto ma = std::make_shared<MergeArgs>();
  auto* merge = pr->add_subcommand("merge", "Merge a pull request");
  merge->add_option("number", ma->number, "Pull request number")->required();
  auto* m1 = merge->add_flag("-m,--merge", ma->merge, "Merge commit (default)");
  auto* m2 = merge->add_flag("-s,--squash", ma->squash, "Squash into one commit");
  auto* m3 = merge->add_flag("-r,--rebase", ma->rebase, "Rebase the commits onto the base");
  m1->excludes(m2)->excludes(m3);
  m2->excludes(m3);
  merge->add_flag("-d,--delete-branch", ma->delete_branch, "Delete the head branch afterwards");
  merge->add_option("-t,--subject", ma->subject, "Commit subject");
  merge->add_option("-b,--body", ma->body, "Commit body");
  merge->add_option("--match-head-commit", ma->match_head, "Only merge if the head is this commit");
  merge->callback([ctx, repo_flag, ma] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto path = repo_api(full, "/pulls/" + std::to_string(ma->number));
    json req{{"merge_method", ma->squash ? "squash" : ma->rebase ? "rebase" : "merge"}};
    if (!ma->subject.empty()) req["commit_title"] = ma->subject;
    if (!ma->body.empty()) req["commit_message"] = ma->body;
    if (!ma->match_head.empty()) req["sha"] = ma->match_head;
    auto res = c.expect(c.client().put(path + "/merge", req.dump()), {200, 202});
    if (!res.value("merged", false) && res.contains("proposal")) {
      // A quorum policy covers this merge: the node created (or approved) the proposal that
      // will run it once enough maintainers approve (docs/governance.md).
      const auto& p = res["proposal"];
      const std::string id = std::to_string(p["id"].get<uint64_t>());
      c.print(res, "Pull request #" + std::to_string(ma->number) +
                       " is not merged yet: merging needs a quorum.\n" +
                       res["message"].get<std::string>() + "\nProposal " + id + " (" +
                       std::to_string(p["approvals"].get<uint64_t>()) + " of " +
                       std::to_string(p["threshold"].get<uint64_t>()) + " approvals, expires " +
                       p["expires_at"].get<std::string>() +
                       "): other maintainers run `guts proposal approve " + id +
                       "` or `guts pr merge " + std::to_string(ma->number) + "`");
      return;
    }
    std::string human = "Merged pull request #" + std::to_string(ma->number) + " (" +
                        req["merge_method"].get<std::string>() + ") → " +
                        res["sha"].get<std::string>();
    if (ma->delete_branch) {
      auto p = c.expect(c.client().get(path));
      if (p["head"]["repo"].is_object()) {
        auto head_full = p["head"]["repo"]["full_name"].get<std::string>();
        auto d = c.client().del(
            repo_api(head_full, "/git/refs/heads/" + p["head"]["ref"].get<std::string>()));
        if (d.status == 204) {
          human += "\nDeleted branch " + p["head"]["label"].get<std::string>();
          res["deleted_branch"] = p["head"]["label"];
        } else {
          // The merge stands; the head may live in a fork the caller cannot write to.
          human += "\nCould not delete branch " + p["head"]["label"].get<std::string>() +
                   " (HTTP " + std::to_string(d.status) + ")";
          res["delete_branch_status"] = d.status;
        }
      }
    }
    c.print(res, human);
  });

  auto close_num = std::make_shared<uint64_t>(0);
  auto* close = pr->add_subcommand("close", "Close a pull request without merging");
  close->add_option("number", *close_num, "Pull request number")->required();
  close->callback([ctx, repo_flag, close_num] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto p = c.expect(c.client().patch(repo_api(full, "/pulls/" + std::to_string(*close_num)),
                                       json{{"state", "closed"}}.dump()));
    c.print(p, "Closed pull request #" + std::to_string(*close_num));
  });
}

}  // namespace guts::cli
