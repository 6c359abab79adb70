#include "state/org.h"

#include "codec/codec.h"
#include "core/utf8.h"
#include "crypto/hash.h"
#include "state/collab.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {

constexpr size_t kMaxStr = 4096;

std::optional<std::string> get_opt_str(Reader& r, const char* what) {
  return field::get_opt_str(r, kMaxStr, what);
}

}  // namespace

const char* org_role_name(uint8_t role) {
  return role == kOrgOwner ? "admin" : "member";
}
const char* membership_state_name(uint8_t st) {
  return st == kMembershipPending ? "pending" : "active";
}
const char* team_role_name(uint8_t role) {
  return role == kTeamMaintainer ? "maintainer" : "member";
}
const char* team_privacy_name(uint8_t privacy) {
  return privacy == kTeamSecret ? "secret" : "closed";
}

crypto::PublicKey org_key(uint64_t account_id) {
  Writer w;
  w.fixed(as_bytes(std::string_view("guts/org-key"))).u64be(account_id);
  auto d = crypto::sha256(w.data());
  crypto::PublicKey k;
  std::copy(d.begin(), d.end(), k.begin());
  return k;
}

// ---- bodies ----

void encode_org_body(Writer& w, const CreateOrg& b) {
  w.str(b.login).str(b.name).str(b.description);
}
void encode_org_body(Writer& w, const UpdateOrg& b) {
  w.fixed(b.org);
  put_opt_str(w, b.name);
  put_opt_str(w, b.description);
  put_opt_str(w, b.email);
  put_opt_str(w, b.location);
  put_opt_str(w, b.blog);
  put_opt_u8(w, b.default_permission);
}
void encode_org_body(Writer& w, const SetOrgMember& b) {
  w.fixed(b.org).fixed(b.user).u8(b.action).u8(b.role);
}
void encode_org_body(Writer& w, const AnswerOrgInvite& b) {
  w.fixed(b.org).boolean(b.accept);
}
void encode_org_body(Writer& w, const CreateTeam& b) {
  w.fixed(b.org).str(b.name).str(b.description).u8(b.privacy).varint(b.parent_id);
  w.varint(b.maintainers.size());
  for (const auto& k : b.maintainers) w.fixed(k);
  w.varint(b.repo_ids.size());
  for (auto id : b.repo_ids) w.varint(id);
  w.u8(b.repo_permission);
}
void encode_org_body(Writer& w, const UpdateTeam& b) {
  w.varint(b.team_id);
  put_opt_str(w, b.name);
  put_opt_str(w, b.description);
  put_opt_u8(w, b.privacy);
  put_opt_u64(w, b.parent_id);
}
void encode_org_body(Writer& w, const DeleteTeam& b) {
  w.varint(b.team_id);
}
void encode_org_body(Writer& w, const SetTeamMember& b) {
  w.varint(b.team_id).fixed(b.user).u8(b.role);
}
void encode_org_body(Writer& w, const SetTeamRepo& b) {
  w.varint(b.team_id).varint(b.repo_id).u8(b.permission);
}
void encode_org_body(Writer& w, const CreateOrgRepo& b) {
  w.fixed(b.org).str(b.name).str(b.description).boolean(b.is_private).str(b.default_branch);
}
void encode_org_body(Writer& w, const TransferRepo& b) {
  w.varint(b.repo_id).fixed(b.new_owner);
  put_opt_str(w, b.new_name);
}

template <>
CreateOrg decode_org_body<CreateOrg>(Reader& r) {
  CreateOrg b;
  b.login = r.str(kMaxStr, "login");
  b.name = r.str(kMaxStr, "name");
  b.description = r.str(kMaxStr, "description");
  return b;
}
template <>
UpdateOrg decode_org_body<UpdateOrg>(Reader& r) {
  UpdateOrg b;
  b.org = r.fixed<32>();
  b.name = get_opt_str(r, "name");
  b.description = get_opt_str(r, "description");
  b.email = get_opt_str(r, "email");
  b.location = get_opt_str(r, "location");
  b.blog = get_opt_str(r, "blog");
  b.default_permission = get_opt_u8(r);
  return b;
}
template <>
SetOrgMember decode_org_body<SetOrgMember>(Reader& r) {
  SetOrgMember b;
  b.org = r.fixed<32>();
  b.user = r.fixed<32>();
  b.action = r.u8();
  b.role = r.u8();
  return b;
}
template <>
AnswerOrgInvite decode_org_body<AnswerOrgInvite>(Reader& r) {
  AnswerOrgInvite b;
  b.org = r.fixed<32>();
  b.accept = r.boolean();
  return b;
}
template <>
CreateTeam decode_org_body<CreateTeam>(Reader& r) {
  CreateTeam b;
  b.org = r.fixed<32>();
  b.name = r.str(kMaxStr, "name");
  b.description = r.str(kMaxStr, "description");
  b.privacy = r.u8();
  b.parent_id = r.varint();
  size_t n = r.count(kMaxTeamListed, "maintainers");
  for (size_t i = 0; i < n; ++i) b.maintainers.push_back(r.fixed<32>());
  n = r.count(kMaxTeamListed, "repositories");
  for (size_t i = 0; i < n; ++i) b.repo_ids.push_back(r.varint());
  b.repo_permission = r.u8();
  return b;
}
template <>
UpdateTeam decode_org_body<UpdateTeam>(Reader& r) {
  UpdateTeam b;
  b.team_id = r.varint();
  b.name = get_opt_str(r, "name");
  b.description = get_opt_str(r, "description");
  b.privacy = get_opt_u8(r);
  b.parent_id = get_opt_u64(r);
  return b;
}
template <>
DeleteTeam decode_org_body<DeleteTeam>(Reader& r) {
  return DeleteTeam{r.varint()};
}
template <>
SetTeamMember decode_org_body<SetTeamMember>(Reader& r) {
  SetTeamMember b;
  b.team_id = r.varint();
  b.user = r.fixed<32>();
  b.role = r.u8();
  return b;
}
template <>
SetTeamRepo decode_org_body<SetTeamRepo>(Reader& r) {
  SetTeamRepo b;
  b.team_id = r.varint();
  b.repo_id = r.varint();
  b.permission = r.u8();
  return b;
}
template <>
CreateOrgRepo decode_org_body<CreateOrgRepo>(Reader& r) {
  CreateOrgRepo b;
  b.org = r.fixed<32>();
  b.name = r.str(kMaxStr, "name");
  b.description = r.str(kMaxStr, "description");
  b.is_private = r.boolean();
  b.default_branch = r.str(kMaxStr, "default branch");
  return b;
}
template <>
TransferRepo decode_org_body<TransferRepo>(Reader& r) {
  TransferRepo b;
  b.repo_id = r.varint();
  b.new_owner = r.fixed<32>();
  b.new_name = get_opt_str(r, "new_name");
  return b;
}

// ---- records ----

std::string encode_org(const Org& x) {
  Writer w;
  w.varint(x.id)
      .fixed(x.key)
      .str(x.login)
      .str(x.name)
      .str(x.description)
      .str(x.email)
      .str(x.location)
      .str(x.blog)
      .u8(x.default_permission)
      .fixed(x.creator)
      .varint(x.created_ms)
      .varint(x.updated_ms);
  return guts::to_string(w.data());
}
Org decode_org(std::string_view data) {
  Reader r(as_bytes(data));
  Org x;
  x.id = r.varint();
  x.key = r.fixed<32>();
  x.login = r.str(kMaxStr);
  x.name = r.str(kMaxStr);
  x.description = r.str(kMaxStr);
  x.email = r.str(kMaxStr);
  x.location = r.str(kMaxStr);
  x.blog = r.str(kMaxStr);
  x.default_permission = r.u8();
  x.creator = r.fixed<32>();
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_org_membership(const OrgMembership& x) {
  Writer w;
  w.fixed(x.org).fixed(x.user).u8(x.role).u8(x.state).fixed(x.inviter).varint(x.created_ms);
  return guts::to_string(w.data());
}
OrgMembership decode_org_membership(std::string_view data) {
  Reader r(as_bytes(data));
  OrgMembership x;
  x.org = r.fixed<32>();
  x.user = r.fixed<32>();
  x.role = r.u8();
  x.state = r.u8();
  x.inviter = r.fixed<32>();
  x.created_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_team(const Team& x) {
  Writer w;
  w.varint(x.id)
      .fixed(x.org)
      .str(x.name)
      .str(x.slug)
      .str(x.description)
      .u8(x.privacy)
      .varint(x.parent_id)
      .varint(x.created_ms)
      .varint(x.updated_ms);
  return guts::to_string(w.data());
}
Team decode_team(std::string_view data) {
  Reader r(as_bytes(data));
  Team x;
  x.id = r.varint();
  x.org = r.fixed<32>();
  x.name = r.str(kMaxStr);
  x.slug = r.str(kMaxStr);
  x.description = r.str(kMaxStr);
  x.privacy = r.u8();
  x.parent_id = r.varint();
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_team_member(const TeamMember& x) {
  Writer w;
  w.varint(x.team_id).fixed(x.user).u8(x.role).varint(x.added_ms);
  return guts::to_string(w.data());
}
TeamMember decode_team_member(std::string_view data) {
  Reader r(as_bytes(data));
  TeamMember x;
  x.team_id = r.varint();
  x.user = r.fixed<32>();
  x.role = r.u8();
  x.added_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_team_repo(const TeamRepo& x) {
  Writer w;
  w.varint(x.team_id).varint(x.repo_id).u8(x.permission).varint(x.added_ms);
  return guts::to_string(w.data());
}
TeamRepo decode_team_repo(std::string_view data) {
  Reader r(as_bytes(data));
  TeamRepo x;
  x.team_id = r.varint();
  x.repo_id = r.varint();
  x.permission = r.u8();
  x.added_ms = r.varint();
  r.finish();
  return x;
}

// ---- validity helpers ----

std::string team_slug(std::string_view name) {
  std::string out;
  bool dash = false;
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    if (alnum || c == '_') {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    } else {
      dash = true;
    }
  }
  return out;
}

std::optional<std::string> profile_text_error(std::string_view s, size_t max_chars) {
  if (!is_valid_utf8(s)) return "is not valid UTF-8";
  if (utf8_chars(s) > max_chars)
    return "is too long (maximum is " + std::to_string(max_chars) + " characters)";
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return "may not contain control characters";
  return std::nullopt;
}

std::optional<std::string> team_name_error(std::string_view name) {
  if (name.empty()) return "can't be blank";
  if (auto e = profile_text_error(name, kMaxTeamNameChars)) return e;
  if (team_slug(name).empty()) return "must contain a letter or a digit";
  return std::nullopt;
}

bool valid_default_permission(uint8_t p) {
  return p == 0 || p == 1 || p == 3 || p == 5;
}

}  // namespace guts::state
