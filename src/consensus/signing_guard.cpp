#include "consensus/signing_guard.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "core/fs.h"
#include "core/status.h"

namespace guts::consensus {

namespace {
constexpr const char* kMagic = "guts-signing-guard v1";

std::optional<View> parse_view(const std::string& s) {
  View v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}
}  // namespace

std::string encode_guard(const GuardState& g) {
  std::ostringstream o;
  o << kMagic << "\nreserved ";
  if (g.reserved) {
    o << *g.reserved;
  } else {
    o << "unknown";
  }
  o << "\nfloor ";
  if (g.floor == kSignNothing) {
    o << "none";
  } else {
    o << g.floor;
  }
  o << "\n";
  return o.str();
}

std::optional<GuardState> decode_guard(const std::string& text) {
  std::istringstream in(text);
  std::string magic, key1, val1, key2, val2, rest;
  if (!std::getline(in, magic) || magic != kMagic) return std::nullopt;
  if (!(in >> key1 >> val1 >> key2 >> val2) || key1 != "reserved" || key2 != "floor") {
    return std::nullopt;
  }
  if (in >> rest) return std::nullopt;
  GuardState g;
  if (val1 != "unknown") {
    g.reserved = parse_view(val1);
    if (!g.reserved) return std::nullopt;
  }
  if (val2 == "none") {
    g.floor = kSignNothing;
  } else {
    auto f = parse_view(val2);
    if (!f) return std::nullopt;
    g.floor = *f;
  }
  return g;
}

GuardState guard_start_state(const std::optional<GuardState>& disk,
                             const std::vector<Bytes>& records) {
  bool any = false;
  View highest = 0;
  for (const auto& r : records) {
    try {
      Artifact a = decode_artifact(r);
      any = true;
      highest = std::max(highest, a.view());
    } catch (const codec::DecodeError&) {
      // an application record (or bytes of another version): says nothing about our votes
    }
  }
  if (!disk) {
    if (!any) return GuardState{std::nullopt, kSignNothing};  // wiped: key without state
    return GuardState{highest, 0};  // journal from before the guard existed: it knows our votes
  }
  GuardState g = *disk;
  // A vote whose append reached the disk although the node died before its sync (and before the
  // guard covered it) is replayed and re-sent: cover it now.
  if (any && g.reserved) g.reserved = std::max(*g.reserved, highest);
  if (!any && g.reserved && *g.reserved > 0) g.floor = std::max(g.floor, *g.reserved);
  if (!any && !g.reserved) g.floor = kSignNothing;
  return g;
}

GuardState guard_after_step(const GuardState& g, std::optional<View> signed_through, View floor,
                            View reserve_ahead) {
  GuardState n = g;
  if (floor < n.floor) {
    // The engine lowered its floor after observing the others: every earlier vote of this key
    // lies at or below it, so it is also a valid reservation.
    n.floor = floor;
    if (floor != kSignNothing) n.reserved = std::max(n.reserved.value_or(0), floor);
  }
  if (signed_through && (!n.reserved || *signed_through > *n.reserved)) {
    n.reserved = *signed_through + reserve_ahead;
  }
  return n;
}

std::filesystem::path guard_path(const std::filesystem::path& consensus_dir) {
  return consensus_dir / "signing.guard";
}

std::optional<GuardState> load_guard(const std::filesystem::path& consensus_dir) {
  auto p = guard_path(consensus_dir);
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    if (ec) throw Error(Code::kInternal, "cannot stat " + p.string() + ": " + ec.message());
    return std::nullopt;
  }
  Bytes b = read_file(p, 4096);
  auto g = decode_guard(std::string(b.begin(), b.end()));
  if (!g) return GuardState{std::nullopt, kSignNothing};
  return g;
}

void store_guard(const std::filesystem::path& consensus_dir, const GuardState& g) {
  std::string s = encode_guard(g);
  atomic_write_file(guard_path(consensus_dir), as_bytes(s), 0600);
}

void init_fresh_guard(const std::filesystem::path& consensus_dir) {
  std::filesystem::create_directories(consensus_dir);
  store_guard(consensus_dir, GuardState{View{0}, 0});
}

}  // namespace guts::consensus
