// guts tx submit: signed transactions (one hex encoding per line, from a file or stdin) sent to
// the node in batches through POST /api/guts/transactions/batch (docs/api.md "Transactions in
// batches"), for transactions signed elsewhere (an offline key, a bot, a replay). Refusals for
// lack of room are waited out (Retry-After) and the rest sent again from the refused one on.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/status.h"
#include "state/tx_batch.h"

namespace guts::cli {

namespace {

constexpr int kMaxRefusals = 30;  // in a row, with nothing taken in between
constexpr size_t kMaxBatchBytes = 8 << 20;

// The transactions' encodings, in order; a line that is not one stops everything before
// anything is sent.
std::vector<Bytes> read_transactions(std::istream& in, const std::string& name) {
  std::vector<Bytes> out;
  std::string line;
  for (size_t no = 1; std::getline(in, line); ++no) {
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    auto e = line.find_last_not_of(" \t\r");
    auto raw = hex_decode(std::string_view(line).substr(b, e - b + 1));
    if (!raw)
      throw Error(Code::kInvalidArgument, name + ":" + std::to_string(no) + ": not hexadecimal");
    try {
      (void)state::decode_transaction(*raw);
    } catch (const std::exception& ex) {
      throw Error(Code::kInvalidArgument,
                  name + ":" + std::to_string(no) + ": not a transaction: " + ex.what());
    }
    out.push_back(std::move(*raw));
  }
  return out;
}

std::string outcome_line(const json& r) {
  std::string line = r.value("id", std::string()).substr(0, 16) + "  ";
  std::string status = r.value("status", std::string());
  if (status == "applied")
    return line + "applied at " + std::to_string(r["height"].get<uint64_t>());
  if (status == "pending") return line + "pending";
  return line + status + ": " + r.value("message", std::string());
}

}  // namespace

void add_tx_commands(CLI::App& app, ContextFn ctx) {
  auto* tx = app.add_subcommand("tx", "Signed transactions")->require_subcommand(1);
  struct SubmitArgs {
    std::string file = "-";
    bool no_wait = false;
    size_t batch = 1000;
  };
  auto a = std::make_shared<SubmitArgs>();
  auto* submit = tx->add_subcommand(
      "submit",
      "Submit signed transactions, one hex encoding per line (blank lines and # comments "
      "skipped), in batches, in order; prints each one's outcome");
  submit->add_option("file", a->file, "File of transactions ('-': standard input)")
      ->capture_default_str();
  submit->add_flag("--no-wait", a->no_wait,
                   "Return once the node's door took them (pending), not when applied");
  submit->add_option("--batch-size", a->batch, "Transactions per request")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  submit->callback([ctx, a] {
    auto& c = ctx();
    std::vector<Bytes> encs;
    if (a->file == "-") {
      encs = read_transactions(std::cin, "stdin");
    } else {
      std::ifstream in(a->file);
      if (!in) throw Error(Code::kNotFound, "cannot read " + a->file);
      encs = read_transactions(in, a->file);
    }
    if (encs.empty()) throw Error(Code::kInvalidArgument, "no transactions to submit");
    json results = json::array();
    int refusals = 0;
    for (size_t next = 0; next < encs.size();) {
      // At most --batch-size, and at most kMaxBatchBytes (under the node's 10 MiB body limit).
      size_t end = next, bytes = 0;
      while (end < encs.size() && end - next < a->batch &&
             (end == next || bytes + encs[end].size() <= kMaxBatchBytes))
        bytes += encs[end++].size();
      Bytes body =
          state::encode_transactions(std::span<const Bytes>(encs).subspan(next, end - next));
      auto res = c.client().post(
          std::string("/api/guts/transactions/batch") + (a->no_wait ? "?wait=false" : ""),
          to_string(body), "application/octet-stream");
      json answer = c.expect(res, {200, 202, 503, 429});  // a refusal's body has the results
      size_t taken = 0;
      std::string refusal;
      for (const auto& r : answer["results"]) {
        std::string status = r.value("status", std::string());
        if (status == "refused") refusal = r.value("message", std::string());
        if (status == "refused" || status == "skipped") break;
        results.push_back(r);
        ++taken;
      }
      next += taken;
      if (taken > 0) refusals = 0;
      if (next == end) continue;
      if (++refusals > kMaxRefusals)
        throw Error(Code::kUnavailable, "the node keeps refusing (" + refusal + "); " +
                                            std::to_string(next) + " of " +
                                            std::to_string(encs.size()) + " submitted");
      int after = 1;
      try {
        after = std::clamp(std::stoi(res.header("Retry-After")), 1, 60);
      } catch (const std::exception&) {
      }
      std::cerr << "the node is busy (" << refusal << "): " << (encs.size() - next)
                << " transactions again in " << after << " s\n";
      std::this_thread::sleep_for(std::chrono::seconds(after));
    }
    std::string human;
    size_t rejected = 0;
    for (const auto& r : results) {
      human += (human.empty() ? "" : "\n") + outcome_line(r);
      if (r.value("status", std::string()) == "rejected") ++rejected;
    }
    c.print(results, human);
    if (rejected)
      throw Error(Code::kInvalidArgument, std::to_string(rejected) + " of " +
                                              std::to_string(results.size()) +
                                              " transactions were rejected");
  });
}

}  // namespace guts::cli
