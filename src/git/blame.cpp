#include "git/blame.h"

#include "core/status.h"
#include "git/libgit2_handle.h"

namespace guts::git {

std::vector<BlameHunk> blame(const std::filesystem::path& dir, const std::string& sha,
                             std::string_view path) {
  lg2::ensure_init();
  lg2::Handle<git_repository, git_repository_free> repo;
  if (git_repository_open_bare(repo.out(), dir.c_str()) < 0)
    throw Error(Code::kNotFound, "repository not found");
  git_blame_options opts;
  git_blame_options_init(&opts, GIT_BLAME_OPTIONS_VERSION);
  if (sha.size() != 40 || git_oid_fromstr(&opts.newest_commit, sha.c_str()) < 0)
    throw Error(Code::kNotFound, "No such commit");
  lg2::Handle<git_blame, git_blame_free> b;
  std::string p(path);
  if (git_blame_file(b.out(), repo.get(), p.c_str(), &opts) < 0)
    throw Error(Code::kNotFound, "No such file");
  std::vector<BlameHunk> out;
  uint32_t n = git_blame_get_hunk_count(b.get());
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const git_blame_hunk* h = git_blame_get_hunk_byindex(b.get(), i);
    if (!h) continue;
    BlameHunk x;
    x.start_line = h->final_start_line_number;
    x.lines = h->lines_in_hunk;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &h->final_commit_id);
    x.sha = hex;
    if (const git_signature* s = h->final_signature) {
      x.author.name = s->name ? s->name : "";
      x.author.email = s->email ? s->email : "";
      x.author.time = s->when.time;
      x.author.offset_minutes = s->when.offset;
    }
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace guts::git
