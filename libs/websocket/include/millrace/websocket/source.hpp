#pragma once

// The source's loop: runs (seed 002's scheduled ingestion), each reading a
// feed's frames, mapping them (kinds/feed.hpp) and sending their records to
// Kafka, refused frames to the dead letters, and keeping the run's row and
// its gaps (ingestion_runs, ingestion_gaps). Everything it talks to is an
// interface here, so the accounting is tested without a server.
//
// Accounting: every frame received is, once Kafka has answered for it,
// produced (all its records acknowledged), refused (its dead letter
// acknowledged), control, or lost (Kafka did not take it in time); so at a
// run's end received = produced + refused + control + lost.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/httpd/websocket.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/feed.hpp"

namespace millrace::runtime {
class Health;
class Worker;
}  // namespace millrace::runtime

namespace millrace::websocket {

struct SourceMetrics;

// The feed's connection: httpd::WebSocketClient in the service. Its
// contract is that class's.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void connect() = 0;
  virtual void send_text(std::string_view message) = 0;
  virtual httpd::WebSocketClient::Read read(httpd::WebSocketFrame& frame,
                                            std::chrono::steady_clock::time_point deadline) = 0;
  virtual const std::string& ended() const = 0;
  virtual void close() = 0;
};

// The counts of one run, settled as Kafka answers (on its polling thread).
struct RunCounts {
  std::atomic<std::uint64_t> received{0}, produced{0}, refused{0}, control{0}, lost{0}, records{0};
};

// One frame's answers from Kafka: the last one settles the frame in its
// run's counts (and, for a frame produced, observes the time since
// `received`, when the read returned it), and deletes the ticket.
class Ticket {
 public:
  Ticket(RunCounts& counts, SourceMetrics* metrics, std::size_t answers, bool letter,
         std::chrono::steady_clock::time_point received = {})
      : counts_(counts),
        metrics_(metrics),
        pending_(answers),
        records_(letter ? 0 : answers),
        letter_(letter),
        received_(received) {}
  // Thread-safe; `ok`: the record or letter was acknowledged.
  void answer(bool ok);

 private:
  RunCounts& counts_;
  SourceMetrics* metrics_;
  std::atomic<std::size_t> pending_;
  std::size_t records_;
  bool letter_;
  std::chrono::steady_clock::time_point received_;
  std::atomic<bool> failed_{false};
};

// Where the frames go. Each record or letter gets exactly one
// ticket->answer(), on any thread, once Kafka acknowledged it or gave up.
class Output {
 public:
  virtual ~Output() = default;
  virtual void record(const std::string& key, const std::string& payload, Ticket* ticket) = 0;
  // A refused frame, with headers saying why and where it came from.
  virtual void letter(std::string_view frame,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      Ticket* ticket) = 0;
  // Returns once every ticket given so far has its answers.
  virtual void flush() = 0;
};

struct Gap {
  int number = 0;  // from 1 within the run
  std::int64_t started_us = 0;
  std::optional<std::int64_t> ended_us;
  std::string reason;
  bool dirty = true;  // not yet written as it is
};

// A run as its row says it.
struct RunState {
  std::string run_id, source, feed, url, topic;
  std::int64_t started_us = 0;
  std::optional<std::int64_t> ended_us;
  std::string end_reason;  // finished, stopped, failed
  std::uint64_t received = 0, produced = 0, refused = 0, control = 0, lost = 0, records = 0;
  std::uint32_t reconnections = 0;
  std::vector<Gap> gaps;
};

// Where runs are kept: PostgreSQL in the service. Throws core::InfraError.
class RunStore {
 public:
  virtual ~RunStore() = default;
  // Ends the runs of `source` left open (a crash, a kill): 'interrupted'.
  virtual void end_open_runs(const std::string& source) = 0;
  // Writes the run's row and its dirty gaps.
  virtual void write(const RunState& run) = 0;
};

struct SourceOptions {
  std::string source;               // the runs' source name
  std::string url;                  // redacted, for the rows and the log
  std::string topic;                // the kind's
  std::chrono::seconds run_for{0};  // 0: until stopped
  std::chrono::seconds every{0};    // 0: runs back to back
  std::chrono::milliseconds status_interval{5000};
  std::size_t max_frame_bytes = 1 << 20;
  std::vector<std::string> symbols;
  // A run with fewer records than this share of the previous run's is
  // short (seed 002's ingestion-delta alert); 0: never.
  double alert_below_ratio = 0.5;
};

// The last run that ended, against the one before it: the ingestion-delta
// alert's figures (millrace_websocket_last_run).
struct EndedRun {
  std::string run_id;
  std::int64_t started_us = 0, ended_us = 0;
  std::uint64_t records = 0;
  std::optional<std::uint64_t> previous_records;  // none before the second run
  bool short_run = false;
};

class Source {
 public:
  Source(SourceOptions options, const kinds::FeedDecl& feed, const kinds::Declaration& kind,
         Connection& connection, Output& output, RunStore& store, runtime::Worker& worker,
         SourceMetrics* metrics = nullptr, runtime::Health* health = nullptr);

  // Ends the runs a crash left open. Once, before the first run.
  void recover();
  // One run, to its end or the worker's stop; its row last written with its
  // end. Returns when the next run may start (steady clock).
  std::chrono::steady_clock::time_point run();
  // From any thread (SIGHUP): the symbols, applied at the next frame
  // boundary (unsubscribing the dropped, subscribing the new) and on every
  // connect after.
  void set_symbols(std::vector<std::string> symbols);
  // The last run, as written (the thread that calls run()).
  const RunState& last_run() const { return run_; }
  // The last run that ended; nullopt before the first. Any thread.
  std::optional<EndedRun> last_ended() const;

 private:
  struct RunOver {};
  void connect(std::chrono::steady_clock::time_point end, bool first);
  void handle(const httpd::WebSocketFrame& frame, std::chrono::steady_clock::time_point received);
  void refuse(std::string_view data, std::size_t size, std::string_view reason,
              std::string_view field, std::string_view detail);
  void apply_symbols();
  void open_gap(std::string reason);
  void close_gap();
  void sync(bool force);
  void settle_counts();

  SourceOptions options_;
  const kinds::FeedDecl& feed_;
  const kinds::Declaration& kind_;
  Connection& connection_;
  Output& output_;
  RunStore& store_;
  runtime::Worker& worker_;
  SourceMetrics* metrics_;
  runtime::Health* health_;

  std::optional<std::chrono::steady_clock::time_point> first_start_;
  RunState run_;
  RunCounts counts_;
  bool connected_ = false;
  std::chrono::steady_clock::time_point last_sync_{};
  std::vector<std::string> subscribed_;
  std::mutex symbols_mutex_;
  std::optional<std::vector<std::string>> new_symbols_;
  std::int64_t previous_records_ = -1;
  mutable std::mutex ended_mutex_;
  std::optional<EndedRun> ended_;
};

}  // namespace millrace::websocket
