#include "state/repo_seeds.h"

#include "state/field_codec.h"

namespace guts::state {

void encode_repo_seeds_body(codec::Writer& w, const SetRepoSeeds& b) {
  w.varint(b.repo_id);
  field::put_keys(w, b.seeds);
}

SetRepoSeeds decode_repo_seeds_body(codec::Reader& r) {
  SetRepoSeeds b;
  b.repo_id = r.varint();
  b.seeds = field::get_keys(r, kMaxRepoSeeds, "seeds");
  for (size_t i = 1; i < b.seeds.size(); ++i)
    if (!(b.seeds[i - 1] < b.seeds[i])) throw codec::DecodeError("seeds: not strictly increasing");
  return b;
}

std::string repo_seed_prefix(uint64_t repo_id) {
  std::string k = "P";
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(repo_id >> shift));
  return k;
}

std::string repo_seed_key(uint64_t repo_id, const crypto::PublicKey& node) {
  return repo_seed_prefix(repo_id) + std::string(node.begin(), node.end());
}

}  // namespace guts::state
