// The metrics library (core/metrics.h): exact text exposition of a small registry, escaping,
// histogram buckets, collectors, and concurrent updates.
#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

namespace guts::metrics {
namespace {

TEST(Metrics, ExactExpositionOfASmallRegistry) {
  Registry r;
  auto& req = r.counter("app_requests_total", "Requests.", {"method", "code"});
  req.labels({"GET", "200"}).inc(3);
  req.labels({"POST", "500"}).inc();
  r.gauge("app_temperature", "Temperature\nin \\ units.").get().set(-1.5);
  auto& h = r.histogram("app_latency_seconds", "Latency.", {}, {0.25, 1}).get();
  h.observe(0.125);
  h.observe(0.25);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.25\"} 2\n"
            "app_latency_seconds_bucket{le=\"1\"} 3\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum 7.875\n"
            "app_latency_seconds_count 4\n"
            "# HELP app_requests_total Requests.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "app_requests_total{method=\"POST\",code=\"500\"} 1\n"
            "# HELP app_temperature Temperature\\nin \\\\ units.\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature -1.5\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  r.counter("x_total", "x", {"path"}).labels({"a\"b\\c\nd"}).inc();
  EXPECT_NE(r.render().find("x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(Metrics, HistogramWithLabelsPutsLeLast) {
  Registry r;
  auto& f = r.histogram("d_seconds", "d", {"route"}, {1});
  f.labels({"/a"}).observe(2);
  EXPECT_EQ(r.render(),
            "# HELP d_seconds d\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{route=\"/a\",le=\"1\"} 0\n"
            "d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1\n"
            "d_seconds_sum{route=\"/a\"} 2\n"
            "d_seconds_count{route=\"/a\"} 1\n");
}

TEST(Metrics, CollectorsAndTextComeAfterFamilies) {
  Registry r;
  r.counter("b_total", "b").get().inc(2);
  r.add_collector([](Scrape& s) {
    s.gauge("z_value", "z", 1, {{"k", "v1"}});
    s.counter("a_total", "a", 5);
    s.gauge("z_value", "z", 2, {{"k", "v2"}});
    s.gauge("b_total", "clash with a registered family: dropped", 9);
  });
  r.add_collector([](Scrape&) { throw std::runtime_error("source down"); });
  r.add_text([] { return std::string("# TYPE t gauge\nt 1\n"); });
  EXPECT_EQ(r.render(),
            "# HELP b_total b\n"
            "# TYPE b_total counter\n"
            "b_total 2\n"
            "# HELP z_value z\n"
            "# TYPE z_value gauge\n"
            "z_value{k=\"v1\"} 1\n"
            "z_value{k=\"v2\"} 2\n"
            "# HELP a_total a\n"
            "# TYPE a_total counter\n"
            "a_total 5\n"
            "# TYPE t gauge\n"
            "t 1\n");
}

TEST(Metrics, RegisteringTwiceReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("c_total", "c", {"x"});
  auto& b = r.counter("c_total", "c", {"x"});
  EXPECT_EQ(&a, &b);
  a.labels({"1"}).inc();
  EXPECT_EQ(b.labels({"1"}).value(), 1u);
}

TEST(Metrics, ValueFormatting) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1e20), "1e+20");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Metrics, NamesFollowPrometheusRules) {
  EXPECT_TRUE(valid_metric_name("guts_http_requests_total"));
  EXPECT_TRUE(valid_metric_name("a:b"));
  EXPECT_FALSE(valid_metric_name("9abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("route"));
  EXPECT_FALSE(valid_label_name("le"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("n_total", "n", {"t"});
  auto& h = r.histogram("h_seconds", "h", {}, latency_buckets()).get();
  auto& g = r.gauge("g", "g").get();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.labels({std::to_string(i % 3)}).inc();
        h.observe(0.001 * (t + 1));
        g.add(1);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.labels({"0"}).value() + c.labels({"1"}).value() + c.labels({"2"}).value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.cumulative().back(), 40000u);
  EXPECT_DOUBLE_EQ(g.value(), 40000);
}

}  // namespace
}  // namespace guts::metrics
