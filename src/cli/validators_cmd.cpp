// guts validators show|set|propose: the network's validator set and its changes by the governing
// organization (docs/governance.md "Validator set changes"; REST in api/validator_routes.cpp).
#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

// "did:key:…@host:port" → {"did", "p2p_address"}.
json parse_validator(const std::string& s) {
  auto at = s.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size())
    throw Error(Code::kInvalidArgument,
                "expected DID@HOST:PORT (e.g. did:key:z6Mk…@10.0.0.5:9000), got '" + s + "'");
  return json{{"did", s.substr(0, at)}, {"p2p_address", s.substr(at + 1)}};
}

std::string epoch_line(const json& e) {
  std::string range =
      "heights " + std::to_string(e.value("first_height", 0)) + "-" +
      (e["last_height"].is_null() ? std::string("")
                                  : std::to_string(e["last_height"].get<uint64_t>()));
  std::string out = "epoch " + std::to_string(e.value("epoch", 0)) + " (" + range + ")" +
                    (e.value("active", false) ? ", active" : "");
  if (e.contains("changed_by"))
    out += ", set by " + e["changed_by"].get<std::string>() + " at height " +
           std::to_string(e.value("executed_height", 0));
  for (const auto& v : e["validators"])
    out += "\n  " + v.value("did", "") + " " + v.value("p2p_address", "");
  return out;
}

void print_schedule(Context& c, const json& r) {
  std::string human;
  if (r["governance"].is_null())
    human = "fixed validator set (the genesis names no governing organization)\n";
  else
    human = "governed by " + r["governance"].value("organization", std::string("?")) +
            ", epochs of " + std::to_string(r["governance"].value("epoch_length", 0)) + " blocks\n";
  for (const auto& e : r["epochs"]) human += epoch_line(e) + "\n";
  if (!human.empty()) human.pop_back();
  c.print(r, human);
}

}  // namespace

void add_validators_commands(CLI::App& app, ContextFn ctx) {
  auto* v = app.add_subcommand("validators",
                               "The network's validator set and its changes (docs/governance.md)");
  v->require_subcommand(1);
  struct Args {
    uint64_t height = 0, activation = 0;
    std::vector<std::string> validators;
    std::string title;
  };
  auto a = std::make_shared<Args>();

  auto* show = v->add_subcommand("show", "Every epoch the state knows, and the current one");
  show->add_option("--height", a->height, "The epoch of this height (default: the next block)");
  show->callback([ctx, a] {
    auto& c = ctx();
    std::string path = "/api/guts/validators";
    if (a->height) path += "?height=" + std::to_string(a->height);
    print_schedule(c, c.expect(c.client().get(path)));
  });

  auto body = [a] {
    json vs = json::array();
    for (const auto& s : a->validators) vs.push_back(parse_validator(s));
    return json{{"activation_height", a->activation}, {"validators", vs}};
  };
  auto* set = v->add_subcommand(
      "set", "As an owner of the governing organization: the set from an epoch boundary on");
  set->add_option("--activation", a->activation, "First height of the new set (an epoch boundary)")
      ->required();
  set->add_option("--validator", a->validators, "DID@HOST:PORT, once per validator")->required();
  set->callback([ctx, a, body] {
    auto& c = ctx();
    print_schedule(c, c.expect(c.client().put("/api/guts/validators", body().dump())));
  });

  auto* propose = v->add_subcommand(
      "propose", "Propose the change to the governing organization's owners (a quorum policy)");
  propose->add_option("--activation", a->activation, "First height of the new set")->required();
  propose->add_option("--validator", a->validators, "DID@HOST:PORT, once per validator")
      ->required();
  propose->add_option("--title", a->title, "The proposal's title");
  propose->callback([ctx, a, body] {
    auto& c = ctx();
    auto s = c.expect(c.client().get("/api/guts/validators"));
    if (s["governance"].is_null() || s["governance"]["organization"].is_null())
      throw Error(Code::kFailedPrecondition,
                  "this network's validator set is fixed: its genesis names no governing "
                  "organization");
    json action = body();
    action["type"] = "change_validator_set";
    json req{{"title", a->title.empty()
                           ? "Change the validator set at height " + std::to_string(a->activation)
                           : a->title},
             {"action", action}};
    auto org = s["governance"]["organization"].get<std::string>();
    auto r = c.expect(c.client().post("/api/guts/orgs/" + org + "/proposals", req.dump()), {201});
    c.print(r, "proposal #" + std::to_string(r.value("id", 0)) + " (" +
                   r.value("state", std::string("open")) + "): " + r.value("title", ""));
  });
}

}  // namespace guts::cli
