#include "git/ref_name.h"

namespace guts::git {

bool is_valid_oid(std::string_view oid) {
  if (oid.size() != 40) return false;
  for (char c : oid)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string ref_name_error(std::string_view name) {
  if (name.empty()) return "empty ref name";
  if (name.size() > kMaxRefNameLength) return "ref name too long";
  if (name == "@") return "ref name is '@'";
  if (name.front() == '/' || name.back() == '/') return "ref name begins or ends with '/'";
  if (name.back() == '.') return "ref name ends with '.'";
  if (name.find('/') == std::string_view::npos) return "ref name has a single component";
  if (name.find("..") != std::string_view::npos) return "ref name contains '..'";
  if (name.find("//") != std::string_view::npos) return "ref name contains '//'";
  if (name.find("@{") != std::string_view::npos) return "ref name contains '@{'";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "ref name contains a control character";
    switch (c) {
      case ' ':
      case '~':
      case '^':
      case ':':
      case '?':
      case '*':
      case '[':
      case '\\':
        return std::string("ref name contains '") + static_cast<char>(c) + "'";
      default:
        break;
    }
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view comp = name.substr(start, end - start);
    if (comp.empty()) return "ref name has an empty component";
    if (comp.front() == '.') return "ref name component begins with '.'";
    if (comp.size() >= 5 && comp.substr(comp.size() - 5) == ".lock")
      return "ref name component ends with '.lock'";
    start = end + 1;
  }
  return {};
}

std::string pushable_ref_error(std::string_view name) {
  if (auto e = ref_name_error(name); !e.empty()) return e;
  if (name.rfind("refs/heads/", 0) != 0 && name.rfind("refs/tags/", 0) != 0)
    return "only refs/heads/* and refs/tags/* can be pushed";
  return {};
}

}  // namespace guts::git
