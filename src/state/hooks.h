// Webhooks as replicated state (issue 17 point 4; docs/webhooks.md).
//
// A hook belongs to a repository or an organization and is created, changed and deleted by
// signed transactions (kinds 43-45), so every node lists it; but it names ONE delivering node
// (`node`): the node that accepted the create request, changeable by an update through another
// node. Only that node derives events from finalized blocks and sends them, so a network of N
// nodes sends one copy. The shared secret is sealed to the delivering node's key (libsodium
// crypto_box_seal to the X25519 form of its Ed25519 key, node/webhooks.h): other operators
// replicate the ciphertext but cannot read it.
//
// Layout of the `hooks` column family (consensus state):
//   "h" be64(id)                  -> encode_hook(Hook)
//   "r" be64(repo_id) be64(id)    -> ""   (hooks of a repository)
//   "o" org-key32 be64(id)        -> ""   (hooks of an organization)
//   "n"                           -> be64(next hook id)
// Node-local delivery state lives in the `local` family under "webhook/" (node/webhooks.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

class StateView;
struct Schema;
class KvReader;

enum HookScope : uint8_t { kHookRepo = 1, kHookOrg = 2 };
enum HookContentType : uint8_t { kHookJson = 1, kHookForm = 2 };

inline constexpr size_t kMaxHookUrl = 2048;
inline constexpr size_t kMaxHookEvents = 32;
inline constexpr size_t kMaxSealedSecret = 512;
inline constexpr size_t kMaxHooksPerTarget = 20;  // GitHub's limit per repository/org

// Events a hook may subscribe to ("*" = all).
const std::vector<std::string>& hook_event_names();
// nullopt when valid, else "<reason>" (field "url" / "events").
std::optional<std::string> hook_url_error(const std::string& url);
std::optional<std::string> hook_events_error(const std::vector<std::string>& events);

// ---- transaction bodies ----

struct CreateHook {
  uint8_t scope = kHookRepo;
  uint64_t repo_id = 0;     // kHookRepo
  crypto::PublicKey org{};  // kHookOrg
  std::string url;
  uint8_t content_type = kHookJson;
  bool insecure_ssl = false;
  bool active = true;
  std::vector<std::string> events;  // default ["push"]
  crypto::PublicKey node{};         // the delivering node
  Bytes sealed_secret;              // empty: no secret (no signature header)
};
struct UpdateHook {
  uint64_t hook_id = 0;
  std::optional<std::string> url;
  std::optional<uint8_t> content_type;
  std::optional<bool> insecure_ssl;
  std::optional<bool> active;
  std::optional<std::vector<std::string>> events;
  std::optional<crypto::PublicKey> node;  // a new delivering node (the secret resealed to it)
  std::optional<Bytes> sealed_secret;
};
struct DeleteHook {
  uint64_t hook_id = 0;
};

template <typename T>
inline constexpr bool kIsHookBody =
    std::is_same_v<T, CreateHook> || std::is_same_v<T, UpdateHook> || std::is_same_v<T, DeleteHook>;

void encode_hook_body(codec::Writer& w, const CreateHook& b);
void encode_hook_body(codec::Writer& w, const UpdateHook& b);
void encode_hook_body(codec::Writer& w, const DeleteHook& b);
template <typename T>
T decode_hook_body(codec::Reader& r);

// ---- record ----

struct Hook {
  uint64_t id = 0;
  uint8_t scope = kHookRepo;
  uint64_t repo_id = 0;
  crypto::PublicKey org{};
  std::string url;
  uint8_t content_type = kHookJson;
  bool insecure_ssl = false;
  bool active = true;
  std::vector<std::string> events;
  crypto::PublicKey node{};
  Bytes sealed_secret;
  crypto::PublicKey creator{};
  uint64_t created_ms = 0, updated_ms = 0;
  uint64_t created_height = 0;  // events of later blocks only
  bool wants(const std::string& event) const;
};
std::string encode_hook(const Hook& h);
Hook decode_hook(std::string_view data);  // throws codec::DecodeError

namespace hooks {
std::string hook_key(uint64_t id);
std::string repo_hook_key(uint64_t repo_id, uint64_t id);
std::string org_hook_key(const crypto::PublicKey& org, uint64_t id);
inline constexpr std::string_view kNextHookId = "n";

std::optional<Hook> get(const Schema& s, const KvReader& kv, uint64_t id);
std::vector<Hook> of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id);
std::vector<Hook> of_org(const Schema& s, const KvReader& kv, const crypto::PublicKey& org);
uint64_t next_id(const Schema& s, const KvReader& kv);
}  // namespace hooks

}  // namespace guts::state
