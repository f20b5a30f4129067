#pragma once

// The metric families of the probe that do not need labels, registered
// in this order (the order a scrape lists the families of a type in).

#include "millrace/metrics/metrics.hpp"

namespace millrace::websocket {

struct SourceMetrics {
  explicit SourceMetrics(metrics::Registry& registry)
      : received(registry.counter("millrace_websocket_frames_received_total",
                                  "Frames received from the feed")),
        produced(registry.counter("millrace_websocket_frames_produced_total",
                                  "Frames whose records Kafka acknowledged")),
        refused(registry.counter(
            "millrace_websocket_frames_refused_total",
            "Frames refused to the dead-letter topic (ingestion_runs and the log say why)")),
        control(
            registry.counter("millrace_websocket_frames_control_total",
                             "Control frames (pings, acknowledgements): counted, not produced")),
        lost(registry.counter("millrace_websocket_frames_lost_total",
                              "Frames Kafka did not take within the produce timeout")),
        records(registry.counter("millrace_websocket_records_produced_total",
                                 "Records produced (a frame may carry several)")),
        reconnections(registry.counter("millrace_websocket_reconnections_total",
                                       "Connections made again after a loss within a run")),
        connected(
            registry.gauge("millrace_websocket_connected", "1 while connected and subscribed")),
        run_records(registry.gauge("millrace_websocket_run_records",
                                   "Records produced by the run in progress")),
        last_run_records(registry.gauge("millrace_websocket_last_run_records",
                                        "Records produced by the last run that ended")),
        previous_run_records(registry.gauge(
            "millrace_websocket_previous_run_records",
            "Records produced by the run before the last (-1 until two runs have ended)")),
        frame_ack_seconds(
            registry.histogram("millrace_websocket_frame_ack_seconds",
                               "From a frame's arrival (its read) to Kafka's acknowledgement of "
                               "its last record, for frames produced",
                               metrics::fine_latency_buckets())),
        last_run_end(registry.gauge("millrace_websocket_last_run_end_timestamp_seconds",
                                    "When the last run ended (Unix time; 0 before the first)")) {}

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
