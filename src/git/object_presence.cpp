#include "git/object_presence.h"

#include "core/status.h"
#include "git/libgit2_handle.h"
#include "git/ref_name.h"

namespace guts::git {

std::set<std::string> absent_objects(const std::filesystem::path& objects_dir,
                                     const std::set<std::string>& oids) {
  if (oids.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_directory(objects_dir, ec))
    throw Error(Code::kNotFound, "no object directory " + objects_dir.string());
  lg2::ensure_init();
  lg2::Handle<git_odb, git_odb_free> odb;
  if (git_odb_open(odb.out(), objects_dir.c_str()) != 0)
    throw Error(Code::kInternal, lg2::last_error("opening " + objects_dir.string()));
  std::set<std::string> absent;
  for (const auto& hex : oids) {
    git_oid oid;
    if (!is_valid_oid(hex) || git_oid_fromstrn(&oid, hex.data(), hex.size()) != 0)
      throw Error(Code::kInvalidArgument, "not an object id: " + hex);
    if (!git_odb_exists(odb.get(), &oid)) absent.insert(hex);
  }
  return absent;
}

}  // namespace guts::git
