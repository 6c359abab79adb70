// GET /api/guts/evidence (docs/operator/byzantine-validator.md).
#include "api/evidence_routes.h"

#include <charconv>

#include "api/errors.h"

namespace guts::api {

namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;

// GET /api/guts/evidence[?limit=N]
void list_evidence(EvidenceSource& source, Request& req, Responder respond) {
  size_t limit = kDefaultLimit;
  if (auto v = req.query_param("limit")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
    if (ec != std::errc() || end != v->data() + v->size() || limit == 0 || limit > kMaxLimit)
      return respond(validation_failed("Evidence", "limit", "invalid",
                                       "limit must be an integer from 1 to 1000"));
  }
  if (!source) return respond(Response::json(200, R"({"count":0,"namespace":null,"evidence":[]})"));
  respond(Response::json(200, source(limit)));
}

const RouteSpec<EvidenceSource> kEvidenceRoutes[] = {
    {"GET", "/api/guts/evidence", "public", &list_evidence},
};

}  // namespace

void add_evidence_routes(Router& router, EvidenceSource source) {
  add_routes(router, std::make_shared<EvidenceSource>(std::move(source)), "", kEvidenceRoutes);
}

}  // namespace guts::api
