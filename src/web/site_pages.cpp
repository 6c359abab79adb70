// Home (repositories and recent activity from finalized blocks), user and organization
// profiles, and the network page (the same sources as /api/guts/status and /api/guts/peers).

#include "core/time.h"
#include "crypto/did.h"
#include "nostr/nip19.h"
#include "state/nostr_binding_state.h"
#include "state/validator_set_state.h"
#include "web/pages.h"
#include "web/repo_view.h"

namespace guts::web {

api::Response home_page(WebEnv& env, api::Request& req) {
  auto view = env.svc.chain().view();
  uint64_t now = unix_millis();
  Html h;
  h.raw("<h1>Repositories</h1><div class=\"box\"><ul class=\"list repos\">");
  size_t shown = 0;
  constexpr size_t kMaxRepos = 100;
  for (uint64_t id = view.next_repo_id(); id-- > 1 && shown < kMaxRepos;) {
    auto r = view.repo(id);
    if (!r || !can_read(env, req.principal, *r)) continue;
    repo_item(h, *r, display_name(view, r->owner), now);
    ++shown;
  }
  if (shown == 0) h.raw("<li class=\"muted\">No repositories yet.</li>");
  h.raw("</ul></div><h2>Recent activity</h2><div class=\"box\"><ul class=\"list activity\">");
  auto head = env.svc.chain().head();
  size_t items = 0;
  constexpr size_t kMaxItems = 30, kMaxBlocks = 200;
  for (uint64_t height = head.height, seen = 0;
       height >= 1 && items < kMaxItems && seen < kMaxBlocks; --height, ++seen) {
    auto block = env.svc.chain().block_at(height);
    if (!block) break;
    for (auto it = block->txs.rbegin(); it != block->txs.rend() && items < kMaxItems; ++it) {
      h.raw("<li><strong>") << display_name(view, it->author);
      h.raw("</strong> ") << state::tx_kind_name(it->kind());
      h.raw(" <span class=\"muted\">· block ") << height;
      h << " · " << age(block->header.timestamp_ms, now) << Safe{"</span></li>"};
      ++items;
    }
  }
  if (items == 0) h.raw("<li class=\"muted\">No recent activity.</li>");
  h.raw("</ul></div>");
  return page(env, 200, "Home", h);
}

api::Response user_page(WebEnv& env, api::Request& req) {
  auto view = env.svc.chain().view();
  std::string login = req.param("user");
  auto acct = view.account_by_username(login);
  if (!acct) throw Error(Code::kNotFound, "No such user");
  uint64_t now = unix_millis();
  Html h;
  std::optional<state::Org> org;
  if (acct->is_org) org = view.org_by_login(acct->username);
  h.raw("<h1>") << acct->username;
  if (org && !org->name.empty()) h.raw(" <span class=\"muted\">") << org->name << Safe{"</span>"};
  h.raw(" <span class=\"pill\">") << (acct->is_org ? "Organization" : "User")
                                  << Safe{"</span></h1>"};
  if (org) {
    if (!org->description.empty()) h.raw("<p>") << org->description << Safe{"</p>"};
    if (!org->location.empty() || !org->blog.empty())
      h.raw("<p class=\"muted\">") << org->location << " " << org->blog << Safe{"</p>"};
  } else {
    h.raw("<p class=\"muted\"><code>") << crypto::did_from_key(acct->key);
    h.raw("</code> · joined ") << age(acct->registered_ms, now) << Safe{"</p>"};
    // The Nostr key the user bound (kind 75, docs/nostr.md): both keys signed the binding.
    if (auto b = state::nostr_binding_of(view, acct->key))
      h.raw("<p class=\"muted\" id=\"nostr-key\">Nostr <code>")
          << nostr::npub_encode(b->pubkey) << Safe{"</code> · bound "} << age(b->bound_at_ms, now)
          << Safe{"</p>"};
  }
  h.raw("<h2>Repositories</h2><div class=\"box\"><ul class=\"list repos\">");
  size_t shown = 0;
  for (const auto& r : view.repos_of(acct->key)) {
    if (!can_read(env, req.principal, r)) continue;
    repo_item(h, r, acct->username, now);
    ++shown;
  }
  if (shown == 0) h.raw("<li class=\"muted\">No repositories.</li>");
  h.raw("</ul></div>");
  if (org) {
    h.raw("<h2>People</h2><div class=\"box\"><ul class=\"list people\">");
    size_t n = 0;
    for (const auto& m : view.org_members(org->key)) {
      if (m.state != state::kMembershipActive) continue;
      std::string who = display_name(view, m.user);
      h.raw("<li><a href=\"/") << url_path(who) << Safe{"\">"} << who << Safe{"</a>"};
      if (m.role == state::kOrgOwner) h.raw(" <span class=\"pill\">owner</span>");
      h.raw("</li>");
      ++n;
    }
    if (n == 0) h.raw("<li class=\"muted\">No members.</li>");
    h.raw("</ul></div><p><a id=\"org-proposals\" href=\"/-/proposals?org=")
        << url_query(org->login) << Safe{"\">Proposals</a></p>"};
  } else {
    auto orgs = view.orgs_of(acct->key);
    size_t n = 0;
    for (const auto& m : orgs) {
      if (m.state != state::kMembershipActive) continue;
      if (n++ == 0) h.raw("<h2>Organizations</h2><p>");
      std::string o = display_name(view, m.org);
      h.raw("<a class=\"label\" href=\"/") << url_path(o) << Safe{"\">"} << o << Safe{"</a> "};
    }
    if (n) h.raw("</p>");
  }
  return page(env, 200, acct->username, h);
}

api::Response network_page(WebEnv& env, api::Request&) {
  auto head = env.svc.chain().head();
  const auto& g = env.svc.chain().genesis();
  auto ns = env.svc.node_status();
  auto view = env.svc.chain().view();
  uint64_t network_height = std::max(ns.network_height, head.height);
  uint64_t now = unix_millis();
  Html h;
  // Live updates (docs/web.md): refreshed with each finalized block.
  h.raw("<div id=\"network\" data-live=\"blocks\">");
  h.raw("<h1>Network</h1><div class=\"box\"><div class=\"body\"><table class=\"files\">");
  auto row = [&](std::string_view k, const std::string& v) {
    h.raw("<tr><td>") << k << Safe{"</td><td><code>"} << v << Safe{"</code></td></tr>"};
  };
  row("Chain", g.chain_id);
  row("Height", std::to_string(head.height));
  row("Network height", std::to_string(network_height));
  row("Lag", std::to_string(network_height - head.height));
  row("This node", crypto::did_from_key(env.svc.node_key().public_key()));
  row("Role", ns.role);
  row("View", std::to_string(ns.view));
  row("Head", hex_encode(head.id));
  row("State root", hex_encode(head.state_root));
  h.raw("</table></div></div>");
  // The validator schedule (docs/governance.md "Validator set changes"): every epoch the state
  // knows, the current one marked.
  auto schedule = state::validator_schedule(view, g);
  auto gov = state::network_governance(view);
  h.raw("<h2>Validators</h2>");
  if (gov) {
    auto org = view.account(gov->org);
    h.raw("<p class=\"muted governance\">Governed by ");
    if (org)
      h.raw("<a href=\"/") << org->username << Safe{"\">"} << org->username << Safe{"</a>"};
    else
      h << crypto::did_from_key(gov->org);
    h << ": the validator set may change every " << std::to_string(gov->epoch_length) << " blocks.";
    h.raw("</p>");
  }
  const auto current = schedule.at_height(head.height + 1).number;
  for (const auto& e : schedule.epochs()) {
    auto last = schedule.last_height(e.number);
    h.raw("<div class=\"box epoch\" data-epoch=\"") << std::to_string(e.number) << Safe{"\">"};
    h.raw("<div class=\"header\">Epoch ")
        << std::to_string(e.number) << " · heights " << std::to_string(e.first_height) << "–"
        << (last ? std::to_string(*last) : std::string());
    if (e.number == current) h.raw(" <span class=\"label\">current</span>");
    if (e.number > current) h.raw(" <span class=\"label\">scheduled</span>");
    h.raw("</div><ul class=\"list validators\">");
    for (const auto& v : e.validators) {
      h.raw("<li><code>") << crypto::did_from_key(v.key) << Safe{"</code>"};
      if (!v.p2p_address.empty())
        h.raw(" <span class=\"muted\">") << v.p2p_address << Safe{"</span>"};
      h.raw("</li>");
    }
    h.raw("</ul></div>");
  }
  h.raw(
      "<h2>Latest finalized blocks</h2><div class=\"box\"><table class=\"files "
      "blocks\">");
  for (uint64_t height = head.height, n = 0; height >= 1 && n < 10; --height, ++n) {
    auto block = env.svc.chain().block_at(height);
    if (!block) break;
    const auto& bh = block->header;
    h.raw("<tr><td><a href=\"/api/guts/blocks/") << height << Safe{"\">#"} << height;
    h.raw("</a></td><td><code>") << hex_encode(bh.id()).substr(0, 16);
    h.raw("</code></td><td>") << bh.tx_count
                              << (bh.tx_count == 1 ? " transaction" : " transactions");
    h.raw("</td><td>view ") << bh.view << " · proposer " << display_name(view, bh.proposer);
    h.raw("</td><td class=\"age\">") << age(bh.timestamp_ms, now) << Safe{"</td></tr>"};
  }
  if (head.height == 0) h.raw("<tr><td class=\"muted\">No blocks yet.</td></tr>");
  h.raw("</table></div><h2>Peers</h2><div class=\"box\"><ul class=\"list peers\">");
  size_t n = 0;
  if (env.peers.peers) {
    for (const auto& p : env.peers.peers()) {
      ++n;
      h.raw("<li><code>") << p.did << Safe{"</code> <span class=\"muted\">"} << p.address;
      h << (p.outbound ? " · outbound" : " · inbound");
      if (p.latency_ms >= 0) h << " · " << std::to_string(static_cast<int>(p.latency_ms)) << " ms";
      if (!p.user_agent.empty()) h << " · " << p.user_agent;
      h.raw("</span></li>");
    }
  }
  if (n == 0) h.raw("<li class=\"muted\">No connected peers.</li>");
  h.raw("</ul></div></div>");
  return page(env, 200, "Network", h);
}

}  // namespace guts::web
