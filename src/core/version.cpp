#include "core/version.h"

#ifndef GUTS_SOFTWARE_VERSION
#error "GUTS_SOFTWARE_VERSION is defined by src/core/CMakeLists.txt"
#endif

namespace guts::version {

std::string_view software() {
  return GUTS_SOFTWARE_VERSION;
}

std::string describe(std::string_view program) {
  return std::string(program) + " " + std::string(software()) + " (p2p protocol " +
         std::to_string(kP2pProtocolMin) + ".." + std::to_string(kP2pProtocolMax) + ", storage " +
         std::to_string(kStorage) + ", block format " + std::to_string(kBlockFormat) +
         ", transaction format " + std::to_string(kTxFormat) + ")";
}

}  // namespace guts::version
