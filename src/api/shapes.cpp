#include "api/shapes.h"

#include "api/http_parse.h"
#include "core/time.h"

namespace guts::api {

json signature_json(const git::Signature& s) {
  return {{"name", s.name},
          {"email", s.email},
          {"date", iso8601(static_cast<uint64_t>(s.time) * 1000)}};
}

json commit_json(const std::string& api, const std::string& html, const git::Commit& c,
                 bool with_verification) {
  json parents = json::array();
  for (const auto& p : c.parents)
    parents.push_back(
        {{"sha", p}, {"url", api + "/commits/" + p}, {"html_url", html + "/commit/" + p}});
  json commit{{"author", signature_json(c.author)},
              {"committer", signature_json(c.committer)},
              {"message", c.message},
              {"tree", {{"sha", c.tree}, {"url", api + "/git/trees/" + c.tree}}},
              {"url", api + "/git/commits/" + c.sha},
              {"comment_count", 0}};
  if (with_verification)
    commit["verification"] = {
        {"verified", false}, {"reason", "unsigned"}, {"signature", nullptr}, {"payload", nullptr}};
  return {{"sha", c.sha},
          {"node_id", ""},
          {"commit", commit},
          {"url", api + "/commits/" + c.sha},
          {"html_url", html + "/commit/" + c.sha},
          {"comments_url", api + "/commits/" + c.sha + "/comments"},
          {"author", nullptr},
          {"committer", nullptr},
          {"parents", parents}};
}

json file_json(const std::string& api, const std::string& html, const std::string& head,
               const git::FileDiff& f) {
  std::string path = percent_encode(f.filename, /*keep_slash=*/true);
  json j{{"sha", f.sha},
         {"filename", f.filename},
         {"status", f.status},
         {"additions", f.additions},
         {"deletions", f.deletions},
         {"changes", f.additions + f.deletions},
         {"blob_url", html + "/blob/" + head + "/" + path},
         {"raw_url", html + "/raw/" + head + "/" + path},
         {"contents_url", api + "/contents/" + path + "?ref=" + head}};
  if (!f.binary) j["patch"] = f.patch;
  if (!f.previous_filename.empty()) j["previous_filename"] = f.previous_filename;
  return j;
}

}  // namespace guts::api
