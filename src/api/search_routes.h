// Search (docs/search.md): GitHub's /search/repositories, /search/issues and /search/code over
// the node's search index (search/index.h), and /api/guts/search to see and rebuild it.
#pragma once

#include <memory>

#include "api/router.h"
#include "api/services.h"
#include "search/index.h"
#include "search/indexer.h"

namespace guts::api {

struct SearchEnv {
  Services& svc;
  search::Index& index;
  search::Indexer& indexer;
};

void add_search_routes(Router& router, std::shared_ptr<SearchEnv> env);

// The search query `q` asks for, seen by the request's caller: `repo:` resolved, private
// repositories readable only with read permission (state::effective_permission) and within a
// limited token's repositories. Paging from the request. Throws guts::Error(kInvalidArgument)
// for an invalid q. Shared by the REST routes and the web search page.
search::Search search_for(Services& svc, const Request& req, std::string_view q);

}  // namespace guts::api
