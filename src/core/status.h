// Error reporting shared by all modules: a code (mapped to HTTP statuses at the API edge)
// and a human-readable message that is safe to show to the client.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace guts {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // well-formed but semantically invalid input (422)
  kUnauthenticated,     // no or bad credentials (401)
  kPermissionDenied,    // authenticated but not allowed (403)
  kNotFound,            // (404)
  kConflict,            // the state moved under the caller: a stale sha or ref (409)
  kTooLarge,            // over a size bound (413)
  kUnavailable,         // try again later (503)
  kInternal,            // bug or I/O failure (500)
  kMalformed,           // the request cannot be parsed at all: bad JSON, HTTP or pkt-line (400)
  kAlreadyExists,       // a name or title that must be unique is taken (422 "already_exists")
  kFailedPrecondition,  // valid, but the resource is not in a state that allows it: a pull
                        // request that cannot be merged, or is merged already (405)
  kRateLimited,         // too many requests from one identity; the message ends with
                        // "retry after N s" (429 with Retry-After; docs/reputation.md)
};
// HTTP statuses of every code: docs/errors.md; the one mapping is api::http_status (src/api).

const char* code_name(Code code);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Exception form of a Status, for code paths where unwinding is the clearest control flow.
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }
  Status status() const { return {code_, what()}; }

 private:
  Code code_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }
  // Returns the value or throws the error.
  T take() && {
    if (!ok()) throw Error(std::get<1>(v_).code(), std::get<1>(v_).message());
    return std::get<0>(std::move(v_));
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace guts
