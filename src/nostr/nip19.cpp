#include "nostr/nip19.h"

#include <algorithm>

#include "core/status.h"
#include "core/utf8.h"
#include "nostr/event.h"

namespace guts::nostr {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr size_t kChecksumWords = 6;

[[noreturn]] void malformed(const std::string& message) {
  throw Error(Code::kMalformed, message);
}

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Code::kInvalidArgument, message);
}

// BIP-173's checksum: a BCH code over GF(32) of the expanded hrp and the data words.
uint32_t polymod(const std::vector<uint8_t>& words) {
  static constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t w : words) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ w;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

std::vector<uint8_t> hrp_expand(std::string_view hrp) {
  std::vector<uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<uint8_t>(c) & 31);
  return out;
}

std::vector<uint8_t> to_words(ByteView data) {
  std::vector<uint8_t> words;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push_back((acc >> bits) & 31);
    }
  }
  if (bits > 0) words.push_back((acc << (5 - bits)) & 31);
  return words;
}

// The inverse of to_words: fewer than 5 leftover bits, all zero, or the text was not made by an
// encoder (BIP-173 decoders must refuse it).
Bytes from_words(const std::vector<uint8_t>& words) {
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t w : words) {
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 5 || ((acc << (8 - bits)) & 0xff) != 0) malformed("bech32 data has bad padding");
  return out;
}

// The payload of `text`, which must be bech32 with the prefix `hrp`.
Bytes decode_prefixed(std::string_view text, std::string_view hrp) {
  Bech32 b = bech32_decode(text);
  if (b.hrp != hrp) {
    malformed("expected \"" + std::string(hrp) + "1...\", got the prefix \"" +
              printable_excerpt(b.hrp, 20) + "\"");
  }
  return std::move(b.data);
}

template <size_t N>
std::array<uint8_t, N> decode_fixed(std::string_view text, std::string_view hrp) {
  Bytes data = decode_prefixed(text, hrp);
  if (data.size() != N) {
    malformed(std::string(hrp) + " holds " + std::to_string(data.size()) + " bytes, not " +
              std::to_string(N));
  }
  std::array<uint8_t, N> out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

void put_tlv(Bytes& out, uint8_t type, ByteView value, const char* what) {
  if (value.size() > 255) invalid(std::string("naddr: the ") + what + " is over 255 bytes");
  out.push_back(type);
  out.push_back(static_cast<uint8_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace

std::string bech32_encode(std::string_view hrp, ByteView data) {
  if (hrp.empty() || hrp.size() > 83) invalid("a bech32 prefix is 1 to 83 characters");
  for (char c : hrp) {
    if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z')) {
      invalid("a bech32 prefix is printable lowercase ASCII");
    }
  }
  std::vector<uint8_t> words = to_words(data);
  std::vector<uint8_t> values = hrp_expand(hrp);
  values.insert(values.end(), words.begin(), words.end());
  values.insert(values.end(), kChecksumWords, 0);
  uint32_t checksum = polymod(values) ^ 1;
  std::string out(hrp);
  out += '1';
  for (uint8_t w : words) out += kCharset[w];
  for (size_t i = 0; i < kChecksumWords; ++i) out += kCharset[(checksum >> (5 * (5 - i))) & 31];
  if (out.size() > kMaxBech32Length) invalid("the data is too long for bech32");
  return out;
}

Bech32 bech32_decode(std::string_view text, size_t max_length) {
  if (text.size() > max_length) {
    malformed("bech32 text of " + std::to_string(text.size()) + " characters is over " +
              std::to_string(max_length));
  }
  bool lower = false, upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) malformed("bech32 text has a character outside printable ASCII");
    lower |= (c >= 'a' && c <= 'z');
    upper |= (c >= 'A' && c <= 'Z');
  }
  if (lower && upper) malformed("bech32 text mixes upper and lower case");
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  size_t sep = s.rfind('1');
  if (sep == std::string::npos || sep == 0 || s.size() - sep - 1 < kChecksumWords) {
    malformed("bech32 text has no prefix, separator '1' and checksum");
  }
  std::vector<uint8_t> words;
  words.reserve(s.size() - sep - 1);
  for (size_t i = sep + 1; i < s.size(); ++i) {
    size_t v = kCharset.find(s[i]);
    if (v == std::string_view::npos) malformed("bech32 text has a character not in its alphabet");
    words.push_back(static_cast<uint8_t>(v));
  }
  std::string hrp = s.substr(0, sep);
  std::vector<uint8_t> values = hrp_expand(hrp);
  values.insert(values.end(), words.begin(), words.end());
  if (polymod(values) != 1) malformed("bech32 checksum does not match (a typo?)");
  words.resize(words.size() - kChecksumWords);
  return {std::move(hrp), from_words(words)};
}

std::string npub_encode(const crypto::XOnlyPublicKey& pk) {
  return bech32_encode("npub", pk);
}

crypto::XOnlyPublicKey npub_decode(std::string_view text) {
  return decode_fixed<32>(text, "npub");
}

std::string nsec_encode(const std::array<uint8_t, 32>& secret) {
  return bech32_encode("nsec", secret);
}

std::array<uint8_t, 32> nsec_decode(std::string_view text) {
  return decode_fixed<32>(text, "nsec");
}

std::string note_encode(std::string_view event_id_hex) {
  if (!is_lower_hex(event_id_hex, 64)) invalid("an event id is 64 lowercase hex");
  return bech32_encode("note", *hex_decode_fixed<32>(event_id_hex));
}

std::string note_decode(std::string_view text) {
  return hex_encode(decode_fixed<32>(text, "note"));
}

std::string naddr_encode(std::string_view d, const std::string& pubkey_hex, uint32_t kind,
                         const std::vector<std::string>& relays) {
  if (!is_lower_hex(pubkey_hex, 64)) invalid("naddr: the author is not 64 lowercase hex");
  if (!is_valid_utf8(d)) invalid("naddr: the identifier is not valid UTF-8");
  Bytes data;
  const uint8_t kind_be[4] = {static_cast<uint8_t>(kind >> 24), static_cast<uint8_t>(kind >> 16),
                              static_cast<uint8_t>(kind >> 8), static_cast<uint8_t>(kind)};
  put_tlv(data, 3, kind_be, "kind");
  put_tlv(data, 2, *hex_decode_fixed<32>(pubkey_hex), "author");
  for (const auto& r : relays) {
    if (!is_valid_utf8(r)) invalid("naddr: a relay URL is not valid UTF-8");
    put_tlv(data, 1, as_bytes(r), "relay URL");
  }
  put_tlv(data, 0, as_bytes(d), "identifier");
  return bech32_encode("naddr", data);
}

Naddr naddr_decode(std::string_view text) {
  Bytes data = decode_prefixed(text, "naddr");
  Naddr out;
  bool has_d = false, has_author = false, has_kind = false;
  size_t i = 0;
  while (i < data.size()) {
    if (data.size() - i < 2) malformed("naddr: a TLV record is cut short");
    uint8_t type = data[i];
    size_t len = data[i + 1];
    i += 2;
    if (data.size() - i < len) malformed("naddr: a TLV record is cut short");
    std::string_view value(reinterpret_cast<const char*>(data.data() + i), len);
    i += len;
    switch (type) {
      case 0:
        if (has_d) malformed("naddr: more than one identifier record");
        if (!is_valid_utf8(value)) malformed("naddr: the identifier is not valid UTF-8");
        out.d = value;
        has_d = true;
        break;
      case 1:
        if (!is_valid_utf8(value)) malformed("naddr: a relay URL is not valid UTF-8");
        out.relays.emplace_back(value);
        break;
      case 2:
        if (has_author) malformed("naddr: more than one author record");
        if (len != 32) malformed("naddr: the author is not 32 bytes");
        out.pubkey = hex_encode(as_bytes(value));
        has_author = true;
        break;
      case 3:
        if (has_kind) malformed("naddr: more than one kind record");
        if (len != 4) malformed("naddr: the kind is not 4 bytes");
        out.kind = (uint32_t{data[i - 4]} << 24) | (uint32_t{data[i - 3]} << 16) |
                   (uint32_t{data[i - 2]} << 8) | uint32_t{data[i - 1]};
        has_kind = true;
        break;
      default:
        break;  // NIP-19: records of unknown types are ignored
    }
  }
  if (!has_d) malformed("naddr: no identifier record");
  if (!has_author) malformed("naddr: no author record");
  if (!has_kind) malformed("naddr: no kind record");
  return out;
}

}  // namespace guts::nostr
