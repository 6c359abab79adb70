// Webhook payloads in GitHub's shapes (docs/webhooks.md), the hook resource's JSON, and the
// secret's sealing and signature. Events are derived from a FINALIZED block's transactions:
// push (UpdateRefs, and the base branch of a merge), issues, issue_comment, pull_request.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/github.h"
#include "api/services.h"
#include "crypto/ed25519.h"
#include "state/block.h"
#include "state/hooks.h"

namespace guts::git {
class RepoStore;
}

namespace guts::api {

struct HookEvent {
  std::string name;    // X-GitHub-Event: push, issues, issue_comment, pull_request
  std::string action;  // "" for push
  uint64_t repo_id = 0;
  crypto::PublicKey repo_owner{};  // organization hooks match on it
  nlohmann::ordered_json payload;
};

// The events of one finalized block, in transaction order. `repos` (may be null) provides the
// commits of pushes.
std::vector<HookEvent> webhook_events(Services& svc, git::RepoStore* repos,
                                      const state::Block& block);
// The "ping" event sent when a hook is created (and on POST .../pings).
nlohmann::ordered_json ping_payload(Services& svc, const state::Hook& hook);

// GET /repos/{o}/{r}/hooks/{id}: the secret is never returned ("********" when set).
nlohmann::ordered_json hook_json(Services& svc, const state::Hook& hook);
// The API URL of a hook: .../repos/o/r/hooks/id or .../orgs/org/hooks/id ("" if gone).
std::string hook_api_url(Services& svc, const state::Hook& hook);

// crypto_box_seal of `secret` to the X25519 form of the node's Ed25519 key.
Bytes seal_hook_secret(const crypto::PublicKey& node, std::string_view secret);
// The secret, if `sealed` was sealed to this key.
std::optional<std::string> open_hook_secret(const crypto::SigningKey& key, ByteView sealed);
// "sha256=" + hex(HMAC-SHA256(secret, body)): X-Hub-Signature-256.
std::string hook_signature_256(std::string_view secret, std::string_view body);
// application/x-www-form-urlencoded body: "payload=<url-encoded json>".
std::string form_body(std::string_view json_text);

}  // namespace guts::api
