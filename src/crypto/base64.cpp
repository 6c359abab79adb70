#include "crypto/base64.h"

#include <sodium.h>

#include <cstring>

#include "crypto/hash.h"

namespace guts::crypto {

std::string base64_encode(std::string_view data) {
  ensure_sodium();
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                    data.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace guts::crypto
