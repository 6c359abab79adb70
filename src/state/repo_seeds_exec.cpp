// Kind 42 set_repo_seeds and the reads of a private repository's seeds (state/repo_seeds.h).
#include <algorithm>

#include "crypto/did.h"
#include "state/permission.h"
#include "state/rejections.h"
#include "state/repo_seeds_state.h"
#include "state/tx.h"

namespace guts::state {

std::vector<crypto::PublicKey> repo_seeds(const StateView& view, uint64_t repo_id) {
  std::vector<crypto::PublicKey> out;
  auto prefix = repo_seed_prefix(repo_id);
  view.kv().scan_prefix(view.schema().governance, prefix,
                        [&](std::string_view key, std::string_view) {
                          if (key.size() == prefix.size() + 32) {
                            crypto::PublicKey k{};
                            std::copy(key.begin() + prefix.size(), key.end(), k.begin());
                            out.push_back(k);
                          }
                          return true;
                        });
  return out;
}

bool is_repo_seed(const StateView& view, uint64_t repo_id, const crypto::PublicKey& node) {
  return view.kv().get(view.schema().governance, repo_seed_key(repo_id, node)).has_value();
}

Status apply_set_repo_seeds(const Schema& s, Overlay& state, const Transaction& tx,
                            const SetRepoSeeds& b) {
  StateView view(s, state);
  if (auto st = require_repo_admin(view, b.repo_id, tx.author); !st.ok()) return st;
  if (b.seeds.size() > kMaxRepoSeeds)
    return reject::invalid("seeds: at most " + std::to_string(kMaxRepoSeeds) + " nodes");
  for (size_t i = 0; i < b.seeds.size(); ++i) {
    if (!crypto::is_valid_public_key(b.seeds[i]))
      return reject::invalid("seeds: " + crypto::did_from_key(b.seeds[i]) +
                             " is not a valid node key");
    if (i > 0 && !(b.seeds[i - 1] < b.seeds[i]))
      return reject::invalid("seeds: not sorted or repeated");
  }
  for (const auto& k : repo_seeds(view, b.repo_id))
    state.del(s.governance, repo_seed_key(b.repo_id, k));
  for (const auto& k : b.seeds) state.put(s.governance, repo_seed_key(b.repo_id, k), "");
  return Status::Ok();
}

}  // namespace guts::state
