#include "ci/zip.h"

#include <zlib.h>

#include <algorithm>

namespace guts::ci {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint16_t kUtf8Flag = 0x0800;

void put16(std::string& o, uint32_t v) {
  o.push_back(static_cast<char>(v & 0xff));
  o.push_back(static_cast<char>((v >> 8) & 0xff));
}
void put32(std::string& o, uint32_t v) {
  put16(o, v & 0xffff);
  put16(o, v >> 16);
}
uint32_t crc_of(std::string_view d) {
  uLong c = crc32(0L, Z_NULL, 0);
  size_t off = 0;
  while (off < d.size()) {
    auto n = static_cast<uInt>(std::min<size_t>(d.size() - off, 1u << 30));
    c = crc32(c, reinterpret_cast<const Bytef*>(d.data() + off), n);
    off += n;
  }
  return static_cast<uint32_t>(c);
}

class In {
 public:
  explicit In(std::string_view d) : d_(d) {}
  bool has(size_t at, size_t n) const { return at <= d_.size() && n <= d_.size() - at; }
  uint32_t u16(size_t at) const {
    return static_cast<uint8_t>(d_[at]) |
           (static_cast<uint32_t>(static_cast<uint8_t>(d_[at + 1])) << 8);
  }
  uint32_t u32(size_t at) const { return u16(at) | (u16(at + 2) << 16); }
  std::string_view sub(size_t at, size_t n) const { return d_.substr(at, n); }
  size_t size() const { return d_.size(); }

 private:
  std::string_view d_;
};

Status bad(const std::string& why) {
  return Status(Code::kInvalidArgument, "zip: " + why);
}

}  // namespace

bool safe_zip_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxZipName || name.front() == '/') return false;
  if (name.find('\0') != std::string_view::npos || name.find('\\') != std::string_view::npos)
    return false;
  size_t start = 0;
  while (start <= name.size()) {
    auto slash = name.find('/', start);
    auto part = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

std::string write_zip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    const auto offset = static_cast<uint32_t>(out.size());
    const uint32_t crc = crc_of(e.data);
    const auto size = static_cast<uint32_t>(e.data.size());
    put32(out, kLocalSig);
    put16(out, 20);  // version needed
    put16(out, kUtf8Flag);
    put16(out, 0);  // stored
    put16(out, 0);  // time
    put16(out, kDosDate);
    put32(out, crc);
    put32(out, size);
    put32(out, size);
    put16(out, static_cast<uint32_t>(e.name.size()));
    put16(out, 0);  // extra
    out += e.name;
    out += e.data;

    put32(central, kCentralSig);
    put16(central, (3 << 8) | 20);  // made by: unix, 2.0
    put16(central, 20);
    put16(central, kUtf8Flag);
    put16(central, 0);
    put16(central, 0);
    put16(central, kDosDate);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, static_cast<uint32_t>(e.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, (0100000u | (e.mode & 0777)) << 16);
    put32(central, offset);
    central += e.name;
  }
  const auto cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, kEndSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);  // comment
  return out;
}

Result<std::vector<ZipEntry>> read_zip(std::string_view data) {
  In in(data);
  if (data.size() < 22) return bad("too short for an archive");
  // The end record: the last signature within the final 22 + 65535 bytes.
  size_t end = std::string_view::npos;
  const size_t lowest = data.size() > 22 + 65535 ? data.size() - 22 - 65535 : 0;
  for (size_t at = data.size() - 22 + 1; at-- > lowest;) {
    if (in.u32(at) == kEndSig && at + 22 + in.u16(at + 20) == data.size()) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) return bad("no end of central directory record");
  const uint32_t count = in.u16(end + 10);
  const size_t cd_size = in.u32(end + 12), cd_offset = in.u32(end + 16);
  if (in.u16(end + 4) != 0 || in.u16(end + 6) != 0 || in.u16(end + 8) != count)
    return bad("multi-disk archives are not supported");
  if (count > kMaxZipEntries) return bad("too many entries");
  if (!in.has(cd_offset, cd_size) || cd_offset + cd_size > end)
    return bad("the central directory is outside the archive");
  std::vector<ZipEntry> out;
  size_t at = cd_offset;
  for (uint32_t i = 0; i < count; ++i) {
    if (!in.has(at, 46) || at + 46 > cd_offset + cd_size || in.u32(at) != kCentralSig)
      return bad("a central directory entry is malformed");
    const uint32_t flags = in.u16(at + 8), method = in.u16(at + 10), crc = in.u32(at + 16);
    const uint32_t csize = in.u32(at + 20), usize = in.u32(at + 24);
    const uint32_t name_len = in.u16(at + 28), extra_len = in.u16(at + 30),
                   comment_len = in.u16(at + 32);
    const uint32_t attrs = in.u32(at + 38);
    const size_t local = in.u32(at + 42);
    if (!in.has(at + 46, size_t{name_len} + extra_len + comment_len))
      return bad("a central directory entry is truncated");
    ZipEntry e;
    e.name = std::string(in.sub(at + 46, name_len));
    at += 46 + size_t{name_len} + extra_len + comment_len;
    if (flags & 1) return bad(e.name + ": encrypted entries are not supported");
    if (method != 0) return bad(e.name + ": only the stored method is supported");
    if (csize != usize) return bad(e.name + ": sizes differ");
    const bool dir = !e.name.empty() && e.name.back() == '/';
    if (dir) e.name.pop_back();
    if (!safe_zip_name(e.name)) return bad("unsafe entry name '" + e.name + "'");
    if (!in.has(local, 30) || in.u32(local) != kLocalSig) return bad(e.name + ": no local header");
    const size_t start = local + 30 + size_t{in.u16(local + 26)} + in.u16(local + 28);
    if (!in.has(start, csize) || start + csize > cd_offset)
      return bad(e.name + ": data outside the archive");
    if (dir) continue;  // directories are implied by the files' paths
    e.data = std::string(in.sub(start, csize));
    if (crc_of(e.data) != crc) return bad(e.name + ": CRC-32 mismatch");
    e.mode = (attrs >> 16) & 0777;
    if (e.mode == 0) e.mode = 0644;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace guts::ci
