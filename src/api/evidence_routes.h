// GET /api/guts/evidence: the byzantine-validator evidence this node recorded (node/evidence.h).
// The API does not depend on the node layer: the node passes a function rendering the records.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "api/router.h"

namespace guts::api {

// Renders at most `limit` records, newest first, as a JSON object. Empty function: this node
// does not take part in consensus (a full node) and records nothing.
using EvidenceSource = std::function<std::string(size_t limit)>;

void add_evidence_routes(Router& router, EvidenceSource source);

}  // namespace guts::api
