#include "api/http.h"

#include <algorithm>

#include "api/http_parse.h"

namespace guts::api {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

void Headers::set(std::string name, std::string value) {
  auto it = std::find_if(items_.begin(), items_.end(),
                         [&](const auto& item) { return iequals(item.first, name); });
  if (it == items_.end()) {
    items_.emplace_back(std::move(name), std::move(value));
    return;
  }
  // Keep the position of the first occurrence, drop the others.
  it->first = std::move(name);
  it->second = std::move(value);
  auto first = it;
  items_.erase(std::remove_if(std::next(first), items_.end(),
                              [&](const auto& item) { return iequals(item.first, first->first); }),
               items_.end());
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  return find_query_param(query, name);
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

}  // namespace guts::api
