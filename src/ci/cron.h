// Cron schedules of workflows (`on: schedule`, docs/ci.md "Scheduled runs"): POSIX cron's five
// fields, read the way GitHub Actions reads them, always in UTC.
//
//   minute (0-59)  hour (0-23)  day of month (1-31)  month (1-12 or JAN-DEC)
//   day of week (0-6 or SUN-SAT; 7 is Sunday too)
//
// Each field is `*` or a comma-separated list of `N`, `N-M`, `*/S`, `N/S` (N to the field's
// maximum) and `N-M/S`. As in every cron since Vixie's: when both the day of month and the day
// of week are restricted (neither starts with `*`), a day matches if EITHER matches.
//
// Pure and deterministic (validators evaluate it against block time): no time zone, no clock.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace guts::ci {

inline constexpr size_t kMaxCronBytes = 256;

struct Cron {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1-31
  std::bitset<13> months;   // 1-12
  std::bitset<7> weekdays;  // 0 = Sunday
  bool any_day = true;      // the day-of-month field starts with '*'
  bool any_weekday = true;  // the day-of-week field starts with '*'
};

// The schedule, or nullopt with a reason in `error` ("field 2 (hour): 24 is out of 0-23").
std::optional<Cron> parse_cron(std::string_view line, std::string* error = nullptr);

// Whether the minute that starts at `unix_ms` (a multiple of 60,000) is one of the schedule's.
bool cron_matches(const Cron& cron, uint64_t unix_ms);

// The latest minute start t with after_ms < t <= upto_ms that matches, looking back at most
// `max_minutes` minutes from upto_ms; nullopt when there is none.
std::optional<uint64_t> latest_match(const Cron& cron, uint64_t after_ms, uint64_t upto_ms,
                                     uint32_t max_minutes = 60);

}  // namespace guts::ci
