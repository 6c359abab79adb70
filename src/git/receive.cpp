#include "git/receive.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "core/fs.h"
#include "git/libgit2_handle.h"

namespace guts::git {
namespace fs = std::filesystem;

namespace {

std::string first_line(std::string_view s) {
  // git's "fatal: ..." message, without the prefix, as a one-line reason.
  auto pos = s.find("fatal: ");
  if (pos != std::string_view::npos) s = s.substr(pos + 7);
  auto nl = s.find('\n');
  std::string out(s.substr(0, nl));
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ')) out.pop_back();
  if (out.empty()) out = "failed";
  if (out.size() > 500) out.resize(500);
  return out;
}

void fsync_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(Code::kInternal, "open " + p.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(Code::kInternal, "fsync " + p.string() + ": " + std::strerror(errno));
}

}  // namespace

std::string service_header(std::string_view service) {
  std::string out = pkt::encode("# service=" + std::string(service) + "\n");
  out += pkt::kFlush;
  return out;
}

std::string receive_advertisement(const std::vector<Ref>& refs, bool version1,
                                  std::string_view capabilities) {
  std::string out;
  if (version1) pkt::append(out, "version 1\n");
  bool first = true;
  for (const auto& r : refs) {
    if (first) {
      pkt::append(out,
                  r.oid + " " + r.name + std::string(1, '\0') + std::string(capabilities) + "\n");
      first = false;
    } else {
      pkt::append(out, r.oid + " " + r.name + "\n");
    }
  }
  if (first)
    pkt::append(out, std::string(kZeroOid) + " capabilities^{}" + std::string(1, '\0') +
                         std::string(capabilities) + "\n");
  out += pkt::kFlush;
  return out;
}

// ---- commands ----

bool PushRequest::has(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

bool PushRequest::expects_pack() const {
  return std::any_of(commands.begin(), commands.end(),
                     [](const RefCommand& c) { return !c.is_delete(); });
}

PushRequestParser::PushRequestParser(ReceiveLimits limits)
    : limits_(limits), dec_(2 * pkt::kMaxPacketLen) {}

bool PushRequestParser::feed(ByteView chunk) {
  if (done()) {
    // Once the command section ended, everything belongs to the pack; keep it for the caller.
    dec_.feed(chunk);
    return true;
  }
  // Feed in slices so the decoder's bounded buffer never holds more than a few packets.
  size_t off = 0;
  while (off < chunk.size() || off == 0) {
    size_t n = std::min(chunk.size() - off, pkt::kMaxPacketLen);
    dec_.feed(chunk.subspan(off, n));
    off += n;
    while (!done()) {
      auto p = dec_.next();
      if (!p) break;
      on_packet(*p);
    }
    if (done()) {
      if (off < chunk.size()) dec_.feed(chunk.subspan(off));
      return true;
    }
    if (chunk.empty()) break;
  }
  return done();
}

void PushRequestParser::on_packet(const pkt::Packet& p) {
  if (stage_ == Stage::kCommands) {
    if (p.type == pkt::Type::kFlush) {
      stage_ = (seen_command_ && req_.has("push-options")) ? Stage::kPushOptions : Stage::kDone;
      return;
    }
    if (p.type != pkt::Type::kData)
      throw Error(Code::kInvalidArgument, "protocol error: unexpected special packet");
    std::string_view line = p.line();
    if (line.rfind("shallow ", 0) == 0) {
      if (seen_command_)
        throw Error(Code::kInvalidArgument, "protocol error: shallow line after commands");
      auto oid = line.substr(8);
      if (!is_valid_oid(oid))
        throw Error(Code::kInvalidArgument, "protocol error: bad shallow line");
      if (req_.shallow.size() >= limits_.max_shallow)
        throw Error(Code::kTooLarge, "too many shallow lines");
      req_.shallow.emplace_back(oid);
      return;
    }
    if (line.rfind("push-cert", 0) == 0)
      throw Error(Code::kInvalidArgument, "signed pushes (push-cert) are not supported");
    parse_command(line, !seen_command_);
    seen_command_ = true;
    return;
  }
  if (stage_ == Stage::kPushOptions) {
    if (p.type == pkt::Type::kFlush) {
      stage_ = Stage::kDone;
      return;
    }
    if (p.type != pkt::Type::kData)
      throw Error(Code::kInvalidArgument, "protocol error: unexpected special packet");
    std::string_view opt = p.line();
    if (req_.push_options.size() >= limits_.max_push_options)
      throw Error(Code::kTooLarge, "too many push options");
    if (opt.size() > limits_.max_push_option_length)
      throw Error(Code::kTooLarge, "push option too long");
    if (opt.find('\0') != std::string_view::npos)
      throw Error(Code::kInvalidArgument, "push option contains NUL");
    req_.push_options.emplace_back(opt);
  }
}

void PushRequestParser::parse_command(std::string_view line, bool first) {
  if (first) {
    auto nul = line.find('\0');
    if (nul != std::string_view::npos) {
      std::string_view caps = line.substr(nul + 1);
      line = line.substr(0, nul);
      if (caps.size() > limits_.max_capability_length)
        throw Error(Code::kTooLarge, "capability list too long");
      size_t pos = 0;
      while (pos < caps.size()) {
        size_t sp = caps.find(' ', pos);
        if (sp == std::string_view::npos) sp = caps.size();
        std::string_view cap = caps.substr(pos, sp - pos);
        pos = sp + 1;
        if (cap.empty()) continue;
        if (cap.rfind("agent=", 0) == 0) req_.agent = std::string(cap.substr(6));
        if (cap.rfind("object-format=", 0) == 0 && cap != "object-format=sha1")
          throw Error(Code::kInvalidArgument,
                      "unsupported object format: " + std::string(cap.substr(14)));
        req_.capabilities.emplace_back(cap);
      }
    }
  } else if (line.find('\0') != std::string_view::npos) {
    throw Error(Code::kInvalidArgument, "protocol error: NUL in command line");
  }
  if (req_.commands.size() >= limits_.max_commands)
    throw Error(Code::kTooLarge,
                "too many ref updates (max " + std::to_string(limits_.max_commands) + ")");
  // "<old> <new> <ref>"
  if (line.size() < 83 || line[40] != ' ' || line[81] != ' ')
    throw Error(Code::kInvalidArgument, "protocol error: expected old/new/ref, got '" +
                                            std::string(line.substr(0, 100)) + "'");
  RefCommand c;
  c.old_oid = std::string(line.substr(0, 40));
  c.new_oid = std::string(line.substr(41, 40));
  c.ref = std::string(line.substr(82));
  if (!is_valid_oid(c.old_oid) || !is_valid_oid(c.new_oid))
    throw Error(Code::kInvalidArgument, "protocol error: bad object id in command");
  if (c.ref.size() > limits_.max_ref_length) throw Error(Code::kTooLarge, "ref name too long");
  if (auto e = ref_name_error(c.ref); !e.empty())
    throw Error(Code::kInvalidArgument, "invalid ref name '" + c.ref + "': " + e);
  for (const auto& other : req_.commands)
    if (other.ref == c.ref) throw Error(Code::kInvalidArgument, "duplicate ref in push: " + c.ref);
  req_.commands.push_back(std::move(c));
}

PushRequest read_push_request(const Source& body, std::string& rest, const ReceiveLimits& limits) {
  PushRequestParser parser(limits);
  std::vector<uint8_t> buf(64 * 1024);
  while (!parser.done()) {
    size_t n = body(buf.data(), buf.size());
    if (n == 0) throw Error(Code::kInvalidArgument, "protocol error: request ended early");
    parser.feed(ByteView(buf.data(), n));
  }
  rest = parser.take_remaining();
  return parser.take_request();
}

// ---- quarantine ----

Quarantine Quarantine::create(const fs::path& repo_dir) {
  fs::path objects = repo_dir / "objects";
  if (!fs::is_directory(objects)) throw Error(Code::kNotFound, "repository not found");
  std::string tmpl = (objects / "incoming-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw Error(Code::kInternal, std::string("mkdtemp: ") + std::strerror(errno));
  Quarantine q;
  q.repo_ = repo_dir;
  q.dir_ = tmpl;
  std::error_code ec;
  fs::create_directory(q.dir_ / "pack", ec);
  if (ec) throw Error(Code::kInternal, "create quarantine: " + ec.message());
  return q;
}

Quarantine Quarantine::adopt(const fs::path& repo_dir, const fs::path& dir) {
  if (dir.parent_path() != repo_dir / "objects" ||
      dir.filename().string().rfind("incoming-", 0) != 0 || !fs::is_directory(dir))
    throw Error(Code::kInvalidArgument, "not a quarantine of this repository: " + dir.string());
  Quarantine q;
  q.repo_ = repo_dir;
  q.dir_ = dir;
  std::error_code ec;
  fs::create_directories(q.dir_ / "pack", ec);
  return q;
}

std::vector<fs::path> Quarantine::list(const fs::path& repo_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(repo_dir / "objects", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("incoming-", 0) == 0 && it->is_directory())
      out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

Quarantine::Quarantine(Quarantine&& o) noexcept {
  *this = std::move(o);
}

Quarantine& Quarantine::operator=(Quarantine&& o) noexcept {
  if (this != &o) {
    discard();
    repo_ = std::move(o.repo_);
    dir_ = std::exchange(o.dir_, {});
  }
  return *this;
}

Quarantine::~Quarantine() {
  discard();
}

void Quarantine::discard() {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
  dir_.clear();
}

std::vector<std::pair<std::string, std::string>> Quarantine::env() const {
  auto e = env_for_ref_update();
  e.emplace_back("GIT_QUARANTINE_PATH", dir_.string());
  return e;
}

std::vector<std::pair<std::string, std::string>> Quarantine::env_for_ref_update() const {
  return {{"GIT_DIR", repo_.string()},
          {"GIT_OBJECT_DIRECTORY", dir_.string()},
          {"GIT_ALTERNATE_OBJECT_DIRECTORIES", (repo_ / "objects").string()}};
}

std::vector<fs::path> Quarantine::migrate() {
  if (dir_.empty()) throw Error(Code::kInternal, "quarantine already migrated or discarded");
  fs::path objects = repo_ / "objects";
  std::vector<fs::path> keeps;
  // Loose objects first (index-pack writes none, but be complete), then packs with the .idx
  // last: a pack becomes visible to readers through its index.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    if (name == "pack" || !entry.is_directory() || name.size() != 2) continue;
    fs::path dest_dir = objects / name;
    fs::create_directories(dest_dir);
    for (const auto& obj : fs::directory_iterator(entry.path())) {
      fs::path dest = dest_dir / obj.path().filename();
      fsync_file(obj.path());
      std::error_code ec;
      if (fs::exists(dest, ec)) continue;  // same content, already there
      fs::rename(obj.path(), dest);
    }
    fsync_dir(dest_dir);
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir_ / "pack"))
    if (entry.is_regular_file()) files.push_back(entry.path());
  auto rank = [](const fs::path& p) {
    auto ext = p.extension().string();
    if (ext == ".keep") return 0;
    if (ext == ".pack") return 1;
    if (ext == ".idx") return 3;
    return 2;  // .rev, .bitmap, ...
  };
  std::sort(files.begin(), files.end(),
            [&](const fs::path& a, const fs::path& b) { return rank(a) < rank(b); });
  fs::path pack_dir = objects / "pack";
  fs::create_directories(pack_dir);
  for (const auto& f : files) {
    fsync_file(f);
    fs::path dest = pack_dir / f.filename();
    fs::rename(f, dest);
    if (f.extension() == ".keep") keeps.push_back(dest);
  }
  fsync_dir(pack_dir);
  discard();
  return keeps;
}

// ---- pack ----

std::string index_pack(Quarantine& q, const Source& pack, const ReceiveOptions& options,
                       uint64_t* bytes_read) {
  std::vector<std::string> args = {"index-pack", "--stdin", "--fix-thin", "--strict",
                                   "--keep=guts receive " + std::to_string(::getpid())};
  if (options.max_pack_bytes > 0)
    args.push_back("--max-input-size=" + std::to_string(options.max_pack_bytes));
  auto po = git_process_options(args, q.repo_dir(), q.env(), options.timeout);
  po.stdin_fd = options.pack_fd;
  Process p = Process::spawn(po);
  uint64_t total = 0;
  Source counted = [&](uint8_t* buf, size_t cap) {
    size_t n = pack(buf, cap);
    total += n;
    return n;
  };
  std::string out, err;
  auto st = p.pump(options.pack_fd >= 0 ? Source() : counted, sink_to(out), [&](ByteView c) {
    if (err.size() < 64 * 1024) err.append(c.begin(), c.end());
  });
  if (bytes_read) *bytes_read = total;
  if (st.timed_out) throw Error(Code::kInvalidArgument, "index-pack timed out");
  if (!st.success()) {
    if (total == 0 && options.pack_fd < 0)
      throw Error(Code::kInvalidArgument, "index-pack: no pack data received");
    throw Error(Code::kInvalidArgument, "index-pack failed: " + first_line(err));
  }
  if (options.progress && !err.empty()) options.progress(err);
  // "pack\t<hash>" or "keep\t<hash>"
  auto tab = out.find('\t');
  return tab == std::string::npos ? std::string() : out.substr(tab + 1, 40);
}

std::string check_connectivity(const Quarantine& q, const std::vector<std::string>& tips) {
  if (tips.empty()) return {};
  std::string input;
  for (const auto& t : tips) input += t + "\n";
  GitOptions o;
  o.cwd = q.repo_dir();
  o.env = q.env();
  // No --alternate-refs (git's own receive-pack passes it): the quarantine's one alternate is
  // the repository itself, whose refs --all already names, and git would list them again by
  // spawning for-each-ref, a process per push for nothing.
  auto r = run_git({"rev-list", "--objects", "--stdin", "--not", "--all", "--quiet"}, o, input);
  if (r.ok()) return {};
  return first_line(r.err.empty() ? r.exit.describe() : r.err);
}

namespace {

bool parse_oid(std::string_view hex, git_oid* out) {
  return is_valid_oid(hex) && git_oid_fromstrn(out, hex.data(), hex.size()) == 0;
}

}  // namespace

QuarantineObjects::QuarantineObjects(const Quarantine& q) {
  lg2::ensure_init();
  lg2::Handle<git_odb, git_odb_free> odb;  // the repository keeps its own reference
  if (git_repository_open_bare(&repo_, q.repo_dir().c_str()) != 0 ||
      git_repository_odb(odb.out(), repo_) != 0 ||
      git_odb_add_disk_alternate(odb.get(), q.dir().c_str()) != 0) {
    std::string what = lg2::last_error("reading the quarantine of " + q.repo_dir().string());
    git_repository_free(repo_);
    throw Error(Code::kInternal, what);
  }
}

QuarantineObjects::~QuarantineObjects() {
  git_repository_free(repo_);
}

bool QuarantineObjects::is_commit(std::string_view oid) const {
  git_oid id{};
  return parse_oid(oid, &id) && lg2::has_commit(repo_, &id);
}

bool QuarantineObjects::is_ancestor(std::string_view old_oid, std::string_view new_oid) const {
  // Unlike merge-base, an annotated tag is not peeled: only a branch that already names a tag
  // object (made outside any push: pushes to refs/heads/ must name commits) reads as not
  // fast-forward, which errs on the safe side.
  git_oid a{}, b{};
  return parse_oid(old_oid, &a) && parse_oid(new_oid, &b) &&
         lg2::is_ancestor(repo_, &a, &b).value_or(false);
}

IncomingPush IncomingPush::receive(const fs::path& repo_dir, PushRequest request, Source pack,
                                   const ReceiveOptions& options) {
  IncomingPush push(Quarantine::create(repo_dir));
  push.request_ = std::move(request);
  const auto& cmds = push.request_.commands;
  push.checks_.resize(cmds.size());

  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t);
  };
  auto t = Clock::now();
  if (push.request_.expects_pack()) {
    try {
      index_pack(push.quarantine_, pack, options, &push.pack_bytes_);
    } catch (const Error& e) {
      if (e.code() == Code::kInternal) throw;
      push.unpack_error_ = e.what();
    }
  }
  push.timings_.pack = since(t);
  t = Clock::now();

  std::map<std::string, std::string> current;
  for (auto& r : list_refs(repo_dir)) current[r.name] = r.oid;

  std::vector<std::string> tips;
  for (size_t i = 0; i < cmds.size(); ++i) {
    auto& c = cmds[i];
    auto& chk = push.checks_[i];
    chk.ref_error = pushable_ref_error(c.ref);
    auto it = current.find(c.ref);
    chk.current_oid = it == current.end() ? std::string(kZeroOid) : it->second;
    chk.stale = chk.current_oid != c.old_oid;
    if (!c.is_delete() && push.unpack_error_.empty()) tips.push_back(c.new_oid);
  }
  if (!push.unpack_error_.empty()) return push;

  push.timings_.checks = since(t);
  t = Clock::now();
  bool all_connected = check_connectivity(push.quarantine_, tips).empty();
  push.timings_.connectivity = since(t);
  t = Clock::now();
  std::optional<QuarantineObjects> objects;  // opened for the first branch
  for (size_t i = 0; i < cmds.size(); ++i) {
    auto& c = cmds[i];
    auto& chk = push.checks_[i];
    if (c.is_delete()) continue;
    if (!all_connected) chk.connected = check_connectivity(push.quarantine_, {c.new_oid}).empty();
    if (!chk.connected) continue;
    bool is_branch = c.ref.rfind("refs/heads/", 0) == 0;
    if (!is_branch) continue;
    if (!objects) objects.emplace(push.quarantine_);
    chk.new_is_commit = objects->is_commit(c.new_oid);
    if (!c.is_create() && chk.new_is_commit)
      chk.fast_forward = objects->is_ancestor(c.old_oid, c.new_oid);
  }
  push.timings_.checks += since(t);
  return push;
}

Status IncomingPush::apply(const std::vector<RefCommand>& updates) {
  if (applied_) return {Code::kInternal, "push already applied"};
  if (!unpack_error_.empty()) return {Code::kInvalidArgument, "unpack failed: " + unpack_error_};
  if (!quarantine_.active()) return {Code::kInternal, "quarantine gone"};
  if (updates.empty()) {
    applied_ = true;
    quarantine_.discard();
    return Status::Ok();
  }
  // update-ref sees the quarantined objects (it refuses to point refs at missing objects and
  // branches at non-commits) but not GIT_QUARANTINE_PATH, which forbids ref updates.
  auto po = git_process_options({"update-ref", "--stdin"}, quarantine_.repo_dir(),
                                quarantine_.env_for_ref_update(), std::chrono::minutes(5));
  po.capture_stderr = true;
  Process p = Process::spawn(po);
  auto fail = [&](Code code) -> Status {
    p.close_stdin();
    std::string err;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(p.stderr_fd(), buf, sizeof buf);
      if (n <= 0 || err.size() > 65536) break;
      err.append(buf, static_cast<size_t>(n));
    }
    p.wait();
    return {code, first_line(err)};
  };
  auto expect = [&](std::string_view cmd) {
    auto line = p.read_stdout_line(256);
    return line && *line == std::string(cmd) + ": ok\n";
  };
  std::string script = "start\n";
  for (const auto& u : updates)
    script += "update " + u.ref + " " + u.new_oid + " " + u.old_oid + "\n";
  script += "prepare\n";
  if (!p.write_stdin(as_bytes(script))) return fail(Code::kConflict);
  if (!expect("start") || !expect("prepare")) return fail(Code::kConflict);
  // Refs are locked and verified: make the objects part of the repository, then commit.
  std::vector<fs::path> keeps;
  try {
    keeps = quarantine_.migrate();
  } catch (const std::exception& e) {
    p.write_stdin(as_bytes(std::string_view("abort\n")));
    fail(Code::kInternal);
    return {Code::kInternal, std::string("migrating quarantine: ") + e.what()};
  }
  if (!p.write_stdin(as_bytes(std::string_view("commit\n"))) || !expect("commit"))
    return fail(Code::kInternal);
  p.close_stdin();
  auto st = p.wait();
  applied_ = true;
  for (const auto& k : keeps) {
    std::error_code ec;
    fs::remove(k, ec);
  }
  if (!st.success()) return {Code::kInternal, "update-ref: " + st.describe()};
  return Status::Ok();
}

// ---- decision and report ----

std::vector<RefStatus> decide(const IncomingPush& push, const PushPolicy& policy) {
  const auto& cmds = push.request().commands;
  const auto& checks = push.checks();
  std::vector<RefStatus> out;
  bool any_failed = false;
  for (size_t i = 0; i < cmds.size(); ++i) {
    const auto& c = cmds[i];
    const auto& k = checks[i];
    RefStatus s{c.ref, {}};
    if (!push.unpack_error().empty())
      s.error = "unpacker error";
    else if (!k.ref_error.empty())
      s.error = "funny refname";
    else if (c.is_delete() && !policy.allow_deletes)
      s.error = "deletion prohibited";
    else if (c.is_delete() && k.current_oid == kZeroOid)
      s.error = "no such ref";
    else if (!k.connected)
      s.error = "missing necessary objects";
    else if (!k.new_is_commit)
      s.error = "branch must point at a commit";
    else if (!k.fast_forward && !policy.allow_non_fast_forward)
      s.error = "non-fast-forward";
    else if (k.stale)
      s.error = "stale info";
    any_failed |= !s.ok();
    out.push_back(std::move(s));
  }
  if (any_failed && push.request().atomic())
    for (auto& s : out)
      if (s.ok()) s.error = "atomic push failed";
  return out;
}

std::string report_status(std::string_view unpack_error, const std::vector<RefStatus>& results,
                          bool side_band) {
  std::string body;
  pkt::append(body, unpack_error.empty() ? std::string("unpack ok\n")
                                         : "unpack " + first_line(unpack_error) + "\n");
  for (const auto& r : results) {
    if (r.ok())
      pkt::append(body, "ok " + r.ref + "\n");
    else
      pkt::append(body, "ng " + r.ref + " " + first_line(r.error) + "\n");
  }
  body += pkt::kFlush;
  if (!side_band) return body;
  std::string out = pkt::sideband_encode(pkt::Band::kData, body);
  out += pkt::kFlush;
  return out;
}

std::vector<RefStatus> serve_receive_pack(const fs::path& repo_dir, const Source& body,
                                          const Sink& response, const PushPolicy& policy,
                                          const ReceiveOptions& options,
                                          const ReceiveLimits& limits) {
  auto write = [&](std::string_view s) { response(as_bytes(s)); };
  PushRequest req;
  std::string rest;
  try {
    req = read_push_request(body, rest, limits);
  } catch (const Error& e) {
    // The client has not told us about side-band yet; an ERR packet is what it understands.
    write(pkt::encode(std::string("ERR ") + e.what() + "\n"));
    return {};
  }
  if (req.commands.empty()) return {};
  bool sb = req.side_band();
  bool report = req.report_status();
  ReceiveOptions opts = options;
  pkt::SidebandWriter w([&](std::string_view s) { write(s); }, sb);
  if (sb && !req.quiet() && !opts.progress)
    opts.progress = [&](std::string_view m) { w.progress(m); };
  auto push =
      IncomingPush::receive(repo_dir, std::move(req), source_concat(std::move(rest), body), opts);
  auto results = decide(push, policy);
  std::vector<RefCommand> accepted;
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i].ok()) accepted.push_back(push.request().commands[i]);
  if (push.unpack_error().empty()) {
    Status st = push.apply(accepted);
    if (!st.ok())
      for (auto& r : results)
        if (r.ok()) r.error = st.code() == Code::kConflict ? "stale info" : st.message();
  }
  if (report) {
    std::string rep = report_status(push.unpack_error(), results, false);
    w.data(rep);
  }
  w.finish();
  return results;
}

}  // namespace guts::git
