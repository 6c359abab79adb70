#include "nostr/origin.h"

#include "core/status.h"
#include "core/time.h"
#include "nostr/event.h"
#include "nostr/nip19.h"

namespace guts::nostr {

namespace {
constexpr std::string_view kPrefix = "> Imported from Nostr · ";
constexpr std::string_view kEventMark = " · event ";
}  // namespace

std::string origin_line(std::string_view what, std::string_view event_id,
                        std::string_view author_hex, std::string_view bound_login,
                        int64_t created_at) {
  std::string line(kPrefix);
  line += std::string(what) + " by " + npub_encode(xonly_from_hex(author_hex));
  if (!bound_login.empty()) line += " (@" + std::string(bound_login) + ")";
  line += " on " + iso8601(static_cast<uint64_t>(created_at > 0 ? created_at : 0) * 1000);
  line += std::string(kEventMark) + std::string(event_id);
  return line;
}

std::optional<Origin> parse_origin(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!line.starts_with(kPrefix)) return std::nullopt;
  const auto mark = line.rfind(kEventMark);
  if (mark == std::string_view::npos) return std::nullopt;
  std::string_view id = line.substr(mark + kEventMark.size());
  if (!is_lower_hex(id, 64)) return std::nullopt;
  // "WHAT by npub1… [(@login)] on DATE"
  std::string_view rest = line.substr(kPrefix.size(), mark - kPrefix.size());
  const auto by = rest.find(" by ");
  if (by == std::string_view::npos) return std::nullopt;
  rest = rest.substr(by + 4);
  std::string_view npub = rest.substr(0, rest.find(' '));
  try {
    return Origin{std::string(id), hex_of(npub_decode(npub))};
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace guts::nostr
