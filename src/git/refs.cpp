#include "git/refs.h"

#include "core/status.h"
#include "git/process.h"

namespace guts::git {

std::vector<Ref> list_refs(const std::filesystem::path& repo_dir) {
  GitOptions o;
  o.cwd = repo_dir;
  auto r = run_git({"for-each-ref", "--format=%(objectname) %(*objectname) %(refname)"}, o);
  if (!r.ok()) {
    std::error_code ec;
    if (!std::filesystem::exists(repo_dir, ec))
      throw Error(Code::kNotFound, "repository not found");
    throw Error(Code::kInternal, "git for-each-ref: " + r.err);
  }
  std::vector<Ref> refs;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    if (nl == std::string::npos) nl = r.out.size();
    std::string_view line(r.out.data() + pos, nl - pos);
    pos = nl + 1;
    // "<oid> <peeled or empty> <name>"
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) continue;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) continue;
    Ref ref;
    ref.oid = std::string(line.substr(0, sp1));
    ref.peeled = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    ref.name = std::string(line.substr(sp2 + 1));
    refs.push_back(std::move(ref));
  }
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
  GitOptions o;
  o.cwd = repo_dir;
  auto r = run_git({"symbolic-ref", "-q", "HEAD"}, o);
  if (!r.ok()) return std::nullopt;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r.out;
}

}  // namespace guts::git
