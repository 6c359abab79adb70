#include "state/nostr_binding.h"

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/did.h"
#include "crypto/hash.h"

namespace guts::state {

std::string nostr_binding_statement(std::string_view chain_id, const crypto::PublicKey& identity,
                                    const crypto::XOnlyPublicKey& pubkey) {
  return "guts nostr binding v1\nchain: " + std::string(chain_id) +
         "\nidentity: " + crypto::did_from_key(identity) + "\nnostr: " + hex_encode(pubkey) + "\n";
}

crypto::Digest32 nostr_binding_digest(std::string_view chain_id, const crypto::PublicKey& identity,
                                      const crypto::XOnlyPublicKey& pubkey) {
  return crypto::sha256(nostr_binding_statement(chain_id, identity, pubkey));
}

BindNostrKey make_nostr_binding(std::string_view chain_id, const crypto::PublicKey& identity,
                                const crypto::SchnorrKey& nostr_key) {
  BindNostrKey b;
  b.pubkey = nostr_key.public_key();
  b.sig = nostr_key.sign(nostr_binding_digest(chain_id, identity, b.pubkey));
  return b;
}

void encode_bind_nostr_key(codec::Writer& w, const BindNostrKey& b) {
  w.boolean(b.unbind).fixed(b.pubkey).fixed(b.sig);
}

BindNostrKey decode_bind_nostr_key(codec::Reader& r) {
  BindNostrKey b;
  b.unbind = r.boolean();
  b.pubkey = r.fixed<32>();
  b.sig = r.fixed<64>();
  return b;
}

std::string encode_nostr_binding(const NostrBinding& b) {
  codec::Writer w;
  w.fixed(b.pubkey).fixed(b.sig).u64be(b.bound_at_ms);
  return guts::to_string(w.data());
}

NostrBinding decode_nostr_binding(std::string_view data) {
  codec::Reader r(as_bytes(data));
  NostrBinding b;
  b.pubkey = r.fixed<32>();
  b.sig = r.fixed<64>();
  b.bound_at_ms = r.u64be();
  r.finish();
  return b;
}

std::string nostr_binding_key(const crypto::PublicKey& user) {
  return "Nu" + guts::to_string(ByteView(user));
}

std::string nostr_key_owner_key(const crypto::XOnlyPublicKey& pubkey) {
  return "Nk" + guts::to_string(ByteView(pubkey));
}

}  // namespace guts::state
