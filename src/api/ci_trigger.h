// Where CI runs come from on this node (docs/ci.md "Where runs come from"). A commit listener
// hands each finalized block to a thread of its own, which reads the workflow files the block's
// changes touch (libgit2; the objects are local to the node that accepted the change) and
// submits, for every transaction THIS node signed (so each change is acted on once, by the
// node that holds its author's delegation), on that author's behalf:
//
//   * a push (UpdateRefs) or a merge (MergePullRequest: it moves the base branch; also when a
//     proposal's approving vote or creation signed here runs one): one
//     RequestRuns, event push, per workflow file the updated branch or tag triggers (a file that
//     does not parse is submitted too: its failed run shows the error);
//   * a pull request opened, or a push that moves the head of open pull requests: event
//     pull_request, for the workflow files at the head that run on the base branch;
//   * a push or merge to a repository's default branch: SetSchedules, the workflows with
//     `on: schedule` at the new tip (an empty set when the last one went away).
//
// Every node also starts scheduled runs: every few seconds it looks for a
// registered schedule whose minute has come and submits TriggerSchedule signed by its own key.
// The first such transaction in a block runs the minute; the state machine refuses the others
// (nodes wait a key-dependent fraction of a minute first, so that usually one node submits).
//
// Never blocks the commit path and never fails a push: submissions are asynchronous and every
// refusal is logged.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "state/block.h"

namespace guts::state {
class StateView;
struct Run;
}  // namespace guts::state

namespace guts::api {

class Services;

// The repository whose clone a run's jobs check out: the run's own, or for a pull request's run
// the pull request's head repository (a fork's pull request: its commits are only there).
uint64_t checkout_repo(const state::StateView& view, const state::Run& run);

class CiTrigger {
 public:
  using RepoDir = std::function<std::filesystem::path(uint64_t repo_id)>;
  // `scheduler`: whether this node starts scheduled runs (validators and full nodes alike may).
  CiTrigger(Services& svc, RepoDir repo_dir, bool scheduler = true);
  ~CiTrigger();  // stops and joins the thread
  CiTrigger(const CiTrigger&) = delete;
  CiTrigger& operator=(const CiTrigger&) = delete;

  // The commit listener (called on the committing thread: only queues the block).
  void on_block(const state::Block& block);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::api
