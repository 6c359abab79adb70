// The receive-pack side of a push, spoken by Guts (docs/architecture.md §5 "A trap to avoid"):
// git's own receive-pack would move the refs; here the state machine must. The flow:
//
//   1. advertisement   receive_advertisement(list_refs(repo))      (info/refs, v0/v1)
//   2. commands        PushRequestParser / read_push_request()     (pkt-lines, bounded)
//   3. pack            IncomingPush::receive(): index-pack --strict --fix-thin into a quarantine
//                      object directory, connectivity check of every new tip, fast-forward and
//                      current-value facts per command
//   4. decision        the caller (state machine: auth, permissions, protection, consensus);
//                      decide() gives the plain git policy for single-node paths and tests
//   5. apply           IncomingPush::apply(): one `git update-ref --stdin` transaction —
//                      prepare (locks + old-value checks), migrate quarantine, commit
//   6. report          report_status(): unpack ok/…, ok/ng per ref, inside side-band if asked
//
// Objects of a rejected push stay in the quarantine, which is deleted: never visible.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "git/pktline.h"
#include "git/process.h"
#include "git/refs.h"

struct git_repository;  // libgit2

namespace guts::git {

inline constexpr std::string_view kAgent = "guts/0.1";
inline constexpr std::string_view kReceiveCapabilities =
    "report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta "
    "push-options object-format=sha1 agent=guts/0.1";

// "# service=<service>\n" pkt-line plus flush: the smart-HTTP info/refs preamble (v0/v1).
std::string service_header(std::string_view service);

// The receive-pack ref advertisement (without the HTTP preamble): one pkt-line per ref, the
// capabilities after a NUL on the first one, or "capabilities^{}" for an empty repository;
// then a flush. `version1` prefixes "version 1" (client sent GIT_PROTOCOL=version=1).
std::string receive_advertisement(const std::vector<Ref>& refs, bool version1 = false,
                                  std::string_view capabilities = kReceiveCapabilities);

// ---- commands ----

struct RefCommand {
  std::string old_oid;
  std::string new_oid;
  std::string ref;
  bool is_create() const { return is_zero_oid(old_oid); }
  bool is_delete() const { return is_zero_oid(new_oid); }
  bool operator==(const RefCommand&) const = default;
};

struct PushRequest {
  std::vector<RefCommand> commands;
  std::vector<std::string> capabilities;  // as sent on the first command line
  std::vector<std::string> push_options;  // only when "push-options" was negotiated
  std::vector<std::string> shallow;       // "shallow <oid>" lines (shallow client)
  std::string agent;

  bool has(std::string_view capability) const;
  bool report_status() const { return has("report-status") || has("report-status-v2"); }
  bool report_status_v2() const { return has("report-status-v2"); }
  bool side_band() const { return has("side-band-64k"); }
  bool quiet() const { return has("quiet"); }
  bool atomic() const { return has("atomic"); }
  // True when at least one command creates or updates a ref (a pack follows).
  bool expects_pack() const;
};

struct ReceiveLimits {
  size_t max_commands = 10000;
  size_t max_ref_length = kMaxRefNameLength;
  size_t max_push_options = 100;
  size_t max_push_option_length = 4096;
  size_t max_shallow = 100000;
  size_t max_capability_length = 4096;
};

// Incremental parser of the command list (+ push-options section). Throws
// guts::Error(kInvalidArgument) on malformed input (bad oid, duplicate ref, unknown line,
// invalid ref name, sha256 object format, push certificates), kTooLarge over a bound.
class PushRequestParser {
 public:
  explicit PushRequestParser(ReceiveLimits limits = {});
  // Returns true once the command section (and push options, if negotiated) is complete.
  bool feed(ByteView chunk);
  bool feed(std::string_view chunk) { return feed(as_bytes(chunk)); }
  bool done() const { return stage_ == Stage::kDone; }
  const PushRequest& request() const { return req_; }
  PushRequest take_request() { return std::move(req_); }
  // Bytes received after the command section: the beginning of the pack.
  std::string take_remaining() { return dec_.take_remaining(); }

 private:
  enum class Stage { kCommands, kPushOptions, kDone };
  void on_packet(const pkt::Packet& p);
  void parse_command(std::string_view line, bool first);

  ReceiveLimits limits_;
  pkt::Decoder dec_;
  PushRequest req_;
  Stage stage_ = Stage::kCommands;
  bool seen_command_ = false;
};

// Pulls from `body` until the command section is complete; `rest` receives the bytes already
// read past it (the pack's beginning). Throws like the parser; kInvalidArgument on early EOF.
PushRequest read_push_request(const Source& body, std::string& rest,
                              const ReceiveLimits& limits = {});

// ---- quarantine and pack ----

// A temporary object directory inside the repository (<repo>/objects/incoming-XXXXXX), as git's
// receive-pack uses. Deleted on destruction unless migrated.
class Quarantine {
 public:
  static Quarantine create(const std::filesystem::path& repo_dir);
  // Takes over an existing quarantine directory (<repo>/objects/incoming-*), e.g. one left by
  // a push whose transaction was committed just before a crash, to migrate it at recovery.
  // Error(kInvalidArgument) if `dir` is not an incoming-* directory of that repository.
  static Quarantine adopt(const std::filesystem::path& repo_dir, const std::filesystem::path& dir);
  // The incoming-* directories currently inside a repository's object store.
  static std::vector<std::filesystem::path> list(const std::filesystem::path& repo_dir);
  Quarantine(Quarantine&& other) noexcept;
  Quarantine& operator=(Quarantine&& other) noexcept;
  Quarantine(const Quarantine&) = delete;
  Quarantine& operator=(const Quarantine&) = delete;
  ~Quarantine();

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& repo_dir() const { return repo_; }
  // Environment for git commands that must see the quarantined objects (read-only commands;
  // git refuses ref updates while GIT_QUARANTINE_PATH is set).
  std::vector<std::pair<std::string, std::string>> env() const;
  // The same without GIT_QUARANTINE_PATH (for `update-ref` checking new objects exist).
  std::vector<std::pair<std::string, std::string>> env_for_ref_update() const;
  // Moves packs (.idx last) and loose objects into the repository, fsyncing files and
  // directories. Afterwards the quarantine is gone. Returns the .keep files to drop once refs
  // point at the objects.
  std::vector<std::filesystem::path> migrate();
  void discard();
  bool active() const { return !dir_.empty(); }

 private:
  Quarantine() = default;
  std::filesystem::path repo_;
  std::filesystem::path dir_;
};

struct ReceiveOptions {
  std::chrono::milliseconds timeout{std::chrono::hours(1)};
  uint64_t max_pack_bytes = 4ull << 30;  // index-pack --max-input-size
  // >= 0: index-pack reads the pack straight from this descriptor (a bidirectional stream such
  // as ssh or ext:: stdin, where the client keeps the connection open after the pack and the
  // end of the pack is only known to index-pack). The pack Source is then not used.
  int pack_fd = -1;
  // Progress text from index-pack for side-band channel 2 (not called when empty).
  std::function<void(std::string_view)> progress;
};

struct CommandCheck {
  std::string ref_error;      // invalid/unpushable name: non-empty reason
  std::string current_oid;    // the ref's value now (zero oid if absent)
  bool stale = false;         // current_oid != command.old_oid
  bool connected = true;      // new tip's objects complete (false: "missing necessary objects")
  bool fast_forward = true;   // create/delete, or old is an ancestor of new (refs/heads only)
  bool new_is_commit = true;  // refs/heads/* must point at commits
};

// One push in flight: the quarantine with its pack and the facts the caller decides on.
class IncomingPush {
 public:
  // Parses nothing: takes the parsed request and the pack stream (the parser's leftover bytes
  // followed by the rest of the body). Never throws for bad client input: a bad pack sets
  // unpack_error() and all commands fail; I/O failures of the node throw guts::Error.
  static IncomingPush receive(const std::filesystem::path& repo_dir, PushRequest request,
                              Source pack, const ReceiveOptions& options = {});

  const PushRequest& request() const { return request_; }
  // Empty when the pack was unpacked fine (or none was needed).
  const std::string& unpack_error() const { return unpack_error_; }
  const std::vector<CommandCheck>& checks() const { return checks_; }
  Quarantine& quarantine() { return quarantine_; }
  uint64_t pack_bytes() const { return pack_bytes_; }
  // Where receive() spent its time (for the node's debug line on each push).
  struct Timings {
    std::chrono::microseconds pack{0};          // body streamed into index-pack, until it exited
    std::chrono::microseconds connectivity{0};  // rev-list over the new tips
    std::chrono::microseconds checks{0};        // ref listing, types, fast-forwards
  };
  const Timings& timings() const { return timings_; }

  // Applies `updates` (normally a subset of request().commands) in ONE ref transaction: the
  // refs are locked and their old values verified, then the quarantine is migrated, then the
  // transaction commits. All or none: Code::kConflict (stale old value, lock held) leaves refs
  // and object store unchanged. May be called once.
  Status apply(const std::vector<RefCommand>& updates);

 private:
  IncomingPush(Quarantine q) : quarantine_(std::move(q)) {}
  PushRequest request_;
  Quarantine quarantine_;
  std::string unpack_error_;
  std::vector<CommandCheck> checks_;
  uint64_t pack_bytes_ = 0;
  Timings timings_;
  bool applied_ = false;
};

// Runs `git index-pack --stdin --fix-thin --strict` into the quarantine; returns the pack id.
// Throws guts::Error(kInvalidArgument) with git's message when the pack is bad.
std::string index_pack(Quarantine& q, const Source& pack, const ReceiveOptions& options,
                       uint64_t* bytes_read = nullptr);
// Empty string when every object reachable from `tips` is present (quarantine + repository),
// else git's error. Tips already reachable from existing refs cost nothing.
std::string check_connectivity(const Quarantine& q, const std::vector<std::string>& tips);

// The repository's objects and the quarantine's, read in process (libgit2): the type and
// ancestry checks of a push, which cost a git process each when asked of `git cat-file` and
// `git merge-base`.
class QuarantineObjects {
 public:
  explicit QuarantineObjects(const Quarantine& q);  // Error(kInternal) when it cannot be read
  ~QuarantineObjects();
  QuarantineObjects(const QuarantineObjects&) = delete;
  QuarantineObjects& operator=(const QuarantineObjects&) = delete;

  bool is_commit(std::string_view oid) const;
  // `git merge-base --is-ancestor old new`: both are commits here and old is new or one of its
  // ancestors.
  bool is_ancestor(std::string_view old_oid, std::string_view new_oid) const;

 private:
  git_repository* repo_ = nullptr;  // with the quarantine as an alternate object directory
};

// ---- decision and report ----

struct RefStatus {
  std::string ref;
  std::string error;  // empty: ok; else the `ng` reason
  bool ok() const { return error.empty(); }
};

struct PushPolicy {
  bool allow_non_fast_forward = false;
  bool allow_deletes = true;
};

// git's receive-pack policy over the checks: names, connectivity, staleness, non-ff, deletes,
// atomic (one failure fails all with "atomic push failed"). Messages match git's where git
// has one ("non-fast-forward", "missing necessary objects", "deletion prohibited").
std::vector<RefStatus> decide(const IncomingPush& push, const PushPolicy& policy);

// report-status (v1 and v2 share this form when no option lines are sent): "unpack ok" or
// "unpack <error>", "ok <ref>" / "ng <ref> <reason>", flush; wrapped in side-band-64k band 1
// plus a final flush when `side_band`.
std::string report_status(std::string_view unpack_error, const std::vector<RefStatus>& results,
                          bool side_band);

// Complete in-process receive-pack for one request body (stateless, as over smart HTTP):
// parse, receive, decide, apply, report. Without a state machine in between — used by tests,
// the ext:: harness, and tools. Malformed commands produce a side-band/pkt error for the client.
// Returns the per-ref results (empty when the request failed before commands were known).
std::vector<RefStatus> serve_receive_pack(const std::filesystem::path& repo_dir, const Source& body,
                                          const Sink& response, const PushPolicy& policy = {},
                                          const ReceiveOptions& options = {},
                                          const ReceiveLimits& limits = {});

}  // namespace guts::git
