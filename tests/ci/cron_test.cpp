// Cron schedules (ci/cron.h): POSIX fields with GitHub's reading, in UTC.
#include "ci/cron.h"

#include <gtest/gtest.h>

#include <chrono>

namespace guts::ci {
namespace {

// Unix ms of a UTC date and time.
uint64_t utc(int y, unsigned mo, unsigned d, int h, int mi) {
  using namespace std::chrono;
  auto date = sys_days{year{y} / month{mo} / std::chrono::day{d}};
  return static_cast<uint64_t>(duration_cast<milliseconds>(date.time_since_epoch()).count()) +
         static_cast<uint64_t>(h * 60 + mi) * 60000;
}

Cron parse(const char* line) {
  std::string why;
  auto c = parse_cron(line, &why);
  EXPECT_TRUE(c) << line << ": " << why;
  return c.value_or(Cron{});
}

std::string error_of(const char* line) {
  std::string why;
  EXPECT_FALSE(parse_cron(line, &why)) << line;
  return why;
}

TEST(Cron, FieldsListsRangesStepsAndNames) {
  auto c = parse("*/15 9-17 * * MON-FRI");
  EXPECT_TRUE(cron_matches(c, utc(2026, 11, 19, 9, 15)));   // Thursday
  EXPECT_TRUE(cron_matches(c, utc(2026, 11, 20, 17, 45)));  // Friday
  EXPECT_FALSE(cron_matches(c, utc(2026, 11, 21, 9, 15)));  // Saturday
  EXPECT_FALSE(cron_matches(c, utc(2026, 11, 19, 9, 16)));
  EXPECT_FALSE(cron_matches(c, utc(2026, 11, 19, 18, 0)));
  auto m = parse("5,10-12,50/5 0 1 jan,Jul *");
  for (int mi : {5, 10, 11, 12, 50, 55}) EXPECT_TRUE(cron_matches(m, utc(2027, 1, 1, 0, mi))) << mi;
  for (int mi : {0, 6, 13, 49, 51}) EXPECT_FALSE(cron_matches(m, utc(2027, 1, 1, 0, mi))) << mi;
  EXPECT_TRUE(cron_matches(m, utc(2027, 7, 1, 0, 5)));
  EXPECT_FALSE(cron_matches(m, utc(2027, 2, 1, 0, 5)));
  // 7 is Sunday too; ranges may end on it.
  auto sun = parse("0 0 * * 7");
  EXPECT_TRUE(cron_matches(sun, utc(2026, 11, 22, 0, 0)));  // Sunday
  EXPECT_TRUE(cron_matches(parse("0 0 * * 5-7"), utc(2026, 11, 22, 0, 0)));
  EXPECT_TRUE(cron_matches(parse("0 0 29 2 *"), utc(2028, 2, 29, 0, 0)));  // leap day
  // Tabs and repeated spaces separate fields.
  EXPECT_TRUE(cron_matches(parse(" 0\t0  *  * * "), utc(2026, 1, 1, 0, 0)));
}

TEST(Cron, RestrictedDayOfMonthAndDayOfWeekMatchEither) {
  auto c = parse("0 12 13 * FRI");                         // the 13th, and every Friday
  EXPECT_TRUE(cron_matches(c, utc(2026, 11, 13, 12, 0)));  // Friday the 13th
  EXPECT_TRUE(cron_matches(c, utc(2026, 11, 20, 12, 0)));  // a Friday
  EXPECT_TRUE(cron_matches(c, utc(2026, 10, 13, 12, 0)));  // a Tuesday the 13th
  EXPECT_FALSE(cron_matches(c, utc(2026, 11, 19, 12, 0)));
  auto only_dom = parse("0 12 13 * *");
  EXPECT_FALSE(cron_matches(only_dom, utc(2026, 11, 20, 12, 0)));
  auto star_step = parse("0 12 */10 * FRI");                        // '*'-led: both must hold
  EXPECT_FALSE(cron_matches(star_step, utc(2026, 1, 1, 12, 0)));    // the 1st, a Thursday
  EXPECT_FALSE(cron_matches(star_step, utc(2026, 11, 20, 12, 0)));  // a Friday, the 20th
  EXPECT_TRUE(cron_matches(star_step, utc(2026, 12, 11, 12, 0)));   // Friday the 11th
}

TEST(Cron, BadLinesSayWhy) {
  EXPECT_EQ(error_of("* * * *"), "has 4 fields, not 5");
  EXPECT_EQ(error_of("60 * * * *"), "field 1 (minute: 60 is out of 0-59)");
  EXPECT_EQ(error_of("* 24 * * *"), "field 2 (hour: 24 is out of 0-23)");
  EXPECT_EQ(error_of("* * 0 * *"), "field 3 (day of month: 0 is out of 1-31)");
  EXPECT_EQ(error_of("* * * 13 *"), "field 4 (month: 13 is out of 1-12)");
  EXPECT_EQ(error_of("* * * * 8"), "field 5 (day of week: 8 is out of 0-7)");
  EXPECT_NE(error_of("5-1 * * * *").find("runs backwards"), std::string::npos);
  EXPECT_NE(error_of("*/0 * * * *").find("bad step"), std::string::npos);
  EXPECT_NE(error_of("1,,2 * * * *").find("empty list item"), std::string::npos);
  EXPECT_NE(error_of("* * * FOO *").find("not a value"), std::string::npos);
  EXPECT_NE(error_of("@daily").find("fields"), std::string::npos);
  EXPECT_NE(error_of(std::string(300, '*').c_str()).find("longer than"), std::string::npos);
}

TEST(Cron, LatestMatchLooksBackWithinTheWindow) {
  auto c = parse("30 2 * * *");
  const uint64_t slot = utc(2026, 11, 19, 2, 30);
  EXPECT_EQ(latest_match(c, 0, slot + 59 * 60000 + 999), slot);
  EXPECT_EQ(latest_match(c, 0, slot), slot);
  EXPECT_FALSE(latest_match(c, slot, slot + 30 * 60000));  // already run
  EXPECT_FALSE(latest_match(c, 0, slot - 1));              // not yet
  EXPECT_FALSE(latest_match(c, 0, slot + 61 * 60000));     // out of the hour
  EXPECT_EQ(latest_match(parse("* * * * *"), 0, slot + 42), slot);
}

}  // namespace
}  // namespace guts::ci
