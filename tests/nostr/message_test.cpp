// The NIP-01 relay protocol: the client's texts byte for byte, the filter matcher, and the
// relay-message parser on every shape a relay could send, good and bad.
#include "nostr/message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/status.h"
#include "tests/nostr/error_of.h"

using namespace guts;
using namespace guts::nostr;
using guts::nostr::testing::error_of;
using json = nlohmann::json;
using ::testing::HasSubstr;

namespace {

std::pair<Code, std::string> relay_error(std::string_view text) {
  return error_of([&] { parse_relay_message(text); });
}

Event signed_event() {
  Event e;
  e.created_at = 1712345678;
  e.kind = 1621;
  e.tags = {{"a", "30617:" + std::string(64, 'a') + ":guts"}, {"t", "bug"}, {"p", "x"}};
  e.content = "it \"breaks\"\n";
  auto key = crypto::SchnorrKey::from_secret(*hex_decode_fixed<32>(std::string(63, '0') + "7"));
  return sign_event(e, key);
}

const std::string kId(64, 'e');

}  // namespace

TEST(NostrMessage, ClientTexts) {
  Filter f;
  f.kinds = {1617, 1621};
  f.tags['a'] = {"30617:" + std::string(64, 'a') + ":guts"};
  f.since = 10;
  EXPECT_EQ(req_message("sub1", {f}), "[\"REQ\",\"sub1\",{\"#a\":[\"30617:" + std::string(64, 'a') +
                                          ":guts\"],\"kinds\":[1617,1621],\"since\":10}]");
  Filter all;
  all.ids = {kId};
  all.authors = {std::string(64, 'b')};
  all.tags['e'] = {kId};
  all.tags['P'] = {"x"};
  all.tags['t'] = {};  // no condition: not written
  all.until = 20;
  all.limit = 5;
  EXPECT_EQ(to_json(all).dump(), "{\"#P\":[\"x\"],\"#e\":[\"" + kId + "\"],\"authors\":[\"" +
                                     std::string(64, 'b') + "\"],\"ids\":[\"" + kId +
                                     "\"],\"limit\":5,\"until\":20}");
  EXPECT_EQ(req_message("s", {Filter{}, f}),
            "[\"REQ\",\"s\",{},{\"#a\":[\"30617:" + std::string(64, 'a') +
                ":guts\"],\"kinds\":[1617,1621],\"since\":10}]");
  EXPECT_EQ(close_message("sub1"), "[\"CLOSE\",\"sub1\"]");

  Event e = signed_event();
  std::string text = event_message(e);
  EXPECT_EQ(text, "[\"EVENT\"," + to_text(e) + "]");
  json j = json::parse(text);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(event_from_json(j[1]), e);
}

TEST(NostrMessage, ClientTextsRefuseBadArguments) {
  EXPECT_EQ(error_of([] { req_message("", {Filter{}}); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { req_message(std::string(65, 's'), {Filter{}}); }).first,
            Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { req_message(std::string(64, 's'), {Filter{}}); }).first, Code::kOk);
  EXPECT_EQ(error_of([] { req_message("s", {}); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { req_message("\xff", {Filter{}}); }).first, Code::kInvalidArgument);
  Filter bad_letter;
  bad_letter.tags['1'] = {"x"};
  EXPECT_EQ(error_of([&] { req_message("s", {bad_letter}); }).first, Code::kInvalidArgument);
  Filter bad_text;
  bad_text.tags['t'] = {"\xc3"};
  EXPECT_EQ(error_of([&] { req_message("s", {bad_text}); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { close_message(""); }).first, Code::kInvalidArgument);
  Event e = signed_event();
  e.content = "\xff";
  EXPECT_EQ(error_of([&] { event_message(e); }).first, Code::kMalformed);
}

TEST(NostrMessage, FilterMatching) {
  const Event e = signed_event();
  EXPECT_TRUE(matches(Filter{}, e));

  Filter f;
  f.ids = {kId, e.id};
  EXPECT_TRUE(matches(f, e));
  f.ids = {kId};
  EXPECT_FALSE(matches(f, e));
  f.ids = {e.id.substr(0, 10)};  // NIP-01: exact ids, no prefixes
  EXPECT_FALSE(matches(f, e));

  f = Filter{};
  f.authors = {e.pubkey};
  EXPECT_TRUE(matches(f, e));
  f.authors = {std::string(64, 'b')};
  EXPECT_FALSE(matches(f, e));

  f = Filter{};
  f.kinds = {1617, 1621};
  EXPECT_TRUE(matches(f, e));
  f.kinds = {1617};
  EXPECT_FALSE(matches(f, e));

  f = Filter{};
  f.since = e.created_at;
  f.until = e.created_at;
  EXPECT_TRUE(matches(f, e));
  f.since = e.created_at + 1;
  EXPECT_FALSE(matches(f, e));
  f.since.reset();
  f.until = e.created_at - 1;
  EXPECT_FALSE(matches(f, e));

  f = Filter{};
  f.tags['t'] = {"feature", "bug"};
  EXPECT_TRUE(matches(f, e));
  f.tags['a'] = {"30617:" + std::string(64, 'a') + ":other"};
  EXPECT_FALSE(matches(f, e));  // every tag condition must hold
  f.tags['a'].push_back(e.tags[0][1]);
  EXPECT_TRUE(matches(f, e));
  f.tags['T'] = {"bug"};  // letters are case-sensitive
  EXPECT_FALSE(matches(f, e));

  f = Filter{};
  f.limit = 0;  // not a condition
  EXPECT_TRUE(matches(f, e));

  Event multi = e;
  multi.tags = {{"t", "x", "bug"}};  // only the first value is indexed
  f = Filter{};
  f.tags['t'] = {"bug"};
  EXPECT_FALSE(matches(f, multi));
}

TEST(NostrMessage, ParsesEveryRelayMessage) {
  Event e = signed_event();
  auto m = parse_relay_message("[\"EVENT\",\"sub1\"," + to_text(e) + "]");
  ASSERT_TRUE(std::holds_alternative<RelayEvent>(m));
  EXPECT_EQ(std::get<RelayEvent>(m).subscription, "sub1");
  EXPECT_EQ(std::get<RelayEvent>(m).event, e);

  m = parse_relay_message("[\"OK\",\"" + kId + "\",true,\"\"]");
  ASSERT_TRUE(std::holds_alternative<RelayOk>(m));
  EXPECT_EQ(std::get<RelayOk>(m).event_id, kId);
  EXPECT_TRUE(std::get<RelayOk>(m).accepted);
  EXPECT_EQ(std::get<RelayOk>(m).message, "");

  m = parse_relay_message("[\"OK\",\"" + kId + "\",false,\"blocked: no\"]");
  ASSERT_TRUE(std::holds_alternative<RelayOk>(m));
  EXPECT_FALSE(std::get<RelayOk>(m).accepted);
  EXPECT_EQ(std::get<RelayOk>(m).message, "blocked: no");

  m = parse_relay_message(" [ \"EOSE\" , \"s\" ] ");
  ASSERT_TRUE(std::holds_alternative<RelayEose>(m));
  EXPECT_EQ(std::get<RelayEose>(m).subscription, "s");

  m = parse_relay_message("[\"CLOSED\",\"s\",\"error: shutting down\"]");
  ASSERT_TRUE(std::holds_alternative<RelayClosed>(m));
  EXPECT_EQ(std::get<RelayClosed>(m).subscription, "s");
  EXPECT_EQ(std::get<RelayClosed>(m).message, "error: shutting down");

  m = parse_relay_message("[\"NOTICE\",\"caf\\u00e9 \xf0\x9f\x9a\x80\"]");
  ASSERT_TRUE(std::holds_alternative<RelayNotice>(m));
  EXPECT_EQ(std::get<RelayNotice>(m).message, "café 🚀");
}

TEST(NostrMessage, RelayEventIsShapeCheckedNotVerified) {
  Event e = signed_event();
  e.content = "tampered";  // the id no longer matches: parsing still succeeds
  auto m = parse_relay_message("[\"EVENT\",\"s\"," + to_text(e) + "]");
  ASSERT_TRUE(std::holds_alternative<RelayEvent>(m));
  EXPECT_EQ(verify_event(std::get<RelayEvent>(m).event), "id does not match the content");

  json bad = to_json(signed_event());
  bad["kind"] = "1";
  auto [code, message] = relay_error("[\"EVENT\",\"s\"," + bad.dump() + "]");
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("EVENT: event kind is not an integer"));
}

TEST(NostrMessage, RefusesMalformedRelayMessages) {
  const std::string ev = to_text(signed_event());
  struct Case {
    std::string text;
    const char* says;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"[\"EOSE\",\"s\"", "not valid JSON"},
      {"[\"EOSE\",\"s\"]]", "not valid JSON"},
      {"[\"NOTICE\",\"\xff\"]", "not valid JSON"},  // invalid UTF-8
      {"[\"NOTICE\",\"\xc0\xaf\"]", "not valid JSON"},
      {"{\"type\":\"EOSE\"}", "not a JSON array"},
      {"\"EOSE\"", "not a JSON array"},
      {"[]", "empty array"},
      {"[1,\"s\"]", "type is not a string"},
      {"[\"AUTH\",\"challenge\"]", "\"AUTH\" is not supported"},
      {"[\"COUNT\",\"s\",{\"count\":1}]", "\"COUNT\" is not supported"},
      {"[\"eose\",\"s\"]", "\"eose\" is not supported"},
      {"[\"\\u0001\\u0002\",\"s\"]", "\"??\" is not supported"},
      {"[\"EVENT\",\"s\"]", "EVENT message has 2 elements, not 3"},
      {"[\"EVENT\",\"s\"," + ev + ",1]", "EVENT message has 4 elements, not 3"},
      {"[\"EVENT\"," + ev + "]", "EVENT message has 2 elements"},  // the client's form
      {"[\"EVENT\",1," + ev + "]", "EVENT subscription id is not a string"},
      {"[\"EVENT\",\"\"," + ev + "]", "EVENT subscription id is empty or longer"},
      {"[\"EVENT\",\"" + std::string(65, 's') + "\"," + ev + "]", "longer than 64"},
      {"[\"EVENT\",\"s\",[]]", "EVENT: an event is not a JSON object"},
      {"[\"OK\",\"" + kId + "\",true]", "OK message has 3 elements, not 4"},
      {"[\"OK\",\"" + kId + "\",\"true\",\"\"]", "OK accepted flag is not a boolean"},
      {"[\"OK\",\"" + kId + "\",1,\"\"]", "OK accepted flag is not a boolean"},
      {"[\"OK\",\"abc\",true,\"\"]", "OK event id is not 64 lowercase hex"},
      {"[\"OK\",\"" + std::string(64, 'E') + "\",true,\"\"]", "OK event id is not 64"},
      {"[\"OK\",\"" + kId + "\",true,null]", "OK message is not a string"},
      {"[\"EOSE\"]", "EOSE message has 1 elements, not 2"},
      {"[\"EOSE\",\"s\",\"t\"]", "EOSE message has 3 elements"},
      {"[\"EOSE\",{}]", "EOSE subscription id is not a string"},
      {"[\"CLOSED\",\"s\"]", "CLOSED message has 2 elements, not 3"},
      {"[\"CLOSED\",\"s\",5]", "CLOSED message is not a string"},
      {"[\"NOTICE\"]", "NOTICE message has 1 elements"},
      {"[\"NOTICE\",[\"x\"]]", "NOTICE message is not a string"},
  };
  for (const auto& c : cases) {
    auto [code, message] = relay_error(c.text);
    EXPECT_EQ(code, Code::kMalformed) << c.text;
    EXPECT_THAT(message, HasSubstr(c.says)) << c.text;
  }
}

TEST(NostrMessage, RelayMessagesAreBounded) {
  std::string notice = "[\"NOTICE\",\"" + std::string(kMaxMessageBytes - 13, 'n') + "\"]";
  ASSERT_EQ(notice.size(), kMaxMessageBytes);
  EXPECT_EQ(relay_error(notice).first, Code::kOk);
  notice.insert(12, "n");
  auto [code, message] = relay_error(notice);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("over the bound of 262144"));

  std::string deep = "[\"NOTICE\"," + std::string(50, '[') + std::string(50, ']') + "]";
  std::tie(code, message) = relay_error(deep);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("nested deeper"));
}
