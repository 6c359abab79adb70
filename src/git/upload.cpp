#include "git/upload.h"

#include <zlib.h>

#include <memory>
#include <vector>

#include "git/pktline.h"
#include "git/receive.h"
#include "git/refs.h"

namespace guts::git {
namespace fs = std::filesystem;

int protocol_version(std::string_view gp) {
  int version = 0;
  size_t pos = 0;
  while (pos <= gp.size()) {
    size_t end = gp.find(':', pos);
    if (end == std::string_view::npos) end = gp.size();
    auto item = gp.substr(pos, end - pos);
    if (item == "version=2") version = std::max(version, 2);
    if (item == "version=1") version = std::max(version, 1);
    pos = end + 1;
  }
  return version;
}

std::string sanitize_git_protocol(std::string_view gp) {
  if (gp.size() > 256) return {};
  std::string out;
  size_t pos = 0;
  while (pos <= gp.size()) {
    size_t end = gp.find(':', pos);
    if (end == std::string_view::npos) end = gp.size();
    auto item = gp.substr(pos, end - pos);
    pos = end + 1;
    bool ok = !item.empty();
    for (char c : item)
      if (c <= 0x20 || c >= 0x7f) ok = false;
    if (!ok) continue;
    if (!out.empty()) out += ':';
    out += item;
  }
  return out;
}

namespace {

bool is_repo(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "objects", ec) && fs::exists(dir / "HEAD", ec);
}

Status run_upload_pack(const fs::path& repo_dir, bool advertise, const Source& in, const Sink& out,
                       const UploadOptions& options) {
  if (!is_repo(repo_dir)) return {Code::kNotFound, "repository not found"};
  std::vector<std::string> args = {"upload-pack", "--stateless-rpc", "--strict"};
  if (advertise) args.push_back("--advertise-refs");
  args.push_back("--timeout=600");
  args.push_back(repo_dir.string());
  auto env = options.env;
  if (auto gp = sanitize_git_protocol(options.git_protocol); !gp.empty())
    env.emplace_back("GIT_PROTOCOL", gp);
  auto po = git_process_options(args, repo_dir, std::move(env), options.timeout);
  Process p = Process::spawn(po);
  std::string err;
  auto st = p.pump(in, out, [&](ByteView c) {
    if (err.size() < 16384) err.append(c.begin(), c.end());
  });
  if (st.timed_out) return {Code::kUnavailable, "upload-pack timed out"};
  if (!st.success())
    return {Code::kInternal, "upload-pack " + st.describe() + (err.empty() ? "" : ": " + err)};
  return Status::Ok();
}

}  // namespace

Status upload_pack_advertise(const fs::path& repo_dir, const Sink& out,
                             const UploadOptions& options) {
  if (!is_repo(repo_dir)) return {Code::kNotFound, "repository not found"};
  if (protocol_version(options.git_protocol) < 2) {
    auto header = service_header("git-upload-pack");
    out(as_bytes(header));
  }
  return run_upload_pack(repo_dir, true, Source(), out, options);
}

Status upload_pack_rpc(const fs::path& repo_dir, const Source& request, const Sink& response,
                       const UploadOptions& options) {
  return run_upload_pack(repo_dir, false, request, response, options);
}

Status receive_pack_advertise(const fs::path& repo_dir, const Sink& out,
                              std::string_view git_protocol) {
  if (!is_repo(repo_dir)) return {Code::kNotFound, "repository not found"};
  try {
    auto refs = list_refs(repo_dir);
    std::string body = service_header("git-receive-pack");
    body += receive_advertisement(refs, protocol_version(git_protocol) == 1);
    out(as_bytes(body));
  } catch (const Error& e) {
    return e.status();
  }
  return Status::Ok();
}

Source gunzip_source(Source compressed, uint64_t max_output) {
  struct State {
    z_stream zs{};
    std::vector<uint8_t> in = std::vector<uint8_t>(64 * 1024);
    bool ended = false;
    bool src_eof = false;
    uint64_t produced = 0;
    ~State() { inflateEnd(&zs); }
  };
  auto st = std::make_shared<State>();
  if (inflateInit2(&st->zs, 15 + 32) != Z_OK)  // 32: auto-detect gzip or zlib header
    throw Error(Code::kInternal, "inflateInit2 failed");
  return [st, compressed = std::move(compressed), max_output](uint8_t* buf, size_t cap) -> size_t {
    if (st->ended || cap == 0) return 0;
    st->zs.next_out = buf;
    st->zs.avail_out = static_cast<uInt>(std::min<size_t>(cap, 1 << 30));
    while (st->zs.avail_out == cap) {
      if (st->zs.avail_in == 0 && !st->src_eof) {
        size_t n = compressed(st->in.data(), st->in.size());
        if (n == 0) st->src_eof = true;
        st->zs.next_in = st->in.data();
        st->zs.avail_in = static_cast<uInt>(n);
      }
      int rc = inflate(&st->zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        st->ended = true;
        break;
      }
      if (rc == Z_BUF_ERROR && st->src_eof)
        throw Error(Code::kInvalidArgument, "truncated gzip request body");
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        throw Error(Code::kInvalidArgument, "corrupt gzip request body");
    }
    size_t n = cap - st->zs.avail_out;
    st->produced += n;
    if (st->produced > max_output)
      throw Error(Code::kTooLarge, "decompressed request body too large");
    return n;
  };
}

}  // namespace guts::git
