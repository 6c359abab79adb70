// /api/v3/repos/{owner}/{repo}/pulls...: GitHub's pull requests API. Routes that read git
// (mergeability, files, commits, diffs, merges) are streaming routes run on worker threads
// through collab::worker (run_blocking); the others are buffered.
#include <algorithm>

#include "api/collab_common.h"
#include "api/collab_routes.h"
#include "api/http_parse.h"
#include "api/proposal_shapes.h"
#include "api/shapes.h"
#include "core/time.h"
#include "state/proposal.h"
#include "state/rules.h"

namespace guts::api {

using namespace collab;

namespace {

const std::string kRepo = "/api/v3/repos/{owner}/{repo}";

// GitHub answers 405 for a merge that cannot happen (conflicts, closed, merged, draft).
const Status kNotMergeable{Code::kFailedPrecondition, "Pull Request is not mergeable"};

Bytes oid_bytes(const std::string& hex) {
  return hex_decode(hex).value_or(Bytes{});
}

std::string hex_or_empty(const Bytes& b) {
  return b.empty() ? std::string() : hex_encode(b);
}

// A merge a quorum policy covers (docs/governance.md "Merging a pull request by quorum") is
// answered 202 with the proposal that will run it: {merged: false, message, proposal}, and a
// Location header naming the proposal.
constexpr uint64_t kMergeProposalLifetimeMs = 7ull * 24 * 60 * 60 * 1000;

Response merge_answer(Services& svc, uint64_t id, const std::string& why) {
  auto view = svc.chain().view();
  auto p = state::proposal(view, id);
  if (!p) return error_response(404, "Not Found");
  if (p->state == state::kProposalExecuted) {
    auto body = state::decode_body(state::TxKind::kMergePullRequest, p->action_body);
    const auto& m = std::get<state::MergePullRequest>(body);
    return json_response(200, json{{"sha", hex_encode(m.merge_sha)},
                                   {"merged", true},
                                   {"message", "Pull Request successfully merged"},
                                   {"proposal", proposal_json(svc, view, *p)}});
  }
  if (p->state == state::kProposalFailed)
    return status_response(
        {Code::kFailedPrecondition, "Pull Request is not mergeable: " + p->reason});
  json pj = proposal_json(svc, view, *p);
  std::string url = pj["url"].get<std::string>();
  Response r =
      json_response(202, json{{"merged", false},
                              {"message", why + ": proposal " + std::to_string(p->id) + " has " +
                                              std::to_string(p->approvals) + " of " +
                                              std::to_string(p->threshold) + " approvals"},
                              {"proposal", std::move(pj)}});
  r.headers.set("Location", url);
  return r;
}

// Whether a quorum policy covers the merge `want` by the caller: nullopt when not; else the
// refusal the state machine would give (the reason), and the answer when an open proposal runs
// exactly this merge already (the caller's approval is added to it).
struct QuorumMerge {
  std::string why;
  std::optional<Response> answer;
};
std::optional<QuorumMerge> quorum_merge(Services& svc, const Request& req,
                                        const state::MergePullRequest& want) {
  auto me = caller(req);
  if (!me) return std::nullopt;
  auto view = svc.chain().view();
  state::Transaction probe;
  probe.author = probe.signer = *me;
  probe.body = want;
  auto why = state::quorum_refusal(view, probe);
  if (!why) return std::nullopt;
  QuorumMerge q{*why, std::nullopt};
  if (auto open = open_merge_proposal(svc, view, want)) {
    auto mine = view.kv().get(view.schema().governance, state::proposal_vote_key(open->id, *me));
    if (!mine || !state::decode_proposal_vote(*mine).approve) {
      auto out = submit_wait(svc, req.principal, state::VoteProposal{open->id, true});
      if (!out.applied) {
        q.answer = status_response(out.status, "PullRequest");
        return q;
      }
    }
    q.answer = merge_answer(svc, open->id, *why);
  }
  return q;
}

// Creates the proposal that runs `want` (its merge commit written) and answers with it.
Response propose_merge(Services& svc, const Request& req, const state::Issue& x,
                       const state::MergePullRequest& want, const std::string& why) {
  state::CreateProposal c;
  c.scope = {state::kQuorumOnRepo, want.repo_id, {}};
  c.title = "Merge pull request #" + std::to_string(x.number) + ": " + x.title;
  if (c.title.size() > state::kMaxProposalTitle) {
    size_t n = state::kMaxProposalTitle;
    while (n > 0 && (static_cast<unsigned char>(c.title[n]) & 0xC0) == 0x80) --n;  // UTF-8
    c.title.resize(n);
  }
  c.expires_ms = unix_millis() + kMergeProposalLifetimeMs;
  c.action_kind = static_cast<uint32_t>(state::TxKind::kMergePullRequest);
  c.action_body = state::encode_body(state::TxBody(want));
  auto out = submit_wait(svc, req.principal, std::move(c));
  if (!out.applied) {
    if (out.status.code() == Code::kFailedPrecondition) return status_response(kNotMergeable);
    return status_response(out.status, "PullRequest");
  }
  auto id = svc.chain().view().receipt(out.id);
  if (!id) return error_response(404, "Not Found");
  return merge_answer(svc, *id, why);
}

// Git-derived fields; failures (objects missing, ...) leave them unknown.
Shapes::PullGitInfo pull_info(PullGit& pg, Shapes& sh, const state::Issue& x) {
  Shapes::PullGitInfo info;
  try {
    std::string head = hex_or_empty(x.head_sha), base = sh.base_sha_of(x);
    if (head.empty() || base.empty()) return info;
    pg.ensure_commit(x.repo_id, x.head_repo_id, head);
    if (!x.merged && x.state == state::kIssueOpen) {
      auto m = pg.mergeability(x.repo_id, base, head);
      info.mergeable = m.clean;
      info.rebaseable = m.clean;
      info.mergeable_state = x.draft ? "draft" : m.clean ? "clean" : "dirty";
    }
    auto cmp = pg.compare(x.repo_id, base, head);
    info.commits = cmp->ahead_by;
    info.changed_files = cmp->files.size();
    for (const auto& f : cmp->files) {
      info.additions += f.additions;
      info.deletions += f.deletions;
    }
  } catch (const std::exception&) {
  }
  return info;
}

Response pull_response(PullGit& pg, Services& svc, const RepoContext& ctx, uint64_t number,
                       int status, const Request* req = nullptr) {
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = sh.view().issue(ctx.repo.id, number);
  if (!x || !x->is_pull) return error_response(404, "Not Found");
  auto info = pull_info(pg, sh, *x);
  json j = sh.pull(*x, &info);
  Response r = req ? get_response(*req, j) : json_response(status, j);
  // Git could not tell (e.g. a read racing the projection of the block that moved the head):
  // answer, but do not cache it.
  if (!info.mergeable && !x->merged && x->state == state::kIssueOpen)
    r.headers.set("Cache-Control", "no-store");
  return r;
}

std::optional<uint8_t> side_of(const std::optional<std::string>& s) {
  if (!s || *s == "RIGHT") return state::kSideRight;
  if (*s == "LEFT") return state::kSideLeft;
  return std::nullopt;
}

// Inline comments must name a file the pull request changes.
bool path_in_pull(PullGit& pg, Shapes& sh, const state::Issue& x, const std::string& path) {
  try {
    auto cmp = pg.compare(x.repo_id, sh.base_sha_of(x), hex_or_empty(x.head_sha));
    for (const auto& f : cmp->files)
      if (f.filename == path || f.previous_filename == path) return true;
  } catch (const std::exception&) {
    return true;  // cannot tell: the state machine's checks still apply
  }
  return false;
}

// A review comment created by a transaction (worker routes wait for it).
Response review_comment_after(Services& svc, const RepoContext& ctx, const state::TxOutcome& o) {
  if (!o.applied) return status_response(o.status, "PullRequestReviewComment");
  return comment_after(svc, ctx, std::nullopt, 201)(o);
}

// GET /pulls
void list_pulls(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  respond(cached_get(req, svc, [&] { return list_issues(req, svc, true); }));
}

// POST /pulls
Response create_pull(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  Response early;
  auto body = read_body(req, &early, "PullRequest",
                        {{"title", BodyField::kString, true},
                         {"body", BodyField::kString},
                         {"head", BodyField::kString, true},
                         {"base", BodyField::kString, true},
                         {"draft", BodyField::kBoolean},
                         {"head_repo", BodyField::kString}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  state::OpenPullRequest o;
  o.repo_id = ctx.repo.id;
  std::string head, head_repo_name;
  o.title = *string_field(*body, "title");
  o.body = string_field(*body, "body").value_or("");
  head = *string_field(*body, "head");
  o.base = *string_field(*body, "base");
  o.draft = bool_field(*body, "draft").value_or(false);
  head_repo_name = string_field(*body, "head_repo").value_or("");
  // head: "branch" (this repository) or "owner:branch" (that owner's repository in the
  // fork network; "head_repo" names it when the owner has several).
  auto colon = head.find(':');
  o.head = colon == std::string::npos ? head : head.substr(colon + 1);
  std::optional<state::Repo> head_repo = ctx.repo;
  if (colon != std::string::npos) {
    head_repo.reset();
    auto owner = view.account_by_username(head.substr(0, colon));
    if (owner) {
      uint64_t root = view.fork_root(ctx.repo.id);
      for (auto& r : view.repos_of(owner->key)) {
        if (view.fork_root(r.id) != root ||
            view.permission(r, caller(req)) == state::Permission::kNone)
          continue;
        if (!head_repo_name.empty() && r.name != head_repo_name) continue;
        head_repo = r;
        if (r.id == ctx.repo.id) break;
      }
    }
    if (!head_repo)
      return validation_failed("PullRequest", "head", "invalid",
                               "no repository of '" + head + "' in this network");
  }
  o.head_repo_id = head_repo->id;
  auto head_oid = view.ref(head_repo->id, "refs/heads/" + o.head);
  if (!head_oid)
    return validation_failed("PullRequest", "head", "invalid", "branch does not exist");
  auto base_oid = view.ref(ctx.repo.id, "refs/heads/" + o.base);
  if (!base_oid)
    return validation_failed("PullRequest", "base", "invalid", "branch does not exist");
  o.head_sha = *head_oid;
  try {
    pg.ensure_commit(ctx.repo.id, head_repo->id, hex_encode(*head_oid));
    if (pg.compare(ctx.repo.id, hex_encode(*base_oid), hex_encode(*head_oid))->ahead_by == 0)
      return validation_failed("PullRequest", "head", "custom",
                               "No commits between " + o.base + " and " + head);
  } catch (const Error& e) {
    return validation_failed("PullRequest", "head", "invalid", e.what());
  }
  auto out = submit_wait(svc, req.principal, o);
  if (!out.applied) return status_response(out.status, "PullRequest");
  auto n = svc.chain().view().receipt(out.id);
  if (!n) return error_response(500, "Internal Server Error");
  return pull_response(pg, svc, ctx, *n, 201);
}

// GET /pulls/{number}
Response get_pull(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  return cached_get(req, svc, [&]() -> Response {
    const auto& ctx = repo_context(req);
    auto x = path_pull(req, svc.chain().view());
    if (!x) return error_response(404, "Not Found");
    auto accept = req.headers.get("Accept").value_or("");
    if (accept.find("diff") != std::string::npos || accept.find("patch") != std::string::npos) {
      Shapes sh(svc, ctx.repo, ctx.owner);
      pg.ensure_commit(x->repo_id, x->head_repo_id, hex_or_empty(x->head_sha));
      Response r =
          Response::text(200, pg.diff(x->repo_id, sh.base_sha_of(*x), hex_or_empty(x->head_sha)));
      r.headers.set("Content-Type", "text/x-diff; charset=utf-8");
      return with_etag(req, std::move(r));
    }
    return pull_response(pg, svc, ctx, x->number, 200, &req);
  });
}

// PATCH /pulls/{number}
Response update_pull(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  Response early;
  auto body = read_body(req, &early, "PullRequest",
                        {{"title", BodyField::kString},
                         {"body", BodyField::kString},
                         {"state", BodyField::kString},
                         {"base", BodyField::kString},
                         {"draft", BodyField::kBoolean}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  auto x = path_pull(req, svc.chain().view());
  if (!x) return error_response(404, "Not Found");
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  e.title = string_field(*body, "title");
  if (body->contains("body")) e.body = string_field(*body, "body").value_or("");
  if (auto s = string_field(*body, "state")) {
    if (*s != "open" && *s != "closed")
      return validation_failed("PullRequest", "state", "invalid", "must be open or closed");
    e.state = *s == "open" ? state::kIssueOpen : state::kIssueClosed;
  }
  e.base = string_field(*body, "base");
  e.draft = bool_field(*body, "draft");
  if (e.title || e.body || e.state || e.base || e.draft) {
    auto out = submit_wait(svc, req.principal, e);
    if (!out.applied) return status_response(out.status, "PullRequest");
  }
  return pull_response(pg, svc, ctx, x->number, 200);
}

// GET /pulls/{number}/files
Response list_pull_files(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  return cached_get(req, svc, [&]() -> Response {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return error_response(404, "Not Found");
    std::string head = hex_or_empty(x->head_sha);
    pg.ensure_commit(x->repo_id, x->head_repo_id, head);
    auto cmp = pg.compare(x->repo_id, sh.base_sha_of(*x), head);
    Page page = page_of(req);
    json arr = json::array();
    size_t start = (page.page - 1) * page.per_page;
    for (size_t i = start; i < cmp->files.size() && i < start + page.per_page; ++i)
      arr.push_back(file_json(sh.urls().api, sh.urls().html, head, cmp->files[i]));
    Response resp = get_response(req, arr);
    add_link_header(resp, req, svc.public_url(), page, cmp->files.size());
    return resp;
  });
}

// GET /pulls/{number}/commits
Response list_pull_commits(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return error_response(404, "Not Found");
  std::string head = hex_or_empty(x->head_sha);
  pg.ensure_commit(x->repo_id, x->head_repo_id, head);
  auto cmp = pg.compare(x->repo_id, sh.base_sha_of(*x), head);
  json arr = json::array();
  for (const auto& c : cmp->commits)
    arr.push_back(commit_json(sh.urls().api, sh.urls().html, c, false));
  return page_response(req, svc, arr);
}

// GET /pulls/{number}/merge
void check_pull_merged(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  auto x = path_pull(req, svc.chain().view());
  respond(x && x->merged ? Response{204, {}, ""} : error_response(404, "Not Found"));
}

// PUT /pulls/{number}/merge
Response merge_pull(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  Response early;
  auto body = read_body(req, &early, "PullRequest",
                        {{"commit_title", BodyField::kString},
                         {"commit_message", BodyField::kString},
                         {"sha", BodyField::kString},
                         {"merge_method", BodyField::kString}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto x = path_pull(req, view);
  if (!x) return error_response(404, "Not Found");
  if (x->merged || x->state != state::kIssueOpen || x->draft) return status_response(kNotMergeable);
  std::optional<std::string> title, message, sha;
  uint8_t method = state::kMergeCommit;
  title = string_field(*body, "commit_title");
  message = string_field(*body, "commit_message");
  sha = string_field(*body, "sha");
  auto m = string_field(*body, "merge_method").value_or("merge");
  if (m == "squash")
    method = state::kMergeSquash;
  else if (m == "rebase")
    method = state::kMergeRebase;
  else if (m != "merge")
    return validation_failed("PullRequest", "merge_method", "invalid",
                             "must be merge, squash or rebase");
  const std::string head = hex_or_empty(x->head_sha);
  if (sha && *sha != head)
    return status_response(
        {Code::kConflict, "Head branch was modified. Review and try the merge again."});
  auto base_oid = view.ref(ctx.repo.id, "refs/heads/" + x->base_ref);
  if (!base_oid) return status_response(kNotMergeable);
  const std::string base = hex_encode(*base_oid);
  pg.ensure_commit(x->repo_id, x->head_repo_id, head);
  // Under a quorum policy: approve the open proposal of this very merge, if there is one.
  auto quorum = quorum_merge(
      svc, req,
      state::MergePullRequest{ctx.repo.id, x->number, method, x->head_sha, *base_oid, {}});
  if (quorum && quorum->answer) return std::move(*quorum->answer);

  Shapes sh(svc, ctx.repo, ctx.owner);
  auto me = caller(req);
  auto my = me ? sh.account(*me) : std::nullopt;
  std::string host = svc.public_url().substr(svc.public_url().find("://") + 3);
  host = host.substr(0, host.find(':'));
  auto identity = [&](const std::optional<state::Account>& a) {
    std::string login = a ? a->username : "ghost";
    return GitIdentity{login, login + "@users.noreply." + (host.empty() ? "guts" : host), ""};
  };
  GitIdentity committer = identity(my), author = identity(sh.account(x->author));
  json head_repo = sh.repo(x->head_repo_id);
  std::string head_label =
      (head_repo.is_object() ? head_repo["owner"]["login"].get<std::string>() : "ghost") + "/" +
      x->head_ref;
  std::string msg;
  if (method == state::kMergeCommit) {
    msg =
        title.value_or("Merge pull request #" + std::to_string(x->number) + " from " + head_label) +
        "\n\n" + message.value_or(x->title) + "\n";
  } else if (method == state::kMergeSquash) {
    std::string details;
    if (message) {
      details = *message;
    } else {
      for (const auto& c : pg.compare(x->repo_id, base, head)->commits) {
        auto m = c.message;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        details += (details.empty() ? "* " : "\n\n* ") + m;
      }
    }
    msg = title.value_or(x->title + " (#" + std::to_string(x->number) + ")") + "\n\n" + details +
          "\n";
  }
  auto made = pg.merge(x->repo_id, method, base, head, msg, committer, author);
  if (made.kind == MergeOutcome::kConflict) return status_response(kNotMergeable);
  if (made.kind == MergeOutcome::kNotRebaseable)
    return status_response({Code::kFailedPrecondition, made.message});
  state::MergePullRequest merge{ctx.repo.id, x->number, method,
                                x->head_sha, *base_oid, oid_bytes(made.sha)};
  if (quorum) return propose_merge(svc, req, *x, merge, quorum->why);
  auto out = submit_wait(svc, req.principal, merge);
  if (!out.applied) {
    if (out.status.code() == Code::kFailedPrecondition) return status_response(kNotMergeable);
    return status_response(out.status, "PullRequest");
  }
  return json_response(
      200,
      json{{"sha", made.sha}, {"merged", true}, {"message", "Pull Request successfully merged"}});
}

// GET /pulls/{number}/reviews
void list_reviews(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return respond(error_response(404, "Not Found"));
  json arr = json::array();
  for (const auto& r : sh.view().reviews_of(ctx.repo.id, x->number)) arr.push_back(sh.review(r));
  respond(page_response(req, svc, arr));
}

// POST /pulls/{number}/reviews
Response create_review(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  Response early;
  auto body = read_body(req, &early, "PullRequestReview",
                        {{"body", BodyField::kString},
                         {"event", BodyField::kString},
                         {"commit_id", BodyField::kString},
                         {"comments", BodyField::kObjectArray}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return error_response(404, "Not Found");
  state::SubmitReview r;
  r.repo_id = ctx.repo.id;
  r.number = x->number;
  r.body = string_field(*body, "body").value_or("");
  auto ev = string_field(*body, "event").value_or("COMMENT");
  if (ev == "APPROVE")
    r.event = state::kReviewApprove;
  else if (ev == "REQUEST_CHANGES")
    r.event = state::kReviewRequestChanges;
  else if (ev == "COMMENT")
    r.event = state::kReviewComment;
  else
    return validation_failed("PullRequestReview", "event", "invalid",
                             "must be APPROVE, REQUEST_CHANGES or COMMENT");
  if (auto c = string_field(*body, "commit_id")) {
    r.commit_sha = oid_bytes(*c);
    if (r.commit_sha.size() != 20)
      return validation_failed("PullRequestReview", "commit_id", "invalid", "is not a commit sha");
  }
  if (auto cs = body->find("comments"); cs != body->end() && !cs->is_null()) {
    for (const auto& c : *cs) {
      if (auto bad = check_body(c, "PullRequestReview",
                                {{"path", BodyField::kString},
                                 {"body", BodyField::kString},
                                 {"side", BodyField::kString}}))
        return std::move(*bad);
      state::ReviewCommentInput in;
      in.path = string_field(c, "path").value_or("");
      in.body = string_field(c, "body").value_or("");
      auto line = c.find("line");
      if (line == c.end() || !line->is_number_unsigned())
        return validation_failed("PullRequestReview", "line", "missing_field",
                                 "inline comments need a line (diff positions are not supported)");
      in.line = line->get<uint64_t>();
      if (auto sl = c.find("start_line"); sl != c.end() && sl->is_number_unsigned())
        in.start_line = sl->get<uint64_t>();
      auto side = side_of(string_field(c, "side"));
      if (!side)
        return validation_failed("PullRequestReview", "side", "invalid", "must be LEFT or RIGHT");
      in.side = *side;
      if (!path_in_pull(pg, sh, *x, in.path))
        return validation_failed("PullRequestReview", "path", "invalid",
                                 "Path could not be resolved");
      r.comments.push_back(std::move(in));
    }
  }
  auto out = submit_wait(svc, req.principal, r);
  if (!out.applied) return status_response(out.status, "PullRequestReview");
  Shapes after(svc, ctx.repo, ctx.owner);
  auto id = after.view().receipt(out.id);
  auto rv = id ? after.view().review(ctx.repo.id, x->number, *id) : std::nullopt;
  if (!rv) return error_response(500, "Internal Server Error");
  return json_response(200, after.review(*rv));
}

// The review of the path's {review_id} on the path's pull request.
std::optional<state::Review> path_review(const Request& req, Shapes& sh) {
  auto x = path_pull(req, sh.view());
  auto id = number_param(req, "review_id");
  if (!x || !id) return std::nullopt;
  return sh.view().review(x->repo_id, x->number, *id);
}

// GET /pulls/{number}/reviews/{review_id}
void get_review(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto r = path_review(req, sh);
  respond(r ? get_response(req, sh.review(*r)) : error_response(404, "Not Found"));
}

// GET /pulls/{number}/reviews/{review_id}/comments
void list_review_comments_of_review(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto r = path_review(req, sh);
  if (!r) return respond(error_response(404, "Not Found"));
  json arr = json::array();
  for (const auto& c : sh.view().comments_of(ctx.repo.id, r->number, state::kReviewCommentKind))
    if (c.review_id == r->id) arr.push_back(sh.review_comment(c));
  respond(page_response(req, svc, arr));
}

// PUT /pulls/{number}/reviews/{review_id}/dismissals
void dismiss_review(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  auto body = read_body(req, respond, "PullRequestReview", {{"message", BodyField::kString}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto r = path_review(req, sh);
  if (!r) return respond(error_response(404, "Not Found"));
  std::string message = string_field(*body, "message").value_or("");
  submit(svc, req, std::move(respond), state::DismissReview{ctx.repo.id, r->number, r->id, message},
         "PullRequestReview",
         [&svc, repo = ctx.repo, owner = ctx.owner, n = r->number,
          id = r->id](const state::TxOutcome&) {
           Shapes sh(svc, repo, owner);
           auto rv = sh.view().review(repo.id, n, id);
           return rv ? json_response(200, sh.review(*rv)) : error_response(404, "Not Found");
         });
}

// GET /pulls/{number}/comments
void list_review_comments(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return respond(error_response(404, "Not Found"));
  json arr = json::array();
  for (const auto& c : sh.view().comments_of(ctx.repo.id, x->number, state::kReviewCommentKind))
    arr.push_back(sh.review_comment(c));
  respond(page_response(req, svc, arr));
}

// POST /pulls/{number}/comments
Response create_review_comment(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  PullGit& pg = *env.git;
  Response early;
  auto body = read_body(req, &early, "PullRequestReviewComment",
                        {{"body", BodyField::kString, true},
                         {"path", BodyField::kString},
                         {"commit_id", BodyField::kString},
                         {"side", BodyField::kString}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return error_response(404, "Not Found");
  state::CreateReviewComment c;
  c.repo_id = ctx.repo.id;
  c.number = x->number;
  c.body = *string_field(*body, "body");
  if (auto r = body->find("in_reply_to"); r != body->end() && r->is_number_unsigned()) {
    c.in_reply_to = r->get<uint64_t>();
  } else {
    c.path = string_field(*body, "path").value_or("");
    if (auto id = string_field(*body, "commit_id")) c.commit_sha = oid_bytes(*id);
    auto line = body->find("line");
    if (line == body->end() || !line->is_number_unsigned())
      return validation_failed("PullRequestReviewComment", "line", "missing_field", "");
    c.line = line->get<uint64_t>();
    if (auto sl = body->find("start_line"); sl != body->end() && sl->is_number_unsigned())
      c.start_line = sl->get<uint64_t>();
    auto side = side_of(string_field(*body, "side"));
    if (!side)
      return validation_failed("PullRequestReviewComment", "side", "invalid",
                               "must be LEFT or RIGHT");
    c.side = *side;
    if (!path_in_pull(pg, sh, *x, c.path))
      return validation_failed("PullRequestReviewComment", "path", "invalid",
                               "Path could not be resolved");
  }
  return review_comment_after(svc, ctx, submit_wait(svc, req.principal, c));
}

// POST /pulls/{number}/comments/{comment_id}/replies
Response reply_to_review_comment(CollabEnv& env, Request& req) {
  Services& svc = env.svc;
  Response early;
  auto body =
      read_body(req, &early, "PullRequestReviewComment", {{"body", BodyField::kString, true}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  auto x = path_pull(req, svc.chain().view());
  auto id = number_param(req, "comment_id");
  if (!x || !id) return error_response(404, "Not Found");
  state::CreateReviewComment c;
  c.repo_id = ctx.repo.id;
  c.number = x->number;
  c.in_reply_to = *id;
  c.body = *string_field(*body, "body");
  return review_comment_after(svc, ctx, submit_wait(svc, req.principal, c));
}

// GET /pulls/comments/{comment_id}
void get_review_comment(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  auto c = path_comment(req, svc.chain().view(), state::kReviewCommentKind);
  if (!c) return respond(error_response(404, "Not Found"));
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  respond(get_response(req, sh.review_comment(*c)));
}

// PATCH /pulls/comments/{comment_id}
void update_review_comment(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  auto body =
      read_body(req, respond, "PullRequestReviewComment", {{"body", BodyField::kString, true}});
  if (!body) return;
  auto c = path_comment(req, svc.chain().view(), state::kReviewCommentKind);
  if (!c) return respond(error_response(404, "Not Found"));
  const auto& ctx = repo_context(req);
  submit(svc, req, std::move(respond),
         state::EditComment{ctx.repo.id, c->id, *string_field(*body, "body")},
         "PullRequestReviewComment", comment_after(svc, ctx, c->id, 200));
}

// DELETE /pulls/comments/{comment_id}
void delete_review_comment(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  auto c = path_comment(req, svc.chain().view(), state::kReviewCommentKind);
  if (!c) return respond(error_response(404, "Not Found"));
  submit(svc, req, std::move(respond), state::DeleteComment{repo_context(req).repo.id, c->id},
         "PullRequestReviewComment", no_content);
}

// GET /pulls/{number}/requested_reviewers
void list_requested_reviewers(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_pull(req, sh.view());
  if (!x) return respond(error_response(404, "Not Found"));
  json users = json::array();
  for (const auto& k : x->requested_reviewers) users.push_back(sh.user(k));
  respond(get_response(req, json{{"users", users}, {"teams", json::array()}}));
}

// DELETE /git/refs/{ref...}
void delete_ref(CollabEnv& env, Request& req, Responder respond) {
  Services& svc = env.svc;
  const auto& ctx = repo_context(req);
  std::string ref = "refs/" + req.param("ref");
  auto cur = svc.chain().view().ref(ctx.repo.id, ref);
  if (!cur)
    return respond(validation_failed("Reference", "ref", "invalid", "Reference does not exist"));
  submit(svc, req, std::move(respond), state::UpdateRefs{ctx.repo.id, {{ref, *cur, {}}}, false},
         "Reference", no_content);
}

Response change_reviewers(CollabEnv& env, Request& req, bool add) {
  Services& svc = env.svc;
  Response early;
  auto body = read_body(req, &early, "PullRequest", {{"reviewers", BodyField::kNameList}});
  if (!body) return early;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto x = path_pull(req, view);
  if (!x) return error_response(404, "Not Found");
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  if (auto bad = keys_of(view, string_list(*body, "reviewers"), "PullRequest", "reviewers",
                         add ? &e.reviewers_add : &e.reviewers_remove))
    return std::move(*bad);
  auto out = submit_wait(svc, req.principal, e);
  if (!out.applied) return status_response(out.status, "PullRequest");
  return pull_response(*env.git, svc, ctx, x->number, add ? 201 : 200);
}

// POST /pulls/{number}/requested_reviewers
Response request_reviewers(CollabEnv& env, Request& req) {
  return change_reviewers(env, req, true);
}

// DELETE /pulls/{number}/requested_reviewers
Response remove_requested_reviewers(CollabEnv& env, Request& req) {
  return change_reviewers(env, req, false);
}

const RouteSpec<CollabEnv> kPullRoutes[] = {
    {"GET", "/pulls", "repo:read", &list_pulls},
    {"POST", "/pulls", "repo:read", nullptr, &worker<CollabEnv, &create_pull>},
    {"GET", "/pulls/{number}", "repo:read", nullptr, &worker<CollabEnv, &get_pull>},
    {"PATCH", "/pulls/{number}", "repo:read", nullptr, &worker<CollabEnv, &update_pull>},
    {"GET", "/pulls/{number}/files", "repo:read", nullptr, &worker<CollabEnv, &list_pull_files>},
    {"GET", "/pulls/{number}/commits", "repo:read", nullptr,
     &worker<CollabEnv, &list_pull_commits>},
    {"GET", "/pulls/{number}/merge", "repo:read", &check_pull_merged},
    {"PUT", "/pulls/{number}/merge", "repo:write", nullptr, &worker<CollabEnv, &merge_pull>},
    {"GET", "/pulls/{number}/reviews", "repo:read", &list_reviews},
    {"POST", "/pulls/{number}/reviews", "repo:read", nullptr, &worker<CollabEnv, &create_review>},
    {"GET", "/pulls/{number}/reviews/{review_id}", "repo:read", &get_review},
    {"GET", "/pulls/{number}/reviews/{review_id}/comments", "repo:read",
     &list_review_comments_of_review},
    {"PUT", "/pulls/{number}/reviews/{review_id}/dismissals", "repo:write", &dismiss_review},
    {"GET", "/pulls/{number}/comments", "repo:read", &list_review_comments},
    {"POST", "/pulls/{number}/comments", "repo:read", nullptr,
     &worker<CollabEnv, &create_review_comment>},
    {"POST", "/pulls/{number}/comments/{comment_id}/replies", "repo:read", nullptr,
     &worker<CollabEnv, &reply_to_review_comment>},
    {"GET", "/pulls/comments/{comment_id}", "repo:read", &get_review_comment},
    {"PATCH", "/pulls/comments/{comment_id}", "repo:read", &update_review_comment},
    {"DELETE", "/pulls/comments/{comment_id}", "repo:read", &delete_review_comment},
    {"GET", "/pulls/{number}/requested_reviewers", "repo:read", &list_requested_reviewers},
    {"POST", "/pulls/{number}/requested_reviewers", "repo:read", nullptr,
     &worker<CollabEnv, &request_reviewers>},
    {"DELETE", "/pulls/{number}/requested_reviewers", "repo:read", nullptr,
     &worker<CollabEnv, &remove_requested_reviewers>},
    {"DELETE", "/git/refs/{ref...}", "repo:write", &delete_ref},
};

}  // namespace

// The browser's forms run these same handlers (web/pull_pages.cpp; collab_routes.h).
Response pulls_create(CollabEnv& env, Request& req) {
  return create_pull(env, req);
}
Response pulls_merge(CollabEnv& env, Request& req) {
  return merge_pull(env, req);
}
Response pulls_submit_review(CollabEnv& env, Request& req) {
  return create_review(env, req);
}

void add_pulls_routes(Router& router, Services& svc, std::shared_ptr<PullGit> pg) {
  add_routes(router, std::make_shared<CollabEnv>(CollabEnv{svc, std::move(pg)}), kRepo,
             kPullRoutes);
}

}  // namespace guts::api
