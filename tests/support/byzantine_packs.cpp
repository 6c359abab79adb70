#include "tests/support/byzantine_packs.h"

#include <spdlog/spdlog.h>

#include <string>

#include "core/status.h"
#include "git/process.h"

namespace guts::testing {

namespace {

Bytes honest_pack(const std::filesystem::path& dir, const git::PackRequest& req) {
  Bytes pack;
  git::write_pack(dir, req, [&](ByteView c, bool) { pack.insert(pack.end(), c.begin(), c.end()); });
  return pack;
}

Bytes missing_objects(const std::filesystem::path& dir, const git::PackRequest& req) {
  std::string in;
  for (const auto& w : req.wants) in += w + "\n";
  git::GitOptions o;
  o.cwd = dir;
  o.env = git::objects_env(dir, true);
  auto r = git::run_git({"pack-objects", "--stdout", "-q"}, o, in);
  if (!r.ok()) throw Error(Code::kInternal, "byzantine pack-objects failed");
  return Bytes(r.out.begin(), r.out.end());
}

Bytes tamper_objects(const std::filesystem::path& dir, const git::PackRequest& req) {
  Bytes pack = honest_pack(dir, req);
  // A flipped bit inside the object data (past the 12-byte header, before the trailer).
  if (pack.size() > 32) pack[12 + (pack.size() - 32) / 2] ^= 0x01;
  return pack;
}

}  // namespace

replication::ServeOverride byzantine_packs(std::string_view mode) {
  Bytes (*make)(const std::filesystem::path&, const git::PackRequest&) = nullptr;
  if (mode == "tamper-objects") make = tamper_objects;
  if (mode == "missing-objects") make = missing_objects;
  if (!make) return {};
  return
      [make, m = std::string(mode)](const std::filesystem::path& dir, const git::PackRequest& req) {
        spdlog::warn("replication: BYZANTINE mode {}: serving a bad pack", m);
        return make(dir, req);
      };
}

}  // namespace guts::testing
