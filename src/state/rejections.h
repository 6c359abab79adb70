// The Status of a rejected transaction, one helper per Code the executor uses (docs/errors.md
// maps each Code to HTTP). Shared by executor.cpp and collab_exec.cpp.
#pragma once

#include <string>
#include <utility>

#include "core/status.h"

namespace guts::state::reject {

inline Status invalid(std::string msg) {
  return {Code::kInvalidArgument, std::move(msg)};
}
inline Status denied(std::string msg) {
  return {Code::kPermissionDenied, std::move(msg)};
}
inline Status conflict(std::string msg) {
  return {Code::kConflict, std::move(msg)};
}
inline Status taken(std::string msg) {
  return {Code::kAlreadyExists, std::move(msg)};
}
inline Status not_mergeable(std::string msg) {
  return {Code::kFailedPrecondition, std::move(msg)};
}
inline Status not_found(std::string msg) {
  return {Code::kNotFound, std::move(msg)};
}

}  // namespace guts::state::reject
