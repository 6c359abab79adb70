// Typed reads of state over any KvReader: the committed database (API queries) or an
// execution overlay (validity checks). One place knows the key layout.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/kv.h"
#include "state/records.h"

namespace guts::state {

enum class Permission { kNone = 0, kRead, kTriage, kWrite, kMaintain, kAdmin };
const char* permission_name(Permission p);

class StateView {
 public:
  StateView(const Schema& schema, const KvReader& kv) : s_(schema), kv_(kv) {}

  std::optional<Account> account(const crypto::PublicKey& key) const;
  std::optional<Account> account_by_username(std::string_view username) const;
  std::optional<Delegation> delegation(const crypto::PublicKey& author,
                                       const crypto::PublicKey& node) const;
  std::vector<Delegation> delegations_of(const crypto::PublicKey& author) const;
  // Last nonce used by (author, signer); 0 when none.
  uint64_t nonce(const crypto::PublicKey& author, const crypto::PublicKey& signer) const;

  std::optional<Repo> repo(uint64_t id) const;
  std::optional<Repo> repo_by_name(const crypto::PublicKey& owner, std::string_view name) const;
  // Repositories of an owner, ordered by folded name.
  std::vector<Repo> repos_of(const crypto::PublicKey& owner) const;
  uint64_t next_repo_id() const;
  uint64_t next_account_id() const;

  std::optional<Bytes> ref(uint64_t repo_id, std::string_view ref) const;
  std::vector<std::pair<std::string, Bytes>> refs(uint64_t repo_id) const;

  // What `who` may do with `repo`: the owner is admin; anyone may read a public repository.
  Permission permission(const Repo& repo, const std::optional<crypto::PublicKey>& who) const;

  // Key builders (shared with the executor's writes).
  static std::string nonce_key(const crypto::PublicKey& a, const crypto::PublicKey& s);
  static std::string repo_key(uint64_t id);
  static std::string repo_name_key(const crypto::PublicKey& owner, std::string_view name);
  static std::string ref_key(uint64_t repo_id, std::string_view ref);
  static constexpr std::string_view kNextRepoId = "next_repo_id";
  static constexpr std::string_view kNextAccountId = "next_account_id";

 private:
  const Schema& s_;
  const KvReader& kv_;
};

}  // namespace guts::state
