#include "git/refs.h"

#include <algorithm>

#include "core/status.h"
#include "git/libgit2_handle.h"
#include "git/process.h"

namespace guts::git {

namespace {

using RepoH = lg2::Handle<git_repository, git_repository_free>;
using RefH = lg2::Handle<git_reference, git_reference_free>;
using RefIterH = lg2::Handle<git_reference_iterator, git_reference_iterator_free>;
using OdbH = lg2::Handle<git_odb, git_odb_free>;
using TagH = lg2::Handle<git_tag, git_tag_free>;

void open_bare(RepoH& repo, const std::filesystem::path& repo_dir) {
  lg2::ensure_init();
  if (git_repository_open_bare(repo.out(), repo_dir.c_str()) == 0) return;
  std::error_code ec;
  if (!std::filesystem::exists(repo_dir, ec)) throw Error(Code::kNotFound, "repository not found");
  throw Error(Code::kInternal, lg2::last_error("opening " + repo_dir.string()));
}

std::string hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

}  // namespace

// In process (libgit2) rather than `git for-each-ref`: the projection lists the refs of every
// repository at start-up and of each new one, and a process per call made both cost
// milliseconds per repository. The output is what
// `for-each-ref --format='%(objectname) %(*objectname) %(refname)'` prints.
std::vector<Ref> list_refs(const std::filesystem::path& repo_dir) {
  RepoH repo;
  open_bare(repo, repo_dir);
  OdbH odb;
  RefIterH it;
  if (git_repository_odb(odb.out(), repo.get()) != 0 ||
      git_reference_iterator_new(it.out(), repo.get()) != 0)
    throw Error(Code::kInternal, lg2::last_error("listing refs of " + repo_dir.string()));
  std::vector<Ref> refs;
  for (;;) {
    RefH ref;
    int rc = git_reference_next(ref.out(), it.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) throw Error(Code::kInternal, lg2::last_error("listing refs"));
    RefH direct;  // a symbolic ref inside refs/ lists under its own name, its target's value
    if (git_reference_resolve(direct.out(), ref.get()) != 0) continue;  // dangling: as git
    const git_oid* oid = git_reference_target(direct.get());
    size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_odb_read_header(&size, &type, odb.get(), oid) != 0)
      throw Error(Code::kInternal,
                  "missing object " + hex(oid) + " for " + git_reference_name(ref.get()));
    Ref out;
    out.name = git_reference_name(ref.get());
    out.oid = hex(oid);
    if (type == GIT_OBJECT_TAG) {
      TagH tag;
      if (git_tag_lookup(tag.out(), repo.get(), oid) != 0)
        throw Error(Code::kInternal, lg2::last_error("reading tag " + out.oid));
      out.peeled = hex(git_tag_target_id(tag.get()));
    }
    refs.push_back(std::move(out));
  }
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) { return a.name < b.name; });
  return refs;
}

std::optional<std::string> resolve_ref(const std::filesystem::path& repo_dir,
                                       std::string_view ref_name) {
  if (!is_valid_ref_name(ref_name) && ref_name != "HEAD") return std::nullopt;
  GitOptions o;
  o.cwd = repo_dir;
  // HEAD: resolve through the symref; other names: the exact ref (no DWIM, no peeling).
  auto r = ref_name == "HEAD"
               ? run_git({"rev-parse", "--verify", "--quiet", "HEAD"}, o)
               : run_git({"show-ref", "--verify", "--hash", "--", std::string(ref_name)}, o);
  if (!r.ok() || r.out.size() < 40) return std::nullopt;
  auto v = r.out.substr(0, 40);
  return is_valid_oid(v) ? std::optional(v) : std::nullopt;
}

std::optional<std::string> head_target(const std::filesystem::path& repo_dir) {
  RepoH repo;
  try {
    open_bare(repo, repo_dir);
  } catch (const Error&) {
    return std::nullopt;
  }
  RefH head;
  if (git_reference_lookup(head.out(), repo.get(), "HEAD") != 0 ||
      git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC)
    return std::nullopt;
  return std::string(git_reference_symbolic_target(head.get()));
}

}  // namespace guts::git
