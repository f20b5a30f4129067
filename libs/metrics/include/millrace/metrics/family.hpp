#pragma once

// A metric family declared once, in one form a program can list without
// making its parts (no Kafka, no PostgreSQL): a constant at namespace scope
// where its probe registers it, which adds itself to the program's catalog.
//
//   const metrics::Family kBatches({.name = "millrace_changefeed_batches_total",
//                                   .type = metrics::Type::kCounter,
//                                   .help = "Kafka transactions committed",
//                                   .group = "changefeed"});
//   ...
//   metrics::Counter batches = kBatches.counter(registry);
//
// A service's hidden --dump-metrics (main::run_main) prints the catalog,
// and scripts/docs-tables writes the docs' metric tables from it: one
// table per group, between the BEGIN/END (metrics: <group>) markers, in
// the order the families are declared.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "millrace/metrics/metrics.hpp"

namespace millrace::metrics {

enum class Type : std::uint8_t { kCounter, kGauge, kHistogram };

struct FamilySpec {
  std::string name = {};  // millrace_..., Prometheus' conventions
  Type type = Type::kCounter;
  std::string help = {};
  // The names of its labels; every registration gives each one a value.
  std::vector<std::string> labels = {};
  // A histogram's upper bounds (latency_buckets(), ...).
  std::vector<double> buckets = {};
  // The docs' table it is listed in (docs/operations.md, docs/api.md).
  std::string group = {};
};

class Family {
 public:
  // Adds the family to catalog(). Throws std::logic_error for a spec
  // without a name, help or group, a histogram without buckets, or a name
  // declared twice with another spec.
  explicit Family(FamilySpec spec);
  ~Family();
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const FamilySpec& spec() const { return spec_; }

  // Registers the family (with these label values) in `registry`. Throws
  // std::logic_error when the type or the labels' names are not the
  // declared ones: a programming error.
  Counter counter(Registry& registry, const Labels& labels = {}) const;
  Gauge gauge(Registry& registry, const Labels& labels = {}) const;
  Histogram histogram(Registry& registry, const Labels& labels = {}) const;
  // A gauge whose samples `collect` computes at every scrape; their labels
  // are the declared ones.
  void computed_gauge(Registry& registry, std::function<std::vector<Sample>()> collect) const;

 private:
  void require(Type type, const Labels& labels) const;
  FamilySpec spec_;
};

// The families this program declares, in the order they were declared
// (within one source file, the order of their definitions).
std::vector<const Family*> catalog();

// catalog() for scripts/docs-tables, one family a line: name, type
// (counter, gauge, histogram), labels (comma-separated), buckets
// (comma-separated), group and help, separated by tabs.
std::string catalog_reference();

}  // namespace millrace::metrics
