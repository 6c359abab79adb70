// The origin line of an item the bridge imported from Nostr (docs/nostr.md "What is imported"),
// the first line of its body, in the manner of `guts migrate`'s:
//
//   > Imported from Nostr · issue by npub1… (@alice) on 2026-12-05T10:00:00Z · event <64 hex>
//
// It attributes the item to the Nostr key (and names the Guts user the key is bound to, if any),
// and it is the bridge's memory: an event whose id an item's origin line names is never imported
// again, and status changes of that item are published against that event.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace guts::nostr {

struct Origin {
  std::string event_id;  // 64 hex
  std::string author;    // 64 hex pubkey
};

// `what`: "issue" or "patch"; `bound_login`: the Guts user the author's key is bound to, or "".
std::string origin_line(std::string_view what, std::string_view event_id,
                        std::string_view author_hex, std::string_view bound_login,
                        int64_t created_at);
// The origin named by the first line of `body`, if it is a bridge origin line.
std::optional<Origin> parse_origin(std::string_view body);

}  // namespace guts::nostr
