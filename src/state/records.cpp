#include "state/records.h"

#include "codec/codec.h"

namespace guts::state {

using codec::Reader;
using codec::Writer;

std::string encode_account(const Account& a) {
  Writer w;
  w.varint(a.id).fixed(a.key).str(a.username).varint(a.registered_ms);
  if (a.is_org) w.u8(1);
  return guts::to_string(w.data());
}

Account decode_account(std::string_view data) {
  Reader r(as_bytes(data));
  Account a;
  a.id = r.varint();
  a.key = r.fixed<32>();
  a.username = r.str(256);
  a.registered_ms = r.varint();
  if (!r.done()) {
    if (r.u8() != 1) throw codec::DecodeError("unknown account kind");
    a.is_org = true;
  }
  r.finish();
  return a;
}

std::string encode_delegation(const Delegation& d) {
  Writer w;
  w.fixed(d.author).fixed(d.node).varint(d.scopes).varint(d.expires_ms).varint(d.granted_ms);
  return guts::to_string(w.data());
}

Delegation decode_delegation(std::string_view data) {
  Reader r(as_bytes(data));
  Delegation d;
  d.author = r.fixed<32>();
  d.node = r.fixed<32>();
  d.scopes = r.varint();
  d.expires_ms = r.varint();
  d.granted_ms = r.varint();
  r.finish();
  return d;
}

std::string encode_repo(const Repo& x) {
  Writer w;
  w.varint(x.id)
      .fixed(x.owner)
      .str(x.name)
      .str(x.description)
      .boolean(x.is_private)
      .str(x.default_branch)
      .boolean(x.allow_force_push)
      .varint(x.created_ms)
      .varint(x.updated_ms)
      .varint(x.pushed_ms);
  return guts::to_string(w.data());
}

Repo decode_repo(std::string_view data) {
  Reader r(as_bytes(data));
  Repo x;
  x.id = r.varint();
  x.owner = r.fixed<32>();
  x.name = r.str(256);
  x.description = r.str(4096);
  x.is_private = r.boolean();
  x.default_branch = r.str(1024);
  x.allow_force_push = r.boolean();
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  x.pushed_ms = r.varint();
  r.finish();
  return x;
}

}  // namespace guts::state
