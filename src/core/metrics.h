// Prometheus metrics: counters, gauges and fixed-bucket histograms with labels, and a Registry
// that renders the text exposition format 0.0.4 (docs/metrics.md).
//
// The hot path is lock-free: a metric with a fixed label set is looked up once
// (`family.labels({...})` returns a reference that stays valid as long as the registry) and then
// updated with relaxed atomics. A lookup by label values (e.g. per HTTP route) takes the
// family's shared lock for reading; only the first use of a label set takes it for writing.
//
// Values that already live elsewhere (consensus view, mempool size, disk usage...) are read at
// scrape time by collectors: callbacks that add samples to a Scrape while /metrics renders.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/thread_annotations.h"

namespace guts::metrics {

// A reader-writer lock the thread-safety analysis understands.
class GUTS_CAPABILITY("mutex") SharedMutex {
 public:
  void lock() GUTS_ACQUIRE() { mu_.lock(); }
  void unlock() GUTS_RELEASE() { mu_.unlock(); }
  void lock_shared() GUTS_THREAD_ANNOTATION(acquire_shared_capability()) { mu_.lock_shared(); }
  void unlock_shared() GUTS_THREAD_ANNOTATION(release_shared_capability()) { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class GUTS_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) GUTS_THREAD_ANNOTATION(acquire_shared_capability(mu))
      : mu_(mu) {
    mu_.lock_shared();
  }
  ~ReaderLock() GUTS_RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

class GUTS_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) GUTS_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() GUTS_RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

using LabelValues = std::vector<std::string>;
using Labels = std::vector<std::pair<std::string, std::string>>;  // name, value

enum class Type { kCounter, kGauge, kHistogram };
std::string_view type_name(Type t);

// Monotonic; never decreases.
class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Fixed upper bounds (sorted, finite); the +Inf bucket is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf (= count()).
  std::vector<uint64_t> cumulative() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket sets for durations in seconds.
std::vector<double> latency_buckets();       // 1 ms .. 10 s (HTTP, consensus)
std::vector<double> long_latency_buckets();  // 10 ms .. 300 s (git transfers)

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends this family's samples (HELP and TYPE first) to `out`.
  virtual void render(std::string& out) const = 0;

 private:
  std::string name_, help_;
  Type type_;
  std::vector<std::string> label_names_;
};

// Children by label values (as many as label names; asserted).
template <class M>
class Family : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         Factory make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        make_(std::move(make)) {}

  // The child with these label values, created at first use. The reference stays valid for the
  // registry's lifetime: keep it for hot paths.
  M& labels(const LabelValues& values);
  M& get() { return labels({}); }  // a family without labels
  void render(std::string& out) const override;

 private:
  Factory make_;
  mutable SharedMutex mu_;
  std::map<LabelValues, std::unique_ptr<M>> children_ GUTS_GUARDED_BY(mu_);
};

// Samples a collector adds at scrape time. Samples of one family may come in any order; the
// rendering groups them. A name also registered in the Registry, or added with two types, is a
// programming error (asserted).
class Scrape {
 public:
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void counter(std::string_view name, std::string_view help, double value,
               const Labels& labels = {});

  struct Sample {
    Labels labels;
    double value;
  };
  struct Fam {
    std::string help;
    Type type;
    std::vector<Sample> samples;
  };
  const std::vector<std::pair<std::string, Fam>>& families() const { return families_; }

 private:
  void add(std::string_view name, std::string_view help, Type type, double value,
           const Labels& labels);
  std::vector<std::pair<std::string, Fam>> families_;  // in order of first appearance
};

using Collector = std::function<void(Scrape&)>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family, or returns the one already registered under `name` (same type and label
  // names, asserted). Names follow Prometheus' rules (asserted): [a-zA-Z_:][a-zA-Z0-9_:]*.
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names, std::vector<double> bounds);

  // Called at every render(), in order, after the registered families. Must be thread-safe
  // and cheap (read cached values; never walk a tree per scrape).
  void add_collector(Collector c);
  // Text appended verbatim after everything else (already in the exposition format).
  void add_text(std::function<std::string()> text);

  // The whole exposition (text format 0.0.4), families sorted by name.
  std::string render() const;

 private:
  template <class M>
  Family<M>& family(const std::string& name, const std::string& help, Type type,
                    std::vector<std::string> label_names, typename Family<M>::Factory make);

  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_ GUTS_GUARDED_BY(mu_);
  std::vector<Collector> collectors_ GUTS_GUARDED_BY(mu_);
  std::vector<std::function<std::string()>> texts_ GUTS_GUARDED_BY(mu_);
};

namespace detail {
// Asserts the arity of `values` against the family's label names.
void check_arity(const FamilyBase& f, const LabelValues& values);
// One sample line: name{labels[,extra]} value
void sample_line(std::string& out, std::string_view name, const std::vector<std::string>& names,
                 const LabelValues& values, const std::pair<std::string, std::string>* extra,
                 double value);
void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Counter& m);
void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Gauge& m);
void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Histogram& m);
void render_header(std::string& out, const FamilyBase& f);
}  // namespace detail

template <class M>
M& Family<M>::labels(const LabelValues& values) {
  {
    ReaderLock lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  detail::check_arity(*this, values);
  WriterLock lock(mu_);
  auto& slot = children_[values];
  if (!slot) slot = make_();
  return *slot;
}

template <class M>
void Family<M>::render(std::string& out) const {
  detail::render_header(out, *this);
  ReaderLock lock(mu_);
  for (const auto& [values, m] : children_) detail::render_child(out, *this, values, *m);
}

// ---- the format, for tests and other renderers ----
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
std::string escape_label_value(std::string_view v);  // \\ \" \n
std::string escape_help(std::string_view v);         // \\ \n
std::string format_value(double v);                  // shortest round-trip; +Inf, -Inf, NaN
// `{a="x",b="y"}`, or "" without labels; `extra` (e.g. le) last.
std::string format_labels(const Labels& labels, const std::pair<std::string, std::string>* extra);

}  // namespace guts::metrics
