// Clone and fetch: `git upload-pack --stateless-rpc` over a bare repository (smart HTTP shape).
// Streams both ways through callbacks; memory stays bounded whatever the pack size.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"
#include "git/process.h"

namespace guts::git {

// Protocol version from a Git-Protocol header / GIT_PROTOCOL value ("version=2:..."): 0, 1 or 2.
int protocol_version(std::string_view git_protocol);
// Keeps only well-formed "key[=value]" entries separated by ':' (printable, no spaces), at most
// 256 bytes, so a header can be passed to git as GIT_PROTOCOL safely. Empty if nothing is left.
std::string sanitize_git_protocol(std::string_view git_protocol);

struct UploadOptions {
  std::string git_protocol;  // value of the client's Git-Protocol header (sanitized here)
  std::chrono::milliseconds timeout{std::chrono::hours(2)};
  // Extra environment, e.g. a quarantine's env() to serve pending objects to peers.
  std::vector<std::pair<std::string, std::string>> env;
};

// GET info/refs?service=git-upload-pack. v0/v1: "# service=git-upload-pack" pkt-line, flush,
// then git's advertisement; v2: git's v2 capability advertisement only (no preamble, as git
// http-backend does). Returns git's status;
// Code::kNotFound when the repository does not exist.
Status upload_pack_advertise(const std::filesystem::path& repo_dir, const Sink& out,
                             const UploadOptions& options = {});

// POST git-upload-pack: the request body (already un-gzipped) in, the response out.
Status upload_pack_rpc(const std::filesystem::path& repo_dir, const Source& request,
                       const Sink& response, const UploadOptions& options = {});

// GET info/refs?service=git-receive-pack for a repository: preamble + our own advertisement
// (see receive.h), honouring version=1.
Status receive_pack_advertise(const std::filesystem::path& repo_dir, const Sink& out,
                              std::string_view git_protocol = {});

// A Source that inflates a gzip (or zlib) stream pulled from `compressed` (for requests with
// Content-Encoding: gzip). Throws Error(kInvalidArgument) on corrupt data and Error(kTooLarge)
// once more than `max_output` bytes were produced.
Source gunzip_source(Source compressed, uint64_t max_output = 8ull << 30);

}  // namespace guts::git
