#include "cli/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include "core/status.h"

namespace guts::cli {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

struct BodySink {
  HttpResult* result;
  size_t max;  // 0: no bound
  bool over = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->max != 0 && sink->result->body.size() + size * n > sink->max) {
    sink->over = true;
    return 0;  // libcurl aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->result->body.append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* result = static_cast<HttpResult*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after 100 Continue or a redirect): start over.
    result->headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = lower(trim(line.substr(0, colon)));
  std::string value(trim(line.substr(colon + 1)));
  auto [it, inserted] = result->headers.emplace(name, value);
  if (!inserted) it->second += ", " + value;
  return size * n;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int x = std::tolower(static_cast<unsigned char>(a[i]));
    int y = std::tolower(static_cast<unsigned char>(b[i]));
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

struct HttpClient::Impl {
  std::string base_url;
  std::string token;
  std::string ca_file;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  long timeout_ms = 30000;
  size_t max_response = 0;
  CURL* curl = nullptr;
  long new_connections = 0;

  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }
};

HttpClient::HttpClient(std::string base_url) : impl_(std::make_unique<Impl>()) {
  global_init();
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  impl_->base_url = std::move(base_url);
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw Error(Code::kInternal, "curl_easy_init failed");
  if (const char* ca = std::getenv("GUTS_CA_FILE"); ca && *ca) impl_->ca_file = ca;
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::set_token(std::string token) {
  impl_->token = std::move(token);
}

void HttpClient::set_ca_file(std::string path) {
  impl_->ca_file = std::move(path);
}

void HttpClient::set_max_response_bytes(size_t max) {
  impl_->max_response = max;
}

void HttpClient::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout_ms = static_cast<long>(timeout.count());
}

void HttpClient::set_header(std::string name, std::string value) {
  for (auto& [k, v] : impl_->extra_headers) {
    if (lower(k) == lower(name)) {
      v = std::move(value);
      return;
    }
  }
  impl_->extra_headers.emplace_back(std::move(name), std::move(value));
}

const std::string& HttpClient::base_url() const {
  return impl_->base_url;
}

long HttpClient::last_new_connections() const {
  return impl_->new_connections;
}

HttpResult HttpClient::request(std::string_view method, std::string_view path_and_query,
                               std::string_view body, std::string_view content_type) {
  CURL* c = impl_->curl;
  // Resetting options keeps the connection cache, so keep-alive survives.
  curl_easy_reset(c);
  HttpResult result;
  BodySink sink{&result, impl_->max_response};
  std::string url = impl_->base_url;
  if (!path_and_query.empty() && path_and_query.front() != '/') url.push_back('/');
  url.append(path_and_query);
  std::string method_s(method);

  struct curl_slist* headers = nullptr;
  auto add = [&](const std::string& h) {
    auto* next = curl_slist_append(headers, h.c_str());
    if (!next) throw Error(Code::kInternal, "curl_slist_append failed");
    headers = next;
  };
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURLcode rc;
  try {
    add("Expect:");  // no 100-continue round trip
    if (!impl_->token.empty()) add("Authorization: token " + impl_->token);
    for (const auto& [k, v] : impl_->extra_headers) add(k + ": " + v);
    bool send_body = !body.empty() || (method_s != "GET" && method_s != "HEAD" &&
                                       method_s != "DELETE" && method_s != "OPTIONS");
    if (send_body && !content_type.empty()) add("Content-Type: " + std::string(content_type));

    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, impl_->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     impl_->timeout_ms > 0 ? std::min(impl_->timeout_ms, 10000L) : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &result);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "guts-cli");
    if (!impl_->ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, impl_->ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // accept what libcurl can decode
    if (method_s == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (method_s == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_s.c_str());
    }
    if (send_body) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    rc = curl_easy_perform(c);
  } catch (...) {
    curl_slist_free_all(headers);
    throw;
  }
  curl_slist_free_all(headers);
  long connects = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
  impl_->new_connections = connects;
  if (sink.over)
    throw Error(Code::kTooLarge, "the response from " + impl_->base_url + " exceeds " +
                                     std::to_string(impl_->max_response) + " bytes");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    throw Error(Code::kUnavailable, "cannot reach node at " + impl_->base_url + ": " + why);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  return result;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace guts::cli
