#pragma once

// Fills a kind's declared views made after its aggregator had folded
// records (pg::claim_view_fills, migration 0021; docs/views.md, "Adding,
// changing or removing a view"): a part of millrace-aggregator, on a
// worker of its own beside the consumer, so that the other views go on.
//
// The aggregator folds a record into every view once it is on time and
// its identity new. Its records before the claim are in the topic; the
// fill reads each partition from its log start, judging lateness and
// duplicates as the aggregator does (the same rules, from the same
// records, in the same order per partition: the same verdicts), and folds
// the records of the claimed ranges into the view alone. Each chunk's
// folds and the range's progress commit in one transaction, so a fill
// SIGKILLed halfway goes on from its progress, folding nothing twice.
//
// Limits, said in docs/views.md: records past Kafka's retention are not
// read (counted `missing`); the identities met are held in memory for the
// length of a fill.

#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/aggregate/config.hpp"
#include "millrace/core/window.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/runtime/worker.hpp"

namespace millrace::aggregate::detail {

class ViewFiller {
 public:
  // `config` (with a declaration) and `metrics` must outlive this.
  ViewFiller(const AggregatorConfig& config, metrics::Registry& metrics);
  ~ViewFiller();
  ViewFiller(const ViewFiller&) = delete;
  ViewFiller& operator=(const ViewFiller&) = delete;

  // runtime::Lifecycle's part.
  void start();
  void stop();
  bool failed() const { return worker_.failed(); }
  void rethrow_failure() const { worker_.rethrow_failure(); }

 private:
  runtime::Worker::Next round();
  void fill(const pg::ViewFill& fill);
  pqxx::connection& connection();
  // The view's metrics, registered the first time it is filled.
  struct ViewMetrics {
    metrics::Gauge remaining;
    metrics::Counter folded;
  };
  ViewMetrics& metrics_of(const std::string& view);

  const AggregatorConfig& config_;
  metrics::Registry& metrics_;
  std::map<std::string, ViewMetrics> view_metrics_;  // the worker's thread only
  core::LatenessPolicy policy_;
  std::unique_ptr<pqxx::connection> conn_;  // the worker's thread only
  // Last: its thread uses the members above.
  runtime::Worker worker_;
};

}  // namespace millrace::aggregate::detail
