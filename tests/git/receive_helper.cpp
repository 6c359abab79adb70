// Test harness: speaks receive-pack (protocol v0, bidirectional) on stdin/stdout using receive.h,
// so the stock git client can push to it through the ext:: transport:
//
//   git -c protocol.ext.allow=always push "ext::git_receive_helper %S <repo> [--allow-force]"
//
// This proves that the real client accepts our advertisement, command parsing and
// report-status. Commands are read pkt-line by pkt-line straight from fd 0 (never past the
// flush), so index-pack can then read the pack from the same descriptor.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "git/pktline.h"
#include "git/receive.h"
#include "git/refs.h"

using namespace guts;
using namespace guts::git;

namespace {

bool read_exact(int fd, char* buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t r = ::read(fd, buf + off, n - off);
    if (r <= 0) return false;
    off += static_cast<size_t>(r);
  }
  return true;
}

void write_all(std::string_view s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::write(1, s.data() + off, s.size() - off);
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "git-receive-pack") {
    std::cerr << "usage: git_receive_helper git-receive-pack <repo> [--allow-force]\n";
    return 2;
  }
  std::filesystem::path repo = argv[2];
  PushPolicy policy;
  for (int i = 3; i < argc; ++i)
    if (std::string(argv[i]) == "--allow-force") policy.allow_non_fast_forward = true;

  try {
    write_all(receive_advertisement(list_refs(repo)));

    PushRequestParser parser;
    char hdr[4];
    std::string packet;
    while (!parser.done()) {
      if (!read_exact(0, hdr, 4)) return 0;  // client hung up (nothing to push)
      packet.assign(hdr, 4);
      int len = std::stoi(std::string(hdr, 4), nullptr, 16);
      if (len > 4) {
        packet.resize(static_cast<size_t>(len));
        if (!read_exact(0, packet.data() + 4, static_cast<size_t>(len) - 4)) return 1;
      }
      parser.feed(packet);
    }
    PushRequest req = parser.take_request();
    if (req.commands.empty()) return 0;
    bool sb = req.side_band();
    bool report = req.report_status();
    pkt::SidebandWriter w([](std::string_view s) { write_all(s); }, sb);
    ReceiveOptions opts;
    opts.pack_fd = 0;
    auto push = IncomingPush::receive(repo, std::move(req), Source(), opts);
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
    if (sb && !push.request().quiet()) w.progress("guts: push processed\n");
    if (report) w.data(report_status(push.unpack_error(), results, false));
    w.finish();
  } catch (const std::exception& e) {
    write_all(pkt::encode(std::string("ERR ") + e.what() + "\n"));
    return 1;
  }
  return 0;
}
