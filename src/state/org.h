// Governance: organizations, memberships, teams and team repository permissions as signed
// transactions (issue 14; docs/governance.md).
//
// An organization is an account without a key pair: its key is derived from its account id
// (`org_key`), so nobody can sign as it, and it shares the username namespace with users (its
// login is registered in the same `usernames` family, and its Account record carries
// `is_org`). Repositories it owns name that key as their owner, so every repository rule keyed
// by owner works unchanged. Members are users with a role (member or owner) and a state
// (active, or pending until they accept an invitation). Teams belong to one organization, may
// have one parent (one level of nesting), have members (member or maintainer) and grant a
// permission on repositories of their organization; a child team inherits its parent's
// grants. Who may do what with a repository is computed in one place: state/permission.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

// ---- enumerations (numeric values are part of the encodings) ----

enum OrgRole : uint8_t { kOrgMember = 1, kOrgOwner = 2 };  // GitHub: "member", "admin"
enum MembershipState : uint8_t { kMembershipActive = 1, kMembershipPending = 2 };
enum MemberAction : uint8_t { kMemberAdd = 1, kMemberInvite = 2, kMemberRemove = 3 };
enum TeamRole : uint8_t { kTeamNone = 0, kTeamMember = 1, kTeamMaintainer = 2 };
enum TeamPrivacy : uint8_t { kTeamClosed = 1, kTeamSecret = 2 };

const char* org_role_name(uint8_t role);         // "member", "admin"
const char* membership_state_name(uint8_t st);   // "active", "pending"
const char* team_role_name(uint8_t role);        // "member", "maintainer"
const char* team_privacy_name(uint8_t privacy);  // "closed", "secret"

// The key of organization `account_id`: SHA-256("guts/org-key" ‖ be64(id)). No private key is
// known for it, so no transaction can be authored by an organization.
crypto::PublicKey org_key(uint64_t account_id);

// ---- transaction bodies ----

// A new organization; the author becomes its first owner.
struct CreateOrg {
  std::string login;
  std::string name;  // display name ("" none)
  std::string description;
};
// Profile and default member permission (0 none, 1 read, 3 write, 5 admin). Owners only.
struct UpdateOrg {
  crypto::PublicKey org{};
  std::optional<std::string> name;  // display name
  std::optional<std::string> description;
  std::optional<std::string> email;
  std::optional<std::string> location;
  std::optional<std::string> blog;
  std::optional<uint8_t> default_permission;
};
// add: active at once (owners); invite: pending until the user accepts (owners); remove: by an
// owner, or by the member themself (leave, or decline an invitation). On an existing membership
// add/invite set the role.
struct SetOrgMember {
  crypto::PublicKey org{};
  crypto::PublicKey user{};
  uint8_t action = kMemberAdd;
  uint8_t role = kOrgMember;
};
// The author answers their pending invitation: accept (active) or decline (removed).
struct AnswerOrgInvite {
  crypto::PublicKey org{};
  bool accept = true;
};
// A team of `org` (owners only). The author becomes a maintainer; `maintainers` too, and the
// team gets `repo_permission` on each of `repo_ids` — all in the one transaction.
struct CreateTeam {
  crypto::PublicKey org{};
  std::string name;
  std::string description;
  uint8_t privacy = kTeamClosed;
  uint64_t parent_id = 0;  // 0: none
  std::vector<crypto::PublicKey> maintainers;
  std::vector<uint64_t> repo_ids;
  uint8_t repo_permission = 1;
};
struct UpdateTeam {
  uint64_t team_id = 0;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<uint8_t> privacy;
  std::optional<uint64_t> parent_id;  // 0 removes the parent
};
// Deletes the team, its child teams, their memberships and grants.
struct DeleteTeam {
  uint64_t team_id = 0;
};
// role 0 removes the member.
struct SetTeamMember {
  uint64_t team_id = 0;
  crypto::PublicKey user{};
  uint8_t role = kTeamMember;
};
// permission 0 removes the grant; 1 read … 5 admin. The repository must belong to the team's
// organization.
struct SetTeamRepo {
  uint64_t team_id = 0;
  uint64_t repo_id = 0;
  uint8_t permission = 1;
};
// A repository owned by `org` (its owners and members may create one; a member who is not an
// owner becomes an admin collaborator of it, as on GitHub).
struct CreateOrgRepo {
  crypto::PublicKey org{};
  std::string name;
  std::string description;
  bool is_private = false;
  std::string default_branch = "main";
};
// Moves a repository to another owner: an organization the author belongs to, or the author
// themself. Needs admin on the repository.
struct TransferRepo {
  uint64_t repo_id = 0;
  crypto::PublicKey new_owner{};
  std::optional<std::string> new_name;
};

template <typename T>
inline constexpr bool kIsOrgBody =
    std::is_same_v<T, CreateOrg> || std::is_same_v<T, UpdateOrg> ||
    std::is_same_v<T, SetOrgMember> || std::is_same_v<T, AnswerOrgInvite> ||
    std::is_same_v<T, CreateTeam> || std::is_same_v<T, UpdateTeam> ||
    std::is_same_v<T, DeleteTeam> || std::is_same_v<T, SetTeamMember> ||
    std::is_same_v<T, SetTeamRepo> || std::is_same_v<T, CreateOrgRepo> ||
    std::is_same_v<T, TransferRepo>;

// ---- records ----

struct Org {
  uint64_t id = 0;  // the account id (shared sequence with users, as on GitHub)
  crypto::PublicKey key{};
  std::string login;
  std::string name;
  std::string description;
  std::string email;
  std::string location;
  std::string blog;
  uint8_t default_permission = 1;  // read (GitHub's default)
  crypto::PublicKey creator{};
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
};

struct OrgMembership {
  crypto::PublicKey org{};
  crypto::PublicKey user{};
  uint8_t role = kOrgMember;
  uint8_t state = kMembershipActive;
  crypto::PublicKey inviter{};
  uint64_t created_ms = 0;
};

struct Team {
  uint64_t id = 0;  // chain-wide
  crypto::PublicKey org{};
  std::string name;
  std::string slug;
  std::string description;
  uint8_t privacy = kTeamClosed;
  uint64_t parent_id = 0;
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
};

struct TeamMember {
  uint64_t team_id = 0;
  crypto::PublicKey user{};
  uint8_t role = kTeamMember;
  uint64_t added_ms = 0;
};

struct TeamRepo {
  uint64_t team_id = 0;
  uint64_t repo_id = 0;
  uint8_t permission = 1;
  uint64_t added_ms = 0;
};

// ---- encodings (org.cpp) ----

void encode_org_body(codec::Writer& w, const CreateOrg& b);
void encode_org_body(codec::Writer& w, const UpdateOrg& b);
void encode_org_body(codec::Writer& w, const SetOrgMember& b);
void encode_org_body(codec::Writer& w, const AnswerOrgInvite& b);
void encode_org_body(codec::Writer& w, const CreateTeam& b);
void encode_org_body(codec::Writer& w, const UpdateTeam& b);
void encode_org_body(codec::Writer& w, const DeleteTeam& b);
void encode_org_body(codec::Writer& w, const SetTeamMember& b);
void encode_org_body(codec::Writer& w, const SetTeamRepo& b);
void encode_org_body(codec::Writer& w, const CreateOrgRepo& b);
void encode_org_body(codec::Writer& w, const TransferRepo& b);
template <typename T>
T decode_org_body(codec::Reader& r);

std::string encode_org(const Org& x);
Org decode_org(std::string_view data);
std::string encode_org_membership(const OrgMembership& x);
OrgMembership decode_org_membership(std::string_view data);
std::string encode_team(const Team& x);
Team decode_team(std::string_view data);
std::string encode_team_member(const TeamMember& x);
TeamMember decode_team_member(std::string_view data);
std::string encode_team_repo(const TeamRepo& x);
TeamRepo decode_team_repo(std::string_view data);

// ---- validity helpers shared with the API (early 422s) ----

inline constexpr size_t kMaxTeamNameChars = 255;
inline constexpr size_t kMaxOrgTextChars = 255;  // display name, email, location, blog
inline constexpr size_t kMaxOrgDescriptionBytes = 2000;
inline constexpr size_t kMaxTeamListed = 100;  // maintainers / repositories in CreateTeam

// GitHub's slug of a team name: lower case, runs of other characters as one '-', trimmed.
std::string team_slug(std::string_view name);
std::optional<std::string> team_name_error(std::string_view name);
// Short profile texts: valid UTF-8, no control characters, at most `max_chars`.
std::optional<std::string> profile_text_error(std::string_view s, size_t max_chars);
// 0 none, 1 read, 3 write, 5 admin (GitHub's default_repository_permission).
bool valid_default_permission(uint8_t p);

}  // namespace guts::state
