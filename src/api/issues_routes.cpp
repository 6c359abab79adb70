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

// Answers 404 and returns nullopt when the path's issue does not exist.
std::optional<state::Issue> path_issue(const Request& req, const state::StateView& view,
                                       const Responder& respond) {
  auto n = number_param(req, "number");
  std::optional<state::Issue> x;
  if (n) x = view.issue(repo_context(req).repo.id, *n);
  if (!x) respond(error_response(404, "Not Found"));
  return x;
}

// The fresh JSON of an issue once a transaction applied.
AppliedFn issue_after(Services& svc, const RepoContext& ctx, std::optional<uint64_t> number,
                      int status) {
  return [&svc, repo = ctx.repo, owner = ctx.owner, number, status](const state::TxOutcome& o) {
    Shapes sh(svc, repo, owner);
    auto n = number ? number : sh.view().receipt(o.id);
    auto x = n ? sh.view().issue(repo.id, *n) : std::nullopt;
    if (!x) return error_response(404, "Not Found");
    return json_response(status, sh.issue(*x));
  };
}

std::vector<crypto::PublicKey> keys_of(const state::StateView& view,
                                       const std::vector<std::string>& logins,
                                       std::string* unknown) {
  std::vector<crypto::PublicKey> out;
  for (const auto& l : logins) {
    auto k = user_key(view, l);
    if (!k) {
      *unknown = l;
      return {};
    }
    out.push_back(*k);
  }
  return out;
}

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

void add_issues_routes(Router& router, Services& svc) {
  auto route = [&](const char* method, const std::string& path, Handler h) {
    router.add(method, kRepo + path, "repo:read", std::move(h));
  };

  // ---- issues ----
  route("GET", "/issues", [&svc](Request& req, Responder respond) {
    respond(cached_get(req, svc, [&] { return list_issues(req, svc, false); }));
  });

  route("POST", "/issues", [&svc](Request& req, Responder respond) {
    auto body = parse_body(req, respond, "Issue");
    if (!body) return;
    if (auto bad = check_body(
            *body, "Issue",
            {{"title", BodyField::kStringOrInteger, true}, {"body", BodyField::kString}}))
      return respond(std::move(*bad));
    const auto& ctx = repo_context(req);
    auto view = svc.chain().view();
    state::CreateIssue c;
    c.repo_id = ctx.repo.id;
    try {
      auto t = body->find("title");
      c.title = t->is_string() ? t->get<std::string>() : std::to_string(t->get<int64_t>());
      c.body = string_field(*body, "body").value_or("");
      c.labels = string_list(*body, "labels");
      auto logins = string_list(*body, "assignees");
      if (auto a = string_field(*body, "assignee")) logins.push_back(*a);
      std::string unknown;
      c.assignees = keys_of(view, logins, &unknown);
      if (!unknown.empty())
        return respond(
            validation_failed("Issue", "assignees", "invalid", "'" + unknown + "' is not a user"));
      if (auto m = body->find("milestone"); m != body->end() && !m->is_null()) {
        if (m->is_number_unsigned())
          c.milestone = m->get<uint64_t>();
        else if (m->is_string() && !m->get<std::string>().empty() &&
                 m->get<std::string>().find_first_not_of("0123456789") == std::string::npos)
          c.milestone = std::stoull(m->get<std::string>());
        else
          throw FieldError{"milestone", "integer"};
      }
    } catch (const FieldError& e) {
      return respond(field_type_error(e));
    }
    submit(svc, req, std::move(respond), c, "Issue", issue_after(svc, ctx, std::nullopt, 201));
  });

  route("GET", "/issues/{number}", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto n = number_param(req, "number");
    auto x = n ? sh.view().issue(ctx.repo.id, *n) : std::nullopt;
    if (!x) return respond(error_response(404, "Not Found"));
    respond(cached_get(req, svc, [&] { return get_response(req, sh.issue(*x)); }));
  });

  route("PATCH", "/issues/{number}", [&svc](Request& req, Responder respond) {
    auto body = parse_body(req, respond, "Issue");
    if (!body) return;
    const auto& ctx = repo_context(req);
    auto view = svc.chain().view();
    auto x = path_issue(req, view, respond);
    if (!x) return;
    state::EditIssue e;
    e.repo_id = ctx.repo.id;
    e.number = x->number;
    bool any = false;
    try {
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
          e.state =
              e.state_reason == state::kReasonReopened ? state::kIssueOpen : state::kIssueClosed;
      }
      if (body->contains("labels")) {
        e.labels = string_list(*body, "labels");
        any = true;
      }
      if (body->contains("assignees") || body->contains("assignee")) {
        auto logins = string_list(*body, "assignees");
        if (auto a = string_field(*body, "assignee")) logins.push_back(*a);
        std::string unknown;
        e.assignees = keys_of(view, logins, &unknown);
        if (!unknown.empty())
          return respond(validation_failed("Issue", "assignees", "invalid",
                                           "'" + unknown + "' is not a user"));
        any = true;
      }
      if (auto m = body->find("milestone"); m != body->end()) {
        if (m->is_null())
          e.milestone = 0;
        else if (m->is_number_unsigned())
          e.milestone = m->get<uint64_t>();
        else
          throw FieldError{"milestone", "integer"};
        any = true;
      }
    } catch (const FieldError& fe) {
      return respond(field_type_error(fe));
    }
    if (!any && !e.state) {
      Shapes sh(svc, ctx.repo, ctx.owner);
      return respond(json_response(200, sh.issue(*x)));
    }
    submit(svc, req, std::move(respond), e, "Issue", issue_after(svc, ctx, x->number, 200));
  });

  auto lock = [&svc](bool locked) {
    return [&svc, locked](Request& req, Responder respond) {
      auto body = parse_body(req, respond, "Issue");
      if (!body) return;
      auto x = path_issue(req, svc.chain().view(), respond);
      if (!x) return;
      state::EditIssue e;
      e.repo_id = repo_context(req).repo.id;
      e.number = x->number;
      e.locked = locked;
      try {
        if (locked) e.lock_reason = string_field(*body, "lock_reason").value_or("");
      } catch (const FieldError& fe) {
        return respond(field_type_error(fe));
      }
      submit(svc, req, std::move(respond), e, "Issue", [](const state::TxOutcome&) {
        return Response{204, {}, ""};
      });
    };
  };
  route("PUT", "/issues/{number}/lock", lock(true));
  route("DELETE", "/issues/{number}/lock", lock(false));

  // ---- issue comments ----
  route("GET", "/issues/{number}/comments", [&svc](Request& req, Responder respond) {
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
  });

  route("POST", "/issues/{number}/comments", [&svc](Request& req, Responder respond) {
    auto body = parse_body(req, respond, "IssueComment");
    if (!body) return;
    const auto& ctx = repo_context(req);
    auto x = path_issue(req, svc.chain().view(), respond);
    if (!x) return;
    std::string text;
    try {
      auto b = string_field(*body, "body");
      if (!b) return respond(validation_failed("IssueComment", "body", "missing_field", ""));
      text = *b;
    } catch (const FieldError& fe) {
      return respond(field_type_error(fe));
    }
    submit(svc, req, std::move(respond), state::CreateComment{ctx.repo.id, x->number, text},
           "IssueComment", [&svc, repo = ctx.repo, owner = ctx.owner](const state::TxOutcome& o) {
             Shapes sh(svc, repo, owner);
             auto id = sh.view().receipt(o.id);
             auto c = id ? sh.view().comment(*id) : std::nullopt;
             if (!c) return error_response(404, "Not Found");
             return json_response(201, sh.comment(*c));
           });
  });

  auto comment_of = [&svc](const Request& req,
                           const Responder& respond) -> std::optional<state::Comment> {
    auto id = number_param(req, "comment_id");
    std::optional<state::Comment> c;
    if (id) c = svc.chain().view().comment(*id);
    if (!c || c->repo_id != repo_context(req).repo.id || c->kind != state::kIssueComment) {
      respond(error_response(404, "Not Found"));
      return std::nullopt;
    }
    return c;
  };

  route("GET", "/issues/comments/{comment_id}",
        [&svc, comment_of](Request& req, Responder respond) {
          auto c = comment_of(req, respond);
          if (!c) return;
          const auto& ctx = repo_context(req);
          Shapes sh(svc, ctx.repo, ctx.owner);
          respond(get_response(req, sh.comment(*c)));
        });

  route("PATCH", "/issues/comments/{comment_id}",
        [&svc, comment_of](Request& req, Responder respond) {
          auto body = parse_body(req, respond, "IssueComment");
          if (!body) return;
          auto c = comment_of(req, respond);
          if (!c) return;
          const auto& ctx = repo_context(req);
          std::string text;
          try {
            auto b = string_field(*body, "body");
            if (!b) return respond(validation_failed("IssueComment", "body", "missing_field", ""));
            text = *b;
          } catch (const FieldError& fe) {
            return respond(field_type_error(fe));
          }
          submit(svc, req, std::move(respond), state::EditComment{ctx.repo.id, c->id, text},
                 "IssueComment",
                 [&svc, repo = ctx.repo, owner = ctx.owner, id = c->id](const state::TxOutcome&) {
                   Shapes sh(svc, repo, owner);
                   auto c = sh.view().comment(id);
                   if (!c) return error_response(404, "Not Found");
                   return json_response(200, sh.comment(*c));
                 });
        });

  route("DELETE", "/issues/comments/{comment_id}",
        [&svc, comment_of](Request& req, Responder respond) {
          auto c = comment_of(req, respond);
          if (!c) return;
          submit(svc, req, std::move(respond),
                 state::DeleteComment{repo_context(req).repo.id, c->id}, "IssueComment",
                 [](const state::TxOutcome&) {
                   return Response{204, {}, ""};
                 });
        });

  // ---- labels of an issue ----
  auto issue_labels = [&svc](const RepoContext& ctx, uint64_t number) {
    return [&svc, repo = ctx.repo, owner = ctx.owner, number](const state::TxOutcome&) {
      Shapes sh(svc, repo, owner);
      auto x = sh.view().issue(repo.id, number);
      if (!x) return error_response(404, "Not Found");
      return json_response(200, sh.labels_of(*x));
    };
  };
  route("GET", "/issues/{number}/labels", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto x = path_issue(req, sh.view(), respond);
    if (x) respond(page_response(req, svc, sh.labels_of(*x)));
  });
  auto set_labels = [&svc, issue_labels](bool replace) {
    return [&svc, issue_labels, replace](Request& req, Responder respond) {
      auto body = parse_body(req, respond, "Label");
      if (!body) return;
      const auto& ctx = repo_context(req);
      auto x = path_issue(req, svc.chain().view(), respond);
      if (!x) return;
      state::EditIssue e;
      e.repo_id = ctx.repo.id;
      e.number = x->number;
      try {
        auto names = string_list(*body, "labels");
        if (replace)
          e.labels = names;
        else
          e.labels_add = names;
      } catch (const FieldError& fe) {
        return respond(field_type_error(fe));
      }
      submit(svc, req, std::move(respond), e, "Label", issue_labels(ctx, x->number));
    };
  };
  route("POST", "/issues/{number}/labels", set_labels(false));
  route("PUT", "/issues/{number}/labels", set_labels(true));
  route("DELETE", "/issues/{number}/labels", [&svc](Request& req, Responder respond) {
    auto x = path_issue(req, svc.chain().view(), respond);
    if (!x) return;
    state::EditIssue e;
    e.repo_id = repo_context(req).repo.id;
    e.number = x->number;
    e.labels = std::vector<std::string>{};
    submit(svc, req, std::move(respond), e, "Label", [](const state::TxOutcome&) {
      return Response{204, {}, ""};
    });
  });
  route("DELETE", "/issues/{number}/labels/{name}",
        [&svc, issue_labels](Request& req, Responder respond) {
          const auto& ctx = repo_context(req);
          auto x = path_issue(req, svc.chain().view(), respond);
          if (!x) return;
          state::EditIssue e;
          e.repo_id = ctx.repo.id;
          e.number = x->number;
          e.labels_remove = {req.param("name")};
          submit(svc, req, std::move(respond), e, "Label", issue_labels(ctx, x->number));
        });

  // ---- repository labels ----
  route("GET", "/labels", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    json arr = json::array();
    for (const auto& l : sh.view().labels(ctx.repo.id)) arr.push_back(sh.label(l));
    respond(page_response(req, svc, arr));
  });
  auto label_after = [&svc](const RepoContext& ctx, std::optional<std::string> name, int status) {
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
  };
  auto strip_hash = [](std::optional<std::string> c) {
    if (c && !c->empty() && c->front() == '#') c->erase(0, 1);
    return c;
  };
  route("POST", "/labels", [&svc, label_after, strip_hash](Request& req, Responder respond) {
    auto body = parse_body(req, respond, "Label");
    if (!body) return;
    const auto& ctx = repo_context(req);
    state::SetLabel s;
    s.repo_id = ctx.repo.id;
    s.op = state::kLabelCreate;
    try {
      auto name = string_field(*body, "name");
      if (!name) return respond(validation_failed("Label", "name", "missing_field", ""));
      s.name = *name;
      s.color = strip_hash(string_field(*body, "color"));
      s.description = string_field(*body, "description");
    } catch (const FieldError& fe) {
      return respond(field_type_error(fe));
    }
    submit(svc, req, std::move(respond), s, "Label", label_after(ctx, std::nullopt, 201));
  });
  route("GET", "/labels/{name}", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto l = sh.view().label_by_name(ctx.repo.id, req.param("name"));
    if (!l) return respond(error_response(404, "Not Found"));
    respond(get_response(req, sh.label(*l)));
  });
  route("PATCH", "/labels/{name}",
        [&svc, label_after, strip_hash](Request& req, Responder respond) {
          auto body = parse_body(req, respond, "Label");
          if (!body) return;
          const auto& ctx = repo_context(req);
          state::SetLabel s;
          s.repo_id = ctx.repo.id;
          s.op = state::kLabelUpdate;
          s.name = req.param("name");
          try {
            s.new_name = string_field(*body, "new_name");
            if (!s.new_name) s.new_name = string_field(*body, "name");
            s.color = strip_hash(string_field(*body, "color"));
            s.description = string_field(*body, "description");
          } catch (const FieldError& fe) {
            return respond(field_type_error(fe));
          }
          submit(svc, req, std::move(respond), s, "Label",
                 label_after(ctx, s.new_name.value_or(s.name), 200));
        });
  route("DELETE", "/labels/{name}", [&svc](Request& req, Responder respond) {
    state::SetLabel s;
    s.repo_id = repo_context(req).repo.id;
    s.op = state::kLabelDelete;
    s.name = req.param("name");
    submit(svc, req, std::move(respond), s, "Label", [](const state::TxOutcome&) {
      return Response{204, {}, ""};
    });
  });

  // ---- assignees ----
  route("GET", "/assignees", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    json arr = json::array({sh.user(ctx.repo.owner)});
    for (const auto& c : sh.view().collaborators(ctx.repo.id))
      if (c.permission >= static_cast<uint8_t>(state::Permission::kTriage))
        arr.push_back(sh.user(c.user));
    respond(page_response(req, svc, arr));
  });
  route("GET", "/assignees/{username}", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    auto view = svc.chain().view();
    auto k = user_key(view, req.param("username"));
    if (!k || view.permission(ctx.repo, *k) < state::Permission::kTriage)
      return respond(error_response(404, "Not Found"));
    respond(Response{204, {}, ""});
  });
  auto assignees = [&svc](bool add) {
    return [&svc, add](Request& req, Responder respond) {
      auto body = parse_body(req, respond, "Issue");
      if (!body) return;
      const auto& ctx = repo_context(req);
      auto view = svc.chain().view();
      auto x = path_issue(req, view, respond);
      if (!x) return;
      state::EditIssue e;
      e.repo_id = ctx.repo.id;
      e.number = x->number;
      std::string unknown;
      try {
        auto keys = keys_of(view, string_list(*body, "assignees"), &unknown);
        (add ? e.assignees_add : e.assignees_remove) = keys;
      } catch (const FieldError& fe) {
        return respond(field_type_error(fe));
      }
      if (!unknown.empty())
        return respond(
            validation_failed("Issue", "assignees", "invalid", "'" + unknown + "' is not a user"));
      submit(svc, req, std::move(respond), e, "Issue",
             issue_after(svc, ctx, x->number, add ? 201 : 200));
    };
  };
  route("POST", "/issues/{number}/assignees", assignees(true));
  route("DELETE", "/issues/{number}/assignees", assignees(false));

  // ---- milestones ----
  route("GET", "/milestones", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    char st = state_filter(req);
    auto ms = sh.view().milestones(ctx.repo.id);
    bool desc = req.query_param("direction").value_or("asc") == "desc";
    auto sort = req.query_param("sort").value_or("due_on");
    std::stable_sort(
        ms.begin(), ms.end(), [&](const state::Milestone& a, const state::Milestone& b) {
          auto ka =
              sort == "completeness"
                  ? a.closed_issues * 1000 / std::max<uint64_t>(1, a.open_issues + a.closed_issues)
                  : (a.due_on_ms ? a.due_on_ms : UINT64_MAX);
          auto kb =
              sort == "completeness"
                  ? b.closed_issues * 1000 / std::max<uint64_t>(1, b.open_issues + b.closed_issues)
                  : (b.due_on_ms ? b.due_on_ms : UINT64_MAX);
          return desc ? ka > kb : ka < kb;
        });
    json arr = json::array();
    for (const auto& m : ms)
      if (st == '*' || (st == 'o') == (m.state == state::kIssueOpen))
        arr.push_back(sh.milestone(m));
    respond(page_response(req, svc, arr));
  });
  auto milestone_body = [](const nlohmann::json& body,
                           state::SetMilestone& s) -> std::optional<Response> {
    try {
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
            return validation_failed("Milestone", "due_on", "invalid",
                                     "must be an ISO 8601 timestamp");
          s.due_on_ms = *t;
        }
      }
    } catch (const FieldError& fe) {
      return field_type_error(fe);
    }
    return std::nullopt;
  };
  auto milestone_after = [&svc](const RepoContext& ctx, std::optional<uint64_t> number,
                                int status) {
    return [&svc, repo = ctx.repo, owner = ctx.owner, number, status](const state::TxOutcome& o) {
      Shapes sh(svc, repo, owner);
      auto n = number ? number : sh.view().receipt(o.id);
      auto m = n ? sh.view().milestone(repo.id, *n) : std::nullopt;
      if (!m) return error_response(404, "Not Found");
      return json_response(status, sh.milestone(*m));
    };
  };
  route("POST", "/milestones",
        [&svc, milestone_body, milestone_after](Request& req, Responder respond) {
          auto body = parse_body(req, respond, "Milestone");
          if (!body) return;
          const auto& ctx = repo_context(req);
          state::SetMilestone s;
          s.repo_id = ctx.repo.id;
          s.op = state::kMilestoneCreate;
          if (auto err = milestone_body(*body, s)) return respond(*err);
          if (!s.title)
            return respond(validation_failed("Milestone", "title", "missing_field", ""));
          submit(svc, req, std::move(respond), s, "Milestone",
                 milestone_after(ctx, std::nullopt, 201));
        });
  route("GET", "/milestones/{number}", [&svc](Request& req, Responder respond) {
    const auto& ctx = repo_context(req);
    Shapes sh(svc, ctx.repo, ctx.owner);
    auto n = number_param(req, "number");
    auto m = n ? sh.view().milestone(ctx.repo.id, *n) : std::nullopt;
    if (!m) return respond(error_response(404, "Not Found"));
    respond(get_response(req, sh.milestone(*m)));
  });
  route("PATCH", "/milestones/{number}",
        [&svc, milestone_body, milestone_after](Request& req, Responder respond) {
          auto body = parse_body(req, respond, "Milestone");
          if (!body) return;
          const auto& ctx = repo_context(req);
          auto n = number_param(req, "number");
          if (!n) return respond(error_response(404, "Not Found"));
          state::SetMilestone s;
          s.repo_id = ctx.repo.id;
          s.op = state::kMilestoneUpdate;
          s.number = *n;
          if (auto err = milestone_body(*body, s)) return respond(*err);
          submit(svc, req, std::move(respond), s, "Milestone", milestone_after(ctx, *n, 200));
        });
  route("DELETE", "/milestones/{number}", [&svc](Request& req, Responder respond) {
    auto n = number_param(req, "number");
    if (!n) return respond(error_response(404, "Not Found"));
    state::SetMilestone s;
    s.repo_id = repo_context(req).repo.id;
    s.op = state::kMilestoneDelete;
    s.number = *n;
    submit(svc, req, std::move(respond), s, "Milestone", [](const state::TxOutcome&) {
      return Response{204, {}, ""};
    });
  });

  // ---- reactions (issues, issue comments, review comments) ----
  struct Target {
    const char* path;
    const char* param;
    uint8_t type;
    uint8_t comment_kind;  // for comments
  };
  for (Target t : {Target{"/issues/{number}/reactions", "number", state::kReactIssue, 0},
                   Target{"/issues/comments/{comment_id}/reactions", "comment_id",
                          state::kReactComment, state::kIssueComment},
                   Target{"/pulls/comments/{comment_id}/reactions", "comment_id",
                          state::kReactComment, state::kReviewCommentKind}}) {
    // The target id when it exists in this repository (404 otherwise).
    auto target = [&svc, t](const Request& req,
                            const Responder& respond) -> std::optional<uint64_t> {
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
    };
    route("GET", t.path, [&svc, t, target](Request& req, Responder respond) {
      auto id = target(req, respond);
      if (!id) return;
      const auto& ctx = repo_context(req);
      Shapes sh(svc, ctx.repo, ctx.owner);
      auto content = req.query_param("content");
      json arr = json::array();
      for (const auto& r : sh.view().reactions(ctx.repo.id, t.type, *id))
        if (!content || r.content == *content) arr.push_back(sh.reaction(r));
      respond(page_response(req, svc, arr));
    });
    route("POST", t.path, [&svc, t, target](Request& req, Responder respond) {
      auto body = parse_body(req, respond, "Reaction");
      if (!body) return;
      auto id = target(req, respond);
      if (!id) return;
      const auto& ctx = repo_context(req);
      std::string content;
      try {
        auto c = string_field(*body, "content");
        if (!c) return respond(validation_failed("Reaction", "content", "missing_field", ""));
        content = *c;
      } catch (const FieldError& fe) {
        return respond(field_type_error(fe));
      }
      bool existed = false;
      if (auto me = caller(req))
        for (const auto& r : svc.chain().view().reactions(ctx.repo.id, t.type, *id))
          existed |= r.user == *me && r.content == content;
      submit(svc, req, std::move(respond),
             state::SetReaction{ctx.repo.id, t.type, *id, content, false}, "Reaction",
             [&svc, repo = ctx.repo, owner = ctx.owner, t, id = *id,
              existed](const state::TxOutcome& o) {
               Shapes sh(svc, repo, owner);
               auto rid = sh.view().receipt(o.id);
               for (const auto& r : sh.view().reactions(repo.id, t.type, id))
                 if (rid && r.id == *rid) return json_response(existed ? 200 : 201, sh.reaction(r));
               return error_response(404, "Not Found");
             });
    });
    route("DELETE", std::string(t.path) + "/{reaction_id}",
          [&svc, t, target](Request& req, Responder respond) {
            auto id = target(req, respond);
            if (!id) return;
            const auto& ctx = repo_context(req);
            auto rid = number_param(req, "reaction_id");
            std::optional<state::Reaction> found;
            for (const auto& r : svc.chain().view().reactions(ctx.repo.id, t.type, *id))
              if (rid && r.id == *rid) found = r;
            if (!found) return respond(error_response(404, "Not Found"));
            if (auto me = caller(req); !me || *me != found->user)
              return respond(
                  error_response(me ? 403 : 401, me ? "You can only delete your own reactions"
                                                    : "Requires authentication"));
            submit(svc, req, std::move(respond),
                   state::SetReaction{ctx.repo.id, t.type, *id, found->content, true}, "Reaction",
                   [](const state::TxOutcome&) {
                     return Response{204, {}, ""};
                   });
          });
  }
}

}  // namespace guts::api
