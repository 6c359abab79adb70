// Kinds 60-61 (add_ssh_key, delete_ssh_key) and the reads of SSH keys (state/ssh_keys.h).
#include <algorithm>

#include "state/rejections.h"
#include "state/ssh_keys_state.h"
#include "state/tx.h"

namespace guts::state {

namespace {

uint64_t read_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::string be64(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[static_cast<size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return k;
}

}  // namespace

std::optional<SshKey> ssh_key(const StateView& view, uint64_t id) {
  auto v = view.kv().get(view.schema().governance, ssh_key_record_key(id));
  if (!v) return std::nullopt;
  return decode_ssh_key(as_bytes(*v));
}

std::vector<SshKey> ssh_keys_of(const StateView& view, const crypto::PublicKey& user) {
  std::vector<uint64_t> ids;
  auto prefix = ssh_key_user_prefix(user);
  view.kv().scan_prefix(view.schema().governance, prefix,
                        [&](std::string_view key, std::string_view) {
                          if (key.size() == prefix.size() + 8)
                            ids.push_back(read_be64(key.substr(prefix.size())));
                          return true;
                        });
  std::vector<SshKey> out;
  for (auto id : ids)
    if (auto k = ssh_key(view, id)) out.push_back(std::move(*k));
  return out;
}

std::optional<SshKeyOwner> ssh_key_owner(const StateView& view, const SshPublicKey& key) {
  if (auto v = view.kv().get(view.schema().governance, ssh_key_fingerprint_key(key.blob))) {
    if (auto k = ssh_key(view, read_be64(*v))) return SshKeyOwner{k->user, k->id};
  }
  if (auto pk = key.ed25519())
    if (view.account(*pk)) return SshKeyOwner{*pk, 0};
  return std::nullopt;
}

Status apply_add_ssh_key(const Schema& s, Overlay& state, const Transaction& tx, const AddSshKey& b,
                         uint64_t now_ms) {
  StateView view(s, state);
  if (!view.account(tx.author)) return reject::denied("register a username before adding keys");
  if (b.title.size() > kMaxSshKeyTitle) return reject::invalid("title: too long");
  for (char c : b.title)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return reject::invalid("title: control characters are not allowed");
  std::string why;
  auto key = parse_ssh_public_key(b.key, &why);
  if (!key) return reject::invalid("key: " + why);
  if (view.kv().get(s.governance, ssh_key_fingerprint_key(key->blob)))
    return reject::taken("key is already in use");
  if (auto pk = key->ed25519(); pk && view.account(*pk))
    return reject::taken("key is already in use (it is an account's identity key)");
  if (ssh_keys_of(view, tx.author).size() >= kMaxSshKeysPerUser)
    return reject::invalid("at most " + std::to_string(kMaxSshKeysPerUser) + " SSH keys per user");
  uint64_t id = 1;
  if (auto v = state.get(s.governance, kSshKeyNextId)) id = read_be64(*v);
  state.put(s.governance, kSshKeyNextId, be64(id + 1));
  SshKey rec{id, tx.author, b.title, key->canonical(), now_ms};
  auto enc = encode_ssh_key(rec);
  state.put(s.governance, ssh_key_record_key(id),
            std::string_view(reinterpret_cast<const char*>(enc.data()), enc.size()));
  state.put(s.governance, ssh_key_user_key(tx.author, id), "");
  state.put(s.governance, ssh_key_fingerprint_key(key->blob), be64(id));
  return Status::Ok();
}

Status apply_delete_ssh_key(const Schema& s, Overlay& state, const Transaction& tx,
                            const DeleteSshKey& b) {
  StateView view(s, state);
  auto k = ssh_key(view, b.key_id);
  // Another user's key is reported as absent: ids reveal nothing about who holds a key.
  if (!k || k->user != tx.author)
    return reject::not_found("SSH key " + std::to_string(b.key_id) + " does not exist");
  auto parsed = parse_ssh_public_key(k->key);
  state.del(s.governance, ssh_key_record_key(k->id));
  state.del(s.governance, ssh_key_user_key(k->user, k->id));
  if (parsed) state.del(s.governance, ssh_key_fingerprint_key(parsed->blob));
  return Status::Ok();
}

}  // namespace guts::state
