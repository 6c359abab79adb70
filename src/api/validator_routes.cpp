// The network's validator set and its scheduled changes (state/validator_set.h;
// docs/governance.md "Validator set changes"):
//
//   GET /api/guts/validators[?height=H]  public  the epochs the state knows, and the epoch of H
//                                                (default: the next block's height)
//   PUT /api/guts/validators {activation_height, validators: [{did, p2p_address}]}
//                                        user    kind 74 (owners of the governing organization;
//                                                a quorum policy covering change_validator_set
//                                                sends it through an organization proposal)
//
// The rules (governance configured, ownership, epoch boundary two epochs ahead, the set's shape,
// one change per height and in order) are the state machine's, checked on every validator.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/routes.h"
#include "api/validator_shapes.h"
#include "crypto/did.h"
#include "state/validator_set_state.h"

namespace guts::api {

json validators_json(const std::vector<state::Validator>& validators) {
  json out = json::array();
  for (const auto& v : validators)
    out.push_back({{"did", crypto::did_from_key(v.key)}, {"p2p_address", v.p2p_address}});
  return out;
}

std::optional<state::SetValidatorSet> parse_validator_set(const json& j,
                                                          const std::string& field_prefix,
                                                          Response* error) {
  auto fail = [&](const std::string& field, const std::string& why) {
    *error = validation_failed("ValidatorSet", field_prefix + field, "invalid", why);
    return std::nullopt;
  };
  if (!j.is_object()) return fail("activation_height", "an object is required");
  if (!j.contains("activation_height") || !j["activation_height"].is_number_unsigned())
    return fail("activation_height", "a block height is required");
  if (!j.contains("validators") || !j["validators"].is_array())
    return fail("validators", "an array of {did, p2p_address} is required");
  if (j["validators"].size() > state::kMaxValidators)
    return fail("validators", "at most " + std::to_string(state::kMaxValidators) + " validators");
  state::SetValidatorSet b;
  b.activation_height = j["activation_height"].get<uint64_t>();
  for (size_t i = 0; i < j["validators"].size(); ++i) {
    const auto& v = j["validators"][i];
    const std::string at = "validators[" + std::to_string(i) + "]";
    if (!v.is_object() || !v.contains("did") || !v["did"].is_string())
      return fail(at + ".did", "a did:key is required");
    auto key = crypto::parse_did(v["did"].get<std::string>());
    if (!key) return fail(at + ".did", "not a did:key");
    if (!v.contains("p2p_address") || !v["p2p_address"].is_string())
      return fail(at + ".p2p_address", "host:port is required");
    b.validators.push_back({*key, v["p2p_address"].get<std::string>()});
  }
  if (auto e = state::validator_set_error(b.validators)) {
    auto colon = e->find(':');
    return fail(e->substr(0, colon), e->substr(colon + 2));
  }
  return b;
}

namespace {

json schedule_json(Services& svc, std::optional<uint64_t> height) {
  auto view = svc.chain().view();
  const auto& g = svc.chain().genesis();
  auto schedule = state::validator_schedule(view, g);
  auto changes = state::validator_changes(view);
  const uint64_t head = svc.chain().head().height;
  auto epoch_json = [&](const state::ValidatorEpoch& e) {
    auto last = schedule.last_height(e.number);
    json j{{"epoch", e.number},
           {"first_height", e.first_height},
           {"last_height", last ? json(*last) : json(nullptr)},
           {"active", e.first_height <= head + 1 && (!last || *last >= head + 1)},
           {"validators", validators_json(e.validators)}};
    if (e.number > 0) {
      const auto& c = changes[e.number - 1];
      auto who = view.account(c.author);
      j["changed_by"] = who ? json(who->username) : json(crypto::did_from_key(c.author));
      j["executed_height"] = c.executed_height;
    }
    return j;
  };
  json epochs = json::array();
  for (const auto& e : schedule.epochs()) epochs.push_back(epoch_json(e));
  json governance = nullptr;
  if (auto gov = state::network_governance(view)) {
    auto org = view.account(gov->org);
    governance = {{"organization", org ? json(org->username) : json(nullptr)},
                  {"did", crypto::did_from_key(gov->org)},
                  {"epoch_length", gov->epoch_length}};
  }
  const uint64_t at = height.value_or(head + 1);
  return {{"chain_id", g.chain_id},
          {"height", head},
          {"governance", governance},
          {"at_height", at},
          {"epoch", epoch_json(schedule.at_height(at))},
          {"epochs", epochs}};
}

// GET /api/guts/validators[?height=H]
void get_validators(Services& svc, Request& req, Responder respond) {
  std::optional<uint64_t> height;
  if (auto h = req.query_param("height")) {
    try {
      size_t used = 0;
      height = std::stoull(*h, &used);
      if (used != h->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return respond(validation_failed("ValidatorSet", "height", "invalid",
                                       "height: a block height is required"));
    }
  }
  respond(json_response(200, schedule_json(svc, height)));
}

// PUT /api/guts/validators {"activation_height", "validators"}
void put_validators(Services& svc, Request& req, Responder respond) {
  auto body = collab::parse_body(req, respond, "ValidatorSet");
  if (!body) return;
  Response error;
  auto change = parse_validator_set(*body, "", &error);
  if (!change) return respond(std::move(error));
  collab::submit(svc, req, std::move(respond), std::move(*change), "ValidatorSet",
                 [&svc](const state::TxOutcome&) {
                   return json_response(200, schedule_json(svc, std::nullopt));
                 });
}

const RouteSpec<Services> kValidatorRoutes[] = {
    {"GET", "/validators", "public", &get_validators},
    {"PUT", "/validators", "user", &put_validators},
};

}  // namespace

void add_validator_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kValidatorRoutes);
}

}  // namespace guts::api
