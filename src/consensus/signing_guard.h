// The signing guard (docs/consensus.md §9): a tiny durable record, next to the journal, that
// keeps a validator from signing two different votes for one view after it lost its journal
// (a wiped data directory that kept node.key, a deleted consensus directory, a new machine).
//
//   reserved  every vote this key ever signed on this chain lies in a view <= reserved
//             (unknown after a wipe). Raised to v + reserve_ahead, and made durable, before a
//             vote for a view v > reserved leaves the node: one fsync per reserve_ahead views.
//   floor     this node must not sign in views <= floor (kSignNothing: nothing until the
//             engine has observed the other validators). Non-zero only after a journal loss.
//
// The file: "guts-signing-guard v1\nreserved <n|unknown>\nfloor <n|none>\n", replaced
// atomically (temporary file, fsync, rename, directory fsync).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "consensus/types.h"
#include "core/bytes.h"

namespace guts::consensus {

// A floor that forbids every view: sign nothing until the floor is lowered by observation.
inline constexpr View kSignNothing = ~View{0};
// Default reservation step: one guard fsync per this many views.
inline constexpr View kDefaultReserveAhead = 64;

struct GuardState {
  std::optional<View> reserved;  // nullopt = unknown (the journal and the guard were lost)
  View floor = 0;
  bool operator==(const GuardState& o) const { return reserved == o.reserved && floor == o.floor; }
  bool operator!=(const GuardState& o) const { return !(*this == o); }
};

std::string encode_guard(const GuardState& g);
// nullopt for anything that is not a well-formed guard.
std::optional<GuardState> decode_guard(const std::string& text);

// The state a validator starts from, given the guard found on disk (nullopt: no file) and the
// records its journal replayed (application records and undecodable bytes are ignored):
//   - no guard, no journal records      → wiped: {unknown, kSignNothing};
//   - no guard, journal records         → data from a version without the guard: trust the
//                                         journal, {highest journaled view, 0};
//   - guard, no journal records, reserved > 0
//                                       → journal lost: {reserved, max(floor, reserved)};
//   - otherwise                         → the guard, its reservation raised to the highest
//                                         journaled view (an append that reached the disk
//                                         without its sync is replayed and re-sent).
//                                         A fresh node: {0, 0}.
GuardState guard_start_state(const std::optional<GuardState>& disk,
                             const std::vector<Bytes>& records);

// The guard after one engine step: `signed_through` is the highest view signed in the step,
// `floor` the engine's floor after it. Reserves `reserve_ahead` views beyond a new high.
GuardState guard_after_step(const GuardState& g, std::optional<View> signed_through, View floor,
                            View reserve_ahead);

// The guard file in a consensus directory.
std::filesystem::path guard_path(const std::filesystem::path& consensus_dir);
// Reads the guard; nullopt when the file does not exist. A file that exists but does not parse
// reads as {unknown, kSignNothing} (never trust a damaged guard). Throws guts::Error on I/O error.
std::optional<GuardState> load_guard(const std::filesystem::path& consensus_dir);
// Replaces the guard durably. Throws guts::Error(kInternal) on failure.
void store_guard(const std::filesystem::path& consensus_dir, const GuardState& g);
// For a key (or a chain) that has never signed anything: writes {0, 0}, creating the directory.
// Called where node keys and new genesis files are created.
void init_fresh_guard(const std::filesystem::path& consensus_dir);

}  // namespace guts::consensus
