// guts issue list|create|view|comment|close|reopen|label — modelled on `gh issue`.
#include <iostream>
#include <sstream>

#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"
#include "git/process.h"

namespace guts::cli {

std::string run_git_here(const std::vector<std::string>& args) {
  auto r = git::run_git(args);
  if (!r.ok()) {
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw Error(Code::kInvalidArgument, "git " + (args.empty() ? "" : args[0]) + ": " + err);
  }
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string resolve_repo(const std::string& flag) {
  std::string full = flag;
  if (full.empty()) {
    auto r = git::run_git({"remote", "get-url", "origin"});
    if (r.ok()) {
      std::string url = r.out;
      while (!url.empty() && (url.back() == '\n' || url.back() == '/')) url.pop_back();
      if (url.size() > 4 && url.compare(url.size() - 4, 4, ".git") == 0) url.resize(url.size() - 4);
      auto slash = url.rfind('/');
      auto prev =
          slash == std::string::npos || slash == 0 ? std::string::npos : url.rfind('/', slash - 1);
      if (prev != std::string::npos) full = url.substr(prev + 1);
    }
  }
  auto slash = full.find('/');
  if (full.empty() || slash == std::string::npos || slash == 0 || slash + 1 == full.size() ||
      full.find('/', slash + 1) != std::string::npos)
    throw Error(Code::kInvalidArgument,
                full.empty() ? "no repository: pass -R OWNER/REPO or run inside a clone"
                             : "expected OWNER/REPO, got '" + full + "'");
  return full;
}

std::string repo_api(const std::string& full, const std::string& suffix) {
  return "/api/v3/repos/" + full + suffix;
}

std::string issue_line(const json& i) {
  std::string line = "#" + std::to_string(i["number"].get<uint64_t>()) + "  " +
                     i["title"].get<std::string>() + "  (" + i["state"].get<std::string>();
  if (i.contains("draft") && i["draft"].is_boolean() && i["draft"].get<bool>()) line += ", draft";
  line += ")";
  std::string labels;
  if (i.contains("labels"))
    for (const auto& l : i["labels"])
      labels += (labels.empty() ? "" : ", ") + l["name"].get<std::string>();
  if (!labels.empty()) line += "  [" + labels + "]";
  return line;
}

namespace {

std::string query_escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string issue_details(const json& i, const json& comments) {
  std::ostringstream s;
  s << i["title"].get<std::string>() << " #" << i["number"].get<uint64_t>() << "\n";
  s << i["state"].get<std::string>();
  if (i["state_reason"].is_string()) s << " (" << i["state_reason"].get<std::string>() << ")";
  s << " • " << i["user"]["login"].get<std::string>() << " opened "
    << i["created_at"].get<std::string>() << " • " << i["comments"].get<uint64_t>()
    << " comment(s)\n";
  std::string labels, assignees;
  for (const auto& l : i["labels"])
    labels += (labels.empty() ? "" : ", ") + l["name"].get<std::string>();
  for (const auto& a : i["assignees"])
    assignees += (assignees.empty() ? "" : ", ") + a["login"].get<std::string>();
  if (!labels.empty()) s << "Labels: " << labels << "\n";
  if (!assignees.empty()) s << "Assignees: " << assignees << "\n";
  if (i["milestone"].is_object())
    s << "Milestone: " << i["milestone"]["title"].get<std::string>() << "\n";
  s << "\n"
    << (i["body"].is_string() ? i["body"].get<std::string>() : "No description provided.") << "\n";
  for (const auto& c : comments)
    s << "\n— " << c["user"]["login"].get<std::string>() << " ("
      << c["created_at"].get<std::string>() << ")\n"
      << c["body"].get<std::string>() << "\n";
  s << "\nView this issue on Guts: " << i["html_url"].get<std::string>();
  return s.str();
}

}  // namespace

void add_issue_commands(CLI::App& app, ContextFn ctx) {
  auto* issue = app.add_subcommand("issue", "Work with issues");
  issue->require_subcommand(1);
  auto repo_flag = std::make_shared<std::string>();
  issue->add_option("-R,--repo", *repo_flag,
                    "Repository as OWNER/REPO (default: the clone's origin)");

  struct ListArgs {
    std::string state = "open", assignee, author, milestone;
    std::vector<std::string> labels;
    size_t limit = 30;
  };
  auto la = std::make_shared<ListArgs>();
  auto* list = issue->add_subcommand("list", "List issues of a repository");
  list->add_option("-s,--state", la->state, "open, closed or all")->capture_default_str();
  list->add_option("-l,--label", la->labels, "Filter by label (repeatable)");
  list->add_option("-a,--assignee", la->assignee, "Filter by assignee");
  list->add_option("-A,--author", la->author, "Filter by author");
  list->add_option("-m,--milestone", la->milestone, "Filter by milestone number");
  list->add_option("-L,--limit", la->limit, "Maximum number to list")->capture_default_str();
  list->callback([ctx, repo_flag, la] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string q = "?state=" + query_escape(la->state);
    if (!la->labels.empty()) {
      std::string joined;
      for (const auto& l : la->labels) joined += (joined.empty() ? "" : ",") + l;
      q += "&labels=" + query_escape(joined);
    }
    if (!la->assignee.empty()) q += "&assignee=" + query_escape(la->assignee);
    if (!la->author.empty()) q += "&creator=" + query_escape(la->author);
    if (!la->milestone.empty()) q += "&milestone=" + query_escape(la->milestone);
    json all = json::array();
    for (size_t page = 1; all.size() < la->limit; ++page) {
      auto r = c.expect(c.client().get(repo_api(full, "/issues") + q +
                                       "&per_page=100&page=" + std::to_string(page)));
      for (auto& i : r)
        if (all.size() < la->limit && !i.contains("pull_request")) all.push_back(i);
      if (r.size() < 100) break;
    }
    std::string human;
    for (const auto& i : all) human += issue_line(i) + "\n";
    if (all.empty()) human = "No issues match in " + full + ".";
    c.print(all, human);
  });

  struct CreateArgs {
    std::string title, body;
    std::vector<std::string> labels, assignees;
    uint64_t milestone = 0;
  };
  auto ca = std::make_shared<CreateArgs>();
  auto* create = issue->add_subcommand("create", "Open an issue");
  create->add_option("-t,--title", ca->title, "Title")->required();
  create->add_option("-b,--body", ca->body, "Body (\"-\" reads standard input)");
  create->add_option("-l,--label", ca->labels, "Label (repeatable)");
  create->add_option("-a,--assignee", ca->assignees, "Assignee login (repeatable)");
  create->add_option("-m,--milestone", ca->milestone, "Milestone number");
  create->callback([ctx, repo_flag, ca] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string body = ca->body;
    if (body == "-") body.assign(std::istreambuf_iterator<char>(std::cin), {});
    json req{
        {"title", ca->title}, {"body", body}, {"labels", ca->labels}, {"assignees", ca->assignees}};
    if (ca->milestone) req["milestone"] = ca->milestone;
    auto r = c.expect(c.client().post(repo_api(full, "/issues"), req.dump()), {201});
    c.print(r, "Created issue #" + std::to_string(r["number"].get<uint64_t>()) + " in " + full +
                   "\n" + r["html_url"].get<std::string>());
  });

  auto number = std::make_shared<uint64_t>(0);
  auto show_comments = std::make_shared<bool>(false);
  auto* view = issue->add_subcommand("view", "Show an issue");
  view->add_option("number", *number, "Issue number")->required();
  view->add_flag("-c,--comments", *show_comments, "Show the comments");
  view->callback([ctx, repo_flag, number, show_comments] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto i = c.expect(c.client().get(repo_api(full, "/issues/" + std::to_string(*number))));
    json comments = json::array();
    if (*show_comments || c.options().json)
      comments = c.expect(c.client().get(
          repo_api(full, "/issues/" + std::to_string(*number) + "/comments?per_page=100")));
    json out = i;
    if (c.options().json) out["comments_list"] = comments;
    c.print(out, issue_details(i, *show_comments ? comments : json::array()));
  });

  auto comment_num = std::make_shared<uint64_t>(0);
  auto comment_body = std::make_shared<std::string>();
  auto* comment = issue->add_subcommand("comment", "Comment on an issue or pull request");
  comment->add_option("number", *comment_num, "Issue number")->required();
  comment->add_option("-b,--body", *comment_body, "Comment (\"-\" reads standard input)")
      ->required();
  comment->callback([ctx, repo_flag, comment_num, comment_body] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string body = *comment_body;
    if (body == "-") body.assign(std::istreambuf_iterator<char>(std::cin), {});
    auto r = c.expect(
        c.client().post(repo_api(full, "/issues/" + std::to_string(*comment_num) + "/comments"),
                        json{{"body", body}}.dump()),
        {201});
    c.print(r, r["html_url"].get<std::string>());
  });

  auto close_num = std::make_shared<uint64_t>(0);
  auto reason = std::make_shared<std::string>("completed");
  auto close_comment = std::make_shared<std::string>();
  auto* close = issue->add_subcommand("close", "Close an issue");
  close->add_option("number", *close_num, "Issue number")->required();
  close->add_option("-r,--reason", *reason, "completed or not_planned (\"not planned\" too)")
      ->capture_default_str();
  close->add_option("-c,--comment", *close_comment, "Leave a closing comment");
  close->callback([ctx, repo_flag, close_num, reason, close_comment] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    std::string r = *reason == "not planned" ? "not_planned" : *reason;
    auto path = repo_api(full, "/issues/" + std::to_string(*close_num));
    if (!close_comment->empty())
      c.expect(c.client().post(path + "/comments", json{{"body", *close_comment}}.dump()), {201});
    auto i =
        c.expect(c.client().patch(path, json{{"state", "closed"}, {"state_reason", r}}.dump()));
    c.print(i, "Closed issue #" + std::to_string(*close_num) + " (" + r + ")");
  });

  auto reopen_num = std::make_shared<uint64_t>(0);
  auto* reopen = issue->add_subcommand("reopen", "Reopen an issue");
  reopen->add_option("number", *reopen_num, "Issue number")->required();
  reopen->callback([ctx, repo_flag, reopen_num] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    auto i = c.expect(c.client().patch(repo_api(full, "/issues/" + std::to_string(*reopen_num)),
                                       json{{"state", "open"}}.dump()));
    c.print(i, "Reopened issue #" + std::to_string(*reopen_num));
  });

  struct LabelArgs {
    uint64_t number = 0;
    std::vector<std::string> add, remove;
  };
  auto lb = std::make_shared<LabelArgs>();
  auto* label = issue->add_subcommand("label", "Add or remove labels of an issue or pull request");
  label->add_option("number", lb->number, "Issue number")->required();
  label->add_option("--add", lb->add, "Label to add (repeatable; created when missing)");
  label->add_option("--remove", lb->remove, "Label to remove (repeatable)");
  label->callback([ctx, repo_flag, lb] {
    auto& c = ctx();
    auto full = resolve_repo(*repo_flag);
    if (lb->add.empty() && lb->remove.empty())
      throw Error(Code::kInvalidArgument, "nothing to do: pass --add and/or --remove");
    auto path = repo_api(full, "/issues/" + std::to_string(lb->number) + "/labels");
    json labels = json::array();
    if (!lb->add.empty())
      labels = c.expect(c.client().post(path, json{{"labels", lb->add}}.dump()));
    for (const auto& name : lb->remove)
      labels = c.expect(c.client().del(path + "/" + percent_encode(name)));
    std::string names;
    for (const auto& l : labels)
      names += (names.empty() ? "" : ", ") + l["name"].get<std::string>();
    c.print(labels,
            "Labels of #" + std::to_string(lb->number) + ": " + (names.empty() ? "(none)" : names));
  });
}

}  // namespace guts::cli
