// What every libgit2 user in src/git shares: one-time library initialisation and RAII for its
// handles (browse.cpp, git_facts.cpp, refs.cpp). Include only from .cpp files of this module.
#pragma once

#include <git2.h>

#include <mutex>
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

}  // namespace guts::git::lg2
