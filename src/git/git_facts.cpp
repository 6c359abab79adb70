#include "git/git_facts.h"

#include <git2.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "git/libgit2_handle.h"
#include "git/receive.h"
#include "git/repo_store.h"

namespace guts::git {

namespace {

using lg2::ensure_init;
using lg2::has_commit;

template <typename T, void (*Free)(T*)>
using Handle = lg2::Handle<T, Free>;
using RepoH = Handle<git_repository, git_repository_free>;
using OdbH = Handle<git_odb, git_odb_free>;
using CommitH = Handle<git_commit, git_commit_free>;
using TreeH = Handle<git_tree, git_tree_free>;
using TreeEntryH = Handle<git_tree_entry, git_tree_entry_free>;
using BlobH = Handle<git_blob, git_blob_free>;
using RevwalkH = Handle<git_revwalk, git_revwalk_free>;
using DiffH = Handle<git_diff, git_diff_free>;

struct BufH {
  git_buf b = GIT_BUF_INIT;
  ~BufH() { git_buf_dispose(&b); }
};

bool to_oid(const Bytes& raw, git_oid* out) {
  if (raw.size() != GIT_OID_RAWSZ) return false;
  return git_oid_fromraw(out, raw.data()) == 0;
}

// The repository with its push quarantines as alternates; false when not hosted here.
bool open_repo(const RepoStore& store, const std::string& key, RepoH& repo) {
  ensure_init();
  if (!RepoStore::is_valid_key(key) || !store.exists(key)) return false;
  auto dir = store.path_for(key);
  if (git_repository_open_bare(repo.out(), dir.c_str()) < 0) return false;
  OdbH odb;
  if (git_repository_odb(odb.out(), repo.get()) < 0) return false;
  for (const auto& q : Quarantine::list(dir)) git_odb_add_disk_alternate(odb.get(), q.c_str());
  return true;
}

// Walks the commits reachable from `new_oid` and not from `old_oid`; `visit` returns false to
// stop (the answer is then decided). nullopt: an object is missing or the walk is too long.
template <typename Visit>
std::optional<bool> walk(git_repository* repo, const Bytes& old_oid, const Bytes& new_oid,
                         Visit visit) {
  git_oid from{}, to{};
  if (!to_oid(new_oid, &to) || !has_commit(repo, &to)) return std::nullopt;
  RevwalkH w;
  if (git_revwalk_new(w.out(), repo) < 0) return std::nullopt;
  if (git_revwalk_push(w.get(), &to) < 0) return std::nullopt;
  if (!old_oid.empty()) {
    if (!to_oid(old_oid, &from) || !has_commit(repo, &from)) return std::nullopt;
    if (git_revwalk_hide(w.get(), &from) < 0) return std::nullopt;
  }
  git_oid id;
  size_t n = 0;
  int rc;
  while ((rc = git_revwalk_next(&id, w.get())) == 0) {
    if (++n > state::kMaxFactCommits) return std::nullopt;
    CommitH c;
    if (git_commit_lookup(c.out(), repo, &id) < 0) return std::nullopt;
    if (!visit(c.get())) return false;
  }
  if (rc != GIT_ITEROVER) return std::nullopt;
  return true;
}

}  // namespace

RepoGitFacts::RepoGitFacts(const RepoStore& store, std::function<std::string(uint64_t)> key_of)
    : store_(store), key_of_(std::move(key_of)) {}

std::optional<bool> RepoGitFacts::is_ancestor(uint64_t repo_id, const Bytes& a,
                                              const Bytes& b) const {
  RepoH repo;
  if (!open_repo(store_, key_of_(repo_id), repo)) return std::nullopt;
  git_oid x{}, y{};
  if (!to_oid(a, &x) || !to_oid(b, &y)) return std::nullopt;
  return lg2::is_ancestor(repo.get(), &x, &y);
}

std::optional<bool> RepoGitFacts::has_merge_commits(uint64_t repo_id, const Bytes& old_oid,
                                                    const Bytes& new_oid) const {
  RepoH repo;
  if (!open_repo(store_, key_of_(repo_id), repo)) return std::nullopt;
  bool merges = false;
  auto r = walk(repo.get(), old_oid, new_oid, [&](git_commit* c) {
    if (git_commit_parentcount(c) > 1) merges = true;
    return !merges;
  });
  if (!r) return std::nullopt;
  return merges;
}

std::optional<bool> RepoGitFacts::all_commits_signed(uint64_t repo_id, const Bytes& old_oid,
                                                     const Bytes& new_oid) const {
  RepoH repo;
  if (!open_repo(store_, key_of_(repo_id), repo)) return std::nullopt;
  bool all = true;
  auto r = walk(repo.get(), old_oid, new_oid, [&](git_commit* c) {
    BufH sig, sig256;
    bool is_signed = git_commit_header_field(&sig.b, c, "gpgsig") == 0 ||
                     git_commit_header_field(&sig256.b, c, "gpgsig-sha256") == 0;
    if (!is_signed) all = false;
    return all;
  });
  if (!r) return std::nullopt;
  return all;
}

std::optional<std::vector<std::string>> RepoGitFacts::changed_paths(uint64_t repo_id,
                                                                    const Bytes& base,
                                                                    const Bytes& head) const {
  RepoH repo;
  if (!open_repo(store_, key_of_(repo_id), repo)) return std::nullopt;
  git_oid b{}, h{}, mb{};
  if (!to_oid(base, &b) || !to_oid(head, &h)) return std::nullopt;
  if (!has_commit(repo.get(), &b) || !has_commit(repo.get(), &h)) return std::nullopt;
  int rc = git_merge_base(&mb, repo.get(), &b, &h);
  TreeH old_tree, new_tree;
  if (rc == 0) {
    CommitH c;
    if (git_commit_lookup(c.out(), repo.get(), &mb) < 0) return std::nullopt;
    if (git_commit_tree(old_tree.out(), c.get()) < 0) return std::nullopt;
  } else if (rc != GIT_ENOTFOUND) {  // unrelated histories: every file of head is new
    return std::nullopt;
  }
  CommitH hc;
  if (git_commit_lookup(hc.out(), repo.get(), &h) < 0) return std::nullopt;
  if (git_commit_tree(new_tree.out(), hc.get()) < 0) return std::nullopt;
  DiffH diff;
  if (git_diff_tree_to_tree(diff.out(), repo.get(), old_tree.get(), new_tree.get(), nullptr) < 0)
    return std::nullopt;
  std::set<std::string> paths;
  size_t n = git_diff_num_deltas(diff.get());
  if (n > state::kMaxFactPaths) return std::nullopt;
  for (size_t i = 0; i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    if (d->old_file.path) paths.insert(d->old_file.path);
    if (d->new_file.path) paths.insert(d->new_file.path);
  }
  return std::vector<std::string>(paths.begin(), paths.end());
}

state::FileFact RepoGitFacts::read_file(uint64_t repo_id, const Bytes& commit,
                                        std::string_view path, size_t max_bytes) const {
  state::FileFact out;
  RepoH repo;
  if (!open_repo(store_, key_of_(repo_id), repo)) return out;
  git_oid id{};
  if (!to_oid(commit, &id)) return out;
  CommitH c;
  if (git_commit_lookup(c.out(), repo.get(), &id) < 0) return out;
  TreeH tree;
  if (git_commit_tree(tree.out(), c.get()) < 0) return out;
  TreeEntryH e;
  int rc = git_tree_entry_bypath(e.out(), tree.get(), std::string(path).c_str());
  if (rc == GIT_ENOTFOUND || (rc == 0 && git_tree_entry_type(e.get()) != GIT_OBJECT_BLOB)) {
    out.state = state::FileFact::kAbsent;
    return out;
  }
  if (rc < 0) return out;
  BlobH blob;
  if (git_blob_lookup(blob.out(), repo.get(), git_tree_entry_id(e.get())) < 0) return out;
  auto size = static_cast<size_t>(git_blob_rawsize(blob.get()));
  const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  out.state = state::FileFact::kPresent;
  out.content.assign(data, std::min(size, max_bytes));
  return out;
}

}  // namespace guts::git
