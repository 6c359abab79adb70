// /api/v3/repos/{owner}/{repo}/{issues,labels,milestones,assignees}...: GitHub's issues API.
#include <algorithm>

#include "api/collab_common.h"
#include "api/collab_routes.h"
#include "core/time.h"
#include "state/rules.h"

namespace guts::api {

using namespace collab;

namespace {

const std::string kRepo = "/api/v3/repos/{owner}/{repo}";

// Comma-separated query list.
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    auto item = s.substr(start, c - start);
    if (!item.empty()) out.push_back(item);
    start = c + 1;
  }
  return out;
}

char state_filter(const Request& req) {
  auto s = req.query_param("state").value_or("open");
  return s == "closed" ? 'c' : s == "all" ? '*' : 'o';
}

}  // namespace

// GET /issues and GET /pulls: the index gives the default order (newest first) without reading
// other issues; filters and other orders read the candidates.
Response collab::list_issues(const Request& req, Services& svc, bool pulls_only) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  const auto& view = sh.view();
  const uint64_t repo = ctx.repo.id;
  const char st = state_filter(req);
  Page page = page_of(req);
  const std::string sort = req.query_param("sort").value_or("created");
  const bool asc =
      req.query_param("direction").value_or(sort == "long-running" ? "asc" : "desc") == "asc";

  auto labels_q = req.query_param("labels");
  auto assignee_q = req.query_param("assignee");
  auto creator_q = req.query_param("creator");
  auto since_q = req.query_param("since");
  auto milestone_q = req.query_param("milestone");
  auto head_q = req.query_param("head");
  auto base_q = req.query_param("base");
  bool filtered = labels_q || assignee_q || creator_q || since_q || milestone_q || head_q || base_q;

  auto shape = [&](const state::Issue& x) {
    return pulls_only ? sh.pull(x, nullptr) : sh.issue(x);
  };
  json arr = json::array();
  size_t total = 0;
  if (!filtered && sort == "created") {
    total = view.issue_count(repo, pulls_only, st);
    size_t skip = (page.page - 1) * page.per_page;
    std::vector<uint64_t> numbers;
    if (skip < total) {
      if (!asc) {
        numbers = view.issue_numbers(repo, pulls_only, st, skip, page.per_page);
      } else {
        size_t end = total - skip, begin = end > page.per_page ? end - page.per_page : 0;
        numbers = view.issue_numbers(repo, pulls_only, st, begin, end - begin);
        std::reverse(numbers.begin(), numbers.end());
      }
    }
    for (auto n : numbers)
      if (auto x = view.issue(repo, n)) arr.push_back(shape(*x));
  } else {
    std::optional<std::vector<uint64_t>> want_labels;
    if (labels_q) {
      want_labels.emplace();
      for (const auto& name : split_commas(*labels_q)) {
        auto l = view.label_by_name(repo, name);
        want_labels->push_back(l ? l->id : 0);  // unknown label: nothing matches
      }
    }
    std::optional<crypto::PublicKey> creator, assignee;
    if (creator_q && !(creator = user_key(view, *creator_q)))
      return get_response(req, json::array());
    if (assignee_q && *assignee_q != "none" && *assignee_q != "*" &&
        !(assignee = user_key(view, *assignee_q)))
      return get_response(req, json::array());
    std::optional<uint64_t> since;
    if (since_q) {
      since = parse_iso8601(*since_q);
      if (!since)
        return validation_failed("Issue", "since", "invalid", "must be an ISO 8601 timestamp");
    }
    std::optional<std::string> head_owner, head_ref;
    if (head_q) {
      auto colon = head_q->find(':');
      if (colon == std::string::npos) {
        head_ref = *head_q;
      } else {
        head_owner = head_q->substr(0, colon);
        head_ref = head_q->substr(colon + 1);
      }
    }
    std::vector<state::Issue> items;
    for (auto n : view.issue_numbers(repo, pulls_only, st, 0, SIZE_MAX)) {
      auto x = view.issue(repo, n);
      if (!x) continue;
      if (want_labels && !std::all_of(want_labels->begin(), want_labels->end(), [&](uint64_t id) {
            return std::find(x->labels.begin(), x->labels.end(), id) != x->labels.end();
          }))
        continue;
      if (creator && x->author != *creator) continue;
      if (assignee_q && *assignee_q == "none" && !x->assignees.empty()) continue;
      if (assignee_q && *assignee_q == "*" && x->assignees.empty()) continue;
      if (assignee &&
          std::find(x->assignees.begin(), x->assignees.end(), *assignee) == x->assignees.end())
        continue;
      if (since && x->updated_ms < *since) continue;
      if (milestone_q) {
        if (*milestone_q == "none" && x->milestone) continue;
        if (*milestone_q == "*" && !x->milestone) continue;
        if (*milestone_q != "none" && *milestone_q != "*" &&
            std::to_string(x->milestone) != *milestone_q)
          continue;
      }
      if (base_q && x->base_ref != *base_q) continue;
      if (head_ref) {
        if (x->head_ref != *head_ref) continue;
        if (head_owner) {
          auto r = view.repo(x->head_repo_id);
          auto o = r ? view.account(r->owner) : std::nullopt;
          if (!o || state::fold_case(o->username) != state::fold_case(*head_owner)) continue;
        }
      }
      items.push_back(std::move(*x));
    }
    auto key = [&](const state::Issue& x) -> uint64_t {
      if (sort == "updated") return x.updated_ms;
      if (sort == "comments" || sort == "popularity") return x.comments;
      return x.number;  // created, long-running
    };
    std::stable_sort(items.begin(), items.end(), [&](const state::Issue& a, const state::Issue& b) {
      auto ka = key(a), kb = key(b);
      if (ka != kb) return asc ? ka < kb : ka > kb;
      return asc ? a.number < b.number : a.number > b.number;
    });
    total = items.size();
    size_t start = (page.page - 1) * page.per_page;
    for (size_t i = start; i < items.size() && i < start + page.per_page; ++i)
      arr.push_back(shape(items[i]));
  }
  Response resp = get_response(req, arr);
  add_link_header(resp, req, svc.public_url(), page, total);
  return resp;
}

namespace {

// ---- issues ----

// GET /issues
void list_issues_route(Services& svc, Request& req, Responder respond) {
  respond(cached_get(req, svc, [&] { return list_issues(req, svc, false); }));
}

// "assignees" and "assignee" of an issue body, as keys; answered 422 for an unknown login.
std::optional<Response> assignees_of(const state::StateView& view, const nlohmann::json& body,
                                     std::vector<crypto::PublicKey>* out) {
  auto logins = string_list(body, "assignees");
  if (auto a = string_field(body, "assignee")) logins.push_back(*a);
  return keys_of(view, logins, "Issue", "assignees", out);
}

// POST /issues
void create_issue(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Issue",
                        {{"title", BodyField::kStringOrInteger, true},
                         {"body", BodyField::kString},
                         {"labels", BodyField::kNameList},
                         {"assignees", BodyField::kNameList},
                         {"assignee", BodyField::kString}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  state::CreateIssue c;
  c.repo_id = ctx.repo.id;
  auto t = body->find("title");
  c.title = t->is_string() ? t->get<std::string>() : std::to_string(t->get<int64_t>());
  c.body = string_field(*body, "body").value_or("");
  c.labels = string_list(*body, "labels");
  if (auto bad = assignees_of(view, *body, &c.assignees)) return respond(std::move(*bad));
  if (auto m = body->find("milestone"); m != body->end() && !m->is_null()) {
    if (m->is_number_unsigned())
      c.milestone = m->get<uint64_t>();
    else if (m->is_string() && !m->get<std::string>().empty() &&
             m->get<std::string>().find_first_not_of("0123456789") == std::string::npos)
      c.milestone = std::stoull(m->get<std::string>());
    else
      return respond(field_type_error(FieldError{"milestone", "integer"}));
  }
  submit(svc, req, std::move(respond), c, "Issue", issue_after(svc, ctx, std::nullopt, 201));
}

// GET /issues/{number}
void get_issue(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_issue(req, sh.view(), respond);
  if (!x) return;
  respond(cached_get(req, svc, [&] { return get_response(req, sh.issue(*x)); }));
}

// PATCH /issues/{number}
void update_issue(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Issue",
                        {{"title", BodyField::kString},
                         {"body", BodyField::kString},
                         {"state", BodyField::kString},
                         {"state_reason", BodyField::kString},
                         {"labels", BodyField::kNameList},
                         {"assignees", BodyField::kNameList},
                         {"assignee", BodyField::kString},
                         {"milestone", BodyField::kUnsigned}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto x = path_issue(req, view, respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  bool any = false;
  if ((e.title = string_field(*body, "title"))) any = true;
  if (body->contains("body")) {
    e.body = string_field(*body, "body").value_or("");
    any = true;
  }
  if (auto s = string_field(*body, "state")) {
    if (*s != "open" && *s != "closed")
      return respond(validation_failed("Issue", "state", "invalid", "must be open or closed"));
    e.state = *s == "open" ? state::kIssueOpen : state::kIssueClosed;
    any = true;
  }
  if (auto r = string_field(*body, "state_reason")) {
    if (*r == "completed")
      e.state_reason = state::kReasonCompleted;
    else if (*r == "not_planned")
      e.state_reason = state::kReasonNotPlanned;
    else if (*r == "reopened")
      e.state_reason = state::kReasonReopened;
    else
      return respond(validation_failed("Issue", "state_reason", "invalid",
                                       "must be completed, not_planned or reopened"));
    if (!e.state)
      e.state = e.state_reason == state::kReasonReopened ? state::kIssueOpen : state::kIssueClosed;
  }
  if (body->contains("labels")) {
    e.labels = string_list(*body, "labels");
    any = true;
  }
  if (body->contains("assignees") || body->contains("assignee")) {
    std::vector<crypto::PublicKey> keys;
    if (auto bad = assignees_of(view, *body, &keys)) return respond(std::move(*bad));
    e.assignees = std::move(keys);
    any = true;
  }
  if (auto m = body->find("milestone"); m != body->end()) {
    e.milestone = m->is_null() ? 0 : m->get<uint64_t>();
    any = true;
  }
  if (!any && !e.state) {
    Shapes sh(svc, ctx.repo, ctx.owner);
    return respond(json_response(200, sh.issue(*x)));
  }
  submit(svc, req, std::move(respond), e, "Issue", issue_after(svc, ctx, x->number, 200));
}

void set_lock(Services& svc, Request& req, Responder respond, bool locked) {
  // Only a lock reads a reason.
  auto body = locked ? read_body(req, respond, "Issue", {{"lock_reason", BodyField::kString}})
                     : read_body(req, respond, "Issue", {});
  if (!body) return;
  auto x = path_issue(req, svc.chain().view(), respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = repo_context(req).repo.id;
  e.number = x->number;
  e.locked = locked;
  if (locked) e.lock_reason = string_field(*body, "lock_reason").value_or("");
  submit(svc, req, std::move(respond), e, "Issue", no_content);
}

// PUT /issues/{number}/lock
void lock_issue(Services& svc, Request& req, Responder respond) {
  set_lock(svc, req, std::move(respond), true);
}

// DELETE /issues/{number}/lock
void unlock_issue(Services& svc, Request& req, Responder respond) {
  set_lock(svc, req, std::move(respond), false);
}

// ---- issue comments ----

// The path's issue comment; answers 404 when there is none.
std::optional<state::Comment> path_issue_comment(Services& svc, const Request& req,
                                                 const Responder& respond) {
  auto c = path_comment(req, svc.chain().view(), state::kIssueComment);
  if (!c) respond(error_response(404, "Not Found"));
  return c;
}

// GET /issues/{number}/comments
void list_issue_comments(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_issue(req, sh.view(), respond);
  if (!x) return;
  std::optional<uint64_t> since;
  if (auto s = req.query_param("since")) since = parse_iso8601(*s);
  json arr = json::array();
  for (const auto& c : sh.view().comments_of(ctx.repo.id, x->number, state::kIssueComment))
    if (!since || c.updated_ms >= *since) arr.push_back(sh.comment(c));
  respond(page_response(req, svc, arr));
}

// POST /issues/{number}/comments
void create_issue_comment(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "IssueComment", {{"body", BodyField::kString, true}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto x = path_issue(req, svc.chain().view(), respond);
  if (!x) return;
  submit(svc, req, std::move(respond),
         state::CreateComment{ctx.repo.id, x->number, *string_field(*body, "body")}, "IssueComment",
         comment_after(svc, ctx, std::nullopt, 201));
}

// GET /issues/comments/{comment_id}
void get_issue_comment(Services& svc, Request& req, Responder respond) {
  auto c = path_issue_comment(svc, req, respond);
  if (!c) return;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  respond(get_response(req, sh.comment(*c)));
}

// PATCH /issues/comments/{comment_id}
void update_issue_comment(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "IssueComment", {{"body", BodyField::kString, true}});
  if (!body) return;
  auto c = path_issue_comment(svc, req, respond);
  if (!c) return;
  const auto& ctx = repo_context(req);
  submit(svc, req, std::move(respond),
         state::EditComment{ctx.repo.id, c->id, *string_field(*body, "body")}, "IssueComment",
         comment_after(svc, ctx, c->id, 200));
}

// DELETE /issues/comments/{comment_id}
void delete_issue_comment(Services& svc, Request& req, Responder respond) {
  auto c = path_issue_comment(svc, req, respond);
  if (!c) return;
  submit(svc, req, std::move(respond), state::DeleteComment{repo_context(req).repo.id, c->id},
         "IssueComment", no_content);
}

// ---- labels of an issue ----

// The labels of issue `number` once a transaction applied.
AppliedFn labels_after(Services& svc, const RepoContext& ctx, uint64_t number) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, number](const state::TxOutcome&) {
    Shapes sh(svc, repo, owner);
    auto x = sh.view().issue(repo.id, number);
    if (!x) return error_response(404, "Not Found");
    return json_response(200, sh.labels_of(*x));
  };
}

// GET /issues/{number}/labels
void list_issue_labels(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto x = path_issue(req, sh.view(), respond);
  if (x) respond(page_response(req, svc, sh.labels_of(*x)));
}

void set_issue_labels(Services& svc, Request& req, Responder respond, bool replace) {
  auto body = read_body(req, respond, "Label", {{"labels", BodyField::kNameList}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto x = path_issue(req, svc.chain().view(), respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  auto names = string_list(*body, "labels");
  if (replace)
    e.labels = names;
  else
    e.labels_add = names;
  submit(svc, req, std::move(respond), e, "Label", labels_after(svc, ctx, x->number));
}

// POST /issues/{number}/labels
void add_issue_labels(Services& svc, Request& req, Responder respond) {
  set_issue_labels(svc, req, std::move(respond), false);
}

// PUT /issues/{number}/labels
void replace_issue_labels(Services& svc, Request& req, Responder respond) {
  set_issue_labels(svc, req, std::move(respond), true);
}

// DELETE /issues/{number}/labels
void clear_issue_labels(Services& svc, Request& req, Responder respond) {
  auto x = path_issue(req, svc.chain().view(), respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = repo_context(req).repo.id;
  e.number = x->number;
  e.labels = std::vector<std::string>{};
  submit(svc, req, std::move(respond), e, "Label", no_content);
}

// DELETE /issues/{number}/labels/{name}
void remove_issue_label(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto x = path_issue(req, svc.chain().view(), respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  e.labels_remove = {req.param("name")};
  submit(svc, req, std::move(respond), e, "Label", labels_after(svc, ctx, x->number));
}

// ---- repository labels ----

// The label `name` (or the one the transaction created) once a transaction applied.
AppliedFn label_after(Services& svc, const RepoContext& ctx, std::optional<std::string> name,
                      int status) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, name, status](const state::TxOutcome& o) {
    Shapes sh(svc, repo, owner);
    std::optional<state::Label> l;
    if (name)
      l = sh.view().label_by_name(repo.id, *name);
    else if (auto id = sh.view().receipt(o.id))
      l = sh.view().label(repo.id, *id);
    if (!l) return error_response(404, "Not Found");
    return json_response(status, sh.label(*l));
  };
}

std::optional<std::string> strip_hash(std::optional<std::string> c) {
  if (c && !c->empty() && c->front() == '#') c->erase(0, 1);
  return c;
}

// GET /labels
void list_labels(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  json arr = json::array();
  for (const auto& l : sh.view().labels(ctx.repo.id)) arr.push_back(sh.label(l));
  respond(page_response(req, svc, arr));
}

// POST /labels
void create_label(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Label",
                        {{"name", BodyField::kString, true},
                         {"color", BodyField::kString},
                         {"description", BodyField::kString}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  state::SetLabel s;
  s.repo_id = ctx.repo.id;
  s.op = state::kLabelCreate;
  s.name = *string_field(*body, "name");
  s.color = strip_hash(string_field(*body, "color"));
  s.description = string_field(*body, "description");
  submit(svc, req, std::move(respond), s, "Label", label_after(svc, ctx, std::nullopt, 201));
}

// GET /labels/{name}
void get_label(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto l = sh.view().label_by_name(ctx.repo.id, req.param("name"));
  if (!l) return respond(error_response(404, "Not Found"));
  respond(get_response(req, sh.label(*l)));
}

// PATCH /labels/{name}
void update_label(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Label",
                        {{"new_name", BodyField::kString},
                         {"name", BodyField::kString},
                         {"color", BodyField::kString},
                         {"description", BodyField::kString}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  state::SetLabel s;
  s.repo_id = ctx.repo.id;
  s.op = state::kLabelUpdate;
  s.name = req.param("name");
  s.new_name = string_field(*body, "new_name");
  if (!s.new_name) s.new_name = string_field(*body, "name");
  s.color = strip_hash(string_field(*body, "color"));
  s.description = string_field(*body, "description");
  submit(svc, req, std::move(respond), s, "Label",
         label_after(svc, ctx, s.new_name.value_or(s.name), 200));
}

// DELETE /labels/{name}
void delete_label(Services& svc, Request& req, Responder respond) {
  state::SetLabel s;
  s.repo_id = repo_context(req).repo.id;
  s.op = state::kLabelDelete;
  s.name = req.param("name");
  submit(svc, req, std::move(respond), s, "Label", no_content);
}

// ---- assignees ----

// GET /assignees
void list_assignees(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  json arr = json::array({sh.user(ctx.repo.owner)});
  for (const auto& c : sh.view().collaborators(ctx.repo.id))
    if (c.permission >= static_cast<uint8_t>(state::Permission::kTriage))
      arr.push_back(sh.user(c.user));
  respond(page_response(req, svc, arr));
}

// GET /assignees/{username}
void check_assignee(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto k = user_key(view, req.param("username"));
  if (!k || view.permission(ctx.repo, *k) < state::Permission::kTriage)
    return respond(error_response(404, "Not Found"));
  respond(Response{204, {}, ""});
}

void change_assignees(Services& svc, Request& req, Responder respond, bool add) {
  auto body = read_body(req, respond, "Issue", {{"assignees", BodyField::kNameList}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  auto x = path_issue(req, view, respond);
  if (!x) return;
  state::EditIssue e;
  e.repo_id = ctx.repo.id;
  e.number = x->number;
  std::vector<crypto::PublicKey> keys;
  if (auto bad = keys_of(view, string_list(*body, "assignees"), "Issue", "assignees", &keys))
    return respond(std::move(*bad));
  (add ? e.assignees_add : e.assignees_remove) = std::move(keys);
  submit(svc, req, std::move(respond), e, "Issue",
         issue_after(svc, ctx, x->number, add ? 201 : 200));
}

// POST /issues/{number}/assignees
void add_assignees(Services& svc, Request& req, Responder respond) {
  change_assignees(svc, req, std::move(respond), true);
}

// DELETE /issues/{number}/assignees
void remove_assignees(Services& svc, Request& req, Responder respond) {
  change_assignees(svc, req, std::move(respond), false);
}

// ---- milestones ----

// GET /milestones
void list_milestones(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  char st = state_filter(req);
  auto ms = sh.view().milestones(ctx.repo.id);
  bool desc = req.query_param("direction").value_or("asc") == "desc";
  auto sort = req.query_param("sort").value_or("due_on");
  auto key = [&](const state::Milestone& m) {
    return sort == "completeness"
               ? m.closed_issues * 1000 / std::max<uint64_t>(1, m.open_issues + m.closed_issues)
               : (m.due_on_ms ? m.due_on_ms : UINT64_MAX);
  };
  std::stable_sort(ms.begin(), ms.end(), [&](const state::Milestone& a, const state::Milestone& b) {
    auto ka = key(a), kb = key(b);
    return desc ? ka > kb : ka < kb;
  });
  json arr = json::array();
  for (const auto& m : ms)
    if (st == '*' || (st == 'o') == (m.state == state::kIssueOpen)) arr.push_back(sh.milestone(m));
  respond(page_response(req, svc, arr));
}

// The body of a milestone write (its fields were checked by read_body).
std::optional<Response> milestone_body(const nlohmann::json& body, state::SetMilestone& s) {
  s.title = string_field(body, "title");
  s.description = string_field(body, "description");
  if (auto st = string_field(body, "state")) {
    if (*st != "open" && *st != "closed")
      return validation_failed("Milestone", "state", "invalid", "must be open or closed");
    s.state = *st == "open" ? state::kIssueOpen : state::kIssueClosed;
  }
  if (auto d = body.find("due_on"); d != body.end()) {
    if (d->is_null()) {
      s.due_on_ms = 0;
    } else {
      auto t = d->is_string() ? parse_iso8601(d->get<std::string>()) : std::nullopt;
      if (!t)
        return validation_failed("Milestone", "due_on", "invalid", "must be an ISO 8601 timestamp");
      s.due_on_ms = *t;
    }
  }
  return std::nullopt;
}

const std::initializer_list<BodyField> kMilestoneFields = {{"title", BodyField::kString},
                                                           {"description", BodyField::kString},
                                                           {"state", BodyField::kString}};

// The milestone `number` (or the one the transaction created) once a transaction applied.
AppliedFn milestone_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> number,
                          int status) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, number, status](const state::TxOutcome& o) {
    Shapes sh(svc, repo, owner);
    auto n = number ? number : sh.view().receipt(o.id);
    auto m = n ? sh.view().milestone(repo.id, *n) : std::nullopt;
    if (!m) return error_response(404, "Not Found");
    return json_response(status, sh.milestone(*m));
  };
}

// POST /milestones
void create_milestone(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Milestone", kMilestoneFields);
  if (!body) return;
  const auto& ctx = repo_context(req);
  state::SetMilestone s;
  s.repo_id = ctx.repo.id;
  s.op = state::kMilestoneCreate;
  if (auto err = milestone_body(*body, s)) return respond(*err);
  if (!s.title) return respond(validation_failed("Milestone", "title", "missing_field", ""));
  submit(svc, req, std::move(respond), s, "Milestone",
         milestone_after(svc, ctx, std::nullopt, 201));
}

// GET /milestones/{number}
void get_milestone(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto n = number_param(req, "number");
  auto m = n ? sh.view().milestone(ctx.repo.id, *n) : std::nullopt;
  if (!m) return respond(error_response(404, "Not Found"));
  respond(get_response(req, sh.milestone(*m)));
}

// PATCH /milestones/{number}
void update_milestone(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "Milestone", kMilestoneFields);
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto n = number_param(req, "number");
  if (!n) return respond(error_response(404, "Not Found"));
  state::SetMilestone s;
  s.repo_id = ctx.repo.id;
  s.op = state::kMilestoneUpdate;
  s.number = *n;
  if (auto err = milestone_body(*body, s)) return respond(*err);
  submit(svc, req, std::move(respond), s, "Milestone", milestone_after(svc, ctx, *n, 200));
}

// DELETE /milestones/{number}
void delete_milestone(Services& svc, Request& req, Responder respond) {
  auto n = number_param(req, "number");
  if (!n) return respond(error_response(404, "Not Found"));
  state::SetMilestone s;
  s.repo_id = repo_context(req).repo.id;
  s.op = state::kMilestoneDelete;
  s.number = *n;
  submit(svc, req, std::move(respond), s, "Milestone", no_content);
}

// ---- reactions (issues, issue comments, review comments) ----

// What a reaction is on: the path parameter naming it, its type and (comments) its kind.
struct ReactionTarget {
  const char* param;
  uint8_t type;
  uint8_t comment_kind;
};
constexpr ReactionTarget kIssueReactions{"number", state::kReactIssue, 0};
constexpr ReactionTarget kIssueCommentReactions{"comment_id", state::kReactComment,
                                                state::kIssueComment};
constexpr ReactionTarget kReviewCommentReactions{"comment_id", state::kReactComment,
                                                 state::kReviewCommentKind};

// The target id when it exists in this repository (404 otherwise).
std::optional<uint64_t> reaction_target(Services& svc, const Request& req, const Responder& respond,
                                        const ReactionTarget& t) {
  auto id = number_param(req, t.param);
  auto view = svc.chain().view();
  uint64_t repo = repo_context(req).repo.id;
  bool ok = false;
  if (id && t.type == state::kReactIssue) ok = view.issue(repo, *id).has_value();
  if (id && t.type == state::kReactComment) {
    auto c = view.comment(*id);
    ok = c && c->repo_id == repo && c->kind == t.comment_kind;
  }
  if (!ok) {
    respond(error_response(404, "Not Found"));
    return std::nullopt;
  }
  return id;
}

void list_reactions(Services& svc, Request& req, Responder respond, const ReactionTarget& t) {
  auto id = reaction_target(svc, req, respond, t);
  if (!id) return;
  const auto& ctx = repo_context(req);
  Shapes sh(svc, ctx.repo, ctx.owner);
  auto content = req.query_param("content");
  json arr = json::array();
  for (const auto& r : sh.view().reactions(ctx.repo.id, t.type, *id))
    if (!content || r.content == *content) arr.push_back(sh.reaction(r));
  respond(page_response(req, svc, arr));
}

void create_reaction(Services& svc, Request& req, Responder respond, const ReactionTarget& t) {
  auto body = read_body(req, respond, "Reaction", {{"content", BodyField::kString, true}});
  if (!body) return;
  auto id = reaction_target(svc, req, respond, t);
  if (!id) return;
  const auto& ctx = repo_context(req);
  std::string content = *string_field(*body, "content");
  bool existed = false;
  if (auto me = caller(req))
    for (const auto& r : svc.chain().view().reactions(ctx.repo.id, t.type, *id))
      existed |= r.user == *me && r.content == content;
  submit(svc, req, std::move(respond), state::SetReaction{ctx.repo.id, t.type, *id, content, false},
         "Reaction",
         [&svc, repo = ctx.repo, owner = ctx.owner, type = t.type, id = *id,
          existed](const state::TxOutcome& o) {
           Shapes sh(svc, repo, owner);
           auto rid = sh.view().receipt(o.id);
           for (const auto& r : sh.view().reactions(repo.id, type, id))
             if (rid && r.id == *rid) return json_response(existed ? 200 : 201, sh.reaction(r));
           return error_response(404, "Not Found");
         });
}

void delete_reaction(Services& svc, Request& req, Responder respond, const ReactionTarget& t) {
  auto id = reaction_target(svc, req, respond, t);
  if (!id) return;
  const auto& ctx = repo_context(req);
  auto rid = number_param(req, "reaction_id");
  std::optional<state::Reaction> found;
  for (const auto& r : svc.chain().view().reactions(ctx.repo.id, t.type, *id))
    if (rid && r.id == *rid) found = r;
  if (!found) return respond(error_response(404, "Not Found"));
  if (auto me = caller(req); !me || *me != found->user)
    return respond(error_response(
        me ? 403 : 401, me ? "You can only delete your own reactions" : "Requires authentication"));
  submit(svc, req, std::move(respond),
         state::SetReaction{ctx.repo.id, t.type, *id, found->content, true}, "Reaction",
         no_content);
}

// GET, POST /issues/{number}/reactions, DELETE .../{reaction_id}
void list_issue_reactions(Services& svc, Request& req, Responder respond) {
  list_reactions(svc, req, std::move(respond), kIssueReactions);
}
void create_issue_reaction(Services& svc, Request& req, Responder respond) {
  create_reaction(svc, req, std::move(respond), kIssueReactions);
}
void delete_issue_reaction(Services& svc, Request& req, Responder respond) {
  delete_reaction(svc, req, std::move(respond), kIssueReactions);
}

// GET, POST /issues/comments/{comment_id}/reactions, DELETE .../{reaction_id}
void list_issue_comment_reactions(Services& svc, Request& req, Responder respond) {
  list_reactions(svc, req, std::move(respond), kIssueCommentReactions);
}
void create_issue_comment_reaction(Services& svc, Request& req, Responder respond) {
  create_reaction(svc, req, std::move(respond), kIssueCommentReactions);
}
void delete_issue_comment_reaction(Services& svc, Request& req, Responder respond) {
  delete_reaction(svc, req, std::move(respond), kIssueCommentReactions);
}

// GET, POST /pulls/comments/{comment_id}/reactions, DELETE .../{reaction_id}
void list_review_comment_reactions(Services& svc, Request& req, Responder respond) {
  list_reactions(svc, req, std::move(respond), kReviewCommentReactions);
}
void create_review_comment_reaction(Services& svc, Request& req, Responder respond) {
  create_reaction(svc, req, std::move(respond), kReviewCommentReactions);
}
void delete_review_comment_reaction(Services& svc, Request& req, Responder respond) {
  delete_reaction(svc, req, std::move(respond), kReviewCommentReactions);
}

// Every route needs read access; who may write what is the state machine's rule.
const RouteSpec<Services> kIssueRoutes[] = {
    {"GET", "/issues", "repo:read", &list_issues_route},
    {"POST", "/issues", "repo:read", &create_issue},
    {"GET", "/issues/{number}", "repo:read", &get_issue},
    {"PATCH", "/issues/{number}", "repo:read", &update_issue},
    {"PUT", "/issues/{number}/lock", "repo:read", &lock_issue},
    {"DELETE", "/issues/{number}/lock", "repo:read", &unlock_issue},
    {"GET", "/issues/{number}/comments", "repo:read", &list_issue_comments},
    {"POST", "/issues/{number}/comments", "repo:read", &create_issue_comment},
    {"GET", "/issues/comments/{comment_id}", "repo:read", &get_issue_comment},
    {"PATCH", "/issues/comments/{comment_id}", "repo:read", &update_issue_comment},
    {"DELETE", "/issues/comments/{comment_id}", "repo:read", &delete_issue_comment},
    {"GET", "/issues/{number}/labels", "repo:read", &list_issue_labels},
    {"POST", "/issues/{number}/labels", "repo:read", &add_issue_labels},
    {"PUT", "/issues/{number}/labels", "repo:read", &replace_issue_labels},
    {"DELETE", "/issues/{number}/labels", "repo:read", &clear_issue_labels},
    {"DELETE", "/issues/{number}/labels/{name}", "repo:read", &remove_issue_label},
    {"GET", "/labels", "repo:read", &list_labels},
    {"POST", "/labels", "repo:read", &create_label},
    {"GET", "/labels/{name}", "repo:read", &get_label},
    {"PATCH", "/labels/{name}", "repo:read", &update_label},
    {"DELETE", "/labels/{name}", "repo:read", &delete_label},
    {"GET", "/assignees", "repo:read", &list_assignees},
    {"GET", "/assignees/{username}", "repo:read", &check_assignee},
    {"POST", "/issues/{number}/assignees", "repo:read", &add_assignees},
    {"DELETE", "/issues/{number}/assignees", "repo:read", &remove_assignees},
    {"GET", "/milestones", "repo:read", &list_milestones},
    {"POST", "/milestones", "repo:read", &create_milestone},
    {"GET", "/milestones/{number}", "repo:read", &get_milestone},
    {"PATCH", "/milestones/{number}", "repo:read", &update_milestone},
    {"DELETE", "/milestones/{number}", "repo:read", &delete_milestone},
    {"GET", "/issues/{number}/reactions", "repo:read", &list_issue_reactions},
    {"POST", "/issues/{number}/reactions", "repo:read", &create_issue_reaction},
    {"DELETE", "/issues/{number}/reactions/{reaction_id}", "repo:read", &delete_issue_reaction},
    {"GET", "/issues/comments/{comment_id}/reactions", "repo:read", &list_issue_comment_reactions},
    {"POST", "/issues/comments/{comment_id}/reactions", "repo:read",
     &create_issue_comment_reaction},
    {"DELETE", "/issues/comments/{comment_id}/reactions/{reaction_id}", "repo:read",
     &delete_issue_comment_reaction},
    {"GET", "/pulls/comments/{comment_id}/reactions", "repo:read", &list_review_comment_reactions},
    {"POST", "/pulls/comments/{comment_id}/reactions", "repo:read",
     &create_review_comment_reaction},
    {"DELETE", "/pulls/comments/{comment_id}/reactions/{reaction_id}", "repo:read",
     &delete_review_comment_reaction},
};

}  // namespace

void add_issues_routes(Router& router, Services& svc) {
  add_routes(router, svc, kRepo, kIssueRoutes);
}

}  // namespace guts::api
