#pragma once

// The websocket source's metric families (metrics/family.hpp), in the
// order of its table in docs/operations.md, and the probe's handles of
// those without labels, registered in the order a scrape lists the
// families of a type in.

#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::websocket {

inline const metrics::Family kReceived({.name = "millrace_websocket_frames_received_total",
                                        .type = metrics::Type::kCounter,
                                        .help = "Frames received from the feed",
                                        .group = "websocket"});
inline const metrics::Family kProduced({.name = "millrace_websocket_frames_produced_total",
                                        .type = metrics::Type::kCounter,
                                        .help = "Frames whose records Kafka acknowledged",
                                        .group = "websocket"});
inline const metrics::Family kRefused(
    {.name = "millrace_websocket_frames_refused_total",
     .type = metrics::Type::kCounter,
     .help = "Frames refused to the dead-letter topic (ingestion_runs and the log "
             "say why)",
     .group = "websocket"});
inline const metrics::Family kControl(
    {.name = "millrace_websocket_frames_control_total",
     .type = metrics::Type::kCounter,
     .help = "Control frames (pings, acknowledgements): counted, not produced",
     .group = "websocket"});
inline const metrics::Family kLost({.name = "millrace_websocket_frames_lost_total",
                                    .type = metrics::Type::kCounter,
                                    .help = "Frames Kafka did not take within the produce timeout",
                                    .group = "websocket"});
inline const metrics::Family kRecords({.name = "millrace_websocket_records_produced_total",
                                       .type = metrics::Type::kCounter,
                                       .help = "Records produced (a frame may carry several)",
                                       .group = "websocket"});
inline const metrics::Family kReconnections(
    {.name = "millrace_websocket_reconnections_total",
     .type = metrics::Type::kCounter,
     .help = "Connections made again after a loss within a run",
     .group = "websocket"});
inline const metrics::Family kConnected({.name = "millrace_websocket_connected",
                                         .type = metrics::Type::kGauge,
                                         .help = "1 while connected and subscribed",
                                         .group = "websocket"});
inline const metrics::Family kRunRecords({.name = "millrace_websocket_run_records",
                                          .type = metrics::Type::kGauge,
                                          .help = "Records produced by the run in progress",
                                          .group = "websocket"});
inline const metrics::Family kLastRunRecords({.name = "millrace_websocket_last_run_records",
                                              .type = metrics::Type::kGauge,
                                              .help = "Records produced by the last run that ended",
                                              .group = "websocket"});
inline const metrics::Family kPreviousRunRecords(
    {.name = "millrace_websocket_previous_run_records",
     .type = metrics::Type::kGauge,
     .help = "Records produced by the run before the last (-1 until two runs have "
             "ended)",
     .group = "websocket"});
inline const metrics::Family kLastRunEnd(
    {.name = "millrace_websocket_last_run_end_timestamp_seconds",
     .type = metrics::Type::kGauge,
     .help = "When the last run ended (Unix time; 0 before the first)",
     .group = "websocket"});
inline const metrics::Family kFrameAckSeconds(
    {.name = "millrace_websocket_frame_ack_seconds",
     .type = metrics::Type::kHistogram,
     .help = "From a frame's arrival (the read that returned it) to Kafka's "
             "acknowledgement of its last record, for the frames produced; buckets "
             "from 0.5 ms, a quarter to a half apart up to 30 ms (docs/benchmarks.md "
             "reads its p99)",
     .buckets = metrics::fine_latency_buckets(),
     .group = "websocket"});
inline const metrics::Family kLastRun(
    {.name = "millrace_websocket_last_run",
     .type = metrics::Type::kGauge,
     .help = "The last run that ended, with its id, start, end, records, the "
             "previous run's records and the difference as labels: 1 when it is "
             "short (fewer records than --alert-below-ratio, "
             "MILLRACE_WEBSOCKET_ALERT_BELOW_RATIO, of the previous run's: the alert "
             "MillraceIngestionRunShort), else 0",
     .labels = {"run_id", "started_at", "ended_at", "records", "previous_records", "delta"},
     .group = "websocket"});

struct SourceMetrics {
  explicit SourceMetrics(metrics::Registry& registry)
      : received(kReceived.counter(registry)),
        produced(kProduced.counter(registry)),
        refused(kRefused.counter(registry)),
        control(kControl.counter(registry)),
        lost(kLost.counter(registry)),
        records(kRecords.counter(registry)),
        reconnections(kReconnections.counter(registry)),
        connected(kConnected.gauge(registry)),
        run_records(kRunRecords.gauge(registry)),
        last_run_records(kLastRunRecords.gauge(registry)),
        previous_run_records(kPreviousRunRecords.gauge(registry)),
        frame_ack_seconds(kFrameAckSeconds.histogram(registry)),
        last_run_end(kLastRunEnd.gauge(registry)) {}

  metrics::Counter received;
  metrics::Counter produced;
  metrics::Counter refused;
  metrics::Counter control;
  metrics::Counter lost;
  metrics::Counter records;
  metrics::Counter reconnections;
  metrics::Gauge connected;
  metrics::Gauge run_records;
  metrics::Gauge last_run_records;
  metrics::Gauge previous_run_records;
  metrics::Histogram frame_ack_seconds;
  metrics::Gauge last_run_end;
};

}  // namespace millrace::websocket
