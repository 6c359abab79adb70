// Git over SSH with libssh's server API (node/ssh_server.h; docs/git.md "Git over SSH").
#include "node/ssh_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <thread>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "core/time.h"
#include "crypto/did.h"
#include "git/pktline.h"
#include "git/process.h"
#include "git/receive.h"
#include "git/refs.h"
#include "git/repo_store.h"
#include "git/upload.h"
#include "state/permission.h"
#include "state/ssh_keys_state.h"

namespace guts::node {

namespace fs = std::filesystem;

// ---- command parsing (pure) ----

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 100 || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

// Undoes git's sq_quote ('...' with '\'' and \! inside); plain words are taken as they are.
std::optional<std::string> unquote(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '\\' && i + 1 < s.size()) {
      out.push_back(s[i + 1]);
      i += 2;
    } else if (c == ' ' || c == '\t') {
      return std::nullopt;  // one argument only
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace

std::optional<GitSshCommand> parse_git_ssh_command(std::string_view command, std::string* error) {
  auto bad = [&](std::string why) -> std::optional<GitSshCommand> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (command.size() > 1024) return bad("command too long");
  while (!command.empty() && (command.back() == ' ' || command.back() == '\n'))
    command.remove_suffix(1);
  while (!command.empty() && command.front() == ' ') command.remove_prefix(1);
  GitSshCommand out;
  for (std::string_view svc : {"git-upload-pack", "git-receive-pack", "git-upload-archive"}) {
    std::string spaced = "git " + std::string(svc.substr(4));
    for (std::string_view form : {svc, std::string_view(spaced)}) {
      if (command.size() > form.size() && command.substr(0, form.size()) == form &&
          command[form.size()] == ' ') {
        out.service = std::string(svc);
        command.remove_prefix(form.size() + 1);
        break;
      }
    }
    if (!out.service.empty()) break;
  }
  if (out.service.empty())
    return bad("only git-upload-pack and git-receive-pack commands are served over SSH");
  while (!command.empty() && command.front() == ' ') command.remove_prefix(1);
  auto path = unquote(command);
  if (!path) return bad("malformed repository path");
  std::string_view p = *path;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  auto slash = p.find('/');
  if (slash == std::string_view::npos) return bad("the repository path must be owner/repo");
  std::string_view owner = p.substr(0, slash), repo = p.substr(slash + 1);
  if (repo.size() > 4 && repo.substr(repo.size() - 4) == ".git") repo.remove_suffix(4);
  if (!valid_name(owner) || !valid_name(repo)) return bad("the repository path must be owner/repo");
  out.owner = std::string(owner);
  out.repo = std::string(repo);
  return out;
}

// ---- host key ----

std::string ensure_ssh_host_key(const fs::path& path) {
  ssh_key key = nullptr;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
      throw Error(Code::kInternal, "cannot generate the SSH host key");
    char* b64 = nullptr;
    int rc = ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &b64);
    if (rc != SSH_OK) {
      ssh_key_free(key);
      throw Error(Code::kInternal, "cannot encode the SSH host key");
    }
    std::string pem(b64);
    ssh_string_free_char(b64);
    auto tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
              ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ssh_key_free(key);
      throw Error(Code::kInternal, "cannot write the SSH host key " + path.string());
    }
    spdlog::info("SSH host key created: {}", path.string());
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
      spdlog::warn("SSH host key {} is readable by others (chmod 600)", path.string());
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK)
      throw Error(Code::kInvalidArgument, "cannot read the SSH host key " + path.string());
  }
  char* pub = nullptr;
  std::string line;
  if (ssh_pki_export_pubkey_base64(key, &pub) == SSH_OK) {
    line = std::string("ssh-ed25519 ") + pub;
    ssh_string_free_char(pub);
  }
  ssh_key_free(key);
  return line;
}

// ---- server ----

namespace {

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool read_exact(int fd, char* buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = ::read(fd, buf + off, n - off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    off += static_cast<size_t>(r);
  }
  return true;
}

void set_nonblock(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

std::string key_line(ssh_key key) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return {};
  std::string line = std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + b64;
  ssh_string_free_char(b64);
  return line;
}

}  // namespace

struct SshServer::Impl {
  SshServerOptions opts;
  api::Services& svc;
  git::RepoStore& store;
  api::PendingPushes& pending;
  api::GitHttpOptions git_opts;

  ssh_bind bind = nullptr;
  int listen_fd = -1;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;

  struct Conn {
    std::thread thread;
    int fd = -1;
    std::atomic<bool> done{false};
  };
  Mutex mu;
  std::list<Conn> conns GUTS_GUARDED_BY(mu);

  Impl(SshServerOptions o, api::Services& s, git::RepoStore& r, api::PendingPushes& p,
       api::GitHttpOptions g)
      : opts(std::move(o)), svc(s), store(r), pending(p), git_opts(std::move(g)) {}

  void accept_loop();
  void reap(bool all);
};

namespace {

// One connection: owned by its session thread.
class Session {
 public:
  Session(SshServer::Impl& srv, ssh_session s) : srv_(srv), s_(s) {}
  ~Session();
  void run();

 private:
  // libssh callbacks (static trampolines).
  static int on_auth_pubkey(ssh_session, const char* user, ssh_key key, char state, void* ud);
  static ssh_channel on_channel_open(ssh_session, void* ud);
  static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* ud);
  static void on_eof(ssh_session, ssh_channel, void* ud);
  static void on_close(ssh_session, ssh_channel, void* ud);
  static int on_exec(ssh_session, ssh_channel, const char* command, void* ud);
  static int on_shell(ssh_session, ssh_channel, void* ud);
  static int on_env(ssh_session, ssh_channel, const char* name, const char* value, void* ud);
  static int on_pty(ssh_session, ssh_channel, const char*, int, int, int, int, void*) { return 0; }
  static int on_out(int fd, int revents, void* ud);
  static int on_err(int fd, int revents, void* ud);

  void start_command();
  void finish_with_error(const std::string& message, int status);
  void flush_to_worker();
  void end_channel(int status);
  // The worker: the git protocol over fd `io`, messages to `err`. Returns the exit status.
  int upload_pack(int io, int err, const fs::path& dir);
  int receive_pack(int io, int err, const fs::path& dir, const state::Repo& repo);

  SshServer::Impl& srv_;
  ssh_session s_;
  ssh_event event_ = nullptr;
  ssh_channel channel_ = nullptr;
  ssh_server_callbacks_struct server_cb_{};
  ssh_channel_callbacks_struct channel_cb_{};

  std::optional<state::SshKeyOwner> user_;
  std::string username_;
  bool exec_requested_ = false;
  bool shell_ = false;
  std::string command_;
  std::string git_protocol_;
  bool started_ = false;
  bool client_eof_ = false;
  bool channel_closed_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_io_ = std::chrono::steady_clock::now();

  // Socketpairs to the worker: io_ (git protocol, both ways) and err_ (stderr, worker → us).
  int io_ = -1, err_ = -1;
  bool io_added_ = false, err_added_ = false;
  bool io_eof_ = false, err_eof_ = false;
  std::string to_worker_;
  bool shut_wr_ = false;
  std::thread worker_;
  std::atomic<int> exit_status_{0};
};

constexpr size_t kMaxToWorker = 4 << 20;

Session::~Session() {
  if (io_ >= 0) ::shutdown(io_, SHUT_RDWR);
  if (err_ >= 0) ::shutdown(err_, SHUT_RDWR);
  if (worker_.joinable()) worker_.join();
  if (event_) {
    if (io_added_) ssh_event_remove_fd(event_, io_);
    if (err_added_) ssh_event_remove_fd(event_, err_);
    ssh_event_remove_session(event_, s_);
    ssh_event_free(event_);
  }
  if (io_ >= 0) ::close(io_);
  if (err_ >= 0) ::close(err_);
  // The channel is freed with the session (ssh_free): libssh may already have freed it when
  // both sides closed it.
}

int Session::on_auth_pubkey(ssh_session, const char*, ssh_key key, char state, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (state != SSH_PUBLICKEY_STATE_NONE && state != SSH_PUBLICKEY_STATE_VALID)
    return SSH_AUTH_DENIED;
  auto parsed = state::parse_ssh_public_key(key_line(key));
  if (!parsed) return SSH_AUTH_DENIED;
  auto view = self->srv_.svc.chain().view();
  auto owner = state::ssh_key_owner(view, *parsed);
  if (!owner) return SSH_AUTH_DENIED;
  if (state == SSH_PUBLICKEY_STATE_VALID) {
    self->user_ = owner;
    auto acct = view.account(owner->user);
    self->username_ = acct ? acct->username : "";
  }
  return SSH_AUTH_SUCCESS;
}

ssh_channel Session::on_channel_open(ssh_session s, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (self->channel_ || !self->user_) return nullptr;  // one channel per connection
  self->channel_ = ssh_channel_new(s);
  ssh_callbacks_init(&self->channel_cb_);
  self->channel_cb_.userdata = self;
  self->channel_cb_.channel_data_function = &Session::on_data;
  self->channel_cb_.channel_eof_function = &Session::on_eof;
  self->channel_cb_.channel_close_function = &Session::on_close;
  self->channel_cb_.channel_exec_request_function = &Session::on_exec;
  self->channel_cb_.channel_shell_request_function = &Session::on_shell;
  self->channel_cb_.channel_env_request_function = &Session::on_env;
  self->channel_cb_.channel_pty_request_function = &Session::on_pty;
  ssh_set_channel_callbacks(self->channel_, &self->channel_cb_);
  return self->channel_;
}

int Session::on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (is_stderr) return static_cast<int>(len);
  self->last_io_ = std::chrono::steady_clock::now();
  if (self->finished_) return static_cast<int>(len);  // nobody will read it
  size_t room = kMaxToWorker > self->to_worker_.size() ? kMaxToWorker - self->to_worker_.size() : 0;
  size_t take = std::min<size_t>(room, len);
  self->to_worker_.append(static_cast<const char*>(data), take);
  self->flush_to_worker();
  return static_cast<int>(take);
}

void Session::on_eof(ssh_session, ssh_channel, void* ud) {
  static_cast<Session*>(ud)->client_eof_ = true;
}

void Session::on_close(ssh_session, ssh_channel, void* ud) {
  auto* self = static_cast<Session*>(ud);
  self->client_eof_ = true;
  self->channel_closed_ = true;
}

int Session::on_exec(ssh_session, ssh_channel, const char* command, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (self->exec_requested_) return SSH_ERROR;
  self->exec_requested_ = true;
  self->command_ = command ? command : "";
  return SSH_OK;
}

int Session::on_shell(ssh_session, ssh_channel, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (self->exec_requested_) return SSH_ERROR;
  self->exec_requested_ = true;
  self->shell_ = true;
  return SSH_OK;
}

int Session::on_env(ssh_session, ssh_channel, const char* name, const char* value, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (name && value && std::string_view(name) == "GIT_PROTOCOL") {
    self->git_protocol_ = git::sanitize_git_protocol(value);
    return SSH_OK;
  }
  return SSH_ERROR;  // other variables are refused (as sshd without AcceptEnv)
}

int Session::on_out(int fd, int revents, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (self->io_eof_ || !(revents & (POLLIN | POLLHUP | POLLERR))) return 0;
  char buf[32 * 1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) {
    self->io_eof_ = true;
    return 0;
  }
  self->last_io_ = std::chrono::steady_clock::now();
  if (!self->channel_closed_ &&
      ssh_channel_write(self->channel_, buf, static_cast<uint32_t>(n)) == SSH_ERROR)
    self->channel_closed_ = true;
  return 0;
}

int Session::on_err(int fd, int revents, void* ud) {
  auto* self = static_cast<Session*>(ud);
  if (self->err_eof_ || !(revents & (POLLIN | POLLHUP | POLLERR))) return 0;
  char buf[8 * 1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n <= 0) {
    self->err_eof_ = true;
    return 0;
  }
  if (!self->channel_closed_)
    ssh_channel_write_stderr(self->channel_, buf, static_cast<uint32_t>(n));
  return 0;
}

void Session::flush_to_worker() {
  while (!to_worker_.empty() && io_ >= 0) {
    ssize_t n = ::send(io_, to_worker_.data(), to_worker_.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // the worker is gone: drop what it will never read
      to_worker_.clear();
      return;
    }
    to_worker_.erase(0, static_cast<size_t>(n));
  }
}

void Session::end_channel(int status) {
  if (finished_) return;
  finished_ = true;
  last_io_ = std::chrono::steady_clock::now();  // the client gets 5 s to close its side
  if (channel_ && !channel_closed_) {
    ssh_channel_request_send_exit_status(channel_, status);
    ssh_channel_send_eof(channel_);
    ssh_channel_close(channel_);
  }
}

void Session::finish_with_error(const std::string& message, int status) {
  if (channel_ && !channel_closed_) {
    std::string m = message + "\n";
    ssh_channel_write_stderr(channel_, m.data(), static_cast<uint32_t>(m.size()));
  }
  end_channel(status);
}

void Session::start_command() {
  started_ = true;
  if (shell_) {
    return finish_with_error("Hi " + (username_.empty() ? std::string("there") : username_) +
                                 "! You've successfully authenticated, but Guts does not "
                                 "provide shell access.",
                             1);
  }
  std::string why;
  auto cmd = parse_git_ssh_command(command_, &why);
  if (!cmd) return finish_with_error("ERROR: " + why, 128);
  if (cmd->service == "git-upload-archive")
    return finish_with_error(
        "ERROR: git-upload-archive is not served; download archives over HTTP "
        "(GET /api/v3/repos/" +
            cmd->owner + "/" + cmd->repo + "/tarball)",
        128);
  bool write = cmd->service == "git-receive-pack";
  auto view = srv_.svc.chain().view();
  auto owner = view.account_by_username(cmd->owner);
  auto repo = owner ? view.repo_by_name(owner->key, cmd->repo) : std::nullopt;
  auto have =
      repo ? state::effective_permission(view, *repo, user_->user) : state::Permission::kNone;
  const std::string full = cmd->owner + "/" + cmd->repo;
  if (have == state::Permission::kNone)
    return finish_with_error("ERROR: Repository not found.", 128);
  if (write && have < state::Permission::kWrite)
    return finish_with_error("ERROR: Permission to " + full + " denied to " + username_ + ".", 128);
  if (write) {
    auto d = view.delegation(user_->user, srv_.svc.node_key().public_key());
    if (!d || d->expires_ms <= unix_millis())
      return finish_with_error(
          "ERROR: this node may not sign for " + username_ +
              ": the delegation to this node is missing or expired (run `guts auth login`)",
          128);
  }
  if (srv_.git_opts.hosts && !srv_.git_opts.hosts(repo->id))
    return finish_with_error("ERROR: this node does not host " + full +
                                 " (seeding policy); clone it from a node that does",
                             128);
  if (srv_.git_opts.replicating && srv_.git_opts.replicating(repo->id))
    return finish_with_error(
        "ERROR: repository " + full + " is still being replicated to this node; retry shortly",
        128);
  auto key = api::git_repo_key(repo->id);
  if (!srv_.store.exists(key)) return finish_with_error("ERROR: Repository not found.", 128);
  fs::path dir = srv_.store.path_for(key);

  int io[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) != 0)
    return finish_with_error("ERROR: internal error", 128);
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) != 0) {
    ::close(io[0]);
    ::close(io[1]);
    return finish_with_error("ERROR: internal error", 128);
  }
  io_ = io[0];
  err_ = err[0];
  set_nonblock(io_);
  set_nonblock(err_);
  ssh_event_add_fd(event_, io_, POLLIN, &Session::on_out, this);
  ssh_event_add_fd(event_, err_, POLLIN, &Session::on_err, this);
  io_added_ = err_added_ = true;
  spdlog::info("ssh: {} {} {}", username_, cmd->service, full);
  int wio = io[1], werr = err[1];
  worker_ = std::thread([this, wio, werr, write, dir, r = *repo] {
    int status = 128;
    try {
      status = write ? receive_pack(wio, werr, dir, r) : upload_pack(wio, werr, dir);
    } catch (const std::exception& e) {
      write_all(werr, std::string("ERROR: ") + e.what() + "\n");
      spdlog::warn("ssh: git command failed: {}", e.what());
    }
    exit_status_ = status;
    ::close(wio);
    ::close(werr);
  });
}

int Session::upload_pack(int io, int err, const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> env;
  if (!git_protocol_.empty()) env.emplace_back("GIT_PROTOCOL", git_protocol_);
  auto po = git::git_process_options({"upload-pack", "--strict", "--timeout=600", dir.string()},
                                     dir, std::move(env), std::chrono::hours(2));
  po.stdin_fd = io;
  git::Process p = git::Process::spawn(po);
  auto st = p.pump(
      git::Source(),
      [io](ByteView c) {
        if (!write_all(io, {reinterpret_cast<const char*>(c.data()), c.size()}))
          throw Error(Code::kUnavailable, "client went away");
      },
      [err](ByteView c) {
        write_all(err, {reinterpret_cast<const char*>(c.data()), c.size()});
      });
  return st.code >= 0 ? st.code : 128;
}

int Session::receive_pack(int io, int err, const fs::path& dir, const state::Repo& repo) {
  (void)err;
  auto sink = [io](ByteView c) {
    if (!write_all(io, {reinterpret_cast<const char*>(c.data()), c.size()}))
      throw Error(Code::kUnavailable, "client went away");
  };
  sink(as_bytes(
      git::receive_advertisement(git::list_refs(dir), git::protocol_version(git_protocol_) == 1)));
  // Commands pkt-line by pkt-line, never past the flush: index-pack then reads the pack from
  // the same stream (ReceiveOptions::pack_fd).
  git::PushRequestParser parser;
  std::string packet;
  try {
    while (!parser.done()) {
      char hdr[4];
      if (!read_exact(io, hdr, 4)) return 0;  // the client hung up: nothing to push
      int len = 0;
      for (char c : hdr) {
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
        if (v < 0) throw Error(Code::kInvalidArgument, "malformed pkt-line");
        len = len * 16 + v;
      }
      packet.assign(hdr, 4);
      if (len > 4) {
        packet.resize(static_cast<size_t>(len));
        if (!read_exact(io, packet.data() + 4, static_cast<size_t>(len) - 4)) return 1;
      }
      parser.feed(packet);
    }
  } catch (const Error& e) {
    if (e.code() != Code::kInvalidArgument && e.code() != Code::kTooLarge) throw;
    sink(as_bytes(git::pkt::encode(std::string("ERR ") + e.what() + "\n")));
    return 1;
  }
  git::PushRequest req = parser.take_request();
  if (req.commands.empty()) return 0;
  api::Principal who;
  who.authenticated = true;
  who.did = crypto::did_from_key(user_->user);
  who.username = username_;
  api::PushCall call{srv_.svc, srv_.pending, srv_.git_opts, who, repo, dir, io};
  auto r = api::run_push(call, std::move(req), git::Source(), sink);
  (void)r;
  return 0;  // per-ref failures are in the report, as git's receive-pack does
}

void Session::run() {
  ssh_callbacks_init(&server_cb_);
  server_cb_.userdata = this;
  server_cb_.auth_pubkey_function = &Session::on_auth_pubkey;
  server_cb_.channel_open_request_session_function = &Session::on_channel_open;
  ssh_set_server_callbacks(s_, &server_cb_);
  ssh_set_auth_methods(s_, SSH_AUTH_METHOD_PUBLICKEY);
  long grace = static_cast<long>(srv_.opts.login_grace.count());
  ssh_options_set(s_, SSH_OPTIONS_TIMEOUT, &grace);
  if (ssh_handle_key_exchange(s_) != SSH_OK) {
    spdlog::debug("ssh: key exchange failed: {}", ssh_get_error(s_));
    return;
  }
  event_ = ssh_event_new();
  if (!event_ || ssh_event_add_session(event_, s_) != SSH_OK) return;
  const auto t0 = std::chrono::steady_clock::now();
  while (!srv_.stopping) {
    int poll_ms = to_worker_.empty() ? 100 : 10;
    if (ssh_event_dopoll(event_, poll_ms) == SSH_ERROR) break;
    if (!ssh_is_connected(s_)) break;
    auto now = std::chrono::steady_clock::now();
    if (!started_) {
      if (exec_requested_ && channel_ && user_) {
        start_command();
      } else if (now - t0 > srv_.opts.login_grace) {
        break;
      }
      continue;
    }
    // Bytes the client sent that the worker has not taken yet, then what libssh still holds.
    flush_to_worker();
    if (channel_ && !channel_closed_ && io_ >= 0 && to_worker_.size() < kMaxToWorker) {
      char buf[32 * 1024];
      int n = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 0);
      if (n > 0) {
        to_worker_.append(buf, static_cast<size_t>(n));
        flush_to_worker();
      }
    }
    if (client_eof_ && to_worker_.empty() && io_ >= 0 && !shut_wr_) {
      ::shutdown(io_, SHUT_WR);
      shut_wr_ = true;
    }
    if (io_added_ && io_eof_) {
      ssh_event_remove_fd(event_, io_);
      io_added_ = false;
    }
    if (err_added_ && err_eof_) {
      ssh_event_remove_fd(event_, err_);
      err_added_ = false;
    }
    if (finished_ && (channel_closed_ || now - last_io_ > std::chrono::seconds(5))) break;
    if (!finished_ && io_ >= 0 && io_eof_ && err_eof_) {
      if (worker_.joinable()) worker_.join();
      end_channel(exit_status_);
    }
    if (channel_closed_ && !finished_) break;  // the client went away
    if (now - last_io_ > srv_.opts.idle_timeout) {
      spdlog::info("ssh: closing idle connection of {}", username_);
      break;
    }
  }
  ssh_disconnect(s_);
}

}  // namespace

void SshServer::Impl::accept_loop() {
  while (!stopping) {
    pollfd p{listen_fd, POLLIN, 0};
    int rc = ::poll(&p, 1, 200);
    reap(false);
    if (rc <= 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    MutexLock lock(mu);
    if (conns.size() >= opts.max_sessions) {
      spdlog::warn("ssh: {} connections open, refusing another", conns.size());
      ::close(fd);
      continue;
    }
    ssh_session s = ssh_new();
    if (!s || ssh_bind_accept_fd(bind, s, fd) != SSH_OK) {
      if (s) ssh_free(s);
      ::close(fd);
      continue;
    }
    auto& c = conns.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, s, &c] {
      {
        Session session(*this, s);
        try {
          session.run();
        } catch (const std::exception& e) {
          spdlog::warn("ssh: session failed: {}", e.what());
        }
      }
      {
        MutexLock lock(mu);
        c.fd = -1;  // stop() must not shut down a descriptor number that may be reused
      }
      ssh_free(s);  // closes the connection's socket
      c.done = true;
    });
  }
}

void SshServer::Impl::reap(bool all) {
  std::list<Conn> finished;
  {
    MutexLock lock(mu);
    for (auto it = conns.begin(); it != conns.end();) {
      if (all || it->done) {
        if (it->fd >= 0) ::shutdown(it->fd, SHUT_RDWR);
        auto next = std::next(it);
        finished.splice(finished.end(), conns, it);
        it = next;
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished)
    if (c.thread.joinable()) c.thread.join();
}

SshServer::SshServer(SshServerOptions options, api::Services& services, git::RepoStore& store,
                     api::PendingPushes& pending, api::GitHttpOptions git_options)
    : impl_(std::make_unique<Impl>(std::move(options), services, store, pending,
                                   std::move(git_options))) {}

SshServer::~SshServer() {
  stop();
}

void SshServer::start() {
  auto& d = *impl_;
  ensure_ssh_host_key(d.opts.host_key_file);
  d.bind = ssh_bind_new();
  if (!d.bind) throw Error(Code::kInternal, "ssh_bind_new failed");
  ssh_bind_options_set(d.bind, SSH_BIND_OPTIONS_HOSTKEY, d.opts.host_key_file.c_str());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(d.opts.port);
  if (::getaddrinfo(d.opts.host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    throw Error(Code::kInvalidArgument, "ssh: cannot resolve " + d.opts.host);
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = fd >= 0 && ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 && ::listen(fd, 64) == 0;
  ::freeaddrinfo(res);
  if (!ok) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw Error(Code::kUnavailable,
                "ssh: cannot listen on " + d.opts.host + ":" + port + ": " + why);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  d.port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  d.listen_fd = fd;
  d.acceptor = std::thread([&d] { d.accept_loop(); });
  spdlog::info("SSH (git) listening on {}:{}", d.opts.host, d.port);
}

void SshServer::stop() {
  auto& d = *impl_;
  if (d.stopping.exchange(true)) return;
  if (d.acceptor.joinable()) d.acceptor.join();
  d.reap(true);
  if (d.listen_fd >= 0) ::close(d.listen_fd);
  d.listen_fd = -1;
  if (d.bind) ssh_bind_free(d.bind);
  d.bind = nullptr;
}

uint16_t SshServer::port() const {
  return impl_->port;
}

}  // namespace guts::node
