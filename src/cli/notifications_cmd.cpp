// guts notifications [list] [--all] [--participating], guts notifications read [THREAD_ID],
// guts watch OWNER/REPO [--ignore|--stop] (docs/web.md "Notifications"): GitHub's
// /notifications and /repos/{o}/{r}/subscription routes of the node this CLI talks to (the inbox
// and watch settings are that node's).
#include "cli/commands.h"
#include "cli/http_client.h"
#include "core/status.h"

namespace guts::cli {

void add_notifications_commands(CLI::App& app, ContextFn ctx) {
  struct Args {
    bool all = false, participating = false, ignore = false, stop = false;
    std::string thread, repo;
    int limit = 50;
  };
  auto a = std::make_shared<Args>();
  auto* notif = app.add_subcommand("notifications", "Your notifications on this node (inbox)");
  auto list = [ctx, a] {
    auto& c = ctx();
    std::string url = "/api/v3/notifications?per_page=" + std::to_string(a->limit);
    if (a->all) url += "&all=true";
    if (a->participating) url += "&participating=true";
    auto r = c.expect(c.client().get(url));
    std::string human;
    for (const auto& n : r) {
      human += (n["unread"].get<bool>() ? "* " : "  ") + n["id"].get<std::string>() + "  " +
               n["repository"]["full_name"].get<std::string>() + "  " +
               (n["subject"]["type"] == "PullRequest" ? "PR " : "issue ") +
               n["subject"]["title"].get<std::string>() + "  (" + n["reason"].get<std::string>() +
               ")\n";
    }
    if (r.empty()) human = a->all ? "No notifications." : "No unread notifications.";
    c.print(r, human);
  };
  notif->add_flag("--all", a->all, "Also the ones already read");
  notif->add_flag("--participating", a->participating, "Only threads you take part in");
  notif->add_option("--limit", a->limit, "How many (1-100)")->check(CLI::Range(1, 100));
  notif->callback([notif, list] {
    if (notif->get_subcommands().empty()) list();
  });
  auto* ls = notif->add_subcommand("list", "List notifications (unread unless --all)");
  ls->add_flag("--all", a->all, "Also the ones already read");
  ls->add_flag("--participating", a->participating, "Only threads you take part in");
  ls->add_option("--limit", a->limit, "How many (1-100)")->check(CLI::Range(1, 100));
  ls->callback(list);
  auto* read = notif->add_subcommand("read", "Mark one thread read, or all of them");
  read->add_option("thread", a->thread, "Thread id (from the list); all when omitted");
  read->callback([ctx, a] {
    auto& c = ctx();
    if (a->thread.empty()) {
      c.expect(c.client().put("/api/v3/notifications", "{}"), {205, 202});
      c.print(json{{"read", "all"}}, "All notifications marked read.");
    } else {
      c.expect(c.client().patch("/api/v3/notifications/threads/" + percent_encode(a->thread), "{}"),
               {205});
      c.print(json{{"read", a->thread}}, "Thread " + a->thread + " marked read.");
    }
  });

  auto* watch = app.add_subcommand("watch", "Watch a repository: notifications of all its threads");
  watch->add_option("repo", a->repo, "OWNER/REPO")->required();
  watch->add_flag("--ignore", a->ignore, "Ignore it instead: no notifications at all");
  watch->add_flag("--stop", a->stop, "Stop watching (participating threads only)");
  watch->callback([ctx, a] {
    auto& c = ctx();
    auto slash = a->repo.find('/');
    if (slash == std::string::npos) throw Error(Code::kInvalidArgument, "expected OWNER/REPO");
    std::string url = "/api/v3/repos/" + percent_encode(a->repo.substr(0, slash)) + "/" +
                      percent_encode(a->repo.substr(slash + 1)) + "/subscription";
    if (a->stop) {
      c.expect(c.client().del(url), {204});
      c.print(json{{"repo", a->repo}, {"watching", false}}, "Stopped watching " + a->repo + ".");
      return;
    }
    json body{{"subscribed", !a->ignore}, {"ignored", a->ignore}};
    auto r = c.expect(c.client().put(url, body.dump()));
    c.print(r, (a->ignore ? "Ignoring " : "Watching ") + a->repo + ".");
  });
}

}  // namespace guts::cli
