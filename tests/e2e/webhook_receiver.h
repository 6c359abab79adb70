// A real webhook receiver for end-to-end tests: tests/e2e/webhook_receiver.py as a child
// process, which verifies X-Hub-Signature-256 with the given secret and records every delivery
// (event, status answered, signature_ok, payload) as a line of JSON. SIGTERM and reaped by the
// destructor.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/e2e/e2e_fixture.h"

extern char** environ;

namespace guts::e2e {

class WebhookReceiver {
 public:
  using json = nlohmann::ordered_json;

  WebhookReceiver(const fs::path& dir, const std::string& secret) : dir_(dir) {
    using namespace std::chrono_literals;
    fs::create_directories(dir_);
    std::vector<std::string> argv{
        "python3",     GUTS_WEBHOOK_RECEIVER,    "--secret", secret,
        "--port-file", (dir_ / "port").string(), "--log",    (dir_ / "log.jsonl").string()};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, "python3", nullptr, nullptr, args.data(), environ) != 0)
      throw std::runtime_error("cannot start python3");
    if (!wait_until([&] { return !read_file(dir_ / "port").empty(); }, 20s))
      throw std::runtime_error("the webhook receiver did not start");
    port_ = std::stoi(read_file(dir_ / "port"));
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;
  ~WebhookReceiver() {
    using namespace std::chrono_literals;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      if (!wait_until([&] { return ::waitpid(pid_, &st, WNOHANG) == pid_; }, 10s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
      }
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  // The next `n` deliveries are answered 500.
  void fail_next(int n) { std::ofstream(dir_ / "fail_next") << n; }
  std::vector<json> records() const {
    std::vector<json> out;
    std::ifstream in(dir_ / "log.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(json::parse(line, nullptr, false));
    return out;
  }
  std::vector<json> of(const std::string& event) const {
    std::vector<json> out;
    for (auto& r : records())
      if (r["event"] == event) out.push_back(r);
    return out;
  }
  // Waits until `n` requests of `event` were answered 200.
  bool wait_ok(const std::string& event, size_t n,
               std::chrono::milliseconds d = std::chrono::seconds(60)) const {
    return wait_until(
        [&] {
          size_t ok = 0;
          for (auto& r : of(event)) ok += r["status"] == 200;
          return ok >= n;
        },
        d, std::chrono::milliseconds(50));
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace guts::e2e
