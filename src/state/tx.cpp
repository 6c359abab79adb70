#include "state/tx.h"

#include "codec/codec.h"
#include "crypto/hash.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;

namespace {
constexpr size_t kMaxName = 256;
constexpr size_t kMaxDescription = 4096;
constexpr size_t kMaxRefName = 1024;
constexpr size_t kMaxOid = 32;
constexpr size_t kMaxRefChanges = 4096;
constexpr uint8_t kVersion = 1;

void put_opt_str(Writer& w, const std::optional<std::string>& v) {
  w.boolean(v.has_value());
  if (v) w.str(*v);
}
void put_opt_bool(Writer& w, const std::optional<bool>& v) {
  w.boolean(v.has_value());
  if (v) w.boolean(*v);
}
std::optional<std::string> get_opt_str(Reader& r, size_t max, const char* what) {
  if (!r.boolean()) return std::nullopt;
  return r.str(max, what);
}
std::optional<bool> get_opt_bool(Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.boolean();
}
Bytes get_oid(Reader& r) {
  Bytes oid = r.bytes(kMaxOid, "object id");
  if (!oid.empty() && oid.size() != 20 && oid.size() != 32)
    throw DecodeError("object id must be 0, 20 or 32 bytes");
  return oid;
}
}  // namespace

const char* tx_kind_name(TxKind kind) {
  switch (kind) {
    case TxKind::kRegisterUser: return "register_user";
    case TxKind::kGrantDelegation: return "grant_delegation";
    case TxKind::kRevokeDelegation: return "revoke_delegation";
    case TxKind::kCreateRepo: return "create_repo";
    case TxKind::kUpdateRepo: return "update_repo";
    case TxKind::kDeleteRepo: return "delete_repo";
    case TxKind::kUpdateRefs: return "update_refs";
  }
  return "unknown";
}

TxKind kind_of(const TxBody& body) {
  return std::visit(
      [](const auto& b) -> TxKind {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RegisterUser>) return TxKind::kRegisterUser;
        if constexpr (std::is_same_v<T, GrantDelegation>) return TxKind::kGrantDelegation;
        if constexpr (std::is_same_v<T, RevokeDelegation>) return TxKind::kRevokeDelegation;
        if constexpr (std::is_same_v<T, CreateRepo>) return TxKind::kCreateRepo;
        if constexpr (std::is_same_v<T, UpdateRepo>) return TxKind::kUpdateRepo;
        if constexpr (std::is_same_v<T, DeleteRepo>) return TxKind::kDeleteRepo;
        if constexpr (std::is_same_v<T, UpdateRefs>) return TxKind::kUpdateRefs;
      },
      body);
}

Bytes encode_body(const TxBody& body) {
  Writer w;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RegisterUser>) {
          w.str(b.username);
        } else if constexpr (std::is_same_v<T, GrantDelegation>) {
          w.fixed(b.node).varint(b.scopes).varint(b.expires_ms);
        } else if constexpr (std::is_same_v<T, RevokeDelegation>) {
          w.fixed(b.node);
        } else if constexpr (std::is_same_v<T, CreateRepo>) {
          w.str(b.name).str(b.description).boolean(b.is_private).str(b.default_branch);
        } else if constexpr (std::is_same_v<T, UpdateRepo>) {
          w.varint(b.repo_id);
          put_opt_str(w, b.name);
          put_opt_str(w, b.description);
          put_opt_bool(w, b.is_private);
          put_opt_str(w, b.default_branch);
          put_opt_bool(w, b.allow_force_push);
        } else if constexpr (std::is_same_v<T, DeleteRepo>) {
          w.varint(b.repo_id);
        } else if constexpr (std::is_same_v<T, UpdateRefs>) {
          w.varint(b.repo_id).varint(b.changes.size());
          for (const auto& c : b.changes) w.str(c.ref).bytes(c.old_oid).bytes(c.new_oid);
          w.boolean(b.force);
        }
      },
      body);
  return w.take();
}

TxBody decode_body(TxKind kind, ByteView data) {
  Reader r(data);
  TxBody out;
  switch (kind) {
    case TxKind::kRegisterUser:
      out = RegisterUser{r.str(kMaxName, "username")};
      break;
    case TxKind::kGrantDelegation: {
      GrantDelegation g;
      g.node = r.fixed<32>();
      g.scopes = r.varint();
      g.expires_ms = r.varint();
      out = g;
      break;
    }
    case TxKind::kRevokeDelegation:
      out = RevokeDelegation{r.fixed<32>()};
      break;
    case TxKind::kCreateRepo: {
      CreateRepo c;
      c.name = r.str(kMaxName, "name");
      c.description = r.str(kMaxDescription, "description");
      c.is_private = r.boolean();
      c.default_branch = r.str(kMaxRefName, "default branch");
      out = c;
      break;
    }
    case TxKind::kUpdateRepo: {
      UpdateRepo u;
      u.repo_id = r.varint();
      u.name = get_opt_str(r, kMaxName, "name");
      u.description = get_opt_str(r, kMaxDescription, "description");
      u.is_private = get_opt_bool(r);
      u.default_branch = get_opt_str(r, kMaxRefName, "default branch");
      u.allow_force_push = get_opt_bool(r);
      out = u;
      break;
    }
    case TxKind::kDeleteRepo:
      out = DeleteRepo{r.varint()};
      break;
    case TxKind::kUpdateRefs: {
      UpdateRefs u;
      u.repo_id = r.varint();
      size_t n = r.count(kMaxRefChanges, "ref changes");
      u.changes.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        RefChange c;
        c.ref = r.str(kMaxRefName, "ref name");
        c.old_oid = get_oid(r);
        c.new_oid = get_oid(r);
        u.changes.push_back(std::move(c));
      }
      u.force = r.boolean();
      out = std::move(u);
      break;
    }
    default:
      throw DecodeError("unknown transaction kind " + std::to_string(static_cast<uint32_t>(kind)));
  }
  r.finish();
  return out;
}

Bytes Transaction::signing_bytes() const {
  Bytes body_bytes = encode_body(body);
  Writer w(body_bytes.size() + 128);
  w.u8(kVersion)
      .str(chain_id)
      .varint(static_cast<uint32_t>(kind()))
      .fixed(author)
      .fixed(signer)
      .varint(nonce)
      .varint(timestamp_ms)
      .bytes(body_bytes);
  return w.take();
}

Bytes Transaction::encode() const {
  Bytes out = signing_bytes();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Digest Transaction::id() const { return crypto::sha256(encode()); }

bool Transaction::verify_signature() const {
  return crypto::verify(signer, kTxDomain, signing_bytes(), signature);
}

void Transaction::sign(const crypto::SigningKey& key) {
  signer = key.public_key();
  signature = key.sign(kTxDomain, signing_bytes());
}

Transaction decode_transaction(ByteView data) {
  if (data.size() > kMaxTxBytes) throw DecodeError("transaction too large");
  Reader r(data);
  Transaction tx;
  if (r.u8() != kVersion) throw DecodeError("unsupported transaction version");
  tx.chain_id = r.str(kMaxChainIdBytes, "chain id");
  uint64_t kind = r.varint_max(0xffff, "kind");
  tx.author = r.fixed<32>();
  tx.signer = r.fixed<32>();
  tx.nonce = r.varint();
  tx.timestamp_ms = r.varint();
  ByteView body = r.bytes_view(kMaxBodyBytes, "body");
  tx.body = decode_body(static_cast<TxKind>(kind), body);
  tx.signature = r.fixed<64>();
  r.finish();
  return tx;
}

}  // namespace guts::state
