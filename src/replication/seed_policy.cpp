#include "replication/seed_policy.h"

#include <algorithm>

#include "core/status.h"
#include "crypto/did.h"

namespace guts::replication {

namespace {

bool valid_part(std::string_view s) {
  return !s.empty() && s.size() <= 100 && s.find_first_of("/ \t\r\n") == std::string_view::npos;
}

}  // namespace

bool SeedPolicy::includes(std::string_view owner_name, std::string_view name,
                          const crypto::PublicKey& owner) const {
  if (all) return true;
  std::string full = std::string(owner_name) + "/" + std::string(name);
  if (std::find(repos.begin(), repos.end(), full) != repos.end()) return true;
  for (const auto& did : follow)
    if (auto k = crypto::parse_did(did); k && *k == owner) return true;
  return false;
}

std::string SeedPolicy::describe() const {
  if (all) return "all";
  std::string out;
  for (const auto& r : repos) out += (out.empty() ? "" : ", ") + ("repo:" + r);
  for (const auto& f : follow) out += (out.empty() ? "" : ", ") + ("follow:" + f);
  return out;
}

SeedPolicy parse_seed_policy(const std::vector<std::string>& values) {
  SeedPolicy p;
  if (values.empty()) return p;
  p.all = false;
  bool saw_all = false;
  for (const auto& v : values) {
    std::string_view s = v;
    if (s == "all") {
      saw_all = true;
    } else if (s.rfind("repo:", 0) == 0) {
      auto rest = s.substr(5);
      auto slash = rest.find('/');
      if (slash == std::string_view::npos || !valid_part(rest.substr(0, slash)) ||
          !valid_part(rest.substr(slash + 1)))
        throw Error(Code::kInvalidArgument, "--seed " + v + ": expected repo:<owner>/<name>");
      p.repos.emplace_back(rest);
    } else if (s.rfind("follow:", 0) == 0) {
      auto did = s.substr(7);
      if (!crypto::parse_did(did))
        throw Error(Code::kInvalidArgument, "--seed " + v + ": expected follow:<did:key:…>");
      p.follow.emplace_back(did);
    } else {
      throw Error(Code::kInvalidArgument,
                  "--seed " + v + ": expected all, repo:<owner>/<name> or follow:<did:key:…>");
    }
  }
  if (saw_all && (!p.repos.empty() || !p.follow.empty()))
    throw Error(Code::kInvalidArgument, "--seed all cannot be combined with repo: or follow:");
  p.all = saw_all;
  return p;
}

}  // namespace guts::replication
