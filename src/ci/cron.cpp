#include "ci/cron.h"

#include <array>
#include <chrono>
#include <vector>

namespace guts::ci {

namespace {

struct Field {
  const char* name;
  int lo, hi;
  const std::array<std::string_view, 13>* names;  // index = value, or nullptr
};

constexpr std::array<std::string_view, 13> kMonthNames = {
    "", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 13> kDayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "", "", "", "", "", ""};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day of month", 1, 31, nullptr},
    {"month", 1, 12, &kMonthNames},
    {"day of week", 0, 7, &kDayNames},  // 7 folds onto 0 (Sunday)
}};

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// A number or (months, weekdays) a three-letter name.
std::optional<int> value_of(std::string_view s, const Field& f) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s[0] >= '0' && s[0] <= '9') {
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  if (!f.names || s.size() != 3) return std::nullopt;
  for (size_t i = 0; i < f.names->size(); ++i) {
    auto n = (*f.names)[i];
    if (n.size() == 3 && upper(s[0]) == n[0] && upper(s[1]) == n[1] && upper(s[2]) == n[2])
      return static_cast<int>(i);
  }
  return std::nullopt;
}

// Sets the values of one field in `bits` (indexed by value); false with `error` set.
bool parse_field(std::string_view text, const Field& f, std::vector<bool>& bits,
                 std::string& error) {
  auto fail = [&](const std::string& what) {
    error = std::string(f.name) + ": " + what;
    return false;
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) return fail("empty list item in '" + std::string(text) + "'");
    int step = 1;
    const bool has_step = item.find('/') != std::string_view::npos;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto s = value_of(item.substr(slash + 1), Field{f.name, 0, 0, nullptr});
      if (!s || *s < 1 || *s > f.hi) return fail("bad step in '" + std::string(item) + "'");
      step = *s;
      item = item.substr(0, slash);
    }
    const int top = f.hi == 7 ? 6 : f.hi;  // the days of a week are 0-6 (7 only names Sunday)
    int lo = f.lo, hi = top;
    if (item != "*") {
      auto dash = item.find('-');
      auto a = value_of(item.substr(0, dash), f);
      if (!a) return fail("'" + std::string(item) + "' is not a value");
      lo = *a;
      if (dash != std::string_view::npos) {
        auto b = value_of(item.substr(dash + 1), f);
        if (!b) return fail("'" + std::string(item) + "' is not a range");
        hi = *b;
      } else {
        hi = has_step ? top : lo;  // "N/S" runs from N to the field's maximum
      }
      for (int v : {lo, hi})
        if (v < f.lo || v > f.hi)
          return fail(std::to_string(v) + " is out of " + std::to_string(f.lo) + "-" +
                      std::to_string(f.hi));
      if (hi < lo) return fail("range '" + std::string(item) + "' runs backwards");
    }
    for (int v = lo; v <= hi; v += step)
      bits[static_cast<size_t>(f.hi == 7 && v == 7 ? 0 : v)] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

}  // namespace

std::optional<Cron> parse_cron(std::string_view line, std::string* error) {
  std::string scratch;
  std::string& err = error ? *error : scratch;
  if (line.size() > kMaxCronBytes) {
    err = "longer than " + std::to_string(kMaxCronBytes) + " bytes";
    return std::nullopt;
  }
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) parts.push_back(line.substr(i, j - i));
    i = j;
  }
  if (parts.size() != 5) {
    err = "has " + std::to_string(parts.size()) + " fields, not 5";
    return std::nullopt;
  }
  Cron c;
  for (size_t k = 0; k < 5; ++k) {
    std::vector<bool> bits(60, false);
    if (!parse_field(parts[k], kFields[k], bits, err)) {
      err = "field " + std::to_string(k + 1) + " (" + err + ")";
      return std::nullopt;
    }
    for (size_t v = 0; v < bits.size(); ++v) {
      if (!bits[v]) continue;
      switch (k) {
        case 0:
          c.minutes.set(v);
          break;
        case 1:
          c.hours.set(v);
          break;
        case 2:
          c.days.set(v);
          break;
        case 3:
          c.months.set(v);
          break;
        default:
          c.weekdays.set(v);
      }
    }
  }
  c.any_day = parts[2][0] == '*';
  c.any_weekday = parts[4][0] == '*';
  return c;
}

bool cron_matches(const Cron& cron, uint64_t unix_ms) {
  using namespace std::chrono;
  const uint64_t minute = unix_ms / 60000;
  const auto day = sys_days{days{static_cast<int64_t>(minute / 1440)}};
  const uint64_t in_day = minute % 1440;
  if (!cron.minutes.test(in_day % 60) || !cron.hours.test(in_day / 60)) return false;
  const year_month_day ymd{day};
  if (!cron.months.test(static_cast<unsigned>(ymd.month()))) return false;
  const bool dom = cron.days.test(static_cast<unsigned>(ymd.day()));
  const bool dow = cron.weekdays.test(weekday{day}.c_encoding());
  if (!cron.any_day && !cron.any_weekday) return dom || dow;
  return dom && dow;
}

std::optional<uint64_t> latest_match(const Cron& cron, uint64_t after_ms, uint64_t upto_ms,
                                     uint32_t max_minutes) {
  uint64_t t = upto_ms - upto_ms % 60000;
  for (uint32_t i = 0; i <= max_minutes && t > after_ms; ++i, t -= 60000) {
    if (cron_matches(cron, t)) return t;
    if (t < 60000) break;
  }
  return std::nullopt;
}

}  // namespace guts::ci
