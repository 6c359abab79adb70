// The JSON log format (core/log.h): every line one JSON object whose msg round-trips the
// message, whatever bytes it holds.
#include "core/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/status.h"

using namespace guts;

namespace {

struct Captured {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger;
  Captured() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    logger = std::make_shared<spdlog::logger>("guts", sink);
    logger->set_formatter(make_json_formatter());
    logger->set_level(spdlog::level::trace);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
};

}  // namespace

TEST(JsonLog, AwkwardMessagesAreOneParsableLineEach) {
  Captured c;
  const std::string awkward = "say \"hi\"\\ \n second line\r\t\x01\x1f\x7f end";
  c.logger->info("push from {}: {}", "alice", awkward);
  c.logger->warn("{}", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  // valid UTF-8 stays
  static constexpr char kBad[] = "bad \xff\xc3 utf8 \xed\xa0\x80 nul\0 x";
  c.logger->error("{}", std::string(kBad, sizeof kBad - 1));
  c.logger->debug("");
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 4u) << c.out.str();
  std::vector<nlohmann::json> parsed;
  for (const auto& l : lines) {
    ASSERT_NO_THROW(parsed.push_back(nlohmann::json::parse(l))) << l;
    EXPECT_TRUE(parsed.back().is_object());
  }
  EXPECT_EQ(parsed[0]["msg"], "push from alice: " + awkward);
  EXPECT_EQ(parsed[0]["level"], "info");
  EXPECT_EQ(parsed[0]["logger"], "guts");
  EXPECT_TRUE(parsed[0]["thread"].is_number_unsigned());
  EXPECT_TRUE(std::regex_match(parsed[0]["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << parsed[0]["ts"];
  EXPECT_EQ(parsed[1]["msg"], "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(parsed[1]["level"], "warning");
  // Invalid bytes become U+FFFD, one each; the NUL is escaped, not a terminator.
  EXPECT_EQ(parsed[2]["msg"],
            "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd nul" +
                std::string(1, '\0') + " x");
  EXPECT_EQ(parsed[3]["msg"], "");
  EXPECT_EQ(parsed[3]["level"], "debug");
}

TEST(JsonLog, EscapingHelper) {
  std::string out;
  append_json_escaped(out, "a\"b\\c\nd\x02");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0002");
}

TEST(JsonLog, InitLoggingChecksTheFormat) {
  EXPECT_THROW(init_logging("info", "xml"), Error);
  EXPECT_NO_THROW(init_logging("info", "json"));
  EXPECT_NO_THROW(init_logging("info", "text"));
}
