// guts migrate --from URL: copies a repository from any git remote and, when the source serves a
// GitHub-REST-shaped API, its labels, milestones, issues, pull requests (with review comments),
// comments and releases (with assets), keeping issue and pull request numbers (docs/migrate.md).
//
// Resumable and idempotent: a state file (default
// <home>/migrate/HOST_OWNER_REPO-to-OWNER_NAME.json) records the next number to copy; every
// migrated item and comment starts with an origin line naming its source URL, so a re-run
// recognizes what the target already holds (also an item whose creation was interrupted before the
// state file was written) and completes it instead of duplicating it.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/status.h"
#include "crypto/base64.h"
#include "git/process.h"

namespace guts::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kOriginPrefix = "> Migrated from ";
constexpr size_t kMaxPages = 10000;  // 1,000,000 items of 100 per page: a bound, not a goal
// Bounds on what the (untrusted) source may send: one JSON response, one release asset (held in
// memory between download and upload).
constexpr size_t kMaxJsonBytes = size_t{64} << 20;
constexpr size_t kMaxAssetBytes = size_t{1} << 30;

struct SourceUrl {
  std::string origin;  // scheme://host[:port]
  std::string host;    // host[:port]
  std::string owner, repo;
  std::string git_url;  // what git clones
};

SourceUrl parse_from(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.compare(0, scheme, "https") != 0 && url.compare(0, scheme, "http") != 0))
    throw Error(Code::kInvalidArgument,
                "--from must be an http(s) URL like https://HOST/OWNER/REPO, got '" + url + "'");
  auto rest = url.substr(scheme + 3);
  auto slash = rest.find('/');
  SourceUrl s;
  if (slash == std::string::npos || slash == 0)
    throw Error(Code::kInvalidArgument, "--from has no OWNER/REPO: '" + url + "'");
  s.host = rest.substr(0, slash);
  s.origin = url.substr(0, scheme + 3) + s.host;
  auto path = rest.substr(slash + 1);
  auto last = path.rfind('/');
  if (last == std::string::npos || last == 0 || last + 1 == path.size())
    throw Error(Code::kInvalidArgument, "--from has no OWNER/REPO: '" + url + "'");
  s.repo = path.substr(last + 1);
  auto prev = path.rfind('/', last - 1);
  s.owner = path.substr(prev == std::string::npos ? 0 : prev + 1,
                        last - (prev == std::string::npos ? 0 : prev + 1));
  if (s.repo.size() > 4 && s.repo.compare(s.repo.size() - 4, 4, ".git") == 0)
    s.repo.resize(s.repo.size() - 4);
  s.git_url = url.size() > 4 && url.compare(url.size() - 4, 4, ".git") == 0 ? url : url + ".git";
  return s;
}

std::string str(const json& j, const char* key, std::string fallback = "") {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

uint64_t num(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// The author's login: "user" (issues, pull requests, comments) or "author" (releases); GitHub
// shows a deleted account as "ghost".
std::string login_of(const json& j) {
  for (const char* k : {"user", "author"})
    if (j.is_object() && j.contains(k) && j[k].is_object()) return str(j[k], "login", "ghost");
  return "ghost";
}

// The source URL an origin line names, or "".
std::string origin_of(const json& j) {
  auto body = str(j, "body");
  if (body.rfind(kOriginPrefix, 0) != 0) return {};
  auto start = std::string_view(kOriginPrefix).size();
  auto end = body.find_first_of(" \n", start);
  return body.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The source's REST API (GitHub's shape), read-only, with clear errors when it stops answering.
class SourceApi {
 public:
  SourceApi(std::string base, std::string token) : base_(std::move(base)), client_(base_) {
    client_.set_timeout(std::chrono::seconds(60));
    client_.set_header("Accept", "application/vnd.github+json");
    client_.set_max_response_bytes(kMaxJsonBytes);
    if (!token.empty()) client_.set_token(std::move(token));
  }
  const std::string& base() const { return base_; }

  // 200: the body; 404: null; anything else (or no answer): Error naming the request.
  json get(const std::string& path) {
    HttpResult r;
    try {
      r = client_.get(path);
    } catch (const Error& e) {
      if (e.code() == Code::kTooLarge) throw;
      throw stopped(path, e.what());
    }
    if (r.status == 404) return nullptr;
    if (r.status >= 500 || r.status == 429) throw stopped(path, "HTTP " + std::to_string(r.status));
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || j.is_discarded())
      throw Error(Code::kInvalidArgument, "source " + base_ + path + ": HTTP " +
                                              std::to_string(r.status) +
                                              (j.is_discarded() ? " (not JSON)" : ""));
    return j;
  }

  // Every page of a list (per_page=100 until a short page).
  json list(const std::string& path) {
    json all = json::array();
    const char* sep = path.find('?') == std::string::npos ? "?" : "&";
    for (size_t page = 1; page < kMaxPages; ++page) {
      auto r = get(path + sep + "per_page=100&page=" + std::to_string(page));
      if (!r.is_array()) break;
      for (auto& x : r) all.push_back(std::move(x));
      if (r.size() < 100) break;
    }
    return all;
  }

  // An asset's bytes: the API route with Accept: application/octet-stream (GitHub answers
  // with a redirect to its storage, followed here once).
  std::string asset(const std::string& path) {
    HttpResult r;
    try {
      client_.set_header("Accept", "application/octet-stream");
      client_.set_max_response_bytes(kMaxAssetBytes);
      client_.set_timeout(std::chrono::milliseconds(0));
      r = client_.get(path);
      client_.set_header("Accept", "application/vnd.github+json");
      client_.set_max_response_bytes(kMaxJsonBytes);
      client_.set_timeout(std::chrono::seconds(60));
      if (r.status == 301 || r.status == 302 || r.status == 307) {
        HttpClient other(r.header("location"));
        other.set_timeout(std::chrono::milliseconds(0));
        other.set_max_response_bytes(kMaxAssetBytes);
        r = other.get("");
      }
    } catch (const Error& e) {
      if (e.code() == Code::kTooLarge) throw;
      throw stopped(path, e.what());
    }
    if (r.status != 200) throw stopped(path, "HTTP " + std::to_string(r.status));
    return r.body;
  }

 private:
  Error stopped(const std::string& path, const std::string& why) const {
    return Error(Code::kUnavailable, "the source stopped answering (GET " + base_ + path + ": " +
                                         why +
                                         "); nothing is half-imported: run the same "
                                         "command again to resume");
  }
  std::string base_;
  HttpClient client_;
};

// Where a GitHub-shaped API for `src` answers: --api when given, else
// scheme://HOST/api/v3 (GitHub Enterprise, Guts), https://api.github.com for github.com, else
// scheme://api.HOST. Empty when none answers GET /repos/OWNER/REPO with a repository.
std::optional<SourceApi> detect_api(const SourceUrl& src, const std::string& api_flag,
                                    const std::string& token, json* repo) {
  std::vector<std::string> candidates;
  if (!api_flag.empty()) {
    candidates.push_back(api_flag);
  } else {
    candidates.push_back(src.origin + "/api/v3");
    if (src.host == "github.com" || src.host == "www.github.com")
      candidates.push_back("https://api.github.com");
    else
      candidates.push_back(src.origin.substr(0, src.origin.find("://") + 3) + "api." + src.host);
  }
  for (auto base : candidates) {
    while (!base.empty() && base.back() == '/') base.pop_back();
    try {
      SourceApi api(base, token);
      auto r = api.get("/repos/" + src.owner + "/" + src.repo);
      if (r.is_object() && r.contains("full_name")) {
        *repo = r;
        return api;
      }
    } catch (const Error& e) {
      // The source host itself not answering is an error (git would fail next); a missing
      // api.HOST is not.
      if (!api_flag.empty() || (base == candidates.front() && e.code() == Code::kUnavailable))
        throw;
    }
  }
  if (!api_flag.empty())
    throw Error(Code::kNotFound,
                "no repository at " + api_flag + "/repos/" + src.owner + "/" + src.repo);
  return std::nullopt;
}

// Runs git; `header` (an Authorization header with a token) goes through the environment
// (GIT_CONFIG_COUNT, git >= 2.31), not the command line other users can read.
std::string git_checked(const std::vector<std::string>& args, const std::string& header = "") {
  git::GitOptions o;
  o.timeout = std::chrono::hours(2);
  if (!header.empty())
    o.env = {{"GIT_CONFIG_COUNT", "1"},
             {"GIT_CONFIG_KEY_0", "http.extraHeader"},
             {"GIT_CONFIG_VALUE_0", header}};
  auto r = git::run_git(args, o);
  if (!r.ok()) {
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw Error(Code::kUnavailable, "git " + args[args[0] == "--git-dir" ? 2 : 0] + ": " + err +
                                        "; run the same command again to resume");
  }
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Migration {
 public:
  Migration(Context& c, SourceUrl src, std::string to, fs::path state_path, std::string token,
            std::string api_flag)
      : c_(c),
        src_(std::move(src)),
        to_(std::move(to)),
        state_path_(std::move(state_path)),
        token_(std::move(token)),
        api_flag_(std::move(api_flag)) {}

  void run() {
    load_state();
    api_ = detect_api(src_, api_flag_, token_, &src_repo_);
    note(api_ ? "source API: " + api_->base() : "no GitHub-shaped API found: copying git only");
    ensure_target_repo();
    copy_git();
    if (api_) {
      copy_labels();
      copy_milestones();
      copy_items();
      copy_releases();
    }
    state_["complete"] = true;
    save_state();
    c_.print(state_, "Migrated " + src_.origin + "/" + src_.owner + "/" + src_.repo + " to " + to_ +
                         " (state: " + state_path_.string() + ")");
  }

 private:
  void note(const std::string& s) {
    if (!c_.options().json) std::cerr << "migrate: " << s << "\n";
  }

  void load_state() {
    if (fs::exists(state_path_)) {
      auto data = read_file(state_path_, 64 << 20);
      state_ = json::parse(std::string(data.begin(), data.end()), nullptr, false);
      if (!state_.is_object())
        throw Error(Code::kInvalidArgument, "malformed state file " + state_path_.string());
      if (str(state_, "to") != to_)
        throw Error(Code::kInvalidArgument, "state file " + state_path_.string() +
                                                " belongs to a migration to " + str(state_, "to") +
                                                ", not " + to_);
    } else {
      state_ = json{{"from", src_.origin + "/" + src_.owner + "/" + src_.repo},
                    {"to", to_},
                    {"next_number", 1},
                    {"authors", json::object()},
                    {"complete", false}};
    }
    state_["complete"] = false;
  }

  void save_state() {
    fs::create_directories(state_path_.parent_path());
    atomic_write_file(state_path_, as_bytes(state_.dump(2) + "\n"), 0600);
  }

  // The target's REST path for this repository.
  std::string tp(const std::string& suffix) const { return "/api/v3/repos/" + to_ + suffix; }
  std::string sp(const std::string& suffix) const {
    return "/repos/" + src_.owner + "/" + src_.repo + suffix;
  }

  // The origin line of a migrated item, release or comment. Authors are placeholder identities
  // "HOST/login" (recorded in the state file's "authors"); docs/migrate.md.
  std::string origin_line(const json& x, const std::string& what) {
    auto login = login_of(x);
    state_["authors"][login] = src_.host + "/" + login;
    std::string url = str(x, "html_url", str(x, "url"));
    std::string line = kOriginPrefix + url + " · " + what + " by @" + login + " (" + src_.host +
                       ") on " + str(x, "created_at");
    return line;
  }

  std::string with_origin(const json& x, const std::string& what, const std::string& extra = "") {
    std::string body = str(x, "body");
    return origin_line(x, what) + extra + "\n\n" + body;
  }

  void ensure_target_repo() {
    auto slash = to_.find('/');
    auto owner = to_.substr(0, slash), name = to_.substr(slash + 1);
    auto r = c_.client().get(tp(""));
    if (r.status == 200) {
      target_repo_ = c_.expect(r);
      return;
    }
    json me = c_.expect(c_.client().get("/api/v3/user"));
    json body{{"name", name},
              {"description", str(src_repo_, "description")},
              {"private", src_repo_.is_object() && src_repo_.value("private", false)}};
    if (auto b = str(src_repo_, "default_branch"); !b.empty()) body["default_branch"] = b;
    std::string path =
        str(me, "login") == owner ? "/api/v3/user/repos" : "/api/v3/orgs/" + owner + "/repos";
    target_repo_ = c_.expect(c_.client().post(path, body.dump()), {201});
    note("created " + to_);
  }

  // Stock git: clone --mirror (or fetch into the existing mirror), then push branches and tags
  // through the node's normal push path.
  void copy_git() {
    mirror_ = state_path_.parent_path() / (state_path_.stem().string() + ".git");
    std::string auth = token_.empty() ? ""
                                      : "Authorization: Basic " +
                                            crypto::base64_encode("x-access-token:" + token_);
    if (!fs::exists(mirror_ / "HEAD")) {
      std::error_code ec;
      fs::remove_all(mirror_, ec);
      fs::create_directories(mirror_.parent_path());
      git_checked({"clone", "--mirror", "--quiet", src_.git_url, mirror_.string()}, auth);
    } else {
      git_checked({"--git-dir", mirror_.string(), "remote", "update", "--prune"}, auth);
    }
    if (git::run_git({"--git-dir", mirror_.string(), "for-each-ref", "--count=1"}).out.empty()) {
      note("the source repository is empty");
      return;
    }
    push({"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"});
    note("git refs pushed");
  }

  void push(const std::vector<std::string>& refspecs) {
    auto login = c_.login();
    if (!login || !login->contains("token"))
      throw Error(Code::kUnauthenticated,
                  "not logged in to " + c_.node_url() + ": run 'guts auth login' first");
    std::string user = login->value("username", "guts");
    std::string url = c_.node_url() + "/" + to_ + ".git";
    std::vector<std::string> a{"--git-dir", mirror_.string()};
    if (const char* ca = std::getenv("GUTS_CA_FILE"); ca && *ca)
      a.insert(a.end(), {"-c", std::string("http.sslCAInfo=") + ca});
    a.insert(a.end(), {"push", "--quiet", url});
    a.insert(a.end(), refspecs.begin(), refspecs.end());
    git_checked(a, "Authorization: Basic " +
                       crypto::base64_encode(user + ":" + (*login)["token"].get<std::string>()));
  }

  void copy_labels() {
    std::set<std::string> have;
    for (const auto& l : c_.expect(c_.client().get(tp("/labels?per_page=100"))))
      have.insert(str(l, "name"));
    for (const auto& l : api_->list(sp("/labels"))) {
      if (have.count(str(l, "name"))) continue;
      json body{{"name", str(l, "name")}, {"color", str(l, "color", "ededed")}};
      if (auto d = str(l, "description"); !d.empty()) body["description"] = d;
      c_.expect(c_.client().post(tp("/labels"), body.dump()), {201});
    }
  }

  void copy_milestones() {
    std::map<std::string, uint64_t> have;  // title -> target number
    for (const auto& m : c_.expect(c_.client().get(tp("/milestones?state=all&per_page=100"))))
      have[str(m, "title")] = num(m, "number");
    auto src = api_->list(sp("/milestones?state=all"));
    std::sort(src.begin(), src.end(),
              [](const json& a, const json& b) { return num(a, "number") < num(b, "number"); });
    for (const auto& m : src) {
      auto title = str(m, "title");
      if (!have.count(title)) {
        json body{{"title", title}, {"description", str(m, "description")}};
        if (auto d = str(m, "due_on"); !d.empty()) body["due_on"] = d;
        auto r = c_.expect(c_.client().post(tp("/milestones"), body.dump()), {201});
        have[title] = num(r, "number");
        if (str(m, "state") == "closed")
          c_.expect(c_.client().patch(tp("/milestones/" + std::to_string(have[title])),
                                      json{{"state", "closed"}}.dump()));
      }
      milestones_[num(m, "number")] = have[title];
    }
  }

  json labels_and_milestone(const json& x) {
    json body = json::object();
    json labels = json::array();
    if (x.contains("labels") && x["labels"].is_array())
      for (const auto& l : x["labels"]) labels.push_back(str(l, "name"));
    body["labels"] = labels;
    if (x.contains("milestone") && x["milestone"].is_object()) {
      auto it = milestones_.find(num(x["milestone"], "number"));
      if (it != milestones_.end()) body["milestone"] = it->second;
    }
    return body;
  }

  void copy_items() {
    std::map<uint64_t, json> items;  // number -> issue or pull request (GitHub's issue shape)
    std::set<uint64_t> pulls;
    for (auto& i : api_->list(sp("/issues?state=all&sort=created&direction=asc"))) {
      const uint64_t n = num(i, "number");
      if (n == 0) throw Error(Code::kInvalidArgument, "the source listed an issue without number");
      if (i.contains("pull_request")) pulls.insert(n);
      items[n] = std::move(i);
    }
    for (auto& p : api_->list(sp("/pulls?state=all&sort=created&direction=asc"))) {
      const uint64_t n = num(p, "number");
      if (n == 0) continue;
      pulls.insert(n);
      if (!items.count(n)) items[n] = std::move(p);
    }
    uint64_t last = items.empty() ? 0 : items.rbegin()->first;
    for (uint64_t n = state_["next_number"].get<uint64_t>(); n <= last; ++n) {
      auto it = items.find(n);
      copy_item(n, it == items.end() ? nullptr : it->second, pulls.count(n) > 0);
      state_["next_number"] = n + 1;
      save_state();
    }
    note("issues and pull requests copied up to #" + std::to_string(last));
  }

  std::string expected_origin(uint64_t n, const json& x) const {
    if (x.is_null())
      return src_.origin + "/" + src_.owner + "/" + src_.repo + "/issues/" + std::to_string(n);
    return str(x, "html_url", str(x, "url"));
  }

  void copy_item(uint64_t n, const json& x, bool is_pull) {
    const std::string num_s = std::to_string(n);
    // Everything the source holds about the item is read before the target is touched: a
    // source that stops answering leaves no half-copied item.
    json comments = json::array(), reviews = json::array(), pull;
    if (!x.is_null()) comments = api_->list(sp("/issues/" + num_s + "/comments"));
    if (is_pull) {
      reviews = api_->list(sp("/pulls/" + num_s + "/comments"));
      pull = api_->get(sp("/pulls/" + num_s));
    }
    if (!pull.is_object()) pull = x;
    auto existing = c_.client().get(tp("/issues/" + num_s));
    bool as_pull = is_pull;
    if (existing.status == 404) {
      json created;
      if (x.is_null()) {
        json body{{"title", "Missing in source: #" + num_s},
                  {"body", kOriginPrefix + expected_origin(n, x) +
                               " · number not present in the source (deleted or transferred); "
                               "this closed issue keeps the numbering aligned"}};
        created = c_.expect(c_.client().post(tp("/issues"), body.dump()), {201});
      } else if (is_pull) {
        created = create_pull(n, x, pull, &as_pull);
      } else {
        json body = labels_and_milestone(x);
        body["title"] = str(x, "title");
        body["body"] = with_origin(x, "opened");
        created = c_.expect(c_.client().post(tp("/issues"), body.dump()), {201});
      }
      if (num(created, "number") != n)
        throw Error(Code::kConflict,
                    "the target gave number #" + std::to_string(num(created, "number")) +
                        " instead of #" + num_s + ": " + to_ +
                        " already had issues or pull requests that are not from this migration");
    } else {
      auto t = c_.expect(existing);
      if (origin_of(t) != expected_origin(n, x))
        throw Error(Code::kConflict, to_ + "#" + num_s +
                                         " exists and is not from this migration (its origin: '" +
                                         origin_of(t) + "')");
      as_pull = t.contains("pull_request");
    }
    if (x.is_null()) {
      close(n, false, "not_planned");
      return;
    }
    if (as_pull)
      c_.expect(c_.client().patch(tp("/issues/" + num_s), labels_and_milestone(x).dump()));
    copy_comments(n, comments, false, as_pull);
    copy_comments(n, reviews, true, as_pull);
    if (str(x, "state") == "closed") close(n, as_pull, str(x, "state_reason", "completed"));
  }

  void close(uint64_t n, bool as_pull, const std::string& reason) {
    const std::string path = (as_pull ? "/pulls/" : "/issues/") + std::to_string(n);
    auto t = c_.expect(c_.client().get(tp(path)));
    if (str(t, "state") == "closed") return;
    json body{{"state", "closed"}};
    if (!as_pull) body["state_reason"] = reason == "not_planned" ? reason : "completed";
    c_.expect(c_.client().patch(tp(path), body.dump()));
  }

  // A pull request: its head (and, when closed, its base) at the source's commits, pushed as
  // branches migrated/pr-N/head and migrated/pr-N/base when the source's branches are gone or
  // have moved. When the node cannot represent it (no commits between), an issue keeps the
  // number and says so.
  json create_pull(uint64_t n, const json& item, json p, bool* as_pull) {
    const std::string num_s = std::to_string(n);
    // The origin is the URL the issue list gives (what re-runs compare with).
    p["html_url"] = expected_origin(n, item);
    std::string head_sha = p.contains("head") ? str(p["head"], "sha") : "";
    std::string base_sha = p.contains("base") ? str(p["base"], "sha") : "";
    std::string head_ref = p.contains("head") ? str(p["head"], "ref") : "";
    std::string base_ref = p.contains("base") ? str(p["base"], "ref") : "";
    bool open = str(p, "state") == "open";
    std::string extra;
    if (p.value("merged", false) || !str(p, "merged_at").empty())
      extra = " · merged on " + str(p, "merged_at");
    auto has = [&](const std::string& sha) {
      return !sha.empty() &&
             git::run_git({"--git-dir", mirror_.string(), "cat-file", "-e", sha + "^{commit}"})
                 .ok();
    };
    auto at = [&](const std::string& ref) {
      auto r = git::run_git(
          {"--git-dir", mirror_.string(), "rev-parse", "--verify", "--quiet", "refs/heads/" + ref});
      std::string out = r.out;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      return r.ok() ? out : std::string();
    };
    json body = labels_and_milestone(item);
    body.erase("labels");
    body.erase("milestone");
    body["title"] = str(p, "title");
    if (has(head_sha) && (open || has(base_sha))) {
      std::vector<std::string> refspecs;
      std::string head = head_ref, base = base_ref;
      if (!open || at(head_ref) != head_sha) {
        head = "migrated/pr-" + num_s + "/head";
        refspecs.push_back(head_sha + ":refs/heads/" + head);
      }
      if (!open) {
        base = "migrated/pr-" + num_s + "/base";
        refspecs.push_back(base_sha + ":refs/heads/" + base);
      }
      if (!refspecs.empty()) push(refspecs);
      body["head"] = head;
      body["base"] = base;
      body["body"] = with_origin(
          p, "opened",
          extra +
              (base != base_ref ? " · base " + base_ref + " at " + base_sha.substr(0, 12) : ""));
      auto r = c_.client().post(tp("/pulls"), body.dump());
      if (r.status == 201) return c_.expect(r, {201});
      if (r.status != 422) c_.expect(r, {201});
      note("#" + num_s + ": the node refused it as a pull request (" + r.body +
           "); copied as an issue");
    }
    *as_pull = false;
    json issue = labels_and_milestone(item);
    issue["title"] = str(p, "title");
    issue["body"] = with_origin(
        p, "opened",
        extra + " · a pull request from " + head_ref + " (" + head_sha + ") into " + base_ref);
    return c_.expect(c_.client().post(tp("/issues"), issue.dump()), {201});
  }

  // Comments (review == true: the pull request's review comments), oldest first; those whose
  // origin the target already holds are skipped. A review comment the node cannot place (its
  // line is outdated) becomes an issue comment quoting path and line.
  void copy_comments(uint64_t n, json src, bool review, bool target_is_pull) {
    if (src.empty()) return;
    const std::string num_s = std::to_string(n);
    std::set<std::string> have;
    std::vector<const char*> kinds{"/issues/"};
    if (target_is_pull) kinds.push_back("/pulls/");
    for (const auto* k : kinds) {
      for (size_t page = 1; page < kMaxPages; ++page) {
        auto r = c_.expect(
            c_.client().get(tp(k + num_s + "/comments?per_page=100&page=" + std::to_string(page))));
        for (const auto& t : r) have.insert(origin_of(t));
        if (std::string(k) == "/pulls/")
          for (const auto& t : r) review_ids_[origin_of(t)] = num(t, "id");
        if (r.size() < 100) break;
      }
    }
    std::sort(src.begin(), src.end(),
              [](const json& a, const json& b) { return num(a, "id") < num(b, "id"); });
    for (const auto& cm : src) {
      auto url = str(cm, "html_url", str(cm, "url"));
      if (review) source_review_[num(cm, "id")] = url;
      if (have.count(url)) continue;
      uint64_t line = num(cm, "line") ? num(cm, "line") : num(cm, "original_line");
      if (!review || !target_is_pull) {
        std::string where =
            review ? " · on " + str(cm, "path") + " line " + std::to_string(line) : "";
        c_.expect(c_.client().post(tp("/issues/" + num_s + "/comments"),
                                   json{{"body", with_origin(cm, "commented", where)}}.dump()),
                  {201});
        continue;
      }
      json body{{"body", with_origin(cm, "commented")}};
      if (auto reply = num(cm, "in_reply_to_id");
          reply && source_review_.count(reply) && review_ids_.count(source_review_[reply])) {
        body["in_reply_to"] = review_ids_[source_review_[reply]];
      } else {
        body["path"] = str(cm, "path");
        body["line"] = line;
        body["side"] = str(cm, "side", "RIGHT");
      }
      auto r = c_.client().post(tp("/pulls/" + num_s + "/comments"), body.dump());
      if (r.status == 201) {
        review_ids_[url] = num(c_.expect(r, {201}), "id");
        continue;
      }
      if (r.status != 422) c_.expect(r, {201});
      c_.expect(c_.client().post(tp("/issues/" + num_s + "/comments"),
                                 json{{"body", with_origin(cm, "commented",
                                                           " · on " + str(cm, "path") + " line " +
                                                               std::to_string(line))}}
                                     .dump()),
                {201});
    }
  }

  void copy_releases() {
    std::map<std::string, json> have;  // tag -> target release
    for (auto& r : c_.expect(c_.client().get(tp("/releases?per_page=100"))))
      have[str(r, "tag_name")] = r;
    auto src = api_->list(sp("/releases"));
    std::sort(src.begin(), src.end(),
              [](const json& a, const json& b) { return num(a, "id") < num(b, "id"); });
    for (const auto& rel : src) {
      auto tag = str(rel, "tag_name");
      if (!have.count(tag)) {
        json body{{"tag_name", tag},
                  {"name", str(rel, "name", tag)},
                  {"body", with_origin(rel, "published")},
                  {"draft", rel.value("draft", false)},
                  {"prerelease", rel.value("prerelease", false)}};
        if (auto t = str(rel, "target_commitish"); !t.empty()) body["target_commitish"] = t;
        have[tag] = c_.expect(c_.client().post(tp("/releases"), body.dump()), {201});
      }
      const json& target = have[tag];
      std::set<std::string> assets;
      if (target.contains("assets"))
        for (const auto& a : target["assets"]) assets.insert(str(a, "name"));
      if (!rel.contains("assets")) continue;
      for (const auto& a : rel["assets"]) {
        auto name = str(a, "name");
        if (assets.count(name)) continue;
        auto bytes = api_->asset(sp("/releases/assets/" + std::to_string(num(a, "id"))));
        c_.client().set_timeout(std::chrono::milliseconds(0));
        c_.expect(c_.client().post("/api/uploads/repos/" + to_ + "/releases/" +
                                       std::to_string(num(target, "id")) +
                                       "/assets?name=" + percent_encode(name),
                                   bytes, str(a, "content_type", "application/octet-stream")),
                  {201});
      }
    }
    note("releases copied");
  }

  Context& c_;
  SourceUrl src_;
  std::string to_;
  fs::path state_path_, mirror_;
  std::string token_, api_flag_;
  json state_, src_repo_, target_repo_;
  std::optional<SourceApi> api_;
  std::map<uint64_t, uint64_t> milestones_;        // source number -> target number
  std::map<uint64_t, std::string> source_review_;  // source review comment id -> its URL
  std::map<std::string, uint64_t> review_ids_;     // source URL -> target review comment id
};

}  // namespace

void add_migrate_command(CLI::App& app, ContextFn ctx) {
  struct Args {
    std::string from, token, to, api, state;
  };
  auto a = std::make_shared<Args>();
  auto* m = app.add_subcommand(
      "migrate",
      "Copy a repository from a git remote, with issues, pull requests, labels, milestones, "
      "releases and comments from a GitHub-shaped API (docs/migrate.md)");
  m->add_option("--from", a->from, "Source: https://HOST/OWNER/REPO")->required();
  m->add_option("--token", a->token, "Token for the source (default: $GUTS_MIGRATE_TOKEN)");
  m->add_option("--to", a->to, "Target OWNER/NAME on the node (default: you/REPO)");
  m->add_option("--api", a->api,
                "The source's REST API base (default: found from HOST; docs/migrate.md)");
  m->add_option("--state", a->state,
                "Progress file (default: <home>/migrate/HOST_OWNER_REPO-to-OWNER_NAME.json)");
  m->callback([ctx, a] {
    auto& c = ctx();
    auto src = parse_from(a->from);
    std::string token = a->token;
    if (token.empty())
      if (const char* t = std::getenv("GUTS_MIGRATE_TOKEN"); t && *t) token = t;
    std::string to = a->to;
    if (to.empty()) {
      auto l = c.login();
      if (!l || !l->contains("username"))
        throw Error(Code::kUnauthenticated,
                    "not logged in to " + c.node_url() + ": run 'guts auth login' first");
      to = (*l)["username"].get<std::string>() + "/" + src.repo;
    }
    auto slash = to.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == to.size() ||
        to.find('/', slash + 1) != std::string::npos)
      throw Error(Code::kInvalidArgument, "--to: expected OWNER/NAME, got '" + to + "'");
    fs::path state = a->state;
    if (state.empty()) {
      std::string key = src.host + "_" + src.owner + "_" + src.repo + "-to-" + to;
      for (auto& ch : key)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.') ch = '_';
      state = c.options().home / "migrate" / (key + ".json");
    }
    Migration(c, src, to, state, token, a->api).run();
  });
}

}  // namespace guts::cli
