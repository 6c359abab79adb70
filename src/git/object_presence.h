// Which objects an object directory holds, read in process (libgit2): the projection asks it
// for every repository at start-up and for every pushed ref, where a `git cat-file` process
// each cost milliseconds.
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace guts::git {

// The hex oids among `oids` that the object directory `objects_dir` (loose objects and packs)
// does not hold. An objects/info/alternates file would be followed, as git does; neither our
// repositories nor their push quarantines have one. Throws guts::Error(kNotFound)
// when the directory does not exist, kInvalidArgument for an oid that is not 40 hex digits.
std::set<std::string> absent_objects(const std::filesystem::path& objects_dir,
                                     const std::set<std::string>& oids);

}  // namespace guts::git
