#include "web/highlight.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "git/process.h"

namespace guts::web {

std::string syntax_for(std::string_view filename) {
  static const std::pair<const char*, const char*> kByExtension[] = {
      {"c", "c"},         {"h", "c"},         {"cc", "cpp"},      {"cpp", "cpp"},
      {"cxx", "cpp"},     {"hh", "cpp"},      {"hpp", "cpp"},     {"py", "python"},
      {"js", "js"},       {"mjs", "js"},      {"cjs", "js"},      {"ts", "ts"},
      {"rs", "rs"},       {"go", "go"},       {"java", "java"},   {"rb", "ruby"},
      {"sh", "sh"},       {"bash", "sh"},     {"json", "json"},   {"yaml", "yaml"},
      {"yml", "yaml"},    {"toml", "ini"},    {"md", "markdown"}, {"html", "html"},
      {"css", "css"},     {"xml", "xml"},     {"sql", "sql"},     {"lua", "lua"},
      {"php", "php"},     {"pl", "perl"},     {"cs", "csharp"},   {"kt", "kotlin"},
      {"swift", "swift"}, {"cmake", "cmake"}, {"mk", "makefile"}, {"diff", "diff"},
      {"patch", "diff"}};
  size_t slash = filename.rfind('/');
  std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  if (base == "CMakeLists.txt") return "cmake";
  if (base == "Makefile" || base == "GNUmakefile") return "makefile";
  if (base == "Dockerfile") return "dockerfile";
  size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= base.size()) return "";
  std::string ext(base.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  });
  for (const auto& [e, syntax] : kByExtension)
    if (ext == e) return syntax;
  return "";
}

Highlighter::Lines Highlighter::lines(const std::string& blob_sha, std::string_view filename,
                                      std::string_view content) {
  std::string syntax = syntax_for(filename);
  if (syntax.empty() || content.size() > opt_.max_bytes) return nullptr;
  std::string key = blob_sha + ":" + syntax;
  {
    guts::MutexLock lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  std::string out;
  try {
    git::ProcessOptions po;
    po.argv = {opt_.program, "-O", "html", "--fragment", "--syntax=" + syntax, "--encoding=utf-8"};
    po.timeout = std::chrono::seconds(5);
    po.capture_stderr = false;
    auto p = git::Process::spawn(po);
    auto st = p.pump(git::source_from(ByteView(reinterpret_cast<const uint8_t*>(content.data()),
                                               content.size())),
                     git::sink_to(out), {});
    if (!st.success()) return nullptr;
  } catch (const std::exception&) {
    return nullptr;  // no program, or it failed: plain text
  }
  auto result = std::make_shared<std::vector<std::string>>();
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    result->emplace_back(out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  guts::MutexLock lock(mu_);
  if (cache_.size() >= opt_.cache_entries) cache_.clear();
  cache_[key] = result;
  return result;
}

}  // namespace guts::web
