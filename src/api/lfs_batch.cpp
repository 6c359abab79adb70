#include "api/lfs_batch.h"

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/utf8.h"

namespace guts::api {

using nlohmann::json;

bool valid_lfs_oid(std::string_view oid) {
  if (oid.size() != 64) return false;
  for (char c : oid)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace {
json parse_object(std::string_view body) {
  if (body.size() > kMaxLfsBatchBodyBytes)
    throw Error(Code::kMalformed,
                "batch request body over " + std::to_string(kMaxLfsBatchBodyBytes) + " bytes");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(Code::kMalformed, "Problems parsing JSON");
  return j;
}
}  // namespace

std::string lfs_batch_operation(std::string_view body) {
  try {
    auto j = parse_object(body);
    auto it = j.find("operation");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  } catch (const Error&) {
  }
  return "";
}

LfsBatchRequest parse_lfs_batch(std::string_view body) {
  json j = parse_object(body);
  LfsBatchRequest out;
  auto op = j.find("operation");
  if (op == j.end() || !op->is_string())
    throw Error(Code::kMalformed, "operation: a string is required");
  out.operation = op->get<std::string>();
  if (out.operation != "download" && out.operation != "upload")
    throw Error(Code::kInvalidArgument, "operation: must be download or upload, not '" +
                                            printable_excerpt(out.operation, 40) + "'");
  if (auto h = j.find("hash_algo"); h != j.end()) {
    if (!h->is_string()) throw Error(Code::kMalformed, "hash_algo: must be a string");
    if (h->get<std::string>() != "sha256")
      throw Error(Code::kConflict, "hash_algo: only sha256 is supported");
  }
  if (auto t = j.find("transfers"); t != j.end()) {
    if (!t->is_array()) throw Error(Code::kMalformed, "transfers: must be an array");
    out.basic = t->empty();
    for (const auto& v : *t) {
      if (!v.is_string()) throw Error(Code::kMalformed, "transfers: must be strings");
      if (v.get<std::string>() == "basic") out.basic = true;
    }
  }
  if (auto r = j.find("ref"); r != j.end() && !r->is_null()) {
    if (!r->is_object()) throw Error(Code::kMalformed, "ref: must be an object");
    auto n = r->find("name");
    if (n != r->end()) {
      if (!n->is_string()) throw Error(Code::kMalformed, "ref.name: must be a string");
      out.ref = n->get<std::string>();
    }
  }
  auto objs = j.find("objects");
  if (objs == j.end() || !objs->is_array())
    throw Error(Code::kMalformed, "objects: an array is required");
  if (objs->empty())
    throw Error(Code::kInvalidArgument, "objects: at least one object is required");
  if (objs->size() > kMaxLfsBatchObjects)
    throw Error(Code::kTooLarge,
                "objects: at most " + std::to_string(kMaxLfsBatchObjects) + " per request");
  for (const auto& o : *objs) {
    if (!o.is_object()) throw Error(Code::kMalformed, "objects: each must be an object");
    LfsBatchObject x;
    auto oid = o.find("oid");
    auto size = o.find("size");
    if (oid == o.end() || !oid->is_string()) {
      x.error = "oid: a string is required";
    } else {
      x.oid = printable_excerpt(oid->get<std::string>(), 80);
      if (!valid_lfs_oid(x.oid)) x.error = "oid: must be 64 lower-case hex digits (SHA-256)";
    }
    if (x.error.empty()) {
      if (size == o.end() || !size->is_number_integer() ||
          (size->is_number_integer() && !size->is_number_unsigned() && size->get<int64_t>() < 0))
        x.error = "size: a non-negative integer is required";
      else
        x.size = size->get<uint64_t>();
    }
    out.objects.push_back(std::move(x));
  }
  return out;
}

}  // namespace guts::api
