#include "api/ci_push_trigger.h"

#include <spdlog/spdlog.h>

#include "api/services.h"
#include "ci/workflow.h"
#include "core/bytes.h"
#include "git/browse.h"

namespace guts::api {

namespace {

constexpr std::string_view kWorkflowDir = ".guts/workflows";

bool is_workflow_file(const std::string& name) {
  auto ends = [&](std::string_view s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".yml") || ends(".yaml");
}

// The workflow files at `sha` that this push to `ref` runs (or that do not parse).
std::vector<state::RequestRuns> requests_at(const git::Browser& b, uint64_t repo_id,
                                            const std::string& ref, const Bytes& sha) {
  std::vector<state::RequestRuns> out;
  const std::string hex = hex_encode(sha);
  std::vector<git::TreeEntry> entries;
  try {
    if (!b.entry(hex, kWorkflowDir)) return out;
    entries = b.tree(hex, kWorkflowDir);
  } catch (const std::exception&) {
    return out;  // no .guts/workflows directory (or not a directory)
  }
  for (const auto& e : entries) {
    if (e.type != "blob" || !is_workflow_file(e.name)) continue;
    if (!ci::workflow_path_error(e.path).empty()) continue;
    if (e.size > ci::kMaxWorkflowBytes) {
      spdlog::warn("ci: {} at {} is over {} bytes: not run", e.path, hex, ci::kMaxWorkflowBytes);
      continue;
    }
    auto blob = b.blob(hex, e.path, ci::kMaxWorkflowBytes);
    auto parsed = ci::parse_workflow(e.path, blob.content);
    if (auto* wf = std::get_if<ci::Workflow>(&parsed)) {
      ci::Event ev;
      ev.kind = ci::Event::kPush;
      ev.ref = ref;
      if (!ci::triggers(*wf, ev)) continue;
    }  // a file that does not parse still gets its (failed) run: the error is its log
    state::RequestRuns r;
    r.repo_id = repo_id;
    r.workflow_path = e.path;
    r.content = std::move(blob.content);
    r.event = state::kEventPush;
    r.ref = ref;
    r.sha = sha;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

void trigger_push_workflows(Services& svc, const Principal& who, const state::Repo& repo,
                            const std::filesystem::path& repo_dir,
                            const std::vector<state::RefChange>& changes) {
  try {
    std::vector<state::RequestRuns> requests;
    {
      git::Browser b(repo_dir);
      for (const auto& c : changes) {
        if (c.new_oid.empty()) continue;  // a deleted ref runs nothing
        if (c.ref.rfind("refs/heads/", 0) != 0 && c.ref.rfind("refs/tags/", 0) != 0) continue;
        for (auto& r : requests_at(b, repo.id, c.ref, c.new_oid)) requests.push_back(std::move(r));
      }
    }
    for (auto& r : requests) {
      std::string what = r.workflow_path + " at " + r.ref;
      svc.submit_as(who, std::move(r), [what](const state::TxOutcome& o) {
        if (!o.applied)
          spdlog::info("ci: run request for {} refused: {}", what, o.status.message());
      });
    }
  } catch (const std::exception& e) {
    spdlog::warn("ci: reading workflows of repository {} failed: {}", repo.id, e.what());
  }
}

}  // namespace guts::api
