// Webhook payloads (api/webhook_payloads.h; docs/webhooks.md).
#include "api/webhook_payloads.h"

#include <sodium.h>

#include <set>

#include "api/actions_routes.h"
#include "api/collab_common.h"
#include "api/git_routes.h"
#include "api/github.h"
#include "api/org_shapes.h"
#include "api/release_routes.h"
#include "core/assert.h"
#include "core/time.h"
#include "crypto/did.h"
#include "git/browse.h"
#include "git/repo_store.h"
#include "state/permission.h"

namespace guts::api {

namespace {

constexpr size_t kMaxPushCommits = 20;  // GitHub lists at most 20 commits in a push payload

std::string hex_or_zero(const Bytes& oid) {
  return oid.empty() ? std::string(40, '0') : hex_encode(oid);
}

// The parts every payload of a repository shares: repository, sender, organization.
struct Common {
  state::Repo repo;
  state::Account owner;
  json repository, sender, organization;
};

std::optional<Common> common_of(Services& svc, const state::StateView& view, uint64_t repo_id,
                                const crypto::PublicKey& author) {
  auto repo = view.repo(repo_id);
  if (!repo) return std::nullopt;
  auto owner = view.account(repo->owner);
  if (!owner) return std::nullopt;
  Common c{*repo, *owner, repo_json(*repo, *owner, svc.public_url(), std::nullopt), nullptr,
           nullptr};
  if (auto a = view.account(author)) c.sender = user_json(*a, svc.public_url());
  if (owner->is_org)
    if (auto o = view.org(repo->owner)) c.organization = org_simple_json(*o, svc.public_url());
  return c;
}

json with_common(json payload, const Common& c) {
  payload["repository"] = c.repository;
  payload["sender"] = c.sender;
  if (!c.organization.is_null()) payload["organization"] = c.organization;
  return payload;
}

json commit_payload(const std::string& html, const git::Commit& c) {
  auto sig = [](const git::Signature& s) {
    return json{{"name", s.name}, {"email", s.email}, {"username", nullptr}};
  };
  return {{"id", c.sha},
          {"tree_id", c.tree},
          {"distinct", true},
          {"message", c.message},
          {"timestamp", iso8601(static_cast<uint64_t>(c.committer.time) * 1000)},
          {"url", html + "/commit/" + c.sha},
          {"author", sig(c.author)},
          {"committer", sig(c.committer)},
          {"added", json::array()},
          {"removed", json::array()},
          {"modified", json::array()}};
}

HookEvent push_event(Services& svc, git::RepoStore* repos, const Common& c,
                     const state::RefChange& ch, bool forced) {
  const std::string html = svc.public_url() + "/" + c.owner.username + "/" + c.repo.name;
  std::string before = hex_or_zero(ch.old_oid), after = hex_or_zero(ch.new_oid);
  json commits = json::array();
  json head = nullptr;
  if (repos && !ch.new_oid.empty()) {
    try {
      git::Browser b(repos->path_for(git_repo_key(c.repo.id)));
      git::CommitQuery q;
      q.rev = after;
      q.limit = kMaxPushCommits;
      std::vector<json> list;
      for (const auto& commit : b.commits(q)) {
        if (commit.sha == before) break;
        list.push_back(commit_payload(html, commit));
      }
      if (!list.empty()) head = list.front();
      for (auto it = list.rbegin(); it != list.rend(); ++it)
        commits.push_back(*it);  // oldest first
    } catch (const std::exception&) {
      // Objects not here (yet): the payload goes without commits.
    }
  }
  json pusher = {{"name", c.sender.is_null() ? "" : c.sender.value("login", "")},
                 {"email", nullptr}};
  json p{{"ref", ch.ref},
         {"before", before},
         {"after", after},
         {"created", ch.old_oid.empty()},
         {"deleted", ch.new_oid.empty()},
         {"forced", forced},
         {"base_ref", nullptr},
         {"compare", html + "/compare/" + before.substr(0, 12) + "..." + after.substr(0, 12)},
         {"commits", commits},
         {"head_commit", head},
         {"pusher", pusher}};
  return {"push", "", c.repo.id, c.repo.owner, with_common(std::move(p), c)};
}

// workflow_run (docs/webhooks.md): "requested" when a run is created or re-run, "in_progress"
// when the first job of an attempt is claimed, "completed" when the run completes (its last job
// completes, it is cancelled, or its workflow did not parse). The run is read from the current
// state, like every payload here; `emitted` keeps one event per run and action per block.
void workflow_run_events(Services& svc, const state::StateView& view, const state::Block& block,
                         const state::Transaction& tx,
                         std::set<std::pair<uint64_t, std::string>>& emitted,
                         std::vector<HookEvent>& out) {
  const auto& schema = svc.chain().schema();
  const uint64_t now = block.header.timestamp_ms;
  uint64_t run_id = 0;
  std::vector<std::string> actions;
  std::optional<state::Job> job;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, state::RequestRuns>) {
          run_id = view.receipt(tx.id()).value_or(0);
          actions = {"requested", "completed"};  // completed: only if it failed to parse
        } else if constexpr (std::is_same_v<T, state::RunAction>) {
          run_id = b.run_id;
          actions = {b.action == state::kRunRerun ? "requested" : "completed"};
        } else if constexpr (std::is_same_v<T, state::ClaimJob> ||
                             std::is_same_v<T, state::CompleteJob>) {
          job = state::runs::job(schema, view.kv(), b.job_id);
          if (job) run_id = job->run_id;
          actions = {std::is_same_v<T, state::ClaimJob> ? "in_progress" : "completed"};
        }
      },
      tx.body);
  if (run_id == 0) return;
  auto run = state::runs::run(schema, view.kv(), run_id);
  if (!run) return;
  for (const auto& action : actions) {
    if (action == "completed" && run->status != state::kRunCompleted) continue;
    if (action == "completed" && std::holds_alternative<state::RequestRuns>(tx.body)) {
      // Completed at creation: it did not parse, or no job's `if` held (no job ever ran).
      bool ran = run->attempt != 1;
      for (uint64_t id : run->jobs)
        if (auto j = state::runs::job(schema, view.kv(), id); j && j->started_ms != 0) ran = true;
      if (ran) continue;
    }
    if (action == "completed" && std::holds_alternative<state::CompleteJob>(tx.body) &&
        run->updated_ms != now)
      continue;  // completed later, by another transaction
    if (action == "in_progress") {
      // The first claim of this attempt: the job was claimed once, in this block, and no job
      // of the run started before it.
      if (!job || job->claims != 1 || job->started_ms != now) continue;
      bool first = true;
      for (uint64_t id : run->jobs) {
        auto other = id == job->id ? std::nullopt : state::runs::job(schema, view.kv(), id);
        if (other && other->started_ms != 0 && other->started_ms < now) first = false;
      }
      if (!first) continue;
    }
    if (!emitted.insert({run_id, action}).second) continue;
    auto c = common_of(svc, view, run->repo_id, run->actor);  // GitHub: the run's actor
    if (!c) return;
    json p{{"action", action},
           {"workflow_run", workflow_run_json(svc, c->repo, c->owner, *run)},
           {"workflow", run_workflow_json(svc, c->repo, c->owner, *run)}};
    out.push_back(
        {"workflow_run", action, c->repo.id, c->repo.owner, with_common(std::move(p), *c)});
  }
}

}  // namespace

std::vector<HookEvent> webhook_events(Services& svc, git::RepoStore* repos,
                                      const state::Block& block) {
  std::vector<HookEvent> out;
  auto view = svc.chain().view();
  std::set<std::pair<uint64_t, std::string>> emitted_runs;
  for (const auto& tx : block.txs) {
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, state::RequestRuns> ||
                        std::is_same_v<T, state::RunAction> || std::is_same_v<T, state::ClaimJob> ||
                        std::is_same_v<T, state::CompleteJob>) {
            workflow_run_events(svc, view, block, tx, emitted_runs, out);
          } else if constexpr (std::is_same_v<T, state::UpdateRefs>) {
            auto c = common_of(svc, view, b.repo_id, tx.author);
            if (!c) return;
            for (const auto& ch : b.changes) out.push_back(push_event(svc, repos, *c, ch, b.force));
          } else if constexpr (std::is_same_v<T, state::CreateIssue> ||
                               std::is_same_v<T, state::EditIssue> ||
                               std::is_same_v<T, state::OpenPullRequest> ||
                               std::is_same_v<T, state::MergePullRequest> ||
                               std::is_same_v<T, state::CreateComment>) {
            auto c = common_of(svc, view, b.repo_id, tx.author);
            if (!c) return;
            collab::Shapes shapes(svc, c->repo, c->owner);
            uint64_t number = 0;
            std::string action;
            if constexpr (std::is_same_v<T, state::CreateIssue> ||
                          std::is_same_v<T, state::OpenPullRequest>) {
              auto n = view.receipt(tx.id());
              if (!n) return;
              number = *n;
              action = "opened";
            } else if constexpr (std::is_same_v<T, state::EditIssue>) {
              number = b.number;
              if (b.state)
                action = *b.state == state::kIssueOpen ? "reopened" : "closed";
              else
                action = "edited";
            } else if constexpr (std::is_same_v<T, state::MergePullRequest>) {
              number = b.number;
              action = "closed";
              // The base branch moved: a push as well.
              auto issue = view.issue(b.repo_id, b.number);
              if (issue) {
                state::RefChange ch{"refs/heads/" + issue->base_ref, b.base_old, b.merge_sha};
                out.push_back(push_event(svc, repos, *c, ch, false));
              }
            } else {
              number = b.number;
              action = "created";
            }
            auto issue = view.issue(b.repo_id, number);
            if (!issue) return;
            json p{{"action", action}};
            std::string name;
            if constexpr (std::is_same_v<T, state::CreateComment>) {
              auto id = view.receipt(tx.id());
              auto comment = id ? view.comment(*id) : std::nullopt;
              if (!comment) return;
              name = "issue_comment";
              p["issue"] = shapes.issue(*issue);
              p["comment"] = shapes.comment(*comment);
            } else if (issue->is_pull) {
              name = "pull_request";
              p["number"] = issue->number;
              p["pull_request"] = shapes.pull(*issue, nullptr);
            } else {
              name = "issues";
              p["issue"] = shapes.issue(*issue);
            }
            out.push_back({name, action, c->repo.id, c->repo.owner, with_common(std::move(p), *c)});
          } else if constexpr (std::is_same_v<T, state::UpsertRelease> ||
                               std::is_same_v<T, state::DeleteRelease>) {
            // Releases (docs/releases.md): created (a draft saved or a release made), published,
            // edited, deleted; a deleted release is read from its last recorded state.
            const auto& schema = svc.chain().schema();
            uint64_t id = b.release_id;
            std::vector<std::string> actions;
            std::optional<state::Release> rel;
            if constexpr (std::is_same_v<T, state::DeleteRelease>) {
              rel = state::releases::deleted(schema, view.kv(), id);
              actions = {"deleted"};
            } else {
              if (id == 0) id = view.receipt(tx.id()).value_or(0);
              rel = state::releases::get(schema, view.kv(), id);
              if (!rel) return;
              if (b.release_id == 0)
                actions = rel->draft ? std::vector<std::string>{"created"}
                                     : std::vector<std::string>{"created", "published"};
              else if (rel->published_ms != 0 && rel->published_ms == rel->updated_ms &&
                       rel->published_ms != rel->created_ms)
                actions = {"published"};
              else
                actions = {"edited"};
            }
            if (!rel) return;
            auto c = common_of(svc, view, rel->repo_id, tx.author);
            if (!c) return;
            json release = release_json(svc, c->repo, c->owner, *rel,
                                        state::releases::assets_of(schema, view.kv(), rel->id));
            for (const auto& action : actions)
              out.push_back({"release", action, c->repo.id, c->repo.owner,
                             with_common(json{{"action", action}, {"release", release}}, *c)});
          }
        },
        tx.body);
  }
  return out;
}

std::string hook_api_url(Services& svc, const state::Hook& hook) {
  auto view = svc.chain().view();
  const std::string id = std::to_string(hook.id);
  if (hook.scope == state::kHookOrg) {
    auto o = view.org(hook.org);
    return o ? svc.public_url() + "/api/v3/orgs/" + o->login + "/hooks/" + id : "";
  }
  auto repo = view.repo(hook.repo_id);
  auto owner = repo ? view.account(repo->owner) : std::nullopt;
  if (!owner) return "";
  return svc.public_url() + "/api/v3/repos/" + owner->username + "/" + repo->name + "/hooks/" + id;
}

json hook_json(Services& svc, const state::Hook& hook) {
  const std::string url = hook_api_url(svc, hook);
  json config{{"content_type", hook.content_type == state::kHookForm ? "form" : "json"},
              {"insecure_ssl", hook.insecure_ssl ? "1" : "0"},
              {"url", hook.url}};
  if (!hook.sealed_secret.empty()) config["secret"] = "********";
  json j{{"type", hook.scope == state::kHookOrg ? "Organization" : "Repository"},
         {"id", hook.id},
         {"name", "web"},
         {"active", hook.active},
         {"events", hook.events},
         {"config", config},
         {"updated_at", iso8601(hook.updated_ms)},
         {"created_at", iso8601(hook.created_ms)},
         {"url", url},
         {"ping_url", url + "/pings"},
         {"deliveries_url", url + "/deliveries"},
         {"last_response", {{"code", nullptr}, {"status", "unused"}, {"message", nullptr}}},
         // Guts: the one node that sends this hook's deliveries (docs/webhooks.md).
         {"delivering_node", crypto::did_from_key(hook.node)}};
  if (hook.scope == state::kHookRepo) j["test_url"] = url + "/tests";
  return j;
}

json ping_payload(Services& svc, const state::Hook& hook) {
  auto view = svc.chain().view();
  json p{{"zen", "Decentralize all the things."},
         {"hook_id", hook.id},
         {"hook", hook_json(svc, hook)}};
  if (hook.scope == state::kHookRepo) {
    if (auto c = common_of(svc, view, hook.repo_id, hook.creator)) return with_common(p, *c);
  } else if (auto o = view.org(hook.org)) {
    p["organization"] = org_simple_json(*o, svc.public_url());
    if (auto a = view.account(hook.creator)) p["sender"] = user_json(*a, svc.public_url());
  }
  return p;
}

Bytes seal_hook_secret(const crypto::PublicKey& node, std::string_view secret) {
  unsigned char x25519[crypto_box_PUBLICKEYBYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(x25519, node.data()) != 0)
    throw Error(Code::kInvalidArgument, "the delivering node's key cannot receive a secret");
  Bytes out(secret.size() + crypto_box_SEALBYTES);
  crypto_box_seal(out.data(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                  x25519);
  return out;
}

std::optional<std::string> open_hook_secret(const crypto::SigningKey& key, ByteView sealed) {
  if (sealed.size() < crypto_box_SEALBYTES) return std::nullopt;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, key.seed().data());
  unsigned char xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
  bool ok = crypto_sign_ed25519_pk_to_curve25519(xpk, pk) == 0 &&
            crypto_sign_ed25519_sk_to_curve25519(xsk, sk) == 0;
  std::string out(sealed.size() - crypto_box_SEALBYTES, '\0');
  ok = ok && crypto_box_seal_open(reinterpret_cast<unsigned char*>(out.data()), sealed.data(),
                                  sealed.size(), xpk, xsk) == 0;
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(xsk, sizeof xsk);
  if (!ok) return std::nullopt;
  return out;
}

std::string hook_signature_256(std::string_view secret, std::string_view body) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return "sha256=" + hex_encode(ByteView(mac, sizeof mac));
}

std::string form_body(std::string_view json_text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "payload=";
  for (unsigned char c : json_text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace guts::api
