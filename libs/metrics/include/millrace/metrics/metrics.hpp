#pragma once

// A small facade over prometheus-cpp: every service gets the same build info
// and process metrics, the same exposition endpoint, and handles that do not
// leak prometheus-cpp into the rest of the code.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace millrace::metrics {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void inc(double by = 1.0);
  double value() const;

 private:
  friend class Registry;
  explicit Counter(prometheus::Counter* c) : c_(c) {}
  prometheus::Counter* c_;
};

class Gauge {
 public:
  void set(double value);
  double value() const;

 private:
  friend class Registry;
  explicit Gauge(prometheus::Gauge* g) : g_(g) {}
  prometheus::Gauge* g_;
};

class Histogram {
 public:
  void observe(double value);

 private:
  friend class Registry;
  explicit Histogram(prometheus::Histogram* h) : h_(h) {}
  prometheus::Histogram* h_;
};

// One sample of a gauge computed when scraped.
struct Sample {
  Labels labels;
  double value;
};

// Buckets for durations from 1 ms to 30 s.
std::vector<double> latency_buckets();
// Buckets for durations from 0.5 ms to 30 s, a quarter to a half apart up to
// 30 ms: for a latency whose p99 is read against a reference's in ms (a
// Kafka acknowledgement's), which latency_buckets() would place only within
// a factor of 2.5.
std::vector<double> fine_latency_buckets();
// Buckets for batch sizes from 1 to 100,000 records.
std::vector<double> size_buckets();

// This build's version (CMake's PROJECT_VERSION), as millrace_build_info
// reports it.
const char* build_version();

// The metrics of one process. Thread-safe; handles stay valid as long as the
// Registry lives. Names follow Prometheus conventions (millrace_ prefix,
// _total counters, base units) and are checked by promtool in the tests.
class Registry {
 public:
  // Registers millrace_build_info{service,version,revision} and the process_*
  // metrics (CPU, resident memory, open fds, start time).
  explicit Registry(std::string service);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Getting the same name and labels twice returns the same metric.
  Counter counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram histogram(const std::string& name, const std::string& help,
                      const std::vector<double>& buckets, const Labels& labels = {});
  // A gauge family whose samples are computed by `collect` at every scrape
  // (ages: "seconds since ..." stay true between updates). `collect` runs on
  // the scraping thread.
  void computed_gauge(const std::string& name, const std::string& help,
                      std::function<std::vector<Sample>()> collect);

  // The text exposition format, as served (runtime::OpsServer, or an HTTP
  // service's own /metrics).
  std::string scrape() const;

  const std::string& service() const { return service_; }

 private:
  struct State;
  std::string service_;
  std::shared_ptr<State> state_;
};

}  // namespace millrace::metrics
