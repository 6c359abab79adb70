// What every libgit2 user in src/git shares: one-time library initialisation, RAII for its
// handles and the commit checks more than one of them asks (browse.cpp, git_facts.cpp,
// receive.cpp, refs.cpp). Include only from .cpp files of this module.
#pragma once

#include <git2.h>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace guts::git::lg2 {

inline void ensure_init() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

// "what: <libgit2's last error message>" for exceptions.
inline std::string last_error(std::string_view what) {
  const git_error* e = git_error_last();
  return std::string(what) + (e && e->message ? std::string(": ") + e->message : "");
}

// Owns one libgit2 object; `out()` for the functions that create one.
template <typename T, void (*Free)(T*)>
struct Handle {
  T* p = nullptr;
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (p) Free(p);
  }
  T** out() { return &p; }
  T* get() const { return p; }
};

inline bool has_commit(git_repository* repo, const git_oid* oid) {
  Handle<git_commit, git_commit_free> c;
  return git_commit_lookup(c.out(), repo, oid) == 0;
}

// `git merge-base --is-ancestor a b`: both are commits here and a is b or one of b's
// ancestors. nullopt when either is not a commit here or the walk fails.
inline std::optional<bool> is_ancestor(git_repository* repo, const git_oid* a, const git_oid* b) {
  if (!has_commit(repo, a) || !has_commit(repo, b)) return std::nullopt;
  if (git_oid_equal(a, b)) return true;  // git_graph_descendant_of says no
  int rc = git_graph_descendant_of(repo, b, a);
  if (rc < 0) return std::nullopt;
  return rc == 1;
}

}  // namespace guts::git::lg2
