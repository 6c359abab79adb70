// Kinds 71-72 (state/artifact.h): a job's artifacts, their retention by block time.
#include <algorithm>

#include "state/artifact_state.h"
#include "state/ci.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/tx.h"
#include "storage/db.h"

namespace guts::state {

std::optional<Artifact> artifact(const StateView& view, uint64_t id) {
  auto v = view.kv().get(view.schema().governance, artifact_key(id));
  if (!v) return std::nullopt;
  return decode_artifact(*v);
}

std::vector<Artifact> artifacts_of_repo(const StateView& view, uint64_t repo_id, uint64_t now_ms,
                                        uint64_t run_id) {
  std::vector<Artifact> out;
  const auto prefix = repo_artifact_prefix(repo_id);
  view.kv().scan_prefix(
      view.schema().governance, prefix, [&](std::string_view k, std::string_view) {
        auto id = storage::read_be64(k.substr(prefix.size()));
        if (auto a = artifact(view, id);
            a && !artifact_expired(*a, now_ms) && (run_id == 0 || a->run_id == run_id))
          out.push_back(std::move(*a));
        return true;
      });
  std::reverse(out.begin(), out.end());
  return out;
}

Status apply_artifact(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now_ms) {
  StateView view(s, state);
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CreateArtifact>) {
          auto j = runs::job(s, state, b.job_id);
          if (!j || j->repo_id != b.repo_id)
            return reject::not_found("job " + std::to_string(b.job_id) + " does not exist");
          if (j->status != kRunInProgress || j->runner != tx.author)
            return reject::denied("job " + std::to_string(b.job_id) +
                                  " is not in progress on this runner");
          if (!valid_artifact_name(b.name))
            return reject::invalid(
                "name: 1-200 bytes, without \" : < > | * ? \\ / or control characters");
          if (b.size > kMaxArtifactBytes) return reject::invalid("size: over 64 MiB");
          if (b.retention_days > kMaxArtifactRetentionDays)
            return reject::invalid("retention_days: 1-" +
                                   std::to_string(kMaxArtifactRetentionDays));
          // Names are unique within a run (expired ones included: ids are never reused and
          // a run's artifacts are few).
          size_t in_run = 0;
          const auto prefix = repo_artifact_prefix(b.repo_id);
          bool taken = false;
          state.scan_prefix(s.governance, prefix, [&](std::string_view k, std::string_view) {
            auto a = artifact(view, storage::read_be64(k.substr(prefix.size())));
            if (a && a->run_id == j->run_id) {
              ++in_run;
              if (a->name == b.name) taken = true;
            }
            return true;
          });
          if (taken) return reject::taken("an artifact named " + b.name + " exists in this run");
          if (in_run >= kMaxArtifactsPerRun)
            return reject::invalid("a run has at most 100 artifacts");
          auto next = state.get(s.governance, kNextArtifactKey);
          Artifact a;
          a.id = next ? storage::read_be64(*next) : 1;
          a.repo_id = b.repo_id;
          a.run_id = j->run_id;
          a.job_id = b.job_id;
          a.name = b.name;
          a.sha256 = b.sha256;
          a.size = b.size;
          a.runner = tx.author;
          a.created_ms = now_ms;
          uint32_t days = b.retention_days ? b.retention_days : kDefaultArtifactRetentionDays;
          a.expires_ms = now_ms + days * kDayMs;
          state.put(s.governance, kNextArtifactKey, storage::be64(a.id + 1));
          state.put(s.governance, artifact_key(a.id), encode_artifact(a));
          state.put(s.governance, repo_artifact_key(a.repo_id, a.id), "");
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteArtifact>) {
          auto repo = view.repo(b.repo_id);
          auto have = repo ? effective_permission(view, *repo, tx.author) : Permission::kNone;
          if (!repo || have == Permission::kNone)
            return reject::not_found("repository " + std::to_string(b.repo_id) + " does not exist");
          if (have < Permission::kWrite)
            return reject::denied("Must have write access to the repository.");
          auto a = artifact(view, b.artifact_id);
          if (!a || a->repo_id != b.repo_id)
            return reject::not_found("artifact " + std::to_string(b.artifact_id) + " not found");
          state.del(s.governance, artifact_key(a->id));
          state.del(s.governance, repo_artifact_key(a->repo_id, a->id));
          return Status::Ok();
        } else {
          return reject::invalid("not an artifact transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
