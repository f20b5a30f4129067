#include "view_fill.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_set>
#include <variant>

#include "millrace/archive/reader.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/metrics/family.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "view_deltas.hpp"

namespace millrace::aggregate::detail {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kComponent = "aggregator.fill";
constexpr milliseconds kIdle{5000};           // between looks for views to fill
constexpr milliseconds kKafkaTimeout{10000};  // a metadata or watermark request
// A partition read stops, to be tried again, when no record came for this
// long before its range's end (a broker that stopped answering).
constexpr auto kReadIdle = std::chrono::seconds(60);

const metrics::Family kFillRemaining(
    {.name = "millrace_aggregator_view_fill_remaining_offsets",
     .type = metrics::Type::kGauge,
     .help = "Offsets of the records before a declared view was made that its fill has still to "
             "read (docs/views.md, \"Adding, changing or removing a view\"); 0 once filled",
     .labels = {"view"},
     .group = "view-fills"});
const metrics::Family kFillFolded(
    {.name = "millrace_aggregator_view_fill_records_total",
     .type = metrics::Type::kCounter,
     .help = "Records a declared view's fill folded into it (on time, each identity once, as the "
             "aggregator folds them), committed",
     .labels = {"view"},
     .group = "view-fills"});

}  // namespace

ViewFiller::ViewFiller(const AggregatorConfig& config, const KindAggregates& kind,
                       metrics::Registry& metrics)
    : config_(config),
      kind_(kind),
      metrics_(metrics),
      worker_({.component = std::string(kComponent), .retry = config.stream.retry}) {
  policy_.max_lateness_us = config.max_lateness_s * 1'000'000;
  policy_.max_future_us = config.max_future_s * 1'000'000;
}

ViewFiller::~ViewFiller() {
  stop();
}

void ViewFiller::start() {
  worker_.spawn([this] { return round(); });
}

void ViewFiller::stop() {
  worker_.stop();
}

ViewFiller::ViewMetrics& ViewFiller::metrics_of(const std::string& view) {
  auto it = view_metrics_.find(view);
  if (it == view_metrics_.end()) {
    it = view_metrics_
             .emplace(view, ViewMetrics{kFillRemaining.gauge(metrics_, {{"view", view}}),
                                        kFillFolded.counter(metrics_, {{"view", view}})})
             .first;
  }
  return it->second;
}

pqxx::connection& ViewFiller::connection() {
  if (!conn_ || !conn_->is_open()) {
    const auto& pg = config_.stream.pg;
    conn_ = pg::connect(pg.url, pg.schema, "millrace-aggregator-fill", pg.limits);
  }
  return *conn_;
}

runtime::Worker::Next ViewFiller::round() {
  try {
    for (const auto& f : pg::pending_view_fills(connection(), config_.kinds.declaration->kind)) {
      if (worker_.stopping()) return runtime::Worker::Next::done();
      fill(f);
    }
  } catch (const pqxx::failure&) {
    conn_.reset();
    pg::rethrow_classified("filling declared views");
  }
  return runtime::Worker::Next::after(kIdle);
}

std::int64_t ViewFiller::ArchivedRange::covering(std::int64_t from, std::int64_t to) const {
  std::int64_t out = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    // The last file holds up to where the archiver read (markers after its
    // last record); an earlier one up to its last record.
    std::int64_t end = std::max(f.last_offset + 1, f.from_offset);
    if (i + 1 == files.size()) end = std::max(end, stored);
    out += std::max<std::int64_t>(0, std::min(end, to) - std::max(f.from_offset, from));
  }
  return out;
}

ViewFiller::ArchivedRange ViewFiller::archived_files(const std::string& topic,
                                                     std::int32_t partition, std::int64_t before) {
  ArchivedRange out;
  if (config_.archive.url.empty()) return out;
  pqxx::read_transaction tx(connection());
  archive::FileFilter only;
  only.partition = partition;
  for (auto& f : archive::load_files(tx, config_.archive_group, topic, only)) {
    if (f.from_offset < before) out.files.push_back(std::move(f));
  }
  const auto stored = archive::load_stored(tx, config_.archive_group, topic);
  if (const auto it = stored.find(partition); it != stored.end()) out.stored = it->second;
  return out;
}

void ViewFiller::read_archive(const pg::ViewFill& f, const ArchivedRange& range,
                              const std::function<void(archive::CaptureRecord&&)>& on_record) {
  runtime::log_info(kComponent, "view " + f.view + ": reading " +
                                    std::to_string(range.files.size()) + " archived file(s) of " +
                                    f.topic + "[" + std::to_string(range.files.front().partition) +
                                    "] for the records Kafka no longer holds");
  try {
    if (!archive_) archive_ = objstore::open_store(config_.archive);
    archive::read_archived(*archive_, "", f.topic, range.files, on_record);
  } catch (const objstore::StoreError& e) {
    throw core::InfraError(core::FailureClass::kRetryable,
                           "filling view " + f.view + " from the archive: " + e.what());
  }
}

// Every partition of the ranges is read from its log start (from the
// archive first, when Kafka no longer holds its first records): the identities
// met on one partition are duplicates on the next, as the aggregator's
// seen identities make them, and each partition's newest time judges its
// lateness. Only the records of a range not yet done fold.
void ViewFiller::fill(const pg::ViewFill& f) {
  const auto& d = *config_.kinds.declaration;
  const auto view = std::find_if(d.views.begin(), d.views.end(),
                                 [&](const kinds::ViewDecl& v) { return v.name == f.view; });
  if (view == d.views.end()) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "view " + f.view + " is being filled for kind " + d.kind +
                               " but this aggregator's declaration has no such view: run every "
                               "aggregator of the kind with the same declaration");
  }
  runtime::log_info(kComponent, "filling view " + f.view + " from " + f.topic +
                                    "'s records before the aggregator's offsets when it claimed "
                                    "the view");
  const kinds::DeclaredCodec codec(d);
  // Assigned by hand, never by a group: no rebalance to hear of.
  kafka::Consumer consumer(kafka::follower_config(config_.stream.kafka, config_.stream.group),
                           nullptr);
  std::unordered_set<std::string> seen;
  std::optional<core::TimestampUs> db_now;
  std::int64_t folded = 0, missing_total = 0;
  auto& m = metrics_of(f.view);
  std::int64_t remaining = 0;
  for (const auto& range : f.partitions)
    remaining += std::max<std::int64_t>(0, range.until - range.done);
  m.remaining.set(static_cast<double>(remaining));
  // A view grouped by the catalog takes each product as the catalog holds
  // it now, when the record is folded: not as it was when the record came.
  const auto catalog = view->needs_catalog() ? kind_.catalog_lookup() : detail::ProductLookup{};
  for (const auto& range : f.partitions) {
    // Not a structured binding: the lambdas below capture it.
    const std::int64_t low = consumer.watermarks(f.topic, range.partition, kKafkaTimeout).first;
    std::int64_t done = range.done;
    // Offsets before the log start are past Kafka's retention: the
    // archive's, those it holds (archived_records), else missing.
    const auto archived = low > 0 ? archived_files(f.topic, range.partition, low) : ArchivedRange{};
    std::int64_t missing = std::max<std::int64_t>(0, std::min(low, range.until) - done) -
                           archived.covering(done, std::min(low, range.until));
    ViewDeltas deltas(d, *view, catalog);
    std::int64_t rows = 0;
    const auto commit = [&](std::int64_t to) {
      pqxx::work tx(connection());
      apply_view(tx, d, *view, deltas);
      pg::advance_view_fill(tx, f.view, {range.partition, range.until, done}, to, missing);
      tx.commit();
      m.folded.inc(static_cast<double>(rows));
      remaining -= to - done;
      m.remaining.set(static_cast<double>(remaining));
      missing_total += missing;
      folded += rows;
      done = to;
      missing = 0;
      rows = 0;
      deltas = ViewDeltas(d, *view, catalog);
    };
    std::optional<core::TimestampUs> max_ts;  // the partition's newest on-time record
    // Each record of the partition, in offset order, from the archive and
    // then from Kafka: judged, and folded when it is the range's.
    const auto take = [&](std::int64_t offset, std::string_view payload,
                          std::optional<std::string_view> type, std::int64_t stamp) {
      auto parsed = codec.parse(payload, type);
      if (std::holds_alternative<core::Rejection>(parsed)) return;
      const auto& record = std::get<kinds::Record>(parsed);
      const auto ts = codec.time(record);
      if (stamp < 0 && !db_now) {
        pqxx::read_transaction tx(connection());
        db_now =
            tx.exec1("SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint")[0]
                .as<std::int64_t>();
      }
      const auto verdict =
          core::judge_time(ts, max_ts, core::future_reference(stamp, db_now.value_or(0)), policy_);
      if (verdict != core::TimeVerdict::kOnTime) return;
      if (!max_ts || ts > *max_ts) max_ts = ts;
      // An identity folds once; the store event's reused at another time
      // is another event (KindAggregates::ids_reused()).
      auto key = codec.identity(record);
      if (kind_.ids_reused()) key += "@" + std::to_string(ts);
      if (!seen.insert(std::move(key)).second) return;
      if (offset < done || offset >= range.until) return;  // folded before, or the aggregator's
      deltas.fold(record);
      if (++rows >= config_.view_fill_chunk) commit(offset + 1);
    };
    if (!archived.files.empty()) {
      read_archive(f, archived, [&](archive::CaptureRecord&& rec) {
        if (rec.offset >= low || worker_.stopping()) return;  // Kafka's
        std::optional<std::string_view> type;
        for (const auto& [name, value] : rec.headers) {
          if (name == core::kHeaderEventType) type = value;
        }
        take(rec.offset, rec.body ? std::string_view(*rec.body) : std::string_view(), type,
             rec.timestamp_ms);
      });
      if (worker_.stopping()) return;
    }
    if (low >= range.until) {
      if (done < range.until) commit(range.until);
      continue;
    }
    consumer.assign({{f.topic, range.partition, low}});
    std::int64_t next = low;
    auto last_record = Clock::now();
    while (next < range.until) {
      if (worker_.stopping()) return;
      auto msg = consumer.poll(milliseconds(200));
      if (!msg) {
        // Past the last record (transaction markers, aborted records): the
        // position says.
        for (const auto& tp : consumer.positions({{f.topic, range.partition, 0}})) {
          if (tp.offset >= range.until) next = range.until;
        }
        if (next < range.until && Clock::now() - last_record > kReadIdle) {
          throw core::InfraError(core::FailureClass::kRetryable,
                                 "filling view " + f.view + ": no record of " + f.topic + "[" +
                                     std::to_string(range.partition) + "] for 60 s before offset " +
                                     std::to_string(range.until));
        }
        continue;
      }
      last_record = Clock::now();
      if (msg->partition() != range.partition) continue;
      if (msg->offset() >= range.until) break;
      next = msg->offset() + 1;
      take(msg->offset(), msg->payload(), msg->header(core::kHeaderEventType),
           msg->timestamp_ms().value_or(-1));
    }
    if (done < range.until) commit(range.until);
  }
  runtime::log_info(kComponent, "view " + f.view + ": filled with " + std::to_string(folded) +
                                    " record(s) folded now" +
                                    (missing_total > 0 ? "; " + std::to_string(missing_total) +
                                                             " offset(s) were past Kafka's "
                                                             "retention and not in the archive: "
                                                             "missing"
                                                       : std::string()));
}

}  // namespace millrace::aggregate::detail
