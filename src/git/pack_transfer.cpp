// Pack transfer between nodes (docs/git.md "Replication").
#include "git/pack_transfer.h"

#include <algorithm>
#include <sstream>

#include "core/fs.h"
#include "core/status.h"
#include "git/receive.h"
#include "git/refs.h"

namespace guts::git {

namespace fs = std::filesystem;

namespace {

std::string one_line(std::string_view s) {
  auto pos = s.find("fatal: ");
  if (pos != std::string_view::npos) s = s.substr(pos + 7);
  std::string out(s.substr(0, s.find('\n')));
  if (out.size() > 300) out.resize(300);
  return out.empty() ? std::string("failed") : out;
}

void check_oids(const std::vector<std::string>& oids, const char* what) {
  for (const auto& o : oids)
    if (!is_valid_oid(o)) throw Error(Code::kInvalidArgument, std::string("bad ") + what + " oid");
}

std::string lines(const std::vector<std::string>& oids, std::string_view prefix = {}) {
  std::string s;
  s.reserve(oids.size() * (41 + prefix.size()));
  for (const auto& o : oids) {
    s += prefix;
    s += o;
    s += '\n';
  }
  return s;
}

}  // namespace

std::string quarantine_alternates(const fs::path& repo_dir) {
  std::string alt;
  for (const auto& q : Quarantine::list(repo_dir)) {
    if (!alt.empty()) alt += ':';
    alt += q.string();
  }
  return alt;
}

std::vector<std::pair<std::string, std::string>> objects_env(const fs::path& repo_dir,
                                                             bool include_pending) {
  return {{"GIT_DIR", repo_dir.string()},
          {"GIT_OBJECT_DIRECTORY", (repo_dir / "objects").string()},
          {"GIT_ALTERNATE_OBJECT_DIRECTORIES",
           include_pending ? quarantine_alternates(repo_dir) : std::string()}};
}

std::set<std::string> missing_objects(const fs::path& repo_dir,
                                      const std::vector<std::string>& oids, bool include_pending) {
  if (oids.empty()) return {};
  check_oids(oids, "object");
  GitOptions o;
  o.cwd = repo_dir;
  o.env = objects_env(repo_dir, include_pending);
  auto r = run_git({"cat-file", "--batch-check"}, o, lines(oids));
  if (!r.ok()) throw Error(Code::kInternal, "git cat-file: " + one_line(r.err));
  std::set<std::string> missing;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp != std::string::npos && line.compare(sp + 1, std::string::npos, "missing") == 0)
      missing.insert(line.substr(0, sp));
  }
  return missing;
}

bool has_closure(const fs::path& repo_dir, const std::vector<std::string>& tips,
                 bool include_pending) {
  if (tips.empty()) return true;
  check_oids(tips, "tip");
  GitOptions o;
  o.cwd = repo_dir;
  o.env = objects_env(repo_dir, include_pending);
  // The refs are trusted to be complete (the projection only sets refs whose objects are
  // present), so only objects not reachable from them are walked.
  auto r =
      run_git({"rev-list", "--objects", "--stdin", "--not", "--all", "--quiet"}, o, lines(tips));
  return r.ok();
}

void write_pack(const fs::path& repo_dir, const PackRequest& req, const ChunkSink& sink) {
  if (req.wants.empty()) throw Error(Code::kInvalidArgument, "nothing wanted");
  if (req.chunk_size == 0) throw Error(Code::kInvalidArgument, "chunk size 0");
  check_oids(req.wants, "want");
  check_oids(req.haves, "have");
  if (!fs::is_directory(repo_dir / "objects")) throw Error(Code::kNotFound, "repository not found");
  auto env = objects_env(repo_dir, true);
  // One snapshot of the quarantine list for both steps: a quarantine that appears later holds
  // nothing this request was checked against.
  GitOptions o;
  o.cwd = repo_dir;
  o.env = env;
  {
    auto r = run_git({"cat-file", "--batch-check"}, o, lines(req.wants) + lines(req.haves));
    if (!r.ok()) throw Error(Code::kInternal, "git cat-file: " + one_line(r.err));
    std::set<std::string> missing;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      auto sp = line.find(' ');
      if (sp != std::string::npos && line.compare(sp + 1, std::string::npos, "missing") == 0)
        missing.insert(line.substr(0, sp));
    }
    for (const auto& w : req.wants)
      if (missing.count(w)) throw Error(Code::kNotFound, "object " + w + " not found");
    std::vector<std::string> haves;
    for (const auto& h : req.haves)
      if (!missing.count(h)) haves.push_back(h);
    // rev-list input: wanted tips, then ^haves (objects the receiver has are left out; a full
    // pack, so nothing in it refers to a base outside it).
    auto input = lines(req.wants) + lines(haves, "^");
    auto po =
        git_process_options({"pack-objects", "--stdout", "--revs", "--delta-base-offset", "-q"},
                            repo_dir, env, req.timeout);
    Process p = Process::spawn(po);
    Bytes buf;
    buf.reserve(std::min<size_t>(req.chunk_size, 1 << 20));
    uint64_t total = 0;
    std::string err;
    auto st = p.pump(
        source_from(as_bytes(input)),
        [&](ByteView c) {
          total += c.size();
          if (total > req.max_bytes)
            throw Error(Code::kTooLarge,
                        "pack exceeds " + std::to_string(req.max_bytes) + " bytes");
          while (!c.empty()) {
            if (buf.size() == req.chunk_size) {
              sink(buf, false);
              buf.clear();
            }
            size_t n = std::min(c.size(), req.chunk_size - buf.size());
            buf.insert(buf.end(), c.begin(), c.begin() + static_cast<ptrdiff_t>(n));
            c = c.subspan(n);
          }
        },
        [&](ByteView c) {
          if (err.size() < 16384) err.append(c.begin(), c.end());
        });
    if (!st.success())
      throw Error(Code::kInternal,
                  "git pack-objects: " + (err.empty() ? st.describe() : one_line(err)));
    sink(buf, true);
  }
}

void ingest_pack(const fs::path& repo_dir, const Source& pack, const std::vector<std::string>& tips,
                 const IngestOptions& options) {
  check_oids(tips, "tip");
  auto q = Quarantine::create(repo_dir);  // deleted on any exception below
  ReceiveOptions ro;
  ro.max_pack_bytes = options.max_pack_bytes;
  ro.timeout = options.timeout;
  // --strict: every object hashes to its id, is well-formed, and every object it links to is in
  // the pack or the repository.
  index_pack(q, pack, ro);
  if (auto err = check_connectivity(q, tips); !err.empty())
    throw Error(Code::kInvalidArgument,
                "pack does not hold every object of the wanted tips: " + err);
  auto keeps = q.migrate();
  // No push waits on these packs; objects unreachable from refs survive repack's prune window.
  for (const auto& k : keeps) {
    std::error_code ec;
    fs::remove(k, ec);
  }
}

size_t link_quarantine_objects(const fs::path& repo_dir, const fs::path& quarantine_dir) {
  fs::path objects = repo_dir / "objects";
  size_t added = 0;
  auto link = [&](const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (fs::exists(to, ec)) return;  // same name, same content
    fs::create_hard_link(from, to, ec);
    if (ec) {
      fs::copy_file(from, to, fs::copy_options::skip_existing, ec);
      if (ec) throw Error(Code::kInternal, "linking " + from.string() + ": " + ec.message());
    }
    ++added;
  };
  std::error_code ec;
  for (fs::directory_iterator it(quarantine_dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() != 2 || !it->is_directory()) continue;
    fs::create_directories(objects / name);
    for (const auto& obj : fs::directory_iterator(it->path()))
      if (obj.is_regular_file()) link(obj.path(), objects / name / obj.path().filename());
    fsync_dir(objects / name);
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(quarantine_dir / "pack", ec), end; !ec && it != end;
       it.increment(ec)) {
    auto ext = it->path().extension().string();
    // .keep belongs to the push; temporary files (tmp_pack_*) are not finished packs.
    if (!it->is_regular_file() || ext == ".keep" ||
        it->path().filename().string().rfind("tmp_", 0) == 0)
      continue;
    files.push_back(it->path());
  }
  // The .idx makes a pack visible: last, and only when its .pack is there.
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    auto rank = [](const fs::path& p) { return p.extension() == ".idx" ? 1 : 0; };
    return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
  });
  fs::create_directories(objects / "pack");
  for (const auto& f : files) {
    if (f.extension() == ".idx" && !fs::exists(fs::path(f).replace_extension(".pack"))) continue;
    link(f, objects / "pack" / f.filename());
  }
  fsync_dir(objects / "pack");
  return added;
}

}  // namespace guts::git
