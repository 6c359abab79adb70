#include "state/protection.h"

#include <algorithm>
#include <set>

#include "codec/codec.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;

namespace {

constexpr size_t kMaxOidBytes = 32;

Bytes get_sha(Reader& r) {
  Bytes oid = r.bytes(kMaxOidBytes, "sha");
  if (oid.size() != 20 && oid.size() != 32) throw DecodeError("sha must be 20 or 32 bytes");
  return oid;
}

void put_rule_fields(Writer& w, const ProtectionRule& x) {
  w.varint(x.repo_id).str(x.pattern);
  w.boolean(x.require_reviews).u8(x.required_approving_review_count);
  w.boolean(x.dismiss_stale_reviews).boolean(x.require_code_owner_reviews);
  w.boolean(x.require_status_checks).boolean(x.strict);
  field::put_strs(w, x.contexts);
  w.boolean(x.enforce_admins).boolean(x.allow_force_pushes).boolean(x.allow_deletions);
  w.boolean(x.required_linear_history).boolean(x.required_signatures);
  w.boolean(x.restrict_pushes);
  field::put_keys(w, x.users);
  field::put_u64s(w, x.teams);
}

ProtectionRule get_rule_fields(Reader& r) {
  ProtectionRule x;
  x.repo_id = r.varint();
  x.pattern = r.str(kMaxProtectionPattern, "pattern");
  x.require_reviews = r.boolean();
  x.required_approving_review_count = r.u8();
  x.dismiss_stale_reviews = r.boolean();
  x.require_code_owner_reviews = r.boolean();
  x.require_status_checks = r.boolean();
  x.strict = r.boolean();
  x.contexts = field::get_strs(r, kMaxStatusContexts, kMaxStatusContext, "contexts");
  x.enforce_admins = r.boolean();
  x.allow_force_pushes = r.boolean();
  x.allow_deletions = r.boolean();
  x.required_linear_history = r.boolean();
  x.required_signatures = r.boolean();
  x.restrict_pushes = r.boolean();
  x.users = field::get_keys(r, kMaxRestrictionEntries, "restrictions.users");
  x.teams = field::get_u64s(r, kMaxRestrictionEntries, "restrictions.teams");
  return x;
}

// Glob matching with backtracking bounded by the pattern and name lengths (both bounded).
bool match_at(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  while (pi < p.size()) {
    char c = p[pi];
    if (c == '*') {
      bool any = pi + 1 < p.size() && p[pi + 1] == '*';
      size_t rest = pi + (any ? 2 : 1);
      for (size_t k = si;; ++k) {
        if (match_at(p.substr(rest), s.substr(k))) return true;
        if (k >= s.size() || (!any && s[k] == '/')) return false;
      }
    }
    if (si >= s.size()) return false;
    if (c == '?') {
      if (s[si] == '/') return false;
      ++pi, ++si;
      continue;
    }
    if (c == '[') {
      size_t end = p.find(']', pi + 2);
      if (end == std::string_view::npos) {  // a literal '['
        if (s[si] != '[') return false;
        ++pi, ++si;
        continue;
      }
      std::string_view cls = p.substr(pi + 1, end - pi - 1);
      bool negate = !cls.empty() && (cls[0] == '!' || cls[0] == '^');
      if (negate) cls.remove_prefix(1);
      bool in = false;
      for (size_t i = 0; i < cls.size(); ++i) {
        if (i + 2 < cls.size() && cls[i + 1] == '-') {
          if (s[si] >= cls[i] && s[si] <= cls[i + 2]) in = true;
          i += 2;
        } else if (cls[i] == s[si]) {
          in = true;
        }
      }
      if (in == negate || s[si] == '/') return false;
      pi = end + 1, ++si;
      continue;
    }
    if (c != s[si]) return false;
    ++pi, ++si;
  }
  return si == s.size();
}

size_t literal_chars(std::string_view p) {
  return static_cast<size_t>(
      std::count_if(p.begin(), p.end(), [](char c) { return c != '*' && c != '?' && c != '['; }));
}

bool is_glob(std::string_view p) {
  return p.find_first_of("*?[") != std::string_view::npos;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

const char* status_state_name(uint8_t state) {
  switch (state) {
    case kStatusPending:
      return "pending";
    case kStatusSuccess:
      return "success";
    case kStatusFailure:
      return "failure";
    case kStatusError:
      return "error";
  }
  return "unknown";
}

std::optional<uint8_t> status_state_of(std::string_view name) {
  for (uint8_t s = kStatusPending; s <= kStatusError; ++s)
    if (name == status_state_name(s)) return s;
  return std::nullopt;
}

// ---- codec ----

void encode_protection_body(Writer& w, const SetBranchProtection& b) {
  put_rule_fields(w, b.rule);
}
void encode_protection_body(Writer& w, const DeleteBranchProtection& b) {
  w.varint(b.repo_id).str(b.pattern);
}
void encode_protection_body(Writer& w, const SetCommitStatus& b) {
  w.varint(b.repo_id).bytes(b.sha).u8(b.state).str(b.context).str(b.description).str(b.target_url);
}

template <>
SetBranchProtection decode_protection_body<SetBranchProtection>(Reader& r) {
  return SetBranchProtection{get_rule_fields(r)};
}
template <>
DeleteBranchProtection decode_protection_body<DeleteBranchProtection>(Reader& r) {
  DeleteBranchProtection b;
  b.repo_id = r.varint();
  b.pattern = r.str(kMaxProtectionPattern, "pattern");
  return b;
}
template <>
SetCommitStatus decode_protection_body<SetCommitStatus>(Reader& r) {
  SetCommitStatus b;
  b.repo_id = r.varint();
  b.sha = get_sha(r);
  b.state = r.u8();
  b.context = r.str(kMaxStatusContext, "context");
  b.description = r.str(kMaxStatusDescription, "description");
  b.target_url = r.str(kMaxStatusUrl, "target_url");
  return b;
}

std::string encode_protection_rule(const ProtectionRule& rule) {
  Writer w;
  put_rule_fields(w, rule);
  w.varint(rule.updated_ms);
  return guts::to_string(w.data());
}

ProtectionRule decode_protection_rule(std::string_view data) {
  Reader r(as_bytes(data));
  ProtectionRule x = get_rule_fields(r);
  x.updated_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_commit_status(const CommitStatus& s) {
  Writer w;
  w.varint(s.repo_id).bytes(s.sha).u8(s.state).str(s.context).str(s.description).str(s.target_url);
  w.fixed(s.creator).varint(s.created_ms).varint(s.updated_ms);
  return guts::to_string(w.data());
}

CommitStatus decode_commit_status(std::string_view data) {
  Reader r(as_bytes(data));
  CommitStatus s;
  s.repo_id = r.varint();
  s.sha = get_sha(r);
  s.state = r.u8();
  s.context = r.str(kMaxStatusContext, "context");
  s.description = r.str(kMaxStatusDescription, "description");
  s.target_url = r.str(kMaxStatusUrl, "target_url");
  s.creator = r.fixed<32>();
  s.created_ms = r.varint();
  s.updated_ms = r.varint();
  r.finish();
  return s;
}

uint8_t combined_state(const std::vector<CommitStatus>& statuses) {
  if (statuses.empty()) return kStatusPending;
  bool pending = false;
  for (const auto& s : statuses) {
    if (s.state == kStatusFailure || s.state == kStatusError) return kStatusFailure;
    if (s.state == kStatusPending) pending = true;
  }
  return pending ? kStatusPending : kStatusSuccess;
}

// ---- patterns ----

bool branch_pattern_matches(std::string_view pattern, std::string_view branch) {
  return match_at(pattern, branch);
}

std::string branch_pattern_error(std::string_view pattern) {
  if (pattern.empty()) return "must not be empty";
  if (pattern.size() > kMaxProtectionPattern) return "is longer than 255 bytes";
  for (char c : pattern)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' ||
        c == ':' || c == '\\')
      return "contains a character not allowed in a branch name";
  if (pattern.starts_with("refs/")) return "is a branch name or pattern, not a full ref";
  return "";
}

const ProtectionRule* applicable_rule(const std::vector<ProtectionRule>& rules,
                                      std::string_view branch) {
  const ProtectionRule* best = nullptr;
  for (const auto& r : rules) {
    if (!is_glob(r.pattern)) {
      if (r.pattern == branch) return &r;
      continue;
    }
    if (!branch_pattern_matches(r.pattern, branch)) continue;
    if (!best || literal_chars(r.pattern) > literal_chars(best->pattern) ||
        (literal_chars(r.pattern) == literal_chars(best->pattern) && r.pattern < best->pattern))
      best = &r;
  }
  return best;
}

// ---- evaluation ----

std::optional<std::string> protection_denial(const ProtectionRule& rule,
                                             const ProtectionSubject& x) {
  if (x.admin && !rule.enforce_admins) return std::nullopt;
  const std::string p = "protected branch: ";
  if (rule.restrict_pushes && !x.allowed_pusher)
    return p + "you are not allowed to push to this branch";
  auto checks = [&]() -> std::optional<std::string> {
    if (!rule.require_status_checks) return std::nullopt;
    for (const auto& c : rule.contexts) {
      auto it = x.statuses.find(c);
      if (it == x.statuses.end() || it->second != kStatusSuccess)
        return p + "required status check " + quoted(c) + " is not successful";
    }
    if (rule.strict && x.head_contains_base == false)
      return p + "branch is not up to date with " +
             (x.base_branch.empty() ? std::string("the base branch") : x.base_branch);
    return std::nullopt;
  };
  if (x.kind == ProtectionSubject::kPush) {
    if (x.deletion) {
      if (!rule.allow_deletions) return p + "deletion not allowed";
      return std::nullopt;
    }
    if (x.force && !rule.allow_force_pushes) return p + "force push not allowed";
    if (x.creation) return std::nullopt;
    if (rule.require_reviews) {
      if (rule.required_approving_review_count > 0)
        return p + std::to_string(rule.required_approving_review_count) + " approving review" +
               (rule.required_approving_review_count == 1 ? "" : "s") + " required";
      return p + "changes must be made through a pull request";
    }
    if (auto why = checks()) return why;
  } else {
    if (rule.require_reviews) {
      if (x.changes_requested) return p + "changes requested by a reviewer with write access";
      if (x.approvals < rule.required_approving_review_count)
        return p + std::to_string(rule.required_approving_review_count) + " approving review" +
               (rule.required_approving_review_count == 1 ? "" : "s") + " required (" +
               std::to_string(x.approvals) + " given)";
    }
    if (auto why = checks()) return why;
  }
  if (rule.required_linear_history && x.linear == false)
    return p + "merge commits not allowed (linear history required)";
  if (rule.required_signatures && x.signed_commits == false) return p + "commits must be signed";
  return std::nullopt;
}

}  // namespace guts::state
