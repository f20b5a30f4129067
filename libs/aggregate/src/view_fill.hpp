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
// Records past Kafka's retention (before its log start) are read from the
// archive millrace-archiver keeps of the topic when the aggregator is told
// where it is (--archive-url): the archived records before the log start,
// then Kafka's, are one partition in offset order. Those neither holds are
// counted `missing`. The identities met are held in memory for the length
// of a fill (docs/views.md says both).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "kind_tables.hpp"
#include "millrace/aggregate/config.hpp"
#include "millrace/archive/capture.hpp"
#include "millrace/archive/index.hpp"
#include "millrace/core/window.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/objstore/store.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/runtime/worker.hpp"

namespace millrace::aggregate::detail {

class ViewFiller {
 public:
  // `config` (with a declaration), `kind` (the handler's: the catalog of
  // the views grouped by it) and `metrics` must outlive this.
  ViewFiller(const AggregatorConfig& config, const KindAggregates& kind,
             metrics::Registry& metrics);
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
  // A partition's archived files with records before `before` (Kafka's log
  // start), in offset order; none without an archive.
  struct ArchivedRange {
    std::vector<archive::ArchivedFile> files;
    std::int64_t stored = 0;  // the archiver's next offset of the partition
    // How many offsets of [from, to) the files hold (their records and the
    // transaction markers between them).
    std::int64_t covering(std::int64_t from, std::int64_t to) const;
  };
  ArchivedRange archived_files(const std::string& topic, std::int32_t partition,
                               std::int64_t before);
  void read_archive(const pg::ViewFill& fill, const ArchivedRange& range,
                    const std::function<void(archive::CaptureRecord&&)>& on_record);

  const AggregatorConfig& config_;
  const KindAggregates& kind_;
  metrics::Registry& metrics_;
  std::map<std::string, ViewMetrics> view_metrics_;  // the worker's thread only
  core::LatenessPolicy policy_;
  std::unique_ptr<pqxx::connection> conn_;          // the worker's thread only
  std::unique_ptr<objstore::ObjectStore> archive_;  // opened when first read
  // Last: its thread uses the members above.
  runtime::Worker worker_;
};

}  // namespace millrace::aggregate::detail
