// /api/v3/repos/{owner}/{repo}/pulls...: GitHub's pull requests API. Routes that read git
// (mergeability, files, commits, diffs, merges) are streaming routes run on worker threads
// through collab::blocking; the others are buffered.
#include <algorithm>

#include "api/collab_common.h"
#include "api/collab_routes.h"
#include "api/http_parse.h"
#include "core/time.h"
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

std::optional<state::Issue> path_pull(const Request& req, const state::StateView& view) {
  auto n = number_param(req, "number");
  if (!n) return std::nullopt;
  auto x = view.issue(repo_context(req).repo.id, *n);
  if (!x || !x->is_pull) return std::nullopt;
  return x;
}

std::string hex_or_empty(const Bytes& b) {
  return b.empty() ? std::string() : hex_encode(b);
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

json commit_json(const Shapes& sh, const git::Commit& c) {
  auto sig = [](const git::Signature& s) {
    return json{{"name", s.name},
                {"email", s.email},
                {"date", iso8601(static_cast<uint64_t>(s.time) * 1000)}};
  };
  json parents = json::array();
  for (const auto& p : c.parents)
    parents.push_back({{"sha", p},
                       {"url", sh.urls().api + "/commits/" + p},
                       {"html_url", sh.urls().html + "/commit/" + p}});
  return json{{"sha", c.sha},
              {"node_id", ""},
              {"commit",
               {{"author", sig(c.author)},
                {"committer", sig(c.committer)},
                {"message", c.message},
                {"tree", {{"sha", c.tree}, {"url", sh.urls().api + "/git/trees/" + c.tree}}},
                {"url", sh.urls().api + "/git/commits/" + c.sha},
                {"comment_count", 0}}},
              {"url", sh.urls().api + "/commits/" + c.sha},
              {"html_url", sh.urls().html + "/commit/" + c.sha},
              {"comments_url", sh.urls().api + "/commits/" + c.sha + "/comments"},
              {"author", nullptr},
              {"committer", nullptr},
              {"parents", parents}};
}

json file_json(const Shapes& sh, const std::string& head, const git::FileDiff& f) {
  std::string path = percent_encode(f.filename, true);
  json j{{"sha", f.sha},
         {"filename", f.filename},
         {"status", f.status},
         {"additions", f.additions},
         {"deletions", f.deletions},
         {"changes", f.additions + f.deletions},
         {"blob_url", sh.urls().html + "/blob/" + head + "/" + path},
         {"raw_url", sh.urls().html + "/raw/" + head + "/" + path},
         {"contents_url", sh.urls().api + "/contents/" + path + "?ref=" + head}};
  if (!f.binary) j["patch"] = f.patch;
  if (!f.previous_filename.empty()) j["previous_filename"] = f.previous_filename;
  return j;
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

Response review_comment_after(Services& svc, const RepoContext& ctx, const state::TxOutcome& o) {
  if (!o.applied) return status_response(o.status, "PullRequestReviewComment");
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto id = sh.view().receipt(o.id);
  auto c = id ? sh.view().comment(*id) : std::nullopt;
  if (!c) return error_response(404, "Not Found");
  return json_response(201, sh.review_comment(*c));
}

}  // namespace

void add_pulls_routes(Router& router, Services& svc, std::shared_ptr<PullGit> pg) {
  auto buffered = [&](const char* method, const std::string& path, const char* access, Handler h) {
    router.add(method, kRepo + path, access, std::move(h));
  };
  auto worker = [&](const char* method, const std::string& path, const char* access,
                    std::function<Response(Request&)> fn) {
    router.add_streaming(method, kRepo + path, access, blocking(std::move(fn)));
  };

  buffered("GET", "/pulls", "repo:read", [&svc](Request& req, Responder respond) {
    respond(cached_get(req, svc, [&] { return list_issues(req, svc, true); }));
  });

  worker("POST", "/pulls", "repo:read", [&svc, pg](Request& req) -> Response {
    Response early;
    bool answered = false;
    auto catcher = [&](Response r) {
      early = std::move(r);
      answered = true;
    };
    auto body = parse_body(req, catcher, "PullRequest");
    if (!body) return early;
    (void)answered;
    if (auto bad = check_body(*body, "PullRequest",
                              {{"title", BodyField::kString, true},
                               {"body", BodyField::kString},
                               {"head", BodyField::kString, true},
                               {"base", BodyField::kString, true},
                               {"draft", BodyField::kBoolean},
                               {"head_repo", BodyField::kString}}))
      return std::move(*bad);
    const auto& ctx = repo_context(req);
    auto view = svc.chain().view();
    state::OpenPullRequest o;
    o.repo_id = ctx.repo.id;
    std::string head, head_repo_name;
    try {
      o.title = *string_field(*body, "title");
      o.body = string_field(*body, "body").value_or("");
      head = *string_field(*body, "head");
      o.base = *string_field(*body, "base");
      o.draft = bool_field(*body, "draft").value_or(false);
      head_repo_name = string_field(*body, "head_repo").value_or("");
    } catch (const FieldError& e) {
      return field_type_error(e);
    }
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
      pg->ensure_commit(ctx.repo.id, head_repo->id, hex_encode(*head_oid));
      if (pg->compare(ctx.repo.id, hex_encode(*base_oid), hex_encode(*head_oid))->ahead_by == 0)
        return validation_failed("PullRequest", "head", "custom",
                                 "No commits between " + o.base + " and " + head);
    } catch (const Error& e) {
      return validation_failed("PullRequest", "head", "invalid", e.what());
    }
    auto out = submit_wait(svc, req.principal, o);
    if (!out.applied) return status_response(out.status, "PullRequest");
    auto n = svc.chain().view().receipt(out.id);
    if (!n) return error_response(500, "Internal Server Error");
    return pull_response(*pg, svc, ctx, *n, 201);
  });

  worker("GET", "/pulls/{number}", "repo:read", [&svc, pg](Request& req) -> Response {
    return cached_get(req, svc, [&]() -> Response {
      const auto& ctx = repo_context(req);
      auto x = path_pull(req, svc.chain().view());
      if (!x) return error_response(404, "Not Found");
      auto accept = req.headers.get("Accept").value_or("");
      if (accept.find("diff") != std::string::npos || accept.find("patch") != std::string::npos) {
        Shapes sh(svc, ctx.repo, ctx.owner);
        pg->ensure_commit(x->repo_id, x->head_repo_id, hex_or_empty(x->head_sha));
        Response r = Response::text(
            200, pg->diff(x->repo_id, sh.base_sha_of(*x), hex_or_empty(x->head_sha)));
        r.headers.set("Content-Type", "text/x-diff; charset=utf-8");
        return with_etag(req, std::move(r));
      }
      return pull_response(*pg, svc, ctx, x->number, 200, &req);
    });
  });

  worker("PATCH", "/pulls/{number}", "repo:read", [&svc, pg](Request& req) -> Response {
    Response early;
    auto body = parse_body(
        req, [&](Response r) { early = std::move(r); }, "PullRequest");
    if (!body) return early;
    const auto& ctx = repo_context(req);
    auto x = path_pull(req, svc.chain().view());
    if (!x) return error_response(404, "Not Found");
    state::EditIssue e;
    e.repo_id = ctx.repo.id;
    e.number = x->number;
    try {
      e.title = string_field(*body, "title");
      if (body->contains("body")) e.body = string_field(*body, "body").value_or("");
      if (auto s = string_field(*body, "state")) {
        if (*s != "open" && *s != "closed")
          return validation_failed("PullRequest", "state", "invalid", "must be open or closed");
        e.state = *s == "open" ? state::kIssueOpen : state::kIssueClosed;
      }
      e.base = string_field(*body, "base");
      e.draft = bool_field(*body, "draft");
    } catch (const FieldError& fe) {
      return field_type_error(fe);
    }
    if (e.title || e.body || e.state || e.base || e.draft) {
      auto out = submit_wait(svc, req.principal, e);
      if (!out.applied) return status_response(out.status, "PullRequest");
    }
    return pull_response(*pg, svc, ctx, x->number, 200);
  });

  worker("GET", "/pulls/{number}/files", "repo:read", [&svc, pg](Request& req) -> Response {
    return cached_get(req, svc, [&]() -> Response {
      const auto& ctx = repo_context(req);
      Shapes sh(svc, ctx.repo, ctx.owner);
      auto x = path_pull(req, sh.view());
      if (!x) return error_response(404, "Not Found");
      std::string head = hex_or_empty(x->head_sha);
      pg->ensure_commit(x->repo_id, x->head_repo_id, head);
      auto cmp = pg->compare(x->repo_id, sh.base_sha_of(*x), head);
      Page page = page_of(req);
      json arr = json::array();
      size_t start = (page.page - 1) * page.per_page;
      for (size_t i = start; i < cmp->files.size() && i < start + page.per_page; ++i)
        arr.push_back(file_json(sh, head, cmp->files[i]));
      Response resp = get_response(req, arr);
      add_link_header(resp, req, svc.public_url(), page, cmp->files.size());
      return resp;
    });
  });

  worker("GET", "/pulls/{number}/commits", "repo:read", [&svc, pg](Request& req) -> Response {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return error_response(404, "Not Found");
    std::string head = hex_or_empty(x->head_sha);
    pg->ensure_commit(x->repo_id, x->head_repo_id, head);
    auto cmp = pg->compare(x->repo_id, sh.base_sha_of(*x), head);
    json arr = json::array();
    for (const auto& c : cmp->commits) arr.push_back(commit_json(sh, c));
    return page_response(req, svc, arr);
  });

  buffered("GET", "/pulls/{number}/merge", "repo:read", [&svc](Request& req, Responder respond) {
    auto x = path_pull(req, svc.chain().view());
    respond(x && x->merged ? Response{204, {}, ""} : error_response(404, "Not Found"));
  });

  worker("PUT", "/pulls/{number}/merge", "repo:write", [&svc, pg](Request& req) -> Response {
    Response early;
    auto body = parse_body(
        req, [&](Response r) { early = std::move(r); }, "PullRequest");
    if (!body) return early;
    const auto& ctx = repo_context(req);
    auto view = svc.chain().view();
    auto x = path_pull(req, view);
    if (!x) return error_response(404, "Not Found");
    if (x->merged || x->state != state::kIssueOpen || x->draft)
      return status_response(kNotMergeable);
    std::optional<std::string> title, message, sha;
    uint8_t method = state::kMergeCommit;
    try {
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
    } catch (const FieldError& fe) {
      return field_type_error(fe);
    }
    const std::string head = hex_or_empty(x->head_sha);
    if (sha && *sha != head)
      return status_response(
          {Code::kConflict, "Head branch was modified. Review and try the merge again."});
    auto base_oid = view.ref(ctx.repo.id, "refs/heads/" + x->base_ref);
    if (!base_oid) return status_response(kNotMergeable);
    const std::string base = hex_encode(*base_oid);
    pg->ensure_commit(x->repo_id, x->head_repo_id, head);

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
      msg = title.value_or("Merge pull request #" + std::to_string(x->number) + " from " +
                           head_label) +
            "\n\n" + message.value_or(x->title) + "\n";
    } else if (method == state::kMergeSquash) {
      std::string details;
      if (message) {
        details = *message;
      } else {
        for (const auto& c : pg->compare(x->repo_id, base, head)->commits) {
          auto m = c.message;
          while (!m.empty() && m.back() == '\n') m.pop_back();
          details += (details.empty() ? "* " : "\n\n* ") + m;
        }
      }
      msg = title.value_or(x->title + " (#" + std::to_string(x->number) + ")") + "\n\n" + details +
            "\n";
    }
    auto made = pg->merge(x->repo_id, method, base, head, msg, committer, author);
    if (made.kind == MergeOutcome::kConflict) return status_response(kNotMergeable);
    if (made.kind == MergeOutcome::kNotRebaseable)
      return status_response({Code::kFailedPrecondition, made.message});
    auto out = submit_wait(svc, req.principal,
                           state::MergePullRequest{ctx.repo.id, x->number, method, x->head_sha,
                                                   *base_oid, oid_bytes(made.sha)});
    if (!out.applied) {
      if (out.status.code() == Code::kFailedPrecondition) return status_response(kNotMergeable);
      return status_response(out.status, "PullRequest");
    }
    return json_response(
        200,
        json{{"sha", made.sha}, {"merged", true}, {"message", "Pull Request successfully merged"}});
  });

  // ---- reviews ----
  buffered("GET", "/pulls/{number}/reviews", "repo:read", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return respond(error_response(404, "Not Found"));
    json arr = json::array();
    for (const auto& r : sh.view().reviews_of(ctx.repo.id, x->number)) arr.push_back(sh.review(r));
    respond(page_response(req, svc, arr));
  });

  worker("POST", "/pulls/{number}/reviews", "repo:read", [&svc, pg](Request& req) -> Response {
    Response early;
    auto body = parse_body(
        req, [&](Response r) { early = std::move(r); }, "PullRequestReview");
    if (!body) return early;
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return error_response(404, "Not Found");
    state::SubmitReview r;
    r.repo_id = ctx.repo.id;
    r.number = x->number;
    try {
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
          return validation_failed("PullRequestReview", "commit_id", "invalid",
                                   "is not a commit sha");
      }
      if (auto cs = body->find("comments"); cs != body->end() && !cs->is_null()) {
        if (!cs->is_array()) throw FieldError{"comments", "array"};
        for (const auto& c : *cs) {
          if (!c.is_object()) throw FieldError{"comments", "array of objects"};
          state::ReviewCommentInput in;
          in.path = string_field(c, "path").value_or("");
          in.body = string_field(c, "body").value_or("");
          auto line = c.find("line");
          if (line == c.end() || !line->is_number_unsigned())
            return validation_failed(
                "PullRequestReview", "line", "missing_field",
                "inline comments need a line (diff positions are not supported)");
          in.line = line->get<uint64_t>();
          if (auto sl = c.find("start_line"); sl != c.end() && sl->is_number_unsigned())
            in.start_line = sl->get<uint64_t>();
          auto side = side_of(string_field(c, "side"));
          if (!side)
            return validation_failed("PullRequestReview", "side", "invalid",
                                     "must be LEFT or RIGHT");
          in.side = *side;
          if (!path_in_pull(*pg, sh, *x, in.path))
            return validation_failed("PullRequestReview", "path", "invalid",
                                     "Path could not be resolved");
          r.comments.push_back(std::move(in));
        }
      }
    } catch (const FieldError& fe) {
      return field_type_error(fe);
    }
    auto out = submit_wait(svc, req.principal, r);
    if (!out.applied) return status_response(out.status, "PullRequestReview");
    Shapes after(svc, ctx.repo, ctx.owner);
    auto id = after.view().receipt(out.id);
    auto rv = id ? after.view().review(ctx.repo.id, x->number, *id) : std::nullopt;
    if (!rv) return error_response(500, "Internal Server Error");
    return json_response(200, after.review(*rv));
  });

  auto path_review = [&svc](const Request& req, Shapes& sh) -> std::optional<state::Review> {
    auto x = path_pull(req, sh.view());
    auto id = number_param(req, "review_id");
    if (!x || !id) return std::nullopt;
    return sh.view().review(x->repo_id, x->number, *id);
  };
  buffered("GET", "/pulls/{number}/reviews/{review_id}", "repo:read",
           [&svc, path_review](Request& req, Responder respond) {
             const auto& ctx = repo_context(req);
             Shapes sh(svc, ctx.repo, ctx.owner);
             auto r = path_review(req, sh);
             respond(r ? get_response(req, sh.review(*r)) : error_response(404, "Not Found"));
           });
  buffered("GET", "/pulls/{number}/reviews/{review_id}/comments", "repo:read",
           [&svc, path_review](Request& req, Responder respond) {
             const auto& ctx = repo_context(req);
             Shapes sh(svc, ctx.repo, ctx.owner);
             auto r = path_review(req, sh);
             if (!r) return respond(error_response(404, "Not Found"));
             json arr = json::array();
             for (const auto& c :
                  sh.view().comments_of(ctx.repo.id, r->number, state::kReviewCommentKind))
               if (c.review_id == r->id) arr.push_back(sh.review_comment(c));
             respond(page_response(req, svc, arr));
           });
  buffered(
      "PUT", "/pulls/{number}/reviews/{review_id}/dismissals", "repo:write",
      [&svc, path_review](Request& req, Responder respond) {
        auto body = parse_body(req, respond, "PullRequestReview");
        if (!body) return;
        const auto& ctx = repo_context(req);
        Shapes sh(svc, ctx.repo, ctx.owner);
        auto r = path_review(req, sh);
        if (!r) return respond(error_response(404, "Not Found"));
        std::string message;
        try {
          message = string_field(*body, "message").value_or("");
        } catch (const FieldError& fe) {
          return respond(field_type_error(fe));
        }
        submit(svc, req, std::move(respond),
               state::DismissReview{ctx.repo.id, r->number, r->id, message}, "PullRequestReview",
               [&svc, repo = ctx.repo, owner = ctx.owner, n = r->number,
                id = r->id](const state::TxOutcome&) {
                 Shapes sh(svc, repo, owner);
                 auto rv = sh.view().review(repo.id, n, id);
                 return rv ? json_response(200, sh.review(*rv)) : error_response(404, "Not Found");
               });
      });

  // ---- review comments ----
  buffered("GET", "/pulls/{number}/comments", "repo:read", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return respond(error_response(404, "Not Found"));
    json arr = json::array();
    for (const auto& c : sh.view().comments_of(ctx.repo.id, x->number, state::kReviewCommentKind))
      arr.push_back(sh.review_comment(c));
    respond(page_response(req, svc, arr));
  });

  worker("POST", "/pulls/{number}/comments", "repo:read", [&svc, pg](Request& req) -> Response {
    Response early;
    auto body = parse_body(
        req, [&](Response r) { early = std::move(r); }, "PullRequestReviewComment");
    if (!body) return early;
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_pull(req, sh.view());
    if (!x) return error_response(404, "Not Found");
    state::CreateReviewComment c;
    c.repo_id = ctx.repo.id;
    c.number = x->number;
    try {
      auto b = string_field(*body, "body");
      if (!b) return validation_failed("PullRequestReviewComment", "body", "missing_field", "");
      c.body = *b;
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
        if (!path_in_pull(*pg, sh, *x, c.path))
          return validation_failed("PullRequestReviewComment", "path", "invalid",
                                   "Path could not be resolved");
      }
    } catch (const FieldError& fe) {
      return field_type_error(fe);
    }
    return review_comment_after(svc, ctx, submit_wait(svc, req.principal, c));
  });

  worker("POST", "/pulls/{number}/comments/{comment_id}/replies", "repo:read",
         [&svc](Request& req) -> Response {
           Response early;
           auto body = parse_body(
               req, [&](Response r) { early = std::move(r); }, "PullRequestReviewComment");
           if (!body) return early;
           const auto& ctx = repo_context(req);
           auto x = path_pull(req, svc.chain().view());
           auto id = number_param(req, "comment_id");
           if (!x || !id) return error_response(404, "Not Found");
           state::CreateReviewComment c;
           c.repo_id = ctx.repo.id;
           c.number = x->number;
           c.in_reply_to = *id;
           try {
             auto b = string_field(*body, "body");
             if (!b)
               return validation_failed("PullRequestReviewComment", "body", "missing_field", "");
             c.body = *b;
           } catch (const FieldError& fe) {
             return field_type_error(fe);
           }
           return review_comment_after(svc, ctx, submit_wait(svc, req.principal, c));
         });

  auto review_comment_of = [&svc](const Request& req) -> std::optional<state::Comment> {
    auto id = number_param(req, "comment_id");
    if (!id) return std::nullopt;
    auto c = svc.chain().view().comment(*id);
    if (!c || c->repo_id != repo_context(req).repo.id || c->kind != state::kReviewCommentKind)
      return std::nullopt;
    return c;
  };
  buffered("GET", "/pulls/comments/{comment_id}", "repo:read",
           [&svc, review_comment_of](Request& req, Responder respond) {
             auto c = review_comment_of(req);
             if (!c) return respond(error_response(404, "Not Found"));
             const auto& ctx = repo_context(req);
             Shapes sh(svc, ctx.repo, ctx.owner);
             respond(get_response(req, sh.review_comment(*c)));
           });
  buffered("PATCH", "/pulls/comments/{comment_id}", "repo:read",
           [&svc, review_comment_of](Request& req, Responder respond) {
             auto body = parse_body(req, respond, "PullRequestReviewComment");
             if (!body) return;
             auto c = review_comment_of(req);
             if (!c) return respond(error_response(404, "Not Found"));
             const auto& ctx = repo_context(req);
             std::string text;
             try {
               auto b = string_field(*body, "body");
               if (!b)
                 return respond(
                     validation_failed("PullRequestReviewComment", "body", "missing_field", ""));
               text = *b;
             } catch (const FieldError& fe) {
               return respond(field_type_error(fe));
             }
             submit(
                 svc, req, std::move(respond), state::EditComment{ctx.repo.id, c->id, text},
                 "PullRequestReviewComment",
                 [&svc, repo = ctx.repo, owner = ctx.owner, id = c->id](const state::TxOutcome&) {
                   Shapes sh(svc, repo, owner);
                   auto c = sh.view().comment(id);
                   return c ? json_response(200, sh.review_comment(*c))
                            : error_response(404, "Not Found");
                 });
           });
  buffered("DELETE", "/pulls/comments/{comment_id}", "repo:read",
           [&svc, review_comment_of](Request& req, Responder respond) {
             auto c = review_comment_of(req);
             if (!c) return respond(error_response(404, "Not Found"));
             submit(svc, req, std::move(respond),
                    state::DeleteComment{repo_context(req).repo.id, c->id},
                    "PullRequestReviewComment", [](const state::TxOutcome&) {
                      return Response{204, {}, ""};
                    });
           });

  // ---- requested reviewers ----
  buffered("GET", "/pulls/{number}/requested_reviewers", "repo:read",
           [&svc](Request& req, Responder respond) {
             const auto& ctx = repo_context(req);
             Shapes sh(svc, ctx.repo, ctx.owner);
             auto x = path_pull(req, sh.view());
             if (!x) return respond(error_response(404, "Not Found"));
             json users = json::array();
             for (const auto& k : x->requested_reviewers) users.push_back(sh.user(k));
             respond(get_response(req, json{{"users", users}, {"teams", json::array()}}));
           });
  auto reviewers = [&svc, pg](bool add) {
    return [&svc, pg, add](Request& req) -> Response {
      Response early;
      auto body = parse_body(
          req, [&](Response r) { early = std::move(r); }, "PullRequest");
      if (!body) return early;
      const auto& ctx = repo_context(req);
      auto view = svc.chain().view();
      auto x = path_pull(req, view);
      if (!x) return error_response(404, "Not Found");
      state::EditIssue e;
      e.repo_id = ctx.repo.id;
      e.number = x->number;
      try {
        for (const auto& login : string_list(*body, "reviewers")) {
          auto k = user_key(view, login);
          if (!k)
            return validation_failed("PullRequest", "reviewers", "invalid",
                                     "'" + login + "' is not a user");
          (add ? e.reviewers_add : e.reviewers_remove).push_back(*k);
        }
      } catch (const FieldError& fe) {
        return field_type_error(fe);
      }
      auto out = submit_wait(svc, req.principal, e);
      if (!out.applied) return status_response(out.status, "PullRequest");
      return pull_response(*pg, svc, ctx, x->number, add ? 201 : 200);
    };
  };
  worker("POST", "/pulls/{number}/requested_reviewers", "repo:read", reviewers(true));
  worker("DELETE", "/pulls/{number}/requested_reviewers", "repo:read", reviewers(false));

  // ---- branch deletion (e.g. the head branch after a merge) ----
  buffered("DELETE", "/git/refs/{ref...}", "repo:write", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    std::string ref = "refs/" + req.param("ref");
    auto cur = svc.chain().view().ref(ctx.repo.id, ref);
    if (!cur)
      return respond(validation_failed("Reference", "ref", "invalid", "Reference does not exist"));
    submit(svc, req, std::move(respond), state::UpdateRefs{ctx.repo.id, {{ref, *cur, {}}}, false},
           "Reference", [](const state::TxOutcome&) {
             return Response{204, {}, ""};
           });
  });
}

}  // namespace guts::api
