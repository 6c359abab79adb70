// guts run list|show|cancel|rerun, guts workflow list|run, guts runner token|list,
// guts runner-policy show|set, guts run download (docs/ci.md "CLI"): the routes of
// api/actions_routes.cpp and api/artifact_routes.cpp.
#include <cctype>
#include <filesystem>
#include <fstream>

#include "ci/zip.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string actions_path(const std::string& repo) {
  return "/api/v3/repos/" + repo + "/actions";
}

std::string query_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string str(const json& j, const char* k) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}

// "✓ success", "… in_progress": the state a run or job shows.
std::string state_of(const json& x) {
  std::string status = str(x, "status"), conclusion = str(x, "conclusion");
  if (status != "completed") return status;
  return conclusion.empty() ? status : conclusion;
}

std::string run_line(const json& r) {
  std::string sha = str(r, "head_sha").substr(0, 7);
  return "#" + std::to_string(r["id"].get<uint64_t>()) + "  " + state_of(r) + "  " +
         str(r, "name") + "  " + str(r, "event") + "  " + str(r, "head_branch") + "  " + sha +
         "  " + str(r, "created_at");
}

}  // namespace

void add_actions_commands(CLI::App& app, ContextFn ctx) {
  struct Args {
    std::string repo, branch, event, status, ref, file, name, dir = ".";
    uint64_t id = 0;
    std::vector<std::string> fields, trusted;
    uint32_t agreeing = 1;
  };
  auto a = std::make_shared<Args>();

  // ---- guts run ----
  auto* run = app.add_subcommand("run", "Workflow runs of a repository (OWNER/REPO)");
  run->require_subcommand(1);
  auto* list = run->add_subcommand("list", "List runs, newest first");
  list->add_option("repo", a->repo, "OWNER/REPO")->required();
  list->add_option("--branch", a->branch, "Only runs of this branch");
  list->add_option("--event", a->event, "Only runs of this event (push, pull_request, ...)");
  list->add_option("--status", a->status, "queued, in_progress, completed or a conclusion");
  list->callback([ctx, a] {
    auto& c = ctx();
    std::string q = "?per_page=100";
    if (!a->branch.empty()) q += "&branch=" + query_encode(a->branch);
    if (!a->event.empty()) q += "&event=" + query_encode(a->event);
    if (!a->status.empty()) q += "&status=" + query_encode(a->status);
    auto r = c.expect(c.client().get(actions_path(a->repo) + "/runs" + q));
    std::string human;
    for (const auto& x : r["workflow_runs"]) human += run_line(x) + "\n";
    c.print(r, human.empty() ? "No runs." : human.substr(0, human.size() - 1));
  });
  auto* show = run->add_subcommand("show", "Show a run, its jobs and their steps");
  show->add_option("repo", a->repo, "OWNER/REPO")->required();
  show->add_option("id", a->id, "Run id")->required();
  show->callback([ctx, a] {
    auto& c = ctx();
    std::string base = actions_path(a->repo) + "/runs/" + std::to_string(a->id);
    auto r = c.expect(c.client().get(base));
    auto jobs = c.expect(c.client().get(base + "/jobs?per_page=100"));
    std::string human = run_line(r) + "\n" + str(r, "path") + "  attempt " +
                        std::to_string(r["run_attempt"].get<uint64_t>());
    if (r["error"].is_string()) human += "\nerror: " + r["error"].get<std::string>();
    for (const auto& j : jobs["jobs"]) {
      human += "\n  job " + std::to_string(j["id"].get<uint64_t>()) + "  " + state_of(j) + "  " +
               str(j, "name");
      if (j["runner_name"].is_string()) human += "  (runner " + str(j, "runner_name") + ")";
      for (const auto& s : j["steps"])
        human += "\n    " + std::to_string(s["number"].get<uint64_t>()) + ". " + state_of(s) +
                 "  " + str(s, "name");
    }
    json out = r;
    out["jobs"] = jobs["jobs"];
    c.print(out, human);
  });
  for (bool cancel : {true, false}) {
    auto* cmd = run->add_subcommand(
        cancel ? "cancel" : "rerun",
        cancel ? "Cancel a run (its open jobs)" : "Re-run a completed run (every job)");
    cmd->add_option("repo", a->repo, "OWNER/REPO")->required();
    cmd->add_option("id", a->id, "Run id")->required();
    cmd->callback([ctx, a, cancel] {
      auto& c = ctx();
      std::string path = actions_path(a->repo) + "/runs/" + std::to_string(a->id) +
                         (cancel ? "/cancel" : "/rerun");
      auto r = c.expect(c.client().post(path, "{}"), {cancel ? 202 : 201});
      c.print(r,
              std::string(cancel ? "Cancelled" : "Re-running") + " run #" + std::to_string(a->id));
    });
  }

  auto* dl = run->add_subcommand(
      "download", "Download a run's artifacts, each unpacked into DIR/<artifact name>/");
  dl->add_option("repo", a->repo, "OWNER/REPO")->required();
  dl->add_option("id", a->id, "Run id")->required();
  dl->add_option("-n,--name", a->name, "Only the artifact of this name");
  dl->add_option("-D,--dir", a->dir, "Where to unpack (default: the current directory)");
  dl->callback([ctx, a] {
    auto& c = ctx();
    auto list = c.expect(c.client().get(actions_path(a->repo) + "/runs/" + std::to_string(a->id) +
                                        "/artifacts?per_page=100"));
    json done = json::array();
    std::string human;
    for (const auto& art : list["artifacts"]) {
      std::string name = str(art, "name");
      if (!a->name.empty() && name != a->name) continue;
      auto r = c.client().get(actions_path(a->repo) + "/artifacts/" +
                              std::to_string(art["id"].get<uint64_t>()) + "/zip");
      if (r.status != 200) c.expect(r);  // the API's error
      auto entries = ci::read_zip(r.body);
      if (!entries.ok())
        throw Error(Code::kInvalidArgument, "artifact " + name + ": " + entries.status().message());
      // The name is the server's: check it before making it a directory.
      if (!ci::safe_zip_name(name) || name.find('/') != std::string::npos)
        throw Error(Code::kInvalidArgument, "artifact name '" + name + "' is not a safe path");
      auto root = std::filesystem::path(a->dir) / name;
      for (const auto& e : entries.value()) {
        auto path = root / e.name;  // safe_zip_name: relative, no "..": stays under root
        std::filesystem::create_directories(path.parent_path());
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(e.data.data(), static_cast<std::streamsize>(e.data.size()));
        if (!f) throw Error(Code::kInternal, "cannot write " + path.string());
        f.close();
        std::filesystem::permissions(path, static_cast<std::filesystem::perms>(e.mode & 0755));
      }
      done.push_back(json{{"name", name},
                          {"path", root.string()},
                          {"files", entries.value().size()},
                          {"size_in_bytes", art.value("size_in_bytes", 0)}});
      human += "Downloaded " + name + " (" + std::to_string(entries.value().size()) +
               " files) into " + root.string() + "\n";
    }
    if (done.empty())
      throw Error(Code::kNotFound, a->name.empty()
                                       ? "run #" + std::to_string(a->id) + " has no artifacts"
                                       : "no artifact named " + a->name);
    c.print(json{{"artifacts", done}}, human.substr(0, human.size() - 1));
  });

  // ---- guts workflow ----
  auto* wf = app.add_subcommand("workflow", "Workflow files (.guts/workflows) of a repository");
  wf->require_subcommand(1);
  auto* wlist = wf->add_subcommand("list", "List the workflows at the default branch");
  wlist->add_option("repo", a->repo, "OWNER/REPO")->required();
  wlist->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(actions_path(a->repo) + "/workflows"));
    std::string human;
    for (const auto& x : r["workflows"])
      human += str(x, "name") + "  " + str(x, "path") + "  " + str(x, "state") + "\n";
    c.print(r, human.empty() ? "No workflows." : human.substr(0, human.size() - 1));
  });
  auto* wrun = wf->add_subcommand("run", "Run a workflow (workflow_dispatch) at a ref");
  wrun->add_option("repo", a->repo, "OWNER/REPO")->required();
  wrun->add_option("file", a->file, "Workflow file name (ci.yml) or id")->required();
  wrun->add_option("--ref", a->ref, "Branch or tag (default: the default branch)");
  wrun->add_option("-f,--field", a->fields, "An input, key=value (repeatable)");
  wrun->callback([ctx, a] {
    auto& c = ctx();
    std::string ref = a->ref;
    if (ref.empty()) {
      auto repo = c.expect(c.client().get("/api/v3/repos/" + a->repo));
      ref = str(repo, "default_branch");
    }
    json inputs = json::object();
    for (const auto& f : a->fields) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0)
        throw Error(Code::kInvalidArgument, "-f takes key=value, not '" + f + "'");
      inputs[f.substr(0, eq)] = f.substr(eq + 1);
    }
    json body{{"ref", ref}, {"inputs", inputs}};
    auto r = c.expect(c.client().post(actions_path(a->repo) + "/workflows/" +
                                          query_encode(a->file) + "/dispatches",
                                      body.dump()),
                      {204});
    c.print(json{{"workflow", a->file}, {"ref", ref}},
            "Requested a run of " + a->file + " at " + ref);
  });

  // ---- guts runner ----
  auto* runner = app.add_subcommand("runner", "Self-hosted runners of a repository");
  runner->require_subcommand(1);
  auto* token = runner->add_subcommand(
      "token", "Make a registration token for guts-runner (admin; valid one hour)");
  token->add_option("repo", a->repo, "OWNER/REPO")->required();
  token->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().post(actions_path(a->repo) + "/runners/registration-token", "{}"),
                      {201});
    c.print(r, str(r, "token") + "\nexpires " + str(r, "expires_at"));
  });
  auto* rlist = runner->add_subcommand("list", "List registered runners (admin)");
  rlist->add_option("repo", a->repo, "OWNER/REPO")->required();
  rlist->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(actions_path(a->repo) + "/runners?per_page=100"));
    std::string human;
    for (const auto& x : r["runners"]) {
      std::string labels;
      for (const auto& l : x["labels"]) labels += (labels.empty() ? "" : ",") + str(l, "name");
      human += str(x, "name") + "  " + str(x, "status") + (x["busy"].get<bool>() ? " (busy)" : "") +
               "  [" + labels + "]  " + str(x, "key") + "\n";
    }
    c.print(r, human.empty() ? "No runners." : human.substr(0, human.size() - 1));
  });

  // ---- guts runner-policy ----
  auto* pol =
      app.add_subcommand("runner-policy", "Which runners' statuses satisfy required status checks");
  pol->require_subcommand(1);
  auto policy_path = [](const std::string& repo) {
    return "/api/guts/repos/" + repo + "/actions/policy";
  };
  auto print_policy = [](Context& c, const json& r) {
    std::string human;
    if (r["trusted_runners"].empty()) {
      human = "Trusted: any runner registered with an admin's token";
    } else {
      human = "Trusted runners:";
      for (const auto& k : r["trusted_runners"])
        human += "\n  " + str(k, "key") + (k["name"].is_string() ? "  " + str(k, "name") : "");
    }
    if (r.value("agreeing_runners", 1) > 1)
      human += "\nEach job needs " + std::to_string(r["agreeing_runners"].get<int>()) +
               " trusted runners reporting the same conclusion";
    c.print(r, human);
  };
  auto* pshow = pol->add_subcommand("show", "Show the repository's runner policy");
  pshow->add_option("repo", a->repo, "OWNER/REPO")->required();
  pshow->callback([ctx, a, policy_path, print_policy] {
    auto& c = ctx();
    print_policy(c, c.expect(c.client().get(policy_path(a->repo))));
  });
  auto* pset = pol->add_subcommand(
      "set", "Trust only these runners (did:key, name or id); none: any admin-registered runner");
  pset->add_option("repo", a->repo, "OWNER/REPO")->required();
  pset->add_option("runners", a->trusted, "Trusted runners");
  pset->add_option("--agreeing", a->agreeing,
                   "Trusted runners that must report the same conclusion for a job (1-5)")
      ->check(CLI::Range(1, 5));
  pset->callback([ctx, a, policy_path, print_policy] {
    auto& c = ctx();
    json body{{"trusted_runners", a->trusted}, {"agreeing_runners", a->agreeing}};
    print_policy(c, c.expect(c.client().put(policy_path(a->repo), body.dump())));
  });
}

}  // namespace guts::cli
