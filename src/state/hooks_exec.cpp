// Validity and application of the webhook transactions (state/hooks.h; docs/webhooks.md):
// repository hooks need admin permission on the repository (state::effective_permission),
// organization hooks an active owner of the organization. Field errors are "<field>: <reason>"
// (422), unknown hooks/repositories/organizations kNotFound, missing rights kPermissionDenied.
#include "state/executor.h"
#include "state/hooks.h"
#include "state/org.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/view.h"

namespace guts::state {

namespace hooks {

std::string hook_key(uint64_t id) {
  return "h" + storage::be64(id);
}
std::string repo_hook_key(uint64_t repo_id, uint64_t id) {
  return "r" + storage::be64(repo_id) + storage::be64(id);
}
std::string org_hook_key(const crypto::PublicKey& org, uint64_t id) {
  return "o" + key_of(org) + storage::be64(id);
}

std::optional<Hook> get(const Schema& s, const KvReader& kv, uint64_t id) {
  auto v = kv.get(s.hooks, hook_key(id));
  if (!v) return std::nullopt;
  return decode_hook(*v);
}

namespace {
std::vector<Hook> by_prefix(const Schema& s, const KvReader& kv, const std::string& prefix) {
  std::vector<uint64_t> ids;
  kv.scan_prefix(s.hooks, prefix, [&](std::string_view k, std::string_view) {
    ids.push_back(storage::read_be64(k.substr(k.size() - 8)));
    return true;
  });
  std::vector<Hook> out;
  for (uint64_t id : ids)
    if (auto h = get(s, kv, id)) out.push_back(std::move(*h));
  return out;
}
}  // namespace

std::vector<Hook> of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id) {
  return by_prefix(s, kv, "r" + storage::be64(repo_id));
}
std::vector<Hook> of_org(const Schema& s, const KvReader& kv, const crypto::PublicKey& org) {
  return by_prefix(s, kv, "o" + key_of(org));
}
uint64_t next_id(const Schema& s, const KvReader& kv) {
  auto v = kv.get(s.hooks, kNextHookId);
  return v ? storage::read_be64(*v) : 1;
}

}  // namespace hooks

namespace {

using reject::denied;
using reject::invalid;
using reject::not_found;

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

// The author may administer hooks of this target.
Status may_admin(const StateView& view, uint8_t scope, uint64_t repo_id,
                 const crypto::PublicKey& org, const crypto::PublicKey& author) {
  if (scope == kHookRepo) {
    auto repo = view.repo(repo_id);
    if (!repo) return not_found("repository " + std::to_string(repo_id) + " does not exist");
    auto have = effective_permission(view, *repo, author);
    if (have == Permission::kNone)
      return not_found("repository " + std::to_string(repo_id) + " does not exist");
    if (have < Permission::kAdmin) return denied("requires admin permission on the repository");
    return Status::Ok();
  }
  if (scope == kHookOrg) {
    auto o = view.org(org);
    if (!o) return not_found("org: not an organization");
    auto m = view.org_membership(org, author);
    if (!m || m->state != kMembershipActive || m->role != kOrgOwner)
      return denied("You must be an owner of the organization " + o->login + ".");
    return Status::Ok();
  }
  return field("scope", "must be repository or organization");
}

Status check_common(const std::optional<std::string>& url, const std::optional<uint8_t>& ct,
                    const std::optional<std::vector<std::string>>& events,
                    const std::optional<crypto::PublicKey>& node) {
  if (url)
    if (auto e = hook_url_error(*url)) return field("url", *e);
  if (ct && *ct != kHookJson && *ct != kHookForm)
    return field("content_type", "must be json or form");
  if (events)
    if (auto e = hook_events_error(*events)) return field("events", *e);
  if (node && !crypto::is_valid_public_key(*node)) return field("node", "is not a valid node key");
  return Status::Ok();
}

}  // namespace

Status Executor::apply_hooks(Overlay& state, const Transaction& tx) const {
  StateView view(s_, state);
  const auto& author = tx.author;
  const uint64_t now = ctx_.timestamp_ms;
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CreateHook>) {
          if (auto st = may_admin(view, b.scope, b.repo_id, b.org, author); !st.ok()) return st;
          if (auto st = check_common(b.url, b.content_type, b.events, b.node); !st.ok()) return st;
          size_t existing = b.scope == kHookRepo ? hooks::of_repo(s_, state, b.repo_id).size()
                                                 : hooks::of_org(s_, state, b.org).size();
          if (existing >= kMaxHooksPerTarget) return field("hook", "limit of 20 webhooks reached");
          Hook h;
          h.id = hooks::next_id(s_, state);
          h.scope = b.scope;
          h.repo_id = b.scope == kHookRepo ? b.repo_id : 0;
          h.org = b.scope == kHookOrg ? b.org : crypto::PublicKey{};
          h.url = b.url;
          h.content_type = b.content_type;
          h.insecure_ssl = b.insecure_ssl;
          h.active = b.active;
          h.events = b.events.empty() ? std::vector<std::string>{"push"} : b.events;
          h.node = b.node;
          h.sealed_secret = b.sealed_secret;
          h.creator = author;
          h.created_ms = h.updated_ms = now;
          h.created_height = ctx_.height;
          state.put(s_.hooks, hooks::kNextHookId, storage::be64(h.id + 1));
          state.put(s_.hooks, hooks::hook_key(h.id), encode_hook(h));
          state.put(s_.hooks,
                    h.scope == kHookRepo ? hooks::repo_hook_key(h.repo_id, h.id)
                                         : hooks::org_hook_key(h.org, h.id),
                    "");
          state.put(s_.receipts, key_of(tx.id()), storage::be64(h.id));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, UpdateHook>) {
          auto h = hooks::get(s_, state, b.hook_id);
          if (!h) return not_found("hook " + std::to_string(b.hook_id) + " does not exist");
          if (auto st = may_admin(view, h->scope, h->repo_id, h->org, author); !st.ok()) return st;
          if (auto st = check_common(b.url, b.content_type, b.events, b.node); !st.ok()) return st;
          if (b.url) h->url = *b.url;
          if (b.content_type) h->content_type = *b.content_type;
          if (b.insecure_ssl) h->insecure_ssl = *b.insecure_ssl;
          if (b.active) h->active = *b.active;
          if (b.events)
            h->events = b.events->empty() ? std::vector<std::string>{"push"} : *b.events;
          if (b.node) {
            // A secret sealed to the old node is unreadable by the new one.
            if (*b.node != h->node && !b.sealed_secret && !h->sealed_secret.empty())
              return field("secret", "a new delivering node needs the secret again");
            h->node = *b.node;
          }
          if (b.sealed_secret) h->sealed_secret = *b.sealed_secret;
          h->updated_ms = now;
          state.put(s_.hooks, hooks::hook_key(h->id), encode_hook(*h));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DeleteHook>) {
          auto h = hooks::get(s_, state, b.hook_id);
          if (!h) return not_found("hook " + std::to_string(b.hook_id) + " does not exist");
          if (auto st = may_admin(view, h->scope, h->repo_id, h->org, author); !st.ok()) return st;
          state.del(s_.hooks, hooks::hook_key(h->id));
          state.del(s_.hooks, h->scope == kHookRepo ? hooks::repo_hook_key(h->repo_id, h->id)
                                                    : hooks::org_hook_key(h->org, h->id));
          return Status::Ok();
        } else {
          return invalid("not a webhook transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
