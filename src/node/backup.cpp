#include "node/backup.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "git/repo_store.h"
#include "state/chain.h"
#include "storage/db.h"

namespace guts::node {

namespace fs = std::filesystem;

namespace {

constexpr const char* kAdminTokenFile = "admin.token";

std::string errno_text(int e) {
  return std::strerror(e);
}

struct Hashed {
  uint64_t size = 0;
  std::string sha256;
};

// Size and SHA-256 of `path`, fsynced (the backup is durable once its manifest is). With `to`,
// the bytes are also written to a new file `to` (mode `mode`, fsynced). Error(kNotFound) when
// `path` does not exist; messages name the file.
Hashed hash_file(const fs::path& path, const fs::path* to = nullptr, unsigned mode = 0644) {
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) {
    int e = errno;
    throw Error(e == ENOENT ? Code::kNotFound : Code::kInternal,
                path.string() + ": " + (e == ENOENT ? "missing" : errno_text(e)));
  }
  int out = -1;
  auto close_all = [&] {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    in = out = -1;
  };
  if (to) {
    out = ::open(to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
      int e = errno;
      close_all();
      throw Error(Code::kInternal, to->string() + ": " + errno_text(e));
    }
  }
  crypto::Sha256 h;
  Hashed r;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close_all();
      throw Error(Code::kInternal, path.string() + ": " + errno_text(e));
    }
    if (n == 0) break;
    h.update(ByteView(buf.data(), static_cast<size_t>(n)));
    r.size += static_cast<uint64_t>(n);
    for (ssize_t done = 0; out >= 0 && done < n;) {
      ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int e = errno;
        close_all();
        throw Error(Code::kInternal, to->string() + ": " + errno_text(e));
      }
      done += w;
    }
  }
  if (::fsync(out >= 0 ? out : in) != 0 && out >= 0) {
    int e = errno;
    close_all();
    throw Error(Code::kInternal, to->string() + ": fsync: " + errno_text(e));
  }
  close_all();
  r.sha256 = hex_encode(h.finish());
  return r;
}

// Calls fn(path relative to `root`, is_directory) for every directory and regular file below
// `root`, depth first; fn returns false to skip a directory. Entries that vanish while walking
// (a live repository) are skipped.
void walk(const fs::path& root, const fs::path& rel,
          const std::function<bool(const fs::path&, bool)>& fn) {
  std::error_code ec;
  fs::directory_iterator it(root / rel, ec), end;
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return;
    throw Error(Code::kInternal, (root / rel).string() + ": " + ec.message());
  }
  std::vector<std::pair<fs::path, bool>> entries;
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    auto st = it->symlink_status(ec);
    if (ec) continue;  // vanished
    if (fs::is_directory(st))
      entries.emplace_back(rel / it->path().filename(), true);
    else if (fs::is_regular_file(st))
      entries.emplace_back(rel / it->path().filename(), false);
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error(Code::kInternal, (root / rel).string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& [p, dir] : entries)
    if (fn(p, dir) && dir) walk(root, p, fn);
}

// Temporary and lock files of git (tmp_pack_*, tmp_obj_*, *.lock): never part of a backup.
bool transient_name(const std::string& name) {
  return name.rfind("tmp_", 0) == 0 ||
         (name.size() > 5 && name.compare(name.size() - 5, 5, ".lock") == 0);
}

// Hard link (immutable files, same file system) or copy; false when `from` vanished.
bool link_or_copy(const fs::path& from, const fs::path& to, bool immutable, bool& can_link) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) throw Error(Code::kInternal, to.parent_path().string() + ": " + ec.message());
  if (immutable && can_link) {
    fs::create_hard_link(from, to, ec);
    if (!ec) return true;
    if (ec == std::errc::no_such_file_or_directory) return false;
    can_link = false;  // another file system (EXDEV), or links refused: copy from now on
  }
  fs::copy_file(from, to, fs::copy_options::none, ec);
  if (!ec) return true;
  if (ec == std::errc::no_such_file_or_directory && !fs::exists(from)) return false;
  throw Error(Code::kInternal,
              "copying " + from.string() + " to " + to.string() + ": " + ec.message());
}

// One bare repository, while its maintenance is held (nothing deletes objects meanwhile):
// first everything but objects/ (refs, HEAD, config), then the push quarantines
// (objects/incoming-*), then the object store. An object a copied ref names is in the store
// or a quarantine before the ref moves, and a quarantine's objects move into the store (rename)
// before the quarantine goes: copying quarantines before the store never misses one.
void copy_repository(const fs::path& src, const fs::path& dst, bool& can_link) {
  auto copy = [&](const fs::path& rel, bool immutable) {
    if (transient_name(rel.filename().string())) return;
    link_or_copy(src / rel, dst / rel, immutable, can_link);
  };
  walk(src, {}, [&](const fs::path& rel, bool dir) {
    if (dir) return rel != "objects";
    copy(rel, false);
    return false;
  });
  auto is_quarantine = [](const fs::path& rel) {
    return rel.filename().string().rfind("incoming-", 0) == 0;
  };
  walk(src / "objects", {}, [&](const fs::path& rel, bool dir) {
    if (dir) return rel.begin() != rel.end() && is_quarantine(*rel.begin());
    if (is_quarantine(*rel.begin())) copy(fs::path("objects") / rel, true);
    return false;
  });
  walk(src / "objects", {}, [&](const fs::path& rel, bool dir) {
    if (dir) return !is_quarantine(rel);
    copy(fs::path("objects") / rel, true);
    return false;
  });
}

void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load())
    throw Error(Code::kUnavailable, "the backup was cancelled: the node is shutting down");
}

// Every regular file below `dir` (but the manifest), hashed and fsynced; directories fsynced.
std::vector<BackupFile> list_files(const fs::path& dir, uint64_t* bytes,
                                   const std::atomic<bool>* cancel) {
  std::vector<BackupFile> files;
  walk(dir, {}, [&](const fs::path& rel, bool is_dir) {
    check_cancel(cancel);
    if (is_dir) return true;
    auto name = rel.generic_string();
    if (name == kBackupManifestName) return false;
    if (!is_valid_backup_path(name))
      throw Error(Code::kInternal, "cannot back up " + (dir / rel).string() + ": unusual name");
    auto h = hash_file(dir / rel);
    *bytes += h.size;
    files.push_back({name, h.size, h.sha256});
    return false;
  });
  walk(dir, {}, [&](const fs::path& rel, bool is_dir) {
    if (is_dir) fsync_dir(dir / rel);
    return is_dir;
  });
  fsync_dir(dir);
  return files;
}

bool empty_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

state::Head read_head(const fs::path& db_dir, const state::Genesis& genesis) {
  storage::OpenOptions o;
  o.light = true;
  auto db = storage::Db::open(db_dir, state::Schema::families(), o);
  state::Chain chain(*db, genesis);
  return chain.head();
}

BackupManifest read_manifest(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw Error(Code::kNotFound, dir.string() + ": no such backup directory");
  auto path = dir / kBackupManifestName;
  if (!fs::exists(path))
    throw Error(Code::kInvalidArgument,
                path.string() +
                    ": missing (not a backup, or an incomplete one: the manifest is written last)");
  try {
    auto bytes = read_file(path, kBackupManifestMaxBytes);
    return parse_backup_manifest(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const Error& e) {
    throw Error(Code::kInvalidArgument, path.string() + ": " + e.what());
  }
}

void check_file(const fs::path& file, const BackupFile& f, const Hashed& h) {
  if (h.size != f.size)
    throw Error(Code::kInvalidArgument, file.string() + ": " + std::to_string(h.size) +
                                            " bytes, the manifest says " + std::to_string(f.size) +
                                            (h.size < f.size ? " (truncated)" : ""));
  if (h.sha256 != f.sha256)
    throw Error(Code::kInvalidArgument,
                file.string() + ": SHA-256 differs from the manifest's (corrupted)");
}

Hashed hash_listed(const fs::path& from, const BackupFile& f, const fs::path* to, unsigned mode) {
  try {
    return hash_file(from / f.path, to, mode);
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound)
      throw Error(Code::kInvalidArgument,
                  (from / f.path).string() + ": missing (the manifest lists it)");
    throw;
  }
}

fs::path normalized(const fs::path& p) {
  auto a = fs::absolute(p).lexically_normal();
  if (a.filename().empty()) a = a.parent_path();
  return a;
}

}  // namespace

BackupSummary write_backup(const BackupSource& src, const BackupOptions& options) {
  auto out = normalized(options.out);
  bool created = false;
  if (fs::exists(out)) {
    if (!empty_dir(out)) throw Error(Code::kConflict, out.string() + " is not an empty directory");
  } else {
    if (!fs::is_directory(out.parent_path()))
      throw Error(Code::kNotFound, out.parent_path().string() + ": no such directory");
    fs::create_directory(out);
    created = true;
  }
  ::chmod(out.c_str(), 0700);
  auto cleanup = [&] {
    std::error_code ec;
    if (created) {
      fs::remove_all(out, ec);
    } else {
      for (const auto& e : fs::directory_iterator(out, ec)) fs::remove_all(e.path(), ec);
    }
  };
  try {
    BackupSummary s;
    s.dir = out;
    auto& m = s.manifest;
    // 1. The database at one height H (every commit is one atomic batch).
    src.db.checkpoint(out / "db");
    auto head = read_head(out / "db", src.genesis);
    m.chain_id = src.genesis.chain_id;
    m.genesis_id = hex_encode(src.genesis.id());
    m.height = head.height;
    m.head_id = hex_encode(head.id);
    m.state_root = hex_encode(head.state_root);
    m.node = src.node_did.empty() ? "unknown" : src.node_did;
    // 2. Genesis and (on request) the key.
    auto genesis_copy = out / "genesis.json";
    hash_file(src.genesis_file, &genesis_copy);
    if (options.include_keys) {
      auto dst = out / "node.key";
      hash_file(src.data_dir / "node.key", &dst, 0600);
      m.includes_keys = true;
    }
    // 3. The repositories, after the checkpoint: each holds at least what the refs at H need.
    bool can_link = true;
    for (const auto& key : src.repos.list()) {
      check_cancel(options.cancel);
      auto dir = src.repos.path_for(key);
      auto deadline = std::chrono::steady_clock::now() + options.maintenance_wait;
      for (;;) {
        auto lock = src.repos.try_lock_maintenance(key);
        if (lock) {
          copy_repository(dir, out / "repos" / dir.filename(), can_link);
          break;
        }
        check_cancel(options.cancel);
        if (std::chrono::steady_clock::now() > deadline)
          throw Error(Code::kUnavailable,
                      "repository " + key + ": a maintenance task did not finish in time");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a repack ends
      }
      ++s.repositories;
    }
    // 4. The manifest, last and atomically: a backup without it is incomplete.
    m.files = list_files(out, &s.bytes, options.cancel);
    m.created_unix_ms = static_cast<int64_t>(unix_millis());
    atomic_write_file(out / kBackupManifestName, as_bytes(encode_backup_manifest(m)), 0600);
    std::sort(m.files.begin(), m.files.end(),
              [](const BackupFile& a, const BackupFile& b) { return a.path < b.path; });
    spdlog::info(
        "backup written to {}: height {}, state root {}, {} files, {} bytes, {} "
        "repositories{}",
        out.string(), m.height, m.state_root, m.files.size(), s.bytes, s.repositories,
        m.includes_keys ? ", with the node key" : "");
    return s;
  } catch (...) {
    cleanup();
    throw;
  }
}

BackupSummary backup_offline(const fs::path& data_dir, const fs::path& genesis_file,
                             const BackupOptions& options) {
  auto dir = normalized(data_dir);
  if (!fs::exists(dir / "db" / "CURRENT"))
    throw Error(Code::kNotFound, (dir / "db").string() + ": no node database here");
  auto gfile = genesis_file.empty() ? dir / "genesis.json" : genesis_file;
  auto genesis = state::Genesis::load(gfile);
  std::string did;
  if (fs::exists(dir / "node.key"))
    did = crypto::did_from_key(crypto::load_key_file(dir / "node.key").public_key());
  std::unique_ptr<storage::Db> db;
  try {
    db = storage::Db::open(dir / "db", state::Schema::families());
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) +
                              " (is the node running? Then run `guts-node backup` without "
                              "--offline: the node takes the snapshot itself)");
  }
  git::RepoStore repos(dir);
  BackupSource src{*db, repos, dir, gfile, genesis, did};
  return write_backup(src, options);
}

BackupManifest verify_backup(const fs::path& dir) {
  auto m = read_manifest(dir);
  for (const auto& f : m.files) check_file(dir / f.path, f, hash_listed(dir, f, nullptr, 0));
  return m;
}

BackupManifest restore_backup(const RestoreOptions& o) {
  auto target = normalized(o.data_dir);
  auto from = normalized(o.from);
  if (fs::exists(target) && !empty_dir(target))
    throw Error(Code::kConflict, target.string() +
                                     " is not an empty directory: restore only into an empty "
                                     "or absent one");
  auto parent = target.parent_path();
  if (!fs::is_directory(parent))
    throw Error(Code::kNotFound, parent.string() + ": no such directory");
  auto m = read_manifest(from);
  if (!o.key_file.empty()) {
    if (m.includes_keys)
      throw Error(Code::kInvalidArgument,
                  "--key " + o.key_file.string() + ": the backup already holds node.key");
    crypto::load_key_file(o.key_file);  // a malformed key fails here, naming the file
  }
  auto tmp = parent / ("." + target.filename().string() + ".restoring");
  if (fs::exists(tmp))
    throw Error(Code::kConflict, tmp.string() +
                                     " exists: another restore is running, or one was "
                                     "interrupted (remove it)");
  fs::create_directory(tmp);
  try {
    ::chmod(tmp.c_str(), 0700);
    std::set<fs::path> repos;
    for (const auto& f : m.files) {
      auto dst = tmp / f.path;
      fs::create_directories(dst.parent_path());
      check_file(from / f.path, f, hash_listed(from, f, &dst, f.path == "node.key" ? 0600 : 0644));
      fs::path rel(f.path);
      auto it = rel.begin();
      if (*it == "repos" && ++it != rel.end()) repos.insert(tmp / "repos" / *it);
    }
    if (!o.key_file.empty()) {
      auto dst = tmp / "node.key";
      hash_file(o.key_file, &dst, 0600);
    }
    // What git needs of a bare repository but a backup holds no file of.
    fs::create_directories(tmp / "repos");
    for (const auto& r : repos)
      for (const char* d : {"refs/heads", "refs/tags", "objects/pack", "objects/info"})
        fs::create_directories(r / d);
    // The database opens and its head is the manifest's.
    auto genesis = state::Genesis::load(tmp / "genesis.json");
    if (hex_encode(genesis.id()) != m.genesis_id)
      throw Error(Code::kInvalidArgument,
                  (from / "genesis.json").string() + ": not the genesis the manifest names");
    state::Head head;
    try {
      head = read_head(tmp / "db", genesis);
    } catch (const Error& e) {
      throw Error(Code::kInvalidArgument,
                  (from / "db").string() + ": the database does not open: " + e.what());
    }
    if (head.height != m.height || hex_encode(head.state_root) != m.state_root ||
        hex_encode(head.id) != m.head_id)
      throw Error(Code::kInvalidArgument,
                  (from / "db").string() + ": the database is at height " +
                      std::to_string(head.height) + " (state root " + hex_encode(head.state_root) +
                      "), the manifest says height " + std::to_string(m.height) + " (state root " +
                      m.state_root + ")");
    walk(tmp, {}, [&](const fs::path& rel, bool is_dir) {
      if (is_dir) fsync_dir(tmp / rel);
      return is_dir;
    });
    fsync_dir(tmp);
    // rename(2) replaces an empty directory.
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      throw Error(Code::kInternal,
                  "renaming " + tmp.string() + " to " + target.string() + ": " + errno_text(errno));
    fsync_dir(parent);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  spdlog::info("restored {} (height {}, state root {}) into {}", from.string(), m.height,
               m.state_root, target.string());
  return m;
}

fs::path admin_token_path(const fs::path& data_dir) {
  return data_dir / kAdminTokenFile;
}

std::string create_admin_token(const fs::path& data_dir) {
  auto token = hex_encode(crypto::random_array<32>());
  atomic_write_file(admin_token_path(data_dir), as_bytes(token + "\n"), 0600);
  return token;
}

std::string read_admin_token(const fs::path& data_dir) {
  auto path = admin_token_path(data_dir);
  Bytes bytes;
  try {
    bytes = read_file(path, 1024);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what() +
                              " (the node writes it at start: is it running with this data "
                              "directory, and do you run this as the node's user?)");
  }
  std::string token(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.size() != 64) throw Error(Code::kInvalidArgument, path.string() + ": malformed");
  return token;
}

std::string backup_summary_json(const BackupSummary& s) {
  const auto& m = s.manifest;
  return nlohmann::json{{"dir", s.dir.string()},
                        {"chain_id", m.chain_id},
                        {"height", m.height},
                        {"head_id", m.head_id},
                        {"state_root", m.state_root},
                        {"node", m.node},
                        {"includes_keys", m.includes_keys},
                        {"created_unix_ms", m.created_unix_ms},
                        {"files", m.files.size()},
                        {"bytes", s.bytes},
                        {"repositories", s.repositories}}
      .dump();
}

std::string request_backup(const std::string& api_url, const fs::path& data_dir,
                           const BackupOptions& options) {
  auto token = read_admin_token(data_dir);
  cli::HttpClient http(api_url);
  http.set_timeout(std::chrono::milliseconds(0));  // a large backup takes its time
  http.set_header("X-Guts-Admin-Token", token);
  nlohmann::json body{{"out", normalized(options.out).string()},
                      {"include_keys", options.include_keys}};
  cli::HttpResult r;
  try {
    r = http.post("/api/guts/admin/backup", body.dump());
  } catch (const Error& e) {
    throw Error(e.code(),
                std::string(e.what()) + " (is the node running? For a stopped node use --offline)");
  }
  if (r.status == 200) return r.body;
  std::string message = r.body;
  try {
    auto j = nlohmann::json::parse(r.body);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      message = j["message"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  throw Error(r.status == 409 ? Code::kConflict : Code::kUnavailable,
              "the node at " + api_url + " answered " + std::to_string(r.status) + ": " + message);
}

}  // namespace guts::node
