#include "git/browse.h"

#include <git2.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "core/thread_annotations.h"
#include "git/libgit2_handle.h"
#include "git/process.h"
#include "git/refs.h"

namespace guts::git {
namespace fs = std::filesystem;

namespace {

using lg2::ensure_init;

[[noreturn]] void fail(int rc, std::string_view what) {
  std::string msg = lg2::last_error(what);
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS)
    throw Error(Code::kNotFound, msg);
  throw Error(Code::kInternal, msg);
}

template <typename T, void (*Free)(T*)>
using Handle = lg2::Handle<T, Free>;
using Object = Handle<git_object, git_object_free>;
using CommitH = Handle<git_commit, git_commit_free>;
using TreeH = Handle<git_tree, git_tree_free>;
using TreeEntryH = Handle<git_tree_entry, git_tree_entry_free>;
using BlobH = Handle<git_blob, git_blob_free>;
using RefH = Handle<git_reference, git_reference_free>;
using RevwalkH = Handle<git_revwalk, git_revwalk_free>;
using DiffH = Handle<git_diff, git_diff_free>;
using PatchH = Handle<git_patch, git_patch_free>;
using TagH = Handle<git_tag, git_tag_free>;
using OdbH = Handle<git_odb, git_odb_free>;

std::string oid_str(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

Signature sig(const git_signature* s) {
  Signature out;
  if (!s) return out;
  out.name = s->name ? s->name : "";
  out.email = s->email ? s->email : "";
  out.time = s->when.time;
  out.offset_minutes = s->when.offset;
  return out;
}

Commit to_commit(git_commit* c) {
  Commit out;
  out.sha = oid_str(git_commit_id(c));
  out.tree = oid_str(git_commit_tree_id(c));
  for (unsigned i = 0; i < git_commit_parentcount(c); ++i)
    out.parents.push_back(oid_str(git_commit_parent_id(c, i)));
  out.author = sig(git_commit_author(c));
  out.committer = sig(git_commit_committer(c));
  const char* msg = git_commit_message_raw(c);
  out.message = msg ? msg : "";
  return out;
}

const char* type_name(git_object_t t) {
  switch (t) {
    case GIT_OBJECT_COMMIT:
      return "commit";
    case GIT_OBJECT_TREE:
      return "tree";
    case GIT_OBJECT_BLOB:
      return "blob";
    case GIT_OBJECT_TAG:
      return "tag";
    default:
      return "unknown";
  }
}

std::string normalize_path(std::string_view p) {
  std::string s(p);
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

void peel_commit(git_repository* repo, std::string_view rev, CommitH& out) {
  if (rev.empty() || rev.size() > 1024 || rev.find('\0') != std::string_view::npos)
    throw Error(Code::kNotFound, "no such revision");
  Object obj;
  std::string spec(rev);
  int rc = git_revparse_single(obj.out(), repo, spec.c_str());
  if (rc < 0) fail(GIT_ENOTFOUND, "no such revision '" + spec + "'");
  Object peeled;
  rc = git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_COMMIT);
  if (rc < 0) fail(GIT_ENOTFOUND, "'" + spec + "' is not a commit");
  out.p = reinterpret_cast<git_commit*>(peeled.p);
  peeled.p = nullptr;
}

uint64_t object_size(git_repository* repo, const git_oid* oid) {
  OdbH odb;
  if (git_repository_odb(odb.out(), repo) < 0) return 0;
  size_t len = 0;
  git_object_t t;
  if (git_odb_read_header(&len, &t, odb.get(), oid) < 0) return 0;
  return len;
}

TreeEntry make_entry(git_repository* repo, const git_tree_entry* e, const std::string& dir) {
  TreeEntry t;
  t.name = git_tree_entry_name(e);
  t.path = dir.empty() ? t.name : dir + "/" + t.name;
  t.sha = oid_str(git_tree_entry_id(e));
  t.mode = static_cast<uint32_t>(git_tree_entry_filemode(e));
  t.type = type_name(git_tree_entry_type(e));
  if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) t.size = object_size(repo, git_tree_entry_id(e));
  return t;
}

// Pages of `git rev-list` answers, by repository, start commit, path, skip and limit. A commit's
// history never changes, so a page is listed by git once and then served from here (the log
// page at 16 concurrent readers: one git process per new page, not per view). Bounded; the
// oldest entries go first.
class RevListCache {
 public:
  using Ids = std::shared_ptr<const std::vector<std::string>>;
  Ids get(const std::string& key) {
    MutexLock lock(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  void put(const std::string& key, Ids ids) {
    MutexLock lock(mu_);
    if (!map_.emplace(key, std::move(ids)).second) return;
    order_.push_back(key);
    while (order_.size() > kEntries) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  static constexpr size_t kEntries = 4096;  // ~30 ids each: about 5 MB at most
  Mutex mu_;
  std::map<std::string, Ids> map_ GUTS_GUARDED_BY(mu_);
  std::deque<std::string> order_ GUTS_GUARDED_BY(mu_);
};

RevListCache& rev_list_cache() {
  static RevListCache cache;
  return cache;
}

}  // namespace

Browser::Browser(const fs::path& repo_dir) : dir_(repo_dir) {
  ensure_init();
  int rc = git_repository_open_bare(&repo_, repo_dir.c_str());
  if (rc < 0) {
    repo_ = nullptr;
    throw Error(Code::kNotFound, "repository not found");
  }
}

Browser::~Browser() {
  if (repo_) git_repository_free(repo_);
}

bool Browser::empty() const {
  git_reference_iterator* it = nullptr;
  if (git_reference_iterator_new(&it, repo_) < 0) return true;
  git_reference* ref = nullptr;
  bool none = git_reference_next(&ref, it) != 0;
  if (ref) git_reference_free(ref);
  git_reference_iterator_free(it);
  return none;
}

std::optional<std::string> Browser::default_branch() const {
  RefH head;
  if (git_reference_lookup(head.out(), repo_, "HEAD") < 0) return std::nullopt;
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return std::nullopt;
  std::string target = git_reference_symbolic_target(head.get());
  if (target.rfind("refs/heads/", 0) != 0) return std::nullopt;
  return target.substr(11);
}

std::vector<Branch> Browser::branches() const {
  std::vector<Branch> out;
  git_branch_iterator* it = nullptr;
  if (git_branch_iterator_new(&it, repo_, GIT_BRANCH_LOCAL) < 0) fail(-1, "branches");
  git_reference* ref = nullptr;
  git_branch_t type;
  while (git_branch_next(&ref, &type, it) == 0) {
    const char* name = nullptr;
    const git_oid* oid = git_reference_target(ref);
    if (git_branch_name(&name, ref) == 0 && oid) out.push_back({name, oid_str(oid)});
    git_reference_free(ref);
  }
  git_branch_iterator_free(it);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::vector<Tag> Browser::tags() const {
  std::vector<Tag> out;
  git_reference_iterator* it = nullptr;
  if (git_reference_iterator_glob_new(&it, repo_, "refs/tags/*") < 0) fail(-1, "tags");
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it) == 0) {
    RefH r;
    r.p = ref;
    const git_oid* oid = git_reference_target(ref);
    if (!oid) continue;
    Tag t;
    t.name = std::string(git_reference_name(ref)).substr(10);
    t.sha = oid_str(oid);
    Object obj;
    if (git_object_lookup(obj.out(), repo_, oid, GIT_OBJECT_ANY) < 0) continue;
    if (git_object_type(obj.get()) == GIT_OBJECT_TAG) {
      auto* tag = reinterpret_cast<git_tag*>(obj.get());
      t.annotated = true;
      if (git_tag_tagger(tag)) t.tagger = sig(git_tag_tagger(tag));
      t.message = git_tag_message(tag) ? git_tag_message(tag) : "";
      Object peeled;
      if (git_tag_peel(peeled.out(), tag) == 0) {
        t.target = oid_str(git_object_id(peeled.get()));
        t.target_type = type_name(git_object_type(peeled.get()));
      }
    } else {
      t.target = t.sha;
      t.target_type = type_name(git_object_type(obj.get()));
    }
    out.push_back(std::move(t));
  }
  git_reference_iterator_free(it);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> Browser::resolve(std::string_view rev, bool commit) const {
  if (rev.empty() || rev.size() > 1024 || rev.find('\0') != std::string_view::npos)
    return std::nullopt;
  Object obj;
  std::string spec(rev);
  if (git_revparse_single(obj.out(), repo_, spec.c_str()) < 0) return std::nullopt;
  if (!commit) return oid_str(git_object_id(obj.get()));
  Object peeled;
  if (git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_COMMIT) < 0) return std::nullopt;
  return oid_str(git_object_id(peeled.get()));
}

Commit Browser::commit(std::string_view rev) const {
  CommitH c;
  peel_commit(repo_, rev, c);
  return to_commit(c.get());
}

std::vector<Commit> Browser::commits(const CommitQuery& q) const {
  CommitH start;
  peel_commit(repo_, q.rev, start);
  // The stock git lists the page: `git rev-list --topo-order` (children before parents, as
  // `git log --topo-order`, and git's own path simplification). With the commit-graph that
  // maintenance writes (docs/maintenance.md), git walks incrementally by generation number, so
  // the cost follows the page, not the history; libgit2's topological sort reads the whole
  // history before the first commit (466 ms for a page of 20,000 commits; docs/benchmarks.md).
  // The start is an object id (no ref name reaches git) and the path is a literal pathspec.
  const std::string start_id = oid_str(git_commit_id(start.get()));
  std::string path = normalize_path(q.path);
  std::string key = dir_.string();
  for (const auto& part : {start_id, path, std::to_string(q.skip), std::to_string(q.limit)}) {
    key.push_back('\0');
    key += part;
  }
  auto ids = rev_list_cache().get(key);
  if (!ids) {
    std::vector<std::string> args{"--git-dir=" + dir_.string(),
                                  "--literal-pathspecs",
                                  "rev-list",
                                  "--topo-order",
                                  "--skip=" + std::to_string(q.skip),
                                  "--max-count=" + std::to_string(q.limit),
                                  start_id};
    if (!path.empty()) {
      args.push_back("--");
      args.push_back(path);
    }
    GitOptions opts;
    opts.timeout = std::chrono::minutes(1);
    opts.max_output = (q.limit + 1) * (GIT_OID_HEXSZ + 1);
    auto listed = run_git(args, opts);
    if (!listed.ok()) fail(-1, "git rev-list: " + listed.err);
    auto found = std::make_shared<std::vector<std::string>>();
    size_t at = 0;
    while (at < listed.out.size() && found->size() < q.limit) {
      size_t eol = listed.out.find('\n', at);
      if (eol == std::string::npos) eol = listed.out.size();
      found->push_back(listed.out.substr(at, eol - at));
      at = eol + 1;
    }
    ids = found;
    rev_list_cache().put(key, ids);
  }
  std::vector<Commit> out;
  out.reserve(ids->size());
  for (const auto& hex : *ids) {
    git_oid oid;
    CommitH c;
    if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, hex.c_str()) < 0 ||
        git_commit_lookup(c.out(), repo_, &oid) < 0)
      fail(-1, "git rev-list answered '" + hex + "'");
    out.push_back(to_commit(c.get()));
  }
  return out;
}

std::optional<TreeEntry> Browser::entry(std::string_view rev, std::string_view path) const {
  CommitH c;
  peel_commit(repo_, rev, c);
  std::string p = normalize_path(path);
  if (p.empty()) {
    TreeEntry root;
    root.type = "tree";
    root.mode = 040000;
    root.sha = oid_str(git_commit_tree_id(c.get()));
    return root;
  }
  TreeH tree;
  if (git_commit_tree(tree.out(), c.get()) < 0) fail(-1, "tree");
  TreeEntryH e;
  if (git_tree_entry_bypath(e.out(), tree.get(), p.c_str()) < 0) return std::nullopt;
  auto slash = p.rfind('/');
  return make_entry(repo_, e.get(), slash == std::string::npos ? "" : p.substr(0, slash));
}

std::vector<TreeEntry> Browser::tree(std::string_view rev, std::string_view path, bool recursive,
                                     size_t max_entries) const {
  // Any tree-ish: a commit-ish (branch, tag, commit) or a tree id, as the trees API takes.
  if (rev.empty() || rev.size() > 1024 || rev.find('\0') != std::string_view::npos)
    throw Error(Code::kNotFound, "no such revision");
  Object obj, peeled;
  std::string spec(rev);
  if (git_revparse_single(obj.out(), repo_, spec.c_str()) < 0)
    fail(GIT_ENOTFOUND, "no such revision '" + spec + "'");
  if (git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_TREE) < 0)
    fail(GIT_ENOTFOUND, "'" + spec + "' is not a tree-ish");
  TreeH root;
  root.p = reinterpret_cast<git_tree*>(peeled.p);
  peeled.p = nullptr;
  std::string p = normalize_path(path);
  TreeH sub;
  git_tree* tree = root.get();
  if (!p.empty()) {
    TreeEntryH e;
    if (git_tree_entry_bypath(e.out(), root.get(), p.c_str()) < 0)
      throw Error(Code::kNotFound, "path not found: " + p);
    if (git_tree_entry_type(e.get()) != GIT_OBJECT_TREE)
      throw Error(Code::kInvalidArgument, "not a directory: " + p);
    if (git_tree_lookup(sub.out(), repo_, git_tree_entry_id(e.get())) < 0) fail(-1, "tree");
    tree = sub.get();
  }
  std::vector<TreeEntry> out;
  if (!recursive) {
    size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n && out.size() < max_entries; ++i)
      out.push_back(make_entry(repo_, git_tree_entry_byindex(tree, i), p));
    return out;
  }
  struct Ctx {
    git_repository* repo;
    std::vector<TreeEntry>* out;
    std::string base;
    size_t max;
  } ctx{repo_, &out, p, max_entries};
  git_tree_walk(
      tree, GIT_TREEWALK_PRE,
      [](const char* root, const git_tree_entry* e, void* payload) -> int {
        auto* ctx = static_cast<Ctx*>(payload);
        if (ctx->out->size() >= ctx->max) return -1;
        std::string dir = root;
        if (!dir.empty() && dir.back() == '/') dir.pop_back();
        if (!ctx->base.empty()) dir = dir.empty() ? ctx->base : ctx->base + "/" + dir;
        ctx->out->push_back(make_entry(ctx->repo, e, dir));
        return 0;
      },
      &ctx);
  return out;
}

Blob Browser::blob(std::string_view rev, std::string_view path, uint64_t max_size) const {
  CommitH c;
  peel_commit(repo_, rev, c);
  TreeH root;
  if (git_commit_tree(root.out(), c.get()) < 0) fail(-1, "tree");
  std::string p = normalize_path(path);
  TreeEntryH e;
  if (p.empty() || git_tree_entry_bypath(e.out(), root.get(), p.c_str()) < 0)
    throw Error(Code::kNotFound, "path not found: " + p);
  if (git_tree_entry_type(e.get()) != GIT_OBJECT_BLOB)
    throw Error(Code::kInvalidArgument, "not a file: " + p);
  BlobH b;
  if (git_blob_lookup(b.out(), repo_, git_tree_entry_id(e.get())) < 0) fail(-1, "blob");
  Blob out;
  out.sha = oid_str(git_blob_id(b.get()));
  out.path = p;
  out.size = static_cast<uint64_t>(git_blob_rawsize(b.get()));
  out.binary = git_blob_is_binary(b.get()) != 0;
  uint64_t n = std::min<uint64_t>(out.size, max_size);
  out.truncated = n < out.size;
  out.content.assign(static_cast<const char*>(git_blob_rawcontent(b.get())), n);
  return out;
}

std::optional<Blob> Browser::readme(std::string_view rev, std::string_view dir,
                                    uint64_t max_size) const {
  std::vector<TreeEntry> entries;
  try {
    entries = tree(rev, dir, false);
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound || e.code() == Code::kInvalidArgument) return std::nullopt;
    throw;
  }
  // Lower rank wins: markdown first, then plain and other markups.
  static const std::vector<std::string> kOrder = {"readme.md",  "readme.markdown", "readme",
                                                  "readme.txt", "readme.rst",      "readme.adoc",
                                                  "readme.org"};
  const TreeEntry* best = nullptr;
  size_t best_rank = kOrder.size() + 1;
  for (const auto& e : entries) {
    if (e.type != "blob") continue;
    std::string lower = e.name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    size_t rank = kOrder.size();
    for (size_t i = 0; i < kOrder.size(); ++i)
      if (lower == kOrder[i]) rank = i;
    if (rank == kOrder.size() && lower.rfind("readme.", 0) != 0) continue;
    if (rank < best_rank) {
      best_rank = rank;
      best = &e;
    }
  }
  if (!best) return std::nullopt;
  return blob(rev, best->path, max_size);
}

Comparison Browser::compare(std::string_view base, std::string_view head, size_t max_commits,
                            size_t max_files, size_t max_patch_bytes) const {
  CommitH b, h;
  peel_commit(repo_, base, b);
  peel_commit(repo_, head, h);
  Comparison cmp;
  const git_oid* boid = git_commit_id(b.get());
  const git_oid* hoid = git_commit_id(h.get());
  cmp.base_sha = oid_str(boid);
  cmp.head_sha = oid_str(hoid);
  git_oid mb;
  bool has_mb = git_merge_base(&mb, repo_, boid, hoid) == 0;
  if (has_mb) cmp.merge_base = oid_str(&mb);
  size_t ahead = 0, behind = 0;
  if (git_graph_ahead_behind(&ahead, &behind, repo_, hoid, boid) < 0) fail(-1, "ahead/behind");
  cmp.ahead_by = ahead;
  cmp.behind_by = behind;
  cmp.status = ahead == 0 && behind == 0 ? "identical"
               : behind == 0             ? "ahead"
               : ahead == 0              ? "behind"
                                         : "diverged";

  RevwalkH walk;
  if (git_revwalk_new(walk.out(), repo_) < 0) fail(-1, "revwalk");
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  git_revwalk_push(walk.get(), hoid);
  git_revwalk_hide(walk.get(), boid);
  std::vector<Commit> newest_first;
  git_oid oid;
  while (git_revwalk_next(&oid, walk.get()) == 0) {
    CommitH c;
    if (git_commit_lookup(c.out(), repo_, &oid) < 0) continue;
    newest_first.push_back(to_commit(c.get()));
  }
  // Oldest first, keeping the newest max_commits (as GitHub's compare shows the latest).
  std::reverse(newest_first.begin(), newest_first.end());
  if (newest_first.size() > max_commits)
    newest_first.erase(newest_first.begin(),
                       newest_first.end() - static_cast<ptrdiff_t>(max_commits));
  cmp.commits = std::move(newest_first);

  // Files: merge base (or base, when unrelated) → head.
  CommitH from;
  if (has_mb) {
    if (git_commit_lookup(from.out(), repo_, &mb) < 0) fail(-1, "merge base");
  }
  TreeH from_tree, to_tree;
  if (git_commit_tree(from_tree.out(), has_mb ? from.get() : b.get()) < 0) fail(-1, "tree");
  if (git_commit_tree(to_tree.out(), h.get()) < 0) fail(-1, "tree");
  DiffH diff;
  git_diff_options dopts;
  git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
  if (git_diff_tree_to_tree(diff.out(), repo_, from_tree.get(), to_tree.get(), &dopts) < 0)
    fail(-1, "diff");
  git_diff_find_options fopts;
  git_diff_find_options_init(&fopts, GIT_DIFF_FIND_OPTIONS_VERSION);
  fopts.flags = GIT_DIFF_FIND_RENAMES;
  git_diff_find_similar(diff.get(), &fopts);
  size_t n = git_diff_num_deltas(diff.get());
  size_t patch_budget = max_patch_bytes;
  for (size_t i = 0; i < n && cmp.files.size() < max_files; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    FileDiff f;
    f.filename = d->new_file.path ? d->new_file.path : "";
    switch (d->status) {
      case GIT_DELTA_ADDED:
        f.status = "added";
        break;
      case GIT_DELTA_DELETED:
        f.status = "removed";
        f.filename = d->old_file.path ? d->old_file.path : "";
        break;
      case GIT_DELTA_RENAMED:
        f.status = "renamed";
        f.previous_filename = d->old_file.path ? d->old_file.path : "";
        break;
      case GIT_DELTA_COPIED:
        f.status = "copied";
        f.previous_filename = d->old_file.path ? d->old_file.path : "";
        break;
      case GIT_DELTA_MODIFIED:
        f.status = "modified";
        break;
      default:
        f.status = "changed";
        break;
    }
    f.sha = oid_str(d->status == GIT_DELTA_DELETED ? &d->old_file.id : &d->new_file.id);
    PatchH patch;
    if (git_patch_from_diff(patch.out(), diff.get(), i) == 0 && patch.get()) {
      size_t ctx = 0, add = 0, del = 0;
      git_patch_line_stats(&ctx, &add, &del, patch.get());
      f.additions = static_cast<int>(add);
      f.deletions = static_cast<int>(del);
      f.binary = (d->flags & GIT_DIFF_FLAG_BINARY) != 0;
      if (!f.binary) {
        git_buf buf = GIT_BUF_INIT;
        if (git_patch_to_buf(&buf, patch.get()) == 0) {
          std::string_view text(buf.ptr, buf.size);
          auto hunk = text.find("\n@@");
          text = hunk == std::string_view::npos ? std::string_view() : text.substr(hunk + 1);
          if (text.size() <= patch_budget) {
            f.patch = std::string(text);
            patch_budget -= text.size();
          }
        }
        git_buf_dispose(&buf);
      }
    } else {
      f.binary = (d->flags & GIT_DIFF_FLAG_BINARY) != 0;
    }
    cmp.files.push_back(std::move(f));
  }
  return cmp;
}

Status archive(const fs::path& repo_dir, std::string_view rev, std::string_view format,
               std::string_view prefix, const Sink& out) {
  if (format != "tar.gz" && format != "zip" && format != "tar" && format != "tgz")
    return {Code::kInvalidArgument, "unsupported archive format"};
  std::string sha;
  try {
    Browser b(repo_dir);
    auto r = b.resolve(rev);
    if (!r) return {Code::kNotFound, "no such revision"};
    sha = *r;
  } catch (const Error& e) {
    return e.status();
  }
  std::string pfx(prefix);
  for (char c : pfx)
    if (static_cast<unsigned char>(c) < 0x20 || c == '/' || c == '\\')
      return {Code::kInvalidArgument, "bad archive prefix"};
  if (pfx == "." || pfx == "..") return {Code::kInvalidArgument, "bad archive prefix"};
  std::vector<std::string> args = {"archive", "--format=" + std::string(format)};
  if (!pfx.empty()) args.push_back("--prefix=" + pfx + "/");
  args.push_back(sha);
  auto po = git_process_options(args, repo_dir, {}, std::chrono::minutes(30));
  Process p = Process::spawn(po);
  std::string err;
  auto st = p.pump(Source(), out, [&](ByteView c) {
    if (err.size() < 8192) err.append(c.begin(), c.end());
  });
  if (!st.success()) return {Code::kInternal, "git archive " + st.describe() + ": " + err};
  return Status::Ok();
}

}  // namespace guts::git
