// Pack transfer between nodes (docs/architecture.md §4 data availability, §6): pure git,
// no transport. The serving side streams a full pack of what a peer wants; the receiving side
// verifies it with git itself before a single object becomes part of a repository.
//
//   serving     write_pack(): `git pack-objects --stdout --revs --delta-base-offset` over the
//               repository AND its in-flight push quarantines (<repo>/objects/incoming-*), since
//               a push waiting for consensus keeps its objects there until its block finalizes
//   receiving   ingest_pack(): `git index-pack --stdin --strict --fix-thin` into a NEW
//               quarantine (every object's hash and every link checked), then connectivity of
//               the wanted tips (`rev-list --objects … --not --all`), then migration into the
//               repository. No ref moves: refs only move in the projection of finalized state.
//
// Packs are full (never thin): a receiver can verify one without guessing which bases it meant.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "git/process.h"

namespace guts::git {

// GIT_ALTERNATE_OBJECT_DIRECTORIES value listing the repository's push quarantines ("" if none).
std::string quarantine_alternates(const std::filesystem::path& repo_dir);

// Environment for read-only git commands over the repository's objects, plus (when
// `include_pending`) the objects of its push quarantines.
std::vector<std::pair<std::string, std::string>> objects_env(const std::filesystem::path& repo_dir,
                                                             bool include_pending);

// The hex oids among `oids` whose objects are absent (from the repository, plus quarantines
// when `include_pending`). Throws guts::Error(kInternal) if git fails.
std::set<std::string> missing_objects(const std::filesystem::path& repo_dir,
                                      const std::vector<std::string>& oids, bool include_pending);

// True when every object reachable from `tips` is present (repository, plus quarantines when
// `include_pending`). Objects reachable from the repository's refs are not walked again.
bool has_closure(const std::filesystem::path& repo_dir, const std::vector<std::string>& tips,
                 bool include_pending);

// ---- serving ----

struct PackRequest {
  std::vector<std::string> wants;  // hex oids; every one must be present
  std::vector<std::string> haves;  // hex oids the receiver has (unknown ones are ignored)
  uint64_t max_bytes = 1ull << 30;
  size_t chunk_size = 1 << 20;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// Receives the pack in chunks of at most `chunk_size` bytes; `last` is set on the final call
// (which may carry no bytes). May throw guts::Error to abort (pack-objects is then killed).
using ChunkSink = std::function<void(ByteView chunk, bool last)>;

// Streams a full pack of the objects reachable from `wants` and not from `haves`. Memory stays
// at one chunk. Throws guts::Error: kNotFound (a want is absent: message names it), kTooLarge
// (over max_bytes; chunks already sent must be discarded by the receiver), kInvalidArgument (a
// malformed oid), kInternal (git failed), or whatever the sink throws.
void write_pack(const std::filesystem::path& repo_dir, const PackRequest& request,
                const ChunkSink& sink);

// ---- receiving ----

struct IngestOptions {
  uint64_t max_pack_bytes = 4ull << 30;  // index-pack --max-input-size
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// Indexes `pack` into a new quarantine of `repo_dir`, checks that every object reachable from
// `tips` is then present (quarantine + repository), and migrates the quarantine into the
// repository. All or nothing: on any failure the quarantine is deleted and the repository is
// unchanged. Throws guts::Error(kInvalidArgument) when the pack is bad (corrupt, an object that
// does not hash to its id, a broken link, wanted objects missing): the sender's fault. An
// exception thrown by `pack` propagates unchanged; kInternal for local I/O failures.
void ingest_pack(const std::filesystem::path& repo_dir, const Source& pack,
                 const std::vector<std::string>& tips, const IngestOptions& options = {});

// Makes the objects of a push quarantine part of the repository without disturbing the
// quarantine, whose owner (a push still in consensus) keeps using it: packs and loose objects
// are hard-linked (copied across file systems), each pack's .idx last. Returns how many files
// were added.
size_t link_quarantine_objects(const std::filesystem::path& repo_dir,
                               const std::filesystem::path& quarantine_dir);

}  // namespace guts::git
