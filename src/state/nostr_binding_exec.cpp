// Kind 75 bind_nostr_key (state/nostr_binding.h).
#include "crypto/did.h"
#include "state/nostr_binding_state.h"
#include "state/rejections.h"
#include "state/tx.h"

namespace guts::state {

std::optional<NostrBinding> nostr_binding_of(const StateView& view, const crypto::PublicKey& user) {
  auto v = view.kv().get(view.schema().governance, nostr_binding_key(user));
  if (!v) return std::nullopt;
  return decode_nostr_binding(*v);
}

std::optional<crypto::PublicKey> nostr_key_owner(const StateView& view,
                                                 const crypto::XOnlyPublicKey& pubkey) {
  auto v = view.kv().get(view.schema().governance, nostr_key_owner_key(pubkey));
  if (!v || v->size() != 32) return std::nullopt;
  crypto::PublicKey pk{};
  std::copy(v->begin(), v->end(), pk.begin());
  return pk;
}

Status apply_bind_nostr_key(const Schema& s, Overlay& state, const Transaction& tx,
                            const BindNostrKey& b, uint64_t now_ms) {
  StateView view(s, state);
  if (!view.account(tx.author))
    return reject::denied("only a registered user can bind a Nostr key");
  const auto current = nostr_binding_of(view, tx.author);
  if (b.unbind) {
    if (b.pubkey != crypto::XOnlyPublicKey{} || b.sig != crypto::SchnorrSignature{})
      return reject::invalid("pubkey and sig: must be empty when unbinding");
    if (!current) return reject::not_found("you have no Nostr key bound");
    state.del(s.governance, nostr_key_owner_key(current->pubkey));
    state.del(s.governance, nostr_binding_key(tx.author));
    return Status::Ok();
  }
  if (!crypto::is_valid_xonly_public_key(b.pubkey))
    return reject::invalid("pubkey: not a secp256k1 x-only public key");
  if (!crypto::schnorr_verify(b.pubkey, nostr_binding_digest(tx.chain_id, tx.author, b.pubkey),
                              b.sig))
    return reject::invalid(
        "sig: not the Nostr key's BIP-340 signature of the binding statement for this identity "
        "and network");
  if (auto owner = nostr_key_owner(view, b.pubkey)) {
    if (*owner == tx.author) return reject::taken("this Nostr key is already bound to you");
    return reject::taken("this Nostr key is bound to " + crypto::did_from_key(*owner));
  }
  // Binding a new key replaces the old one: the old key is free again.
  if (current) state.del(s.governance, nostr_key_owner_key(current->pubkey));
  state.put(s.governance, nostr_binding_key(tx.author),
            encode_nostr_binding({b.pubkey, b.sig, now_ms}));
  state.put(s.governance, nostr_key_owner_key(b.pubkey), guts::to_string(ByteView(tx.author)));
  return Status::Ok();
}

}  // namespace guts::state
