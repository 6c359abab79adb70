// Nostr input from relays (nostr/message.h, nostr/event.h, nostr/nip34.h) and pasted names
// (nostr/nip19.h) from arbitrary bytes: the parsers answer a value or guts::Error, never crash
// or throw anything else (an uncaught nlohmann or std exception aborts the run), and an event
// that parses writes back to a text that parses to the same event.
#include <cstdlib>
#include <variant>

#include "core/status.h"
#include "nostr/event.h"
#include "nostr/message.h"
#include "nostr/nip19.h"
#include "nostr/nip34.h"

using namespace guts;
using namespace guts::nostr;

namespace {

void exercise(const Event& e) {
  (void)verify_event(e);  // a reason or nullopt; parsed strings are UTF-8, so it cannot throw
  if (parse_event_text(to_text(e)) != e) std::abort();
  if (compute_id(e).size() != 64) std::abort();
  try {
    parse_inbound_issue(e);
  } catch (const Error&) {
  }
  try {
    parse_inbound_patch(e);
  } catch (const Error&) {
  }
  Filter f;
  f.kinds = {e.kind};
  if (!matches(f, e)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    RelayMessage m = parse_relay_message(input);
    if (auto* ev = std::get_if<RelayEvent>(&m)) exercise(ev->event);
  } catch (const Error&) {
  }
  try {
    exercise(parse_event_text(input));
  } catch (const Error&) {
  }
  try {
    Bech32 b = bech32_decode(input);
    if (bech32_decode(bech32_encode(b.hrp, b.data)).data != b.data) std::abort();
  } catch (const Error&) {
  }
  try {
    Naddr n = naddr_decode(input);
    if (naddr_decode(naddr_encode(n.d, n.pubkey, n.kind, n.relays)) != n) std::abort();
  } catch (const Error&) {
  }
  try {
    parse_repo_address(input);
  } catch (const Error&) {
  }
  return 0;
}
