// guts hook create|list|delete|deliveries|redeliver (docs/webhooks.md): the routes of
// api/hooks_routes.cpp. TARGET is OWNER/REPO (a repository hook) or ORG (an organization hook).
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

void add_hook_commands(CLI::App& app, ContextFn ctx) {
  auto* hook = app.add_subcommand("hook", "Webhooks of a repository (OWNER/REPO) or organization");
  hook->require_subcommand(1);

  struct Args {
    std::string target, url, secret, events = "push", content_type = "json";
    uint64_t id = 0, delivery = 0;
    bool inactive = false;
  };
  auto a = std::make_shared<Args>();
  auto base = [a] {
    return a->target.find('/') != std::string::npos ? "/api/v3/repos/" + a->target + "/hooks"
                                                    : "/api/v3/orgs/" + a->target + "/hooks";
  };

  auto* create = hook->add_subcommand("create", "Create a webhook delivered by this node");
  create->add_option("target", a->target, "OWNER/REPO or ORG")->required();
  create->add_option("url", a->url, "Payload URL (http:// or https://)")->required();
  create->add_option("--secret", a->secret, "Secret for X-Hub-Signature-256");
  create->add_option("--events", a->events, "Comma-separated events (push, issues, ...; * = all)")
      ->capture_default_str();
  create->add_option("--content-type", a->content_type, "json or form")->capture_default_str();
  create->add_flag("--inactive", a->inactive, "Create it inactive");
  create->callback([ctx, a, base] {
    auto& c = ctx();
    json events = json::array();
    std::stringstream ss(a->events);
    for (std::string e; std::getline(ss, e, ',');)
      if (!e.empty()) events.push_back(e);
    json config{{"url", a->url}, {"content_type", a->content_type}};
    if (!a->secret.empty()) config["secret"] = a->secret;
    json body{{"name", "web"}, {"config", config}, {"events", events}, {"active", !a->inactive}};
    auto r = c.expect(c.client().post(base(), body.dump()), {201});
    c.print(r, "Created hook " + std::to_string(r["id"].get<uint64_t>()) + " -> " + a->url);
  });

  auto* list = hook->add_subcommand("list", "List webhooks");
  list->add_option("target", a->target, "OWNER/REPO or ORG")->required();
  list->callback([ctx, a, base] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(base() + "?per_page=100"));
    std::string human;
    for (const auto& h : r) {
      human += std::to_string(h["id"].get<uint64_t>()) + "  " +
               h["config"]["url"].get<std::string>() + "  [";
      for (size_t i = 0; i < h["events"].size(); ++i)
        human += (i ? "," : "") + h["events"][i].get<std::string>();
      human += "]" + std::string(h["active"].get<bool>() ? "" : " (inactive)") + "\n";
    }
    c.print(r, human.empty() ? "No webhooks." : human.substr(0, human.size() - 1));
  });

  auto* del = hook->add_subcommand("delete", "Delete a webhook");
  del->add_option("target", a->target, "OWNER/REPO or ORG")->required();
  del->add_option("id", a->id, "Hook id")->required();
  del->callback([ctx, a, base] {
    auto& c = ctx();
    c.expect(c.client().del(base() + "/" + std::to_string(a->id)), {204});
    c.print(json{{"deleted", a->id}}, "Deleted hook " + std::to_string(a->id));
  });

  auto* deliveries = hook->add_subcommand(
      "deliveries", "Recent deliveries of a webhook (ask the node that delivers it)");
  deliveries->add_option("target", a->target, "OWNER/REPO or ORG")->required();
  deliveries->add_option("id", a->id, "Hook id")->required();
  deliveries->callback([ctx, a, base] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(base() + "/" + std::to_string(a->id) + "/deliveries"));
    std::string human;
    for (const auto& d : r)
      human += std::to_string(d["id"].get<uint64_t>()) + "  " + d["guid"].get<std::string>() +
               "  " + d["event"].get<std::string>() + "  " + d["status"].get<std::string>() +
               (d["redelivery"].get<bool>() ? "  (redelivery)" : "") + "\n";
    c.print(r, human.empty() ? "No deliveries." : human.substr(0, human.size() - 1));
  });

  auto* redeliver = hook->add_subcommand("redeliver", "Send a delivery again (same GUID)");
  redeliver->add_option("target", a->target, "OWNER/REPO or ORG")->required();
  redeliver->add_option("id", a->id, "Hook id")->required();
  redeliver->add_option("delivery", a->delivery, "Delivery id")->required();
  redeliver->callback([ctx, a, base] {
    auto& c = ctx();
    auto r = c.expect(c.client().post(base() + "/" + std::to_string(a->id) + "/deliveries/" +
                                          std::to_string(a->delivery) + "/attempts",
                                      "{}"),
                      {202});
    c.print(r, "Redelivery queued (delivery " + std::to_string(r["id"].get<uint64_t>()) + ")");
  });
}

}  // namespace guts::cli
