// guts audit — the audit log of a node (docs/audit.md): every state-changing action, newest
// first. With --repo, the records of one repository (whoever may read it); without, the whole
// log (the node's operators).
#include <algorithm>
#include <cctype>
#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/')
      out += static_cast<char>(c);
    else
      out += {'%', kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

// The cursor of the Link header's rel="next", if any.
std::string next_cursor(const std::string& link) {
  auto rel = link.find("rel=\"next\"");
  if (rel == std::string::npos) return "";
  auto open = link.rfind('<', rel);
  auto close = link.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  auto url = link.substr(open + 1, close - open - 1);
  auto c = url.find("cursor=");
  if (c == std::string::npos) return "";
  auto end = url.find('&', c);
  return url.substr(c + 7, end == std::string::npos ? std::string::npos : end - c - 7);
}

std::string record_line(const json& r) {
  std::string who = r["actor_username"].is_string() ? r["actor_username"].get<std::string>()
                                                    : r["actor"].get<std::string>();
  std::string where = r["repo"].is_string() ? r["repo"].get<std::string>() : "";
  if (r["number"].is_number()) where += "#" + std::to_string(r["number"].get<uint64_t>());
  std::string line =
      (r["local"].get<bool>() ? "local@" : "") + std::to_string(r["height"].get<uint64_t>()) +
      "  " + r["created_at"].get<std::string>() + "  " + who + "  " + r["kind"].get<std::string>();
  if (!where.empty()) line += "  " + where;
  for (const auto& ref : r["refs"]) line += "  " + ref.get<std::string>();
  if (!r["detail"].get<std::string>().empty()) line += "  (" + r["detail"].get<std::string>() + ")";
  if (r["transaction"].is_string())
    line += "  tx " + r["transaction"].get<std::string>().substr(0, 12);
  return line;
}

}  // namespace

void add_audit_command(CLI::App& app, ContextFn ctx) {
  struct AuditArgs {
    std::string repo, actor, kind;
    uint64_t since = 0, until = 0;
    size_t limit = 30;
  };
  auto a = std::make_shared<AuditArgs>();
  auto* cmd = app.add_subcommand(
      "audit", "Show the audit log: every state-changing action, newest first (docs/audit.md)");
  cmd->add_option("-R,--repo", a->repo,
                  "OWNER/REPO: that repository's records (needs read access); without it, the "
                  "whole log (needs to be an operator of the node)");
  cmd->add_option("--actor", a->actor, "Only actions of this identity (did:key or username)");
  cmd->add_option("--kind", a->kind, "Only this kind (create_repo, update_refs, token.create...)");
  cmd->add_option("--since", a->since, "From this block height");
  cmd->add_option("--until", a->until, "Up to this block height");
  cmd->add_option("-L,--limit", a->limit, "Maximum number of records")->capture_default_str();
  cmd->callback([ctx, a] {
    auto& c = ctx();
    std::string base =
        a->repo.empty() ? "/api/guts/audit" : "/api/guts/repos/" + a->repo + "/audit";
    std::string q = "?per_page=" + std::to_string(std::clamp<size_t>(a->limit, 1, 100));
    if (!a->actor.empty()) q += "&actor=" + query_escape(a->actor);
    if (!a->kind.empty()) q += "&kind=" + query_escape(a->kind);
    if (a->since) q += "&since=" + std::to_string(a->since);
    if (a->until) q += "&until=" + std::to_string(a->until);
    json all = json::array();
    std::string cursor;
    while (all.size() < a->limit) {
      auto res = c.client().get(base + q + (cursor.empty() ? "" : "&cursor=" + cursor));
      auto page = c.expect(res);
      for (auto& r : page)
        if (all.size() < a->limit) all.push_back(r);
      cursor = next_cursor(res.header("Link"));
      if (cursor.empty()) break;
    }
    std::string human;
    for (const auto& r : all) human += (human.empty() ? "" : "\n") + record_line(r);
    if (all.empty()) human = "No records";
    c.print(all, human);
  });
}

}  // namespace guts::cli
