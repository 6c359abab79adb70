#include "api/github.h"

#include <sodium.h>

#include <cstring>

#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"

namespace guts::api {

Response json_response(int status, const json& body) {
  return Response::json(status, body.dump());
}

std::optional<nlohmann::json> parse_object_body(const Request& req, const Responder& respond) {
  if (req.body.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    respond(error_response(400, "Problems parsing JSON"));
    return std::nullopt;
  }
  if (!j.is_object()) {
    respond(error_response(422, "Invalid request. The request body must be a JSON object."));
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> string_field(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw FieldError{field, "string"};
  return it->get<std::string>();
}

std::optional<bool> bool_field(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw FieldError{field, "boolean"};
  return it->get<bool>();
}

Response field_type_error(const FieldError& e) {
  return error_response(422, "Invalid request. For 'properties/" + e.field +
                                 "', the value is not a " + e.expected + ".");
}

std::optional<Response> check_body(const nlohmann::json& body, std::string_view resource,
                                   std::initializer_list<BodyField> fields) {
  for (const BodyField& f : fields) {
    auto it = body.find(f.name);
    if (it == body.end() || it->is_null()) {
      if (f.required) return validation_failed(resource, f.name, "missing_field", "");
      continue;
    }
    bool ok = false;
    const char* expected = "string";
    switch (f.type) {
      case BodyField::kString:
        ok = it->is_string();
        break;
      case BodyField::kBoolean:
        ok = it->is_boolean();
        expected = "boolean";
        break;
      case BodyField::kInteger:
        ok = it->is_number_integer();
        expected = "integer";
        break;
      case BodyField::kStringOrInteger:
        ok = it->is_string() || it->is_number_integer();
        break;
      case BodyField::kArray:
        ok = it->is_array();
        expected = "array";
        break;
      case BodyField::kUnsigned:
        ok = it->is_number_unsigned();
        expected = "integer";
        break;
      case BodyField::kNameList:
        ok = it->is_array();
        expected = "array";
        if (ok)
          for (const auto& v : *it)
            if (!v.is_string() && !(v.is_object() && v.contains("name") && v["name"].is_string())) {
              ok = false;
              expected = "array of strings";
            }
        break;
      case BodyField::kObjectArray:
        ok = it->is_array();
        expected = "array";
        if (ok)
          for (const auto& v : *it)
            if (!v.is_object()) {
              ok = false;
              expected = "array of objects";
            }
        break;
    }
    if (!ok) {
      Response r = field_type_error(FieldError{f.name, expected});
      json j = json::parse(r.body);
      json err{{"resource", resource}, {"code", "invalid"}, {"field", f.name}};
      json out{{"message", j["message"]},
               {"errors", json::array({err})},
               {"documentation_url", kDocsUrl}};
      return json_response(422, out);
    }
  }
  return std::nullopt;
}

Page page_of(const Request& req) {
  Page p;
  auto num = [](const std::optional<std::string>& s, size_t dflt) -> size_t {
    if (!s || s->empty() || s->size() > 9) return dflt;
    for (char c : *s)
      if (c < '0' || c > '9') return dflt;
    size_t v = std::stoul(*s);
    return v == 0 ? dflt : v;
  };
  p.page = num(req.query_param("page"), 1);
  p.per_page = std::min<size_t>(num(req.query_param("per_page"), 30), 100);
  return p;
}

void add_link_header(Response& resp, const Request& req, const std::string& public_url,
                     const Page& page, size_t total) {
  size_t last = total == 0 ? 1 : (total + page.per_page - 1) / page.per_page;
  // Keep the other query parameters, replace page/per_page.
  std::string other;
  size_t pos = 0;
  while (pos <= req.query.size() && !req.query.empty()) {
    size_t amp = req.query.find('&', pos);
    if (amp == std::string::npos) amp = req.query.size();
    auto part = req.query.substr(pos, amp - pos);
    if (!part.empty() && part.rfind("page=", 0) != 0 && part.rfind("per_page=", 0) != 0)
      other += part + "&";
    pos = amp + 1;
  }
  auto url = [&](size_t n) {
    return "<" + public_url + req.path + "?" + other + "per_page=" + std::to_string(page.per_page) +
           "&page=" + std::to_string(n) + ">";
  };
  std::vector<std::string> links;
  if (page.page < last) {
    links.push_back(url(page.page + 1) + "; rel=\"next\"");
    links.push_back(url(last) + "; rel=\"last\"");
  }
  if (page.page > 1) {
    links.push_back(url(1) + "; rel=\"first\"");
    links.push_back(url(std::min(page.page - 1, last)) + "; rel=\"prev\"");
  }
  if (links.empty()) return;
  std::string value;
  for (size_t i = 0; i < links.size(); ++i) value += (i ? ", " : "") + links[i];
  resp.headers.set("Link", value);
}

Response with_etag(const Request& req, Response resp) {
  if (resp.status != 200) return resp;
  auto digest = crypto::sha256(as_bytes(resp.body));
  std::string tag = "\"" + hex_encode(ByteView(digest.data(), 16)) + "\"";
  resp.headers.set("ETag", tag);
  if (auto inm = req.headers.get("If-None-Match")) {
    // A list of tags, possibly weak (W/"..."): compare the opaque parts.
    std::string_view v = *inm;
    bool match = v.find('*') != std::string_view::npos || v.find(tag) != std::string_view::npos;
    if (match) {
      resp.status = 304;
      resp.body.clear();
      resp.headers.set("Content-Length", "0");
    }
  }
  return resp;
}

void finish_rest_response(const Request& req, Response& resp) {
  if (resp.status != 200 || (req.method != "GET" && req.method != "HEAD")) return;
  if (req.path.rfind("/api/v3/", 0) != 0 || resp.headers.get("ETag")) return;
  resp = with_etag(req, std::move(resp));
}

std::string node_id(std::string_view type, uint64_t id) {
  std::string raw = std::string(type) + ":" + std::to_string(id);
  std::string out(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

json user_json(const state::Account& a, const std::string& base) {
  const std::string api = base + "/api/v3/users/" + a.username;
  const char* type = a.is_org ? "Organization" : "User";
  return json{{"login", a.username},
              {"id", a.id},
              {"node_id", node_id(type, a.id)},
              {"avatar_url", ""},
              {"gravatar_id", ""},
              {"url", api},
              {"html_url", base + "/" + a.username},
              {"repos_url", api + "/repos"},
              {"type", type},
              {"site_admin", false},
              {"created_at", iso8601(a.registered_ms)},
              {"guts_did", crypto::did_from_key(a.key)}};
}

json repo_json(const state::Repo& r, const state::Account& owner, const std::string& base,
               std::optional<state::Permission> permission) {
  const std::string full = owner.username + "/" + r.name;
  const std::string api = base + "/api/v3/repos/" + full;
  json j{{"id", r.id},
         {"node_id", node_id("Repository", r.id)},
         {"name", r.name},
         {"full_name", full},
         {"private", r.is_private},
         {"owner", user_json(owner, base)},
         {"html_url", base + "/" + full},
         {"description", r.description.empty() ? json(nullptr) : json(r.description)},
         {"fork", false},
         {"url", api},
         {"clone_url", base + "/" + full + ".git"},
         {"default_branch", r.default_branch},
         {"visibility", r.is_private ? "private" : "public"},
         {"created_at", iso8601(r.created_ms)},
         {"updated_at", iso8601(r.updated_ms)},
         {"pushed_at", r.pushed_ms ? json(iso8601(r.pushed_ms)) : json(nullptr)},
         {"size", 0},
         {"archived", false},
         {"disabled", false},
         {"has_issues", true},
         {"allow_force_pushes", r.allow_force_push}};
  if (permission) {
    using state::Permission;
    auto p = *permission;
    j["permissions"] = {{"admin", p >= Permission::kAdmin},
                        {"maintain", p >= Permission::kMaintain},
                        {"push", p >= Permission::kWrite},
                        {"triage", p >= Permission::kTriage},
                        {"pull", p >= Permission::kRead}};
  }
  return j;
}

}  // namespace guts::api
