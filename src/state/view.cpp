#include "state/view.h"

#include "state/permission.h"
#include "state/rules.h"

namespace guts::state {

const char* permission_name(Permission p) {
  switch (p) {
    case Permission::kNone:
      return "none";
    case Permission::kRead:
      return "read";
    case Permission::kTriage:
      return "triage";
    case Permission::kWrite:
      return "write";
    case Permission::kMaintain:
      return "maintain";
    case Permission::kAdmin:
      return "admin";
  }
  return "none";
}

std::string StateView::nonce_key(const crypto::PublicKey& a, const crypto::PublicKey& s) {
  return key_of(a, s);
}
std::string StateView::repo_key(uint64_t id) {
  return storage::be64(id);
}
std::string StateView::repo_name_key(const crypto::PublicKey& owner, std::string_view name) {
  return key_of(owner) + fold_case(name);
}
std::string StateView::ref_key(uint64_t repo_id, std::string_view ref) {
  return storage::be64(repo_id) + std::string(ref);
}

std::optional<Account> StateView::account(const crypto::PublicKey& key) const {
  auto v = kv_.get(s_.accounts, key_of(key));
  if (!v) return std::nullopt;
  return decode_account(*v);
}

std::optional<Account> StateView::account_by_username(std::string_view username) const {
  auto pk = kv_.get(s_.usernames, fold_case(username));
  if (!pk || pk->size() != 32) return std::nullopt;
  crypto::PublicKey key;
  std::copy(pk->begin(), pk->end(), key.begin());
  return account(key);
}

std::optional<Delegation> StateView::delegation(const crypto::PublicKey& author,
                                                const crypto::PublicKey& node) const {
  auto v = kv_.get(s_.delegations, key_of(author, node));
  if (!v) return std::nullopt;
  return decode_delegation(*v);
}

std::vector<Delegation> StateView::delegations_of(const crypto::PublicKey& author) const {
  std::vector<Delegation> out;
  kv_.scan_prefix(s_.delegations, key_of(author), [&](std::string_view, std::string_view v) {
    out.push_back(decode_delegation(v));
    return true;
  });
  return out;
}

uint64_t StateView::nonce(const crypto::PublicKey& author, const crypto::PublicKey& signer) const {
  auto v = kv_.get(s_.nonces, nonce_key(author, signer));
  return v ? storage::read_be64(*v) : 0;
}

std::optional<Repo> StateView::repo(uint64_t id) const {
  auto v = kv_.get(s_.repos, repo_key(id));
  if (!v) return std::nullopt;
  return decode_repo(*v);
}

std::optional<Repo> StateView::repo_by_name(const crypto::PublicKey& owner,
                                            std::string_view name) const {
  auto id = kv_.get(s_.repo_names, repo_name_key(owner, name));
  if (!id) return std::nullopt;
  return repo(storage::read_be64(*id));
}

std::vector<Repo> StateView::repos_of(const crypto::PublicKey& owner) const {
  std::vector<uint64_t> ids;
  kv_.scan_prefix(s_.repo_names, key_of(owner), [&](std::string_view, std::string_view v) {
    ids.push_back(storage::read_be64(v));
    return true;
  });
  std::vector<Repo> out;
  for (auto id : ids)
    if (auto r = repo(id)) out.push_back(std::move(*r));
  return out;
}

uint64_t StateView::next_repo_id() const {
  auto v = kv_.get(s_.meta, kNextRepoId);
  return v ? storage::read_be64(*v) : 1;
}

uint64_t StateView::next_account_id() const {
  auto v = kv_.get(s_.meta, kNextAccountId);
  return v ? storage::read_be64(*v) : 1;
}

std::optional<Bytes> StateView::ref(uint64_t repo_id, std::string_view ref) const {
  auto v = kv_.get(s_.refs, ref_key(repo_id, ref));
  if (!v) return std::nullopt;
  return Bytes(v->begin(), v->end());
}

std::vector<std::pair<std::string, Bytes>> StateView::refs(uint64_t repo_id) const {
  std::vector<std::pair<std::string, Bytes>> out;
  kv_.scan_prefix(s_.refs, storage::be64(repo_id), [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k.substr(8)), Bytes(v.begin(), v.end()));
    return true;
  });
  return out;
}

Permission StateView::permission(const Repo& repo,
                                 const std::optional<crypto::PublicKey>& who) const {
  return effective_permission(*this, repo, who);
}

}  // namespace guts::state
