#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/assert.h"

namespace guts::metrics {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

namespace {

void atomic_add(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

}  // namespace

void Gauge::add(double d) {
  atomic_add(v_, d);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  GUTS_ASSERT(std::is_sorted(bounds_.begin(), bounds_.end()) &&
                  std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end(),
              "histogram bounds must be strictly increasing");
  for (double b : bounds_) GUTS_ASSERT(std::isfinite(b), "histogram bounds must be finite");
}

void Histogram::observe(double v) {
  // The first bucket whose upper bound is >= v (Prometheus buckets are "less than or equal").
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> long_latency_buckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

// ---- format ----

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__" || name == "le") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, p);
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

std::string format_labels(const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && !extra) return {};
  std::string out = "{";
  bool first = true;
  auto put = [&](const std::string& k, const std::string& v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  };
  for (const auto& [k, v] : labels) put(k, v);
  if (extra) put(extra->first, extra->second);
  out += '}';
  return out;
}

// ---- families ----

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  GUTS_ASSERT(valid_metric_name(name_), "invalid metric name");
  for (const auto& l : label_names_) GUTS_ASSERT(valid_label_name(l), "invalid label name");
}

namespace detail {

void check_arity(const FamilyBase& f, const LabelValues& values) {
  GUTS_ASSERT(values.size() == f.label_names().size(),
              "metric label values do not match the family's label names");
}

void sample_line(std::string& out, std::string_view name, const std::vector<std::string>& names,
                 const LabelValues& values, const std::pair<std::string, std::string>* extra,
                 double value) {
  Labels labels;
  labels.reserve(names.size());
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    labels.emplace_back(names[i], values[i]);
  out += name;
  out += format_labels(labels, extra);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void render_header(std::string& out, const FamilyBase& f) {
  out += "# HELP " + f.name() + " " + escape_help(f.help()) + "\n";
  out += "# TYPE " + f.name() + " " + std::string(type_name(f.type())) + "\n";
}

void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Counter& m) {
  sample_line(out, f.name(), f.label_names(), v, nullptr, static_cast<double>(m.value()));
}

void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Gauge& m) {
  sample_line(out, f.name(), f.label_names(), v, nullptr, m.value());
}

void render_child(std::string& out, const FamilyBase& f, const LabelValues& v, const Histogram& m) {
  auto cum = m.cumulative();
  const std::string bucket = f.name() + "_bucket";
  for (size_t i = 0; i <= m.bounds().size(); ++i) {
    std::pair<std::string, std::string> le{
        "le", i < m.bounds().size() ? format_value(m.bounds()[i]) : "+Inf"};
    sample_line(out, bucket, f.label_names(), v, &le, static_cast<double>(cum[i]));
  }
  sample_line(out, f.name() + "_sum", f.label_names(), v, nullptr, m.sum());
  // The +Inf bucket, so that _count always equals it even while observations race the scrape.
  sample_line(out, f.name() + "_count", f.label_names(), v, nullptr,
              static_cast<double>(cum.back()));
}

}  // namespace detail

// ---- Scrape ----

void Scrape::add(std::string_view name, std::string_view help, Type type, double value,
                 const Labels& labels) {
  GUTS_ASSERT(valid_metric_name(name), "invalid metric name");
  for (const auto& [k, v] : labels) GUTS_ASSERT(valid_label_name(k), "invalid label name");
  auto it = std::find_if(families_.begin(), families_.end(),
                         [&](const auto& f) { return f.first == name; });
  if (it == families_.end()) {
    families_.push_back({std::string(name), Fam{std::string(help), type, {}}});
    it = families_.end() - 1;
  }
  GUTS_ASSERT(it->second.type == type, "a metric family added with two types");
  it->second.samples.push_back({labels, value});
}

void Scrape::gauge(std::string_view name, std::string_view help, double value,
                   const Labels& labels) {
  add(name, help, Type::kGauge, value, labels);
}

void Scrape::counter(std::string_view name, std::string_view help, double value,
                     const Labels& labels) {
  add(name, help, Type::kCounter, value, labels);
}

// ---- Registry ----

template <class M>
Family<M>& Registry::family(const std::string& name, const std::string& help, Type type,
                            std::vector<std::string> label_names,
                            typename Family<M>::Factory make) {
  MutexLock lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    GUTS_ASSERT(it->second->type() == type && it->second->label_names() == label_names,
                "a metric registered twice with different types or labels");
    return static_cast<Family<M>&>(*it->second);
  }
  auto f = std::make_unique<Family<M>>(name, help, type, std::move(label_names), std::move(make));
  auto& ref = *f;
  families_.emplace(name, std::move(f));
  return ref;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
  return family<Counter>(name, help, Type::kCounter, std::move(label_names),
                         [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
  return family<Gauge>(name, help, Type::kGauge, std::move(label_names),
                       [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
  Histogram probe(bounds);  // checks the bounds once, at registration
  return family<Histogram>(
      name, help, Type::kHistogram, std::move(label_names),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
}

void Registry::add_collector(Collector c) {
  MutexLock lock(mu_);
  collectors_.push_back(std::move(c));
}

void Registry::add_text(std::function<std::string()> text) {
  MutexLock lock(mu_);
  texts_.push_back(std::move(text));
}

std::string Registry::render() const {
  std::vector<const FamilyBase*> fams;
  std::vector<Collector> collectors;
  std::vector<std::function<std::string()>> texts;
  {
    MutexLock lock(mu_);
    for (const auto& [name, f] : families_) fams.push_back(f.get());
    collectors = collectors_;
    texts = texts_;
  }
  // Families are never removed: the pointers stay valid without the lock.
  std::string out;
  out.reserve(16 << 10);
  std::set<std::string> names;
  for (const FamilyBase* f : fams) {
    names.insert(f->name());
    f->render(out);
  }
  Scrape scrape;
  for (const auto& c : collectors) {
    try {
      c(scrape);
    } catch (...) {
      // A failing source leaves its samples out of this scrape; the rest still renders.
    }
  }
  for (const auto& [name, fam] : scrape.families()) {
    if (!names.insert(name).second) continue;  // never two families of one name
    out += "# HELP " + name + " " + escape_help(fam.help) + "\n";
    out += "# TYPE " + name + " " + std::string(type_name(fam.type)) + "\n";
    for (const auto& s : fam.samples) {
      out += name;
      out += format_labels(s.labels, nullptr);
      out += ' ';
      out += format_value(s.value);
      out += '\n';
    }
  }
  for (const auto& t : texts) {
    try {
      out += t();
    } catch (...) {
    }
  }
  return out;
}

}  // namespace guts::metrics
