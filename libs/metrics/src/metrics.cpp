#include "millrace/metrics/metrics.hpp"

#include <dirent.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

// Generated at build time by cmake/revision.cmake; only this file includes
// it, so a new commit recompiles one object.
#include "millrace_revision.hpp"

#ifndef MILLRACE_VERSION
#define MILLRACE_VERSION "unknown"
#endif

namespace millrace::metrics {

void Counter::inc(double by) {
  c_->Increment(by);
}
double Counter::value() const {
  return c_->Value();
}
void Gauge::set(double value) {
  g_->Set(value);
}
double Gauge::value() const {
  return g_->Value();
}
void Histogram::observe(double value) {
  h_->Observe(value);
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}
std::vector<double> fine_latency_buckets() {
  return {0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.007,
          0.008,  0.01,  0.0125, 0.015, 0.0175, 0.02,  0.025, 0.03,  0.04,  0.05,
          0.075,  0.1,   0.25,   0.5,   1,      2.5,   5,     10,    30};
}
std::vector<double> size_buckets() {
  return {1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000};
}

namespace {

struct Computed {
  std::string name;
  std::string help;
  std::function<std::vector<Sample>()> collect;
};

// Gauges computed at scrape time, and the process metrics (read from /proc,
// which prometheus-cpp does not do).
class ComputedCollectable final : public prometheus::Collectable {
 public:
  explicit ComputedCollectable(double start_time) : start_time_(start_time) {}

  void add(Computed c) {
    std::lock_guard lock(mutex_);
    computed_.push_back(std::move(c));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    std::vector<Computed> computed;
    {
      std::lock_guard lock(mutex_);
      computed = computed_;
    }
    for (const auto& c : computed) {
      prometheus::MetricFamily family{c.name, c.help, prometheus::MetricType::Gauge, {}};
      for (const auto& s : c.collect()) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
        m.gauge.value = s.value;
        family.metric.push_back(std::move(m));
      }
      out.push_back(std::move(family));
    }
    add_process(out);
    return out;
  }

 private:
  static prometheus::MetricFamily single(std::string name, std::string help,
                                         prometheus::MetricType type, double value) {
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    return {std::move(name), std::move(help), type, {m}};
  }

  void add_process(std::vector<prometheus::MetricFamily>& out) const {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name, which may contain spaces, end with ')'.
    const auto close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(text.substr(close + 2));
      std::vector<std::string> f;
      for (std::string x; fields >> x;) f.push_back(x);
      // f[0] is field 3 (state); utime is field 14, stime 15, rss 24.
      if (f.size() > 21) {
        const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        const double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
        out.push_back(single("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.",
                             prometheus::MetricType::Counter, cpu));
        out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                             prometheus::MetricType::Gauge, rss));
      }
    }
    double fds = 0;
    if (DIR* dir = opendir("/proc/self/fd")) {
      while (readdir(dir) != nullptr) ++fds;
      closedir(dir);
      fds -= 3;  // ".", ".." and the directory's own descriptor
    }
    out.push_back(single("process_open_fds", "Number of open file descriptors.",
                         prometheus::MetricType::Gauge, fds));
    out.push_back(single("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         prometheus::MetricType::Gauge, start_time_));
  }

  double start_time_;
  mutable std::mutex mutex_;
  std::vector<Computed> computed_;
};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct Registry::State {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ComputedCollectable> computed = std::make_shared<ComputedCollectable>(unix_now());
};

Registry::Registry(std::string service)
    : service_(std::move(service)), state_(std::make_shared<State>()) {
  gauge("millrace_build_info", "Build of this Millrace service; always 1.",
        {{"service", service_}, {"version", MILLRACE_VERSION}, {"revision", MILLRACE_REVISION}})
      .set(1);
}

Registry::~Registry() = default;

Counter Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(*state_->registry);
  return Counter(&family.Add(labels));
}

Gauge Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*state_->registry);
  return Gauge(&family.Add(labels));
}

Histogram Registry::histogram(const std::string& name, const std::string& help,
                              const std::vector<double>& buckets, const Labels& labels) {
  auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(*state_->registry);
  return Histogram(&family.Add(labels, buckets));
}

void Registry::computed_gauge(const std::string& name, const std::string& help,
                              std::function<std::vector<Sample>()> collect) {
  state_->computed->add({name, help, std::move(collect)});
}

std::string Registry::scrape() const {
  auto families = state_->registry->Collect();
  for (auto& f : state_->computed->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

const char* build_version() {
  return MILLRACE_VERSION;
}

}  // namespace millrace::metrics
