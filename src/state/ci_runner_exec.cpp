// Kinds 68-70 (state/ci_runner.h): a job's stored log, a repository's Actions secrets.
#include "state/ci.h"
#include "state/ci_runner_state.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/tx.h"

namespace guts::state {

std::optional<JobLog> job_log(const StateView& view, uint64_t job_id) {
  auto v = view.kv().get(view.schema().governance, job_log_key(job_id));
  if (!v) return std::nullopt;
  return decode_job_log(*v);
}

std::vector<ActionsSecret> actions_secrets(const StateView& view, uint64_t repo_id) {
  std::vector<ActionsSecret> out;
  view.kv().scan_prefix(view.schema().governance, actions_secret_prefix(repo_id),
                        [&](std::string_view, std::string_view v) {
                          out.push_back(decode_actions_secret(v));
                          return true;
                        });
  return out;
}

std::optional<ActionsSecret> actions_secret(const StateView& view, uint64_t repo_id,
                                            std::string_view name) {
  auto v = view.kv().get(view.schema().governance, actions_secret_key(repo_id, name));
  if (!v) return std::nullopt;
  return decode_actions_secret(*v);
}

Status apply_ci_runner(const Schema& s, Overlay& state, const Transaction& tx, uint64_t now_ms) {
  StateView view(s, state);
  auto admin_of = [&](uint64_t id) -> Status {
    auto repo = view.repo(id);
    auto have = repo ? effective_permission(view, *repo, tx.author) : Permission::kNone;
    if (!repo || have == Permission::kNone)
      return reject::not_found("repository " + std::to_string(id) + " does not exist");
    if (have < Permission::kAdmin) return reject::denied("Must have admin rights to Repository.");
    return Status::Ok();
  };
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, SetJobLog>) {
          auto j = runs::job(s, state, b.job_id);
          if (!j || j->repo_id != b.repo_id)
            return reject::not_found("job " + std::to_string(b.job_id) + " does not exist");
          // The holder, or (agreeing runners) a runner that reported the job already.
          if ((j->status == kRunQueued || j->runner != tx.author) && !runs::reported(*j, tx.author))
            return reject::denied("job " + std::to_string(b.job_id) +
                                  " is not held by this runner");
          if (b.size > kMaxJobLogBytes) return reject::invalid("log size: over 16 MiB");
          state.put(s.governance, job_log_key(b.job_id), encode_job_log({b.sha256, b.size}));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SetActionsSecret>) {
          if (auto st = admin_of(b.repo_id); !st.ok()) return st;
          if (!valid_secret_name(b.name))
            return reject::invalid(
                "name: letters, digits and _ only, not starting with a digit, GITHUB_ or GUTS_");
          if (b.sealed.size() > kMaxSecretRecipients)
            return reject::invalid("sealed: at most 64 runners");
          for (size_t i = 0; i < b.sealed.size(); ++i) {
            const auto& v = b.sealed[i];
            for (size_t k = 0; k < i; ++k)
              if (b.sealed[k].runner == v.runner)
                return reject::invalid("sealed: a runner is named twice");
            if (v.sealed.size() < kSealOverheadBytes ||
                v.sealed.size() > kMaxSecretValueBytes + kSealOverheadBytes)
              return reject::invalid("sealed: a value is not a sealed box of at most 48 KiB");
            if (!runs::runner(s, state, b.repo_id, v.runner))
              return reject::invalid("sealed: " + hex_encode(v.runner) +
                                     " is not a runner of this repository");
          }
          auto existing = actions_secret(view, b.repo_id, b.name);
          if (!existing && actions_secrets(view, b.repo_id).size() >= kMaxSecretsPerRepo)
            return reject::invalid("a repository has at most 100 secrets");
          ActionsSecret rec;
          rec.repo_id = b.repo_id;
          rec.name = b.name;
          rec.sealed = b.sealed;
          rec.creator = tx.author;
          rec.created_ms = existing ? existing->created_ms : now_ms;
          rec.updated_ms = now_ms;
          state.put(s.governance, actions_secret_key(b.repo_id, b.name),
                    encode_actions_secret(rec));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteActionsSecret>) {
          if (auto st = admin_of(b.repo_id); !st.ok()) return st;
          if (!actions_secret(view, b.repo_id, b.name))
            return reject::not_found("secret " + b.name + " not found");
          state.del(s.governance, actions_secret_key(b.repo_id, b.name));
          return Status::Ok();
        } else {
          return reject::invalid("not a CI runner transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
