// Git over SSH (docs/git.md "Git over SSH"): guts-node's SSH server, libssh confined to
// ssh_server.cpp.
//
//   ssh -p <ssh-port> git@host "git-upload-pack '/owner/repo.git'"     clone, fetch (v0/v1/v2)
//   ssh -p <ssh-port> git@host "git-receive-pack '/owner/repo.git'"    push
//
// Authentication: public keys only. A key authenticates the user who registered it (kind 60,
// state/ssh_keys.h), or — for ssh-ed25519 — the account whose identity key it is. The SSH user
// name is ignored (use "git").
// Authorization: state::effective_permission, as the HTTP middleware: read for upload-pack,
// write for receive-pack; a repository the user may not read answers "Repository not found".
// The git work is the HTTP path's: `git upload-pack` (stateful, bidirectional, GIT_PROTOCOL from
// the client's `env` request), and api::run_push for pushes (the pushed refs move only through
// one signed UpdateRefs transaction; the report goes to the client once it is final).
//
// Threads: one accept thread; per connection one session thread (the libssh session and its
// ssh_event loop are owned by it alone) plus, once a git command runs, one worker thread that
// speaks the git protocol over a socketpair. At most `max_sessions` connections at a time
// (extra ones are closed at once); a connection that has not started a command within
// `login_grace`, or that moves no byte for `idle_timeout`, is closed. stop() ends everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/git_routes.h"
#include "api/services.h"

namespace guts::git {
class RepoStore;
}

namespace guts::node {

// A git command sent over SSH: "git-upload-pack '/owner/repo.git'" (also "git upload-pack",
// without quotes, without leading slash or ".git").
struct GitSshCommand {
  std::string service;  // "git-upload-pack", "git-receive-pack" or "git-upload-archive"
  std::string owner;
  std::string repo;  // without ".git"
};
// nullopt with a message for the user in *error when `command` is not such a command.
std::optional<GitSshCommand> parse_git_ssh_command(std::string_view command,
                                                   std::string* error = nullptr);

struct SshServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                    // 0: any free port (see port())
  std::filesystem::path host_key_file;  // created (Ed25519, mode 0600) when absent
  size_t max_sessions = 64;
  std::chrono::seconds login_grace{30};
  std::chrono::seconds idle_timeout{600};
};

// Loads the Ed25519 host key from `path`, generating it from the CSPRNG on first use (written
// with mode 0600). Returns its OpenSSH public key line. Throws guts::Error.
std::string ensure_ssh_host_key(const std::filesystem::path& path);

class SshServer {
 public:
  SshServer(SshServerOptions options, api::Services& services, git::RepoStore& store,
            api::PendingPushes& pending, api::GitHttpOptions git_options);
  ~SshServer();  // stop()
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  // Binds and starts accepting; throws guts::Error when the address cannot be bound.
  void start();
  // Closes the listener and every connection, waits for their threads. Idempotent.
  void stop();
  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::node
