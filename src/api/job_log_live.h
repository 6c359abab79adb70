// Live job logs over a WebSocket (docs/ci.md "Logs"): a job's lines as they reach this node,
// numbered, with their timestamp and step group, resumable from any line, ending with the job's
// conclusion.
//
//   GET /api/v3/repos/{o}/{r}/actions/jobs/{id}/logs/live[?line=N]   (repo:read, in the one
//       authorization middleware, as the REST log)
//   with `Upgrade: websocket`: text frames, one JSON object each:
//       {"type":"line","line":n,"time":"2026-…Z","group":"Run tests","text":"…"}   n = 1, 2, …
//       {"type":"end","status":"completed","conclusion":"success","lines":n}      then close
//     `line=N` resumes after line N (a client that saw N lines misses nothing and gets nothing
//     twice). Without the upgrade: one JSON page {"status","conclusion","lines":[…],"next"} of
//     the lines after N (polling).
//
// Where the lines come from: the node-local file the runner appends to (<data>/ci-logs), or,
// once the job completed and its log was stored (SetJobLog), the stored blob. A node the runner
// does not upload to sees the lines once the log is stored.
//
// Wake-ups, not polling: append_log (runner_routes.cpp) calls JobLogFeed::appended(job) after
// each write, and the node calls JobLogFeed::on_block() for every committed block (a job's
// completion is a transaction).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_server.h"
#include "core/thread_annotations.h"

namespace guts::api {

// The connections following each job's log, to wake.
class JobLogFeed {
 public:
  void follow(uint64_t job, const std::shared_ptr<WsWaker>& waker);
  void appended(uint64_t job);  // lines were appended to the job's log
  void on_block();              // a block was committed: completions are checked
  size_t followers() const;

 private:
  mutable Mutex mu_;
  std::multimap<uint64_t, std::weak_ptr<WsWaker>> followers_ GUTS_GUARDED_BY(mu_);
};

// One log line as sent: its timestamp (the runner's "YYYY-MM-DDTHH:MM:SS.fffffffZ " prefix, if
// any) split from the text; group markers tracked by LogLines.
struct LogLine {
  uint64_t number = 0;
  std::string time;
  std::string group;
  std::string text;
};

// Splits a log's bytes into lines, numbering them and tracking the step group
// (`##[group]Name` … `##[endgroup]`). Feed bytes in order; a trailing partial line waits.
class LogLines {
 public:
  std::vector<LogLine> feed(std::string_view bytes);
  uint64_t count() const { return count_; }

 private:
  std::string partial_;
  std::string group_;
  uint64_t count_ = 0;
};

// What a follower reads: the log's bytes from an offset (nullopt: no log on this node yet), and
// the job's state now.
struct JobLogSource {
  std::function<std::optional<std::string>(uint64_t offset, size_t max)> read;
  struct State {
    bool exists = false;
    bool completed = false;
    std::string status, conclusion;
  };
  std::function<State()> state;
};

// The WebSocket channel of one follower (see the top of this file).
std::shared_ptr<WsChannel> job_log_channel(std::shared_ptr<JobLogFeed> feed, uint64_t job,
                                           JobLogSource source, uint64_t after_line);

// The lines after `after_line`, at most `max_lines`, as the polling page (see the top).
std::string job_log_page(const JobLogSource& source, uint64_t after_line, size_t max_lines);

}  // namespace guts::api
