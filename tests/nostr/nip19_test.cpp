// NIP-19 names: BIP-173's own bech32 vectors, the NIP-19 spec's npub/nsec vectors and
// nostr-tools' note/naddr vectors (testdata/nip19.json), round trips, and refusals.
#include "nostr/nip19.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/status.h"
#include "nostr/event.h"
#include "tests/nostr/error_of.h"

using namespace guts;
using namespace guts::nostr;
using guts::nostr::testing::error_of;
using json = nlohmann::json;
using ::testing::HasSubstr;

namespace {

json load_vectors() {
  std::ifstream in(std::string(GUTS_NOSTR_TESTDATA) + "/nip19.json");
  EXPECT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// `text` with its last character changed to another of the bech32 alphabet.
std::string typo(std::string text) {
  text.back() = text.back() == 'q' ? 'p' : 'q';
  return text;
}

}  // namespace

TEST(NostrNip19, Bip173ValidVectors) {
  for (const std::string& text : std::vector<std::string>{
           "A12UEL5L", "a12uel5l",
           "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5"
           "tgs",
           "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
           "11" + std::string(82, 'q') + "c8247j",  // 90 characters, BIP-173's longest
           "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", "?1ezyfcl"}) {
    Bech32 b = bech32_decode(text);
    std::string lower = text;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(bech32_encode(b.hrp, b.data), lower) << text;
  }
  EXPECT_EQ(bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw").hrp, "abcdef");
}

TEST(NostrNip19, Bip173InvalidVectors) {
  for (std::string_view text : {
           "\x20"
           "1nwldj5",  // hrp character out of range
           "\x7f"
           "1axkwrx",        // hrp character out of range
           "pzry9x0s0muk",   // no separator
           "1pzry9x0s0muk",  // empty hrp
           "x1b4n0q5v",      // 'b' is not in the alphabet
           "li1dgmt3",       // checksum too short
           "de1lg7wt\xff",   // invalid character
           "A1G7SGD8",       // checksum made with an uppercase hrp
           "10a06t8",        // empty hrp
           "1qzzfhee",       // empty hrp
           "A12uEL5L",       // mixed case
           "a1lqfn3a",       // valid bech32m (BIP-350), not bech32
           "a12uel5m",       // a typo
       }) {
    EXPECT_EQ(error_of([&] { bech32_decode(text); }).first, Code::kMalformed) << text;
  }
  // 31 words: 155 bits, so 3 padding bits that must be zero.
  std::string padded = bech32_encode("x", Bytes(19, 0xff));
  EXPECT_EQ(bech32_decode(padded).data, Bytes(19, 0xff));
  // Limits: BIP-173's 90 characters are lifted to kMaxBech32Length, which holds.
  std::string long_text = bech32_encode("x", Bytes(1000, 7));
  EXPECT_GT(long_text.size(), 90u);
  EXPECT_EQ(bech32_decode(long_text).data, Bytes(1000, 7));
  EXPECT_EQ(error_of([&] { bech32_decode(long_text, 90); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([] { bech32_encode("x", Bytes(4000, 1)); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { bech32_encode("", Bytes(1, 1)); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { bech32_encode("Npub", Bytes(1, 1)); }).first, Code::kInvalidArgument);
}

TEST(NostrNip19, BadPaddingIsRefused) {
  // Valid checksums (made by @scure/base, nostr-tools' bech32) over words no encoder writes:
  // [0, 29] leaves the padding bits 01, [1] leaves a whole 5-bit group over.
  EXPECT_EQ(bech32_decode("x1qulf8k4y").data, Bytes{0x07});  // [0, 28]: padding 00
  for (std::string_view text : {"x1qazlnrgk", "x1pxgy9m8"}) {
    auto [code, message] = error_of([&] { bech32_decode(text); });
    EXPECT_EQ(code, Code::kMalformed) << text;
    EXPECT_THAT(message, HasSubstr("padding")) << text;
  }
}

TEST(NostrNip19, NpubAndNsecVectors) {
  json v = load_vectors();
  for (const auto& n : v["npub"]) {
    auto pk = xonly_from_hex(n["hex"].get<std::string>());
    EXPECT_EQ(npub_encode(pk), n["bech32"].get<std::string>());
    EXPECT_EQ(npub_decode(n["bech32"].get<std::string>()), pk);
    EXPECT_EQ(npub_decode(upper(n["bech32"].get<std::string>())), pk);
  }
  for (const auto& n : v["nsec"]) {
    auto secret = *hex_decode_fixed<32>(n["hex"].get<std::string>());
    EXPECT_EQ(nsec_encode(secret), n["bech32"].get<std::string>());
    EXPECT_EQ(nsec_decode(n["bech32"].get<std::string>()), secret);
  }
  // The NIP-19 spec's vectors, spelled out.
  EXPECT_EQ(hex_of(npub_decode("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg")),
            "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e");
  EXPECT_EQ(
      hex_encode(nsec_decode("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5")),
      "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa");
  // A key made here names itself.
  auto key = crypto::SchnorrKey::generate();
  EXPECT_EQ(npub_decode(npub_encode(key.public_key())), key.public_key());
  EXPECT_EQ(nsec_decode(nsec_encode(key.secret())), key.secret());
}

TEST(NostrNip19, NamesRefuseTheWrongPrefixChecksumAndLength) {
  const std::string npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
  const std::string nsec = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
  auto [code, message] = error_of([&] { npub_decode(nsec); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("expected \"npub1...\", got the prefix \"nsec\""));
  EXPECT_EQ(error_of([&] { nsec_decode(npub); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([&] { note_decode(npub); }).first, Code::kMalformed);
  std::tie(code, message) = error_of([&] { npub_decode(typo(npub)); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("checksum"));
  std::tie(code, message) = error_of([] { npub_decode(bech32_encode("npub", Bytes(31, 1))); });
  EXPECT_EQ(code, Code::kMalformed);
  EXPECT_THAT(message, HasSubstr("31 bytes, not 32"));
  EXPECT_EQ(error_of([] { nsec_decode(bech32_encode("nsec", Bytes(33, 1))); }).first,
            Code::kMalformed);
  EXPECT_EQ(error_of([&] { npub_decode(" " + npub); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([&] { npub_decode("nostr:" + npub); }).first, Code::kMalformed);
  EXPECT_EQ(error_of([] { npub_decode(""); }).first, Code::kMalformed);
}

TEST(NostrNip19, NoteVectors) {
  const json v = load_vectors();
  for (const auto& n : v["note"]) {
    EXPECT_EQ(note_encode(n["hex"].get<std::string>()), n["bech32"].get<std::string>());
    EXPECT_EQ(note_decode(n["bech32"].get<std::string>()), n["hex"].get<std::string>());
  }
  EXPECT_EQ(error_of([] { note_encode(std::string(64, 'A')); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { note_encode("abc"); }).first, Code::kInvalidArgument);
}

TEST(NostrNip19, NaddrVectors) {
  const json v = load_vectors();
  for (const auto& n : v["naddr"]) {
    Naddr want{n["identifier"].get<std::string>(), n["pubkey"].get<std::string>(),
               n["kind"].get<uint32_t>(), n["relays"].get<std::vector<std::string>>()};
    EXPECT_EQ(naddr_encode(want.d, want.pubkey, want.kind, want.relays),
              n["bech32"].get<std::string>());
    EXPECT_EQ(naddr_decode(n["bech32"].get<std::string>()), want);
  }
}

TEST(NostrNip19, NaddrTlvRecords) {
  const std::string pk(64, 'a');
  Bytes author(32, 0xaa);
  auto tlv = [](Bytes& out, uint8_t type, Bytes value) {
    out.push_back(type);
    out.push_back(static_cast<uint8_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
  };
  // Any order, with records of unknown types skipped.
  Bytes data;
  tlv(data, 0, to_bytes("repo"));
  tlv(data, 9, to_bytes("future"));
  tlv(data, 2, author);
  tlv(data, 1, to_bytes("wss://a"));
  tlv(data, 3, Bytes{0, 0, 0x77, 0x99});
  tlv(data, 1, to_bytes("wss://b"));
  Naddr n = naddr_decode(bech32_encode("naddr", data));
  EXPECT_EQ(n, (Naddr{"repo", pk, 30617, {"wss://a", "wss://b"}}));

  struct Case {
    Bytes data;
    const char* says;
  };
  std::vector<Case> cases;
  auto base = [&](bool d, bool a, bool k) {
    Bytes b;
    if (d) tlv(b, 0, to_bytes("repo"));
    if (a) tlv(b, 2, author);
    if (k) tlv(b, 3, Bytes{0, 0, 0x77, 0x99});
    return b;
  };
  cases.push_back({base(false, true, true), "no identifier"});
  cases.push_back({base(true, false, true), "no author"});
  cases.push_back({base(true, true, false), "no kind"});
  Bytes twice = base(true, true, true);
  tlv(twice, 0, to_bytes("again"));
  cases.push_back({twice, "more than one identifier"});
  Bytes short_author = base(true, false, true);
  tlv(short_author, 2, Bytes(31, 1));
  cases.push_back({short_author, "author is not 32 bytes"});
  Bytes long_kind = base(true, true, false);
  tlv(long_kind, 3, Bytes(8, 1));
  cases.push_back({long_kind, "kind is not 4 bytes"});
  Bytes cut = base(true, true, true);
  cut.push_back(1);
  cut.push_back(10);
  cut.push_back('w');
  cases.push_back({cut, "cut short"});
  Bytes lone = base(true, true, true);
  lone.push_back(1);
  cases.push_back({lone, "cut short"});
  Bytes bad_d;
  tlv(bad_d, 0, Bytes{0xff});
  cases.push_back({bad_d, "not valid UTF-8"});
  for (const auto& c : cases) {
    auto [code, message] = error_of([&] { naddr_decode(bech32_encode("naddr", c.data)); });
    EXPECT_EQ(code, Code::kMalformed) << c.says;
    EXPECT_THAT(message, HasSubstr(c.says));
  }
  EXPECT_EQ(error_of([] { naddr_decode(npub_encode(crypto::XOnlyPublicKey{})); }).first,
            Code::kMalformed);

  EXPECT_EQ(error_of([&] { naddr_encode(std::string(256, 'd'), pk, 30617, {}); }).first,
            Code::kInvalidArgument);
  EXPECT_EQ(error_of([&] { naddr_encode(std::string(255, 'd'), pk, 30617, {}); }).first, Code::kOk);
  EXPECT_EQ(error_of([&] { naddr_encode("d", pk, 30617, {std::string(256, 'r')}); }).first,
            Code::kInvalidArgument);
  EXPECT_EQ(error_of([] { naddr_encode("d", "npub", 30617, {}); }).first, Code::kInvalidArgument);
  EXPECT_EQ(error_of([&] { naddr_encode("\xff", pk, 30617, {}); }).first, Code::kInvalidArgument);
}
