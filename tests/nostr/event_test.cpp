// NIP-01 events against nostr-tools' golden vectors (testdata/events.json, made by
// testdata/generate.mjs), then every way an event can be forged or malformed.
#include "nostr/event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "core/status.h"
#include "tests/nostr/error_of.h"

using namespace guts;
using namespace guts::nostr;
using guts::nostr::testing::error_of;
using json = nlohmann::json;
using ::testing::HasSubstr;

namespace {

json load_vectors(const std::string& name) {
  std::ifstream in(std::string(GUTS_NOSTR_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

crypto::SchnorrKey key_of(const std::string& secret_hex) {
  return crypto::SchnorrKey::from_secret(*hex_decode_fixed<32>(secret_hex));
}

Event sample_event() {
  Event e;
  e.created_at = 1700000000;
  e.kind = 1;
  e.tags = {{"t", "guts"}, {"e", std::string(64, 'a'), "", "root"}};
  e.content = "hello \"world\"\n";
  return sign_event(e, key_of(std::string(63, '0') + "3"));
}

json sample_json() {
  return to_json(sample_event());
}

std::pair<Code, std::string> parse_error(const json& j) {
  return error_of([&] { event_from_json(j); });
}

}  // namespace

TEST(NostrEvent, SerializationAndIdMatchNostrTools) {
  json vectors = load_vectors("events.json");
  ASSERT_GE(vectors.size(), 4u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Event e = event_from_json(v["event"]);
    EXPECT_EQ(serialize_for_id(e), v["serialized"].get<std::string>());
    EXPECT_EQ(compute_id(e), v["id"].get<std::string>());
    EXPECT_EQ(e.id, v["id"].get<std::string>());
  }
}

TEST(NostrEvent, NostrToolsSignaturesVerify) {
  for (const auto& v : load_vectors("events.json")) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Event e = parse_event_text(v["event"].dump());
    EXPECT_EQ(verify_event(e), std::nullopt);
  }
}

TEST(NostrEvent, SignedHereEqualsNostrToolsButForTheSignature) {
  for (const auto& v : load_vectors("events.json")) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Event theirs = event_from_json(v["event"]);
    Event tmpl = theirs;
    tmpl.id.clear();
    tmpl.pubkey.clear();
    tmpl.sig.clear();
    Event ours = sign_event(tmpl, key_of(v["secret_key"].get<std::string>()));
    EXPECT_EQ(ours.pubkey, theirs.pubkey);
    EXPECT_EQ(ours.id, theirs.id);
    EXPECT_NE(ours.sig, theirs.sig);  // BIP-340 with fresh auxiliary randomness
    EXPECT_EQ(verify_event(ours), std::nullopt);
  }
}

TEST(NostrEvent, SerializationEscapesLikeJsonStringify) {
  Event e;
  e.pubkey = std::string(64, 'b');
  e.created_at = 5;
  e.kind = 7;
  e.content = std::string("q\" b\\ n\n r\r t\t bs\b ff\f nul") + '\0' + "\x1f del\x7f / é 🚀";
  EXPECT_EQ(serialize_for_id(e), "[0,\"" + std::string(64, 'b') +
                                     "\",5,7,[],\"q\\\" b\\\\ n\\n r\\r t\\t bs\\b ff\\f "
                                     "nul\\u0000\\u001f del\x7f / é 🚀\"]");
}

TEST(NostrEvent, TextRoundTrip) {
  Event e = sample_event();
  std::string text = to_text(e);
  EXPECT_EQ(parse_event_text(text), e);
  json j = json::parse(text);
  for (const char* k : {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j.size(), 7u);
}

TEST(NostrEvent, TamperingIsCaughtWithTheRightReason) {
  const Event good = sample_event();
  ASSERT_EQ(verify_event(good), std::nullopt);

  Event e = good;
  e.id[10] = e.id[10] == '0' ? '1' : '0';
  EXPECT_EQ(verify_event(e), "id does not match the content");

  e = good;
  e.content += "!";
  EXPECT_EQ(verify_event(e), "id does not match the content");

  e = good;
  e.tags.push_back({"p", std::string(64, 'c')});
  EXPECT_EQ(verify_event(e), "id does not match the content");

  e = good;
  e.created_at += 1;
  EXPECT_EQ(verify_event(e), "id does not match the content");

  e = good;
  e.sig[5] = e.sig[5] == '0' ? '1' : '0';
  EXPECT_EQ(verify_event(e), "bad signature");

  // Another (valid) key: the id no longer matches, and once recomputed the signature fails.
  e = good;
  e.pubkey = hex_of(key_of(std::string(63, '0') + "4").public_key());
  EXPECT_EQ(verify_event(e), "id does not match the content");
  e.id = compute_id(e);
  EXPECT_EQ(verify_event(e), "bad signature");

  // A signature of another event.
  e = good;
  Event other = good;
  other.content = "other";
  e.sig = sign_event(other, key_of(std::string(63, '0') + "3")).sig;
  EXPECT_EQ(verify_event(e), "bad signature");
}

TEST(NostrEvent, VerifyNamesBadFields) {
  const Event good = sample_event();
  Event e = good;
  for (auto& c : e.id) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(verify_event(e), "id is not 64 lowercase hex");
  e = good;
  e.id.pop_back();
  EXPECT_EQ(verify_event(e), "id is not 64 lowercase hex");
  e = good;
  e.pubkey = "npub1xyz";
  EXPECT_EQ(verify_event(e), "pubkey is not 64 lowercase hex");
  e = good;
  e.sig += "00";
  EXPECT_EQ(verify_event(e), "sig is not 128 lowercase hex");
  e = good;
  e.pubkey = std::string(63, '0') + "5";  // x = 5 is not on secp256k1
  EXPECT_EQ(verify_event(e), "pubkey is not a secp256k1 x-only key");
  e = good;
  e.content = "bad \xc3\x28 utf-8";
  EXPECT_EQ(verify_event(e), "content or a tag is not valid UTF-8");
  e = good;
  e.tags[0][1] = "\xed\xa0\x80";  // an encoded surrogate
  EXPECT_EQ(verify_event(e), "content or a tag is not valid UTF-8");
}

TEST(NostrEvent, InvalidUtf8HasNoSerialization) {
  Event e = sample_event();
  e.content = "\xff";
  auto [code, message] = error_of([&] { serialize_for_id(e); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("UTF-8"));
  EXPECT_EQ(error_of([&] { to_text(e); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([&] { sign_event(e, key_of(std::string(63, '0') + "3")); }).first,
            Code::kMalformed);
}

TEST(NostrEvent, ParseRefusesMissingAndMistypedFields) {
  for (const char* field : {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}) {
    json j = sample_json();
    j.erase(field);
    auto [code, message] = parse_error(j);
    EXPECT_EQ(code, Code::kMalformed) << field;
    EXPECT_THAT(message, HasSubstr(field));
  }
  struct Case {
    const char* field;
    json value;
    const char* says;
  };
  const Case cases[] = {
      {"id", 5, "id is not 64 lowercase hex"},
      {"id", std::string(64, 'A'), "id is not 64 lowercase hex"},
      {"id", std::string(62, 'a'), "id is not 64 lowercase hex"},
      {"pubkey", std::string(64, 'g'), "pubkey is not 64 lowercase hex"},
      {"sig", std::string(64, 'a'), "sig is not 128 lowercase hex"},
      {"created_at", "1700000000", "created_at is not an integer"},
      {"created_at", 1700000000.5, "created_at is not an integer"},
      {"created_at", -1, "created_at is out of range"},
      {"created_at", kMaxCreatedAt + 1, "created_at is out of range"},
      {"created_at", UINT64_MAX, "created_at is out of range"},
      {"kind", 65536, "kind is out of range"},
      {"kind", -1, "kind is out of range"},
      {"kind", true, "kind is not an integer"},
      {"tags", json::object(), "tags is not an array"},
      {"tags", json::array({"t"}), "tag is not an array"},
      {"tags", json::array({json::array({"t", 1})}), "tag value is not a string"},
      {"tags", json::array({json::array({"t", nullptr})}), "tag value is not a string"},
      {"content", 1, "content is not a string"},
      {"content", nullptr, "content is not a string"},
  };
  for (const auto& c : cases) {
    json j = sample_json();
    j[c.field] = c.value;
    auto [code, message] = parse_error(j);
    EXPECT_EQ(code, Code::kMalformed) << c.field << " = " << c.value.dump();
    EXPECT_THAT(message, HasSubstr(c.says)) << c.field << " = " << c.value.dump();
  }
  EXPECT_EQ(parse_error(json::array()).first, Code::kMalformed);
  EXPECT_EQ(parse_error(json("event")).first, Code::kMalformed);
}

TEST(NostrEvent, ParseAcceptsTheBounds) {
  json j = sample_json();
  j["created_at"] = kMaxCreatedAt;
  j["kind"] = kMaxKind;
  j["tags"] = json::array();
  for (size_t i = 0; i < kMaxTags; ++i) j["tags"].push_back({"t"});
  j["tags"][0] = std::vector<std::string>(kMaxTagValues, "v");
  j["extra"] = "members the id does not cover are ignored";
  Event e = event_from_json(j);
  EXPECT_EQ(e.created_at, kMaxCreatedAt);
  EXPECT_EQ(e.kind, kMaxKind);
  EXPECT_EQ(e.tags.size(), kMaxTags);
  EXPECT_EQ(e.tags[0].size(), kMaxTagValues);
}

TEST(NostrEvent, ParseRefusesWhatIsOverTheBounds) {
  json j = sample_json();
  j["tags"] = json::array();
  for (size_t i = 0; i < kMaxTags + 1; ++i) j["tags"].push_back({"t"});
  auto [code, message] = parse_error(j);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("2001 tags"));

  j = sample_json();
  j["tags"] = json::array({std::vector<std::string>(kMaxTagValues + 1, "v")});
  std::tie(code, message) = parse_error(j);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("33 values"));

  // Strings over the bound, in an event given as a JSON value (no text bound applies).
  j = sample_json();
  j["content"] = std::string(kMaxEventBytes + 1, 'x');
  std::tie(code, message) = parse_error(j);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("exceed"));
  j = sample_json();
  j["content"] = std::string(kMaxEventBytes / 2, 'x');
  j["tags"] = json::array({{"t", std::string(kMaxEventBytes / 2 + 1, 'y')}});
  EXPECT_EQ(parse_error(j).first, Code::kMalformed);

  // A text over kMaxEventBytes is refused before it is parsed.
  std::string text = to_text(sample_event());
  text.insert(text.size() - 1, std::string(kMaxEventBytes, ' '));
  std::tie(code, message) = error_of([&] { parse_event_text(text); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("over the bound"));
}

TEST(NostrEvent, ParseRefusesInvalidUtf8) {
  // In a text: the JSON parser refuses the bytes.
  std::string text = to_text(sample_event());
  size_t at = text.find("hello");
  ASSERT_NE(at, std::string::npos);
  text[at] = '\xff';
  EXPECT_EQ(error_of([&] { parse_event_text(text); }).first, Code::kMalformed);
  text = to_text(sample_event());
  text.replace(text.find("hello"), 5, "\\ud800");  // a lone surrogate escape
  EXPECT_EQ(error_of([&] { parse_event_text(text); }).first, Code::kMalformed);

  // In a JSON value built in memory: the event parser refuses them.
  json j = sample_json();
  j["content"] = "\xc0\xaf";  // overlong '/'
  auto [code, message] = parse_error(j);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("content is not valid UTF-8"));
  j = sample_json();
  j["tags"] = json::array({{"t", "\xf4\x90\x80\x80"}});  // above U+10FFFF
  std::tie(code, message) = parse_error(j);
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("tag value is not valid UTF-8"));
}

TEST(NostrEvent, ParseRefusesBadJsonText) {
  for (std::string_view text :
       {"", "{", "{\"id\":}", "[1,2", "nul", "{\"kind\":1e999}", "{} trailing", "\xef\xbb"}) {
    auto [code, message] = error_of([&] { parse_event_text(text); });
    EXPECT_EQ(code, Code::kMalformed) << text;
    EXPECT_THAT(message, HasSubstr("not valid JSON")) << text;
  }
  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto [code, message] = error_of([&] { parse_event_text(deep); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("nested deeper"));
  // The deepest an event goes (tags inside the object) is within the bound.
  EXPECT_EQ(error_of([&] { parse_event_text(to_text(sample_event())); }).first, Code::kOk);
}

TEST(NostrEvent, TagHelpers) {
  Event e;
  e.tags = {{"t"}, {"t", "first"}, {}, {"p", "pk"}, {"t", "second", "extra"}};
  EXPECT_EQ(tag_value(e, "t"), "first");
  EXPECT_EQ(tag_value(e, "p"), "pk");
  EXPECT_EQ(tag_value(e, "e"), std::nullopt);
  auto ts = tags_named(e, "t");
  ASSERT_EQ(ts.size(), 3u);
  EXPECT_EQ(ts[0], std::vector<std::string>{"t"});
  EXPECT_EQ(ts[2], (std::vector<std::string>{"t", "second", "extra"}));
  EXPECT_TRUE(tags_named(e, "x").empty());
}

TEST(NostrEvent, HexHelpers) {
  EXPECT_TRUE(is_lower_hex("00ff", 4));
  EXPECT_FALSE(is_lower_hex("00FF", 4));
  EXPECT_FALSE(is_lower_hex("00f", 4));
  EXPECT_FALSE(is_lower_hex("00fg", 4));
  auto key = key_of(std::string(63, '0') + "1");
  std::string hex = hex_of(key.public_key());
  EXPECT_EQ(hex, "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(xonly_from_hex(hex), key.public_key());
  EXPECT_EQ(error_of([] { xonly_from_hex(std::string(64, 'A')); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([] { xonly_from_hex("abcd"); }).first, Code::kMalformed);
}
