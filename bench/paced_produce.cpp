// Kafka's references for bench/run, from a bare librdkafka producer (none of
// Millrace's code) with the same threading as millrace-producer: one thread
// produces, one serves delivery reports. It sends the benchmark's own
// payloads and prints one JSON line.
//
//   millrace-bench-paced-produce --brokers HOST:PORT --topic T --payloads FILE
//       [--rate 1500] [--seconds 20] [--warmup-seconds 2] [--partitions 4]
//       [-X key=value ...]
//
// With a rate, what Kafka's acknowledgement alone costs at that rate: each
// message is timed from its slot on a fixed schedule to its delivery report.
// With --rate 0, what Kafka's ingest alone gives: messages flat out for the
// given seconds (after a warm-up as long as --warmup-seconds), reported as
// acknowledged messages per second from the first send to the last report.
//
// Kafka's ProducerPerformance can pace too (--throughput), but its client is
// a JVM started for the run: its JIT stalls the first seconds of a paced run,
// which measures the client's start, not the broker's acknowledgement.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kafka_tool.hpp"
#include "tool.hpp"

namespace {

using Clock = std::chrono::steady_clock;

using KafkaPtr = millrace::bench::KafkaPtr<rd_kafka_t>;

struct Options : millrace::bench::PacedOptions {
  std::string payloads;
  Options() { rate = 1500; }
};

constexpr const char* kUsage =
    "usage: millrace-bench-paced-produce --brokers HOST:PORT --topic T --payloads FILE\n"
    "       [--rate N] [--seconds N] [--warmup-seconds N] [--partitions N] [-X key=value ...]\n";

Options parse(int argc, char** argv) {
  Options o;
  millrace::bench::for_each_flag(argc, argv, kUsage,
                                 [&](const std::string& flag, const std::string& value) {
                                   if (flag == "--payloads") {
                                     o.payloads = value;
                                     return true;
                                   }
                                   return o.take(flag, value, 0);  // --rate 0: flat out
                                 });
  if (o.brokers.empty() || o.topic.empty() || o.payloads.empty() || o.seconds == 0 ||
      o.partitions == 0) {
    throw std::invalid_argument(std::string("--brokers, --topic, --payloads and nonzero "
                                            "--seconds and --partitions are required\n") +
                                kUsage);
  }
  return o;
}

std::vector<std::string> read_payloads(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line) && lines.size() < 100'000;) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  if (lines.empty()) throw std::runtime_error(path + " holds no payloads");
  return lines;
}

// Written by the delivery-report callback, read by main after every report
// is in. Each message owns its own slot in the vectors, so the callback
// needs no lock. Flat out, the vectors stay empty and reports are only
// counted.
struct Run {
  std::vector<Clock::time_point> due;  // the message's slot
  std::vector<std::int64_t> from_schedule_us;
  std::vector<std::int64_t> from_enqueue_us;
  std::atomic<std::int64_t> reported{0};
  std::atomic<std::int64_t> failed{0};
  std::string first_error;  // written once, by the report that makes failed 1
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* run = static_cast<Run*>(opaque);
  const auto seq = reinterpret_cast<std::uintptr_t>(msg->_private);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (run->failed.fetch_add(1) == 0) run->first_error = rd_kafka_err2str(msg->err);
  } else if (seq < run->due.size()) {
    run->from_schedule_us[seq] =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - run->due[seq]).count();
    run->from_enqueue_us[seq] = rd_kafka_message_latency(msg);
  }
  run->reported.fetch_add(1, std::memory_order_release);
}

KafkaPtr make_producer(const Options& o, Run& run) {
  return millrace::bench::make_producer(o.brokers, {}, o.properties, [&](rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &run);
  });
}

rd_kafka_resp_err_t send(rd_kafka_t* rk, const Options& o, const std::string& payload,
                         std::int64_t seq) {
  return rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(o.topic.c_str()),
      RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(seq % o.partitions)),
      RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq))), RD_KAFKA_V_END);
}

// Waits until `sent` messages have their reports; false after 30 s.
bool await_reports(const Run& run, std::int64_t sent) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (run.reported.load(std::memory_order_acquire) < sent) {
    if (Clock::now() >= deadline) {
      std::fprintf(
          stderr, "millrace-bench-paced-produce: %lld of %lld messages unreported after 30 s\n",
          static_cast<long long>(sent - run.reported.load()), static_cast<long long>(sent));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A thread that serves delivery reports until the object goes away.
class Poller {
 public:
  explicit Poller(rd_kafka_t* rk)
      : thread_([this, rk] {
          while (!stop_.load(std::memory_order_relaxed)) rd_kafka_poll(rk, 100);
        }) {}
  ~Poller() {
    stop_ = true;
    thread_.join();
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int run_paced(const Options& o, const std::vector<std::string>& payloads) {
  const std::int64_t warmup = static_cast<std::int64_t>(o.rate) * o.warmup_seconds;
  const std::int64_t total = warmup + static_cast<std::int64_t>(o.rate) * o.seconds;
  Run run;
  run.due.resize(static_cast<std::size_t>(total));
  run.from_schedule_us.assign(static_cast<std::size_t>(total), -1);
  run.from_enqueue_us.assign(static_cast<std::size_t>(total), -1);
  KafkaPtr rk = make_producer(o, run);
  std::int64_t sent = 0;
  int produce_error = 0;
  {
    const Poller poller(rk.get());
    const auto period = std::chrono::nanoseconds(1'000'000'000LL / o.rate);
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    for (std::int64_t seq = 0; seq < total; ++seq) {
      const auto due = start + period * seq;
      std::this_thread::sleep_until(due);
      run.due[static_cast<std::size_t>(seq)] = due;
      const rd_kafka_resp_err_t e =
          send(rk.get(), o, payloads[static_cast<std::size_t>(seq) % payloads.size()], seq);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // At a paced rate far below the queue's limits this is a broken setup.
        std::fprintf(stderr, "millrace-bench-paced-produce: produce: %s\n", rd_kafka_err2str(e));
        produce_error = 1;
        break;
      }
      ++sent;
    }
    if (!await_reports(run, sent)) return 1;
  }

  const auto measured = [&](std::vector<std::int64_t>& v) {
    return std::vector<std::int64_t>(v.begin() + std::min<std::int64_t>(warmup, sent),
                                     v.begin() + sent);
  };
  std::printf(R"({"rate":%d,"seconds":%d,"warmup_seconds":%d,"sent":%lld,"failed":%lld,)"
              R"("first_error":"%s","from_schedule_ms":%s,"from_enqueue_ms":%s})"
              "\n",
              o.rate, o.seconds, o.warmup_seconds,
              static_cast<long long>(sent - std::min(warmup, sent)),
              static_cast<long long>(run.failed.load()), run.first_error.c_str(),
              millrace::bench::percentiles_json(measured(run.from_schedule_us)).c_str(),
              millrace::bench::percentiles_json(measured(run.from_enqueue_us)).c_str());
  return produce_error != 0 || run.failed.load() != 0 ? 1 : 0;
}

int run_flat_out(const Options& o, const std::vector<std::string>& payloads) {
  Run run;
  KafkaPtr rk = make_producer(o, run);
  const Poller poller(rk.get());
  std::int64_t seq = 0;
  // Sends for `seconds`; when librdkafka's queue is full, waits for the
  // poller to drain it, as the CLI does.
  const auto send_for = [&](int seconds) {
    const auto end = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < end) {
      for (int i = 0; i < 1000; ++i, ++seq) {
        rd_kafka_resp_err_t e;
        while ((e = send(rk.get(), o, payloads[static_cast<std::size_t>(seq) % payloads.size()],
                         seq)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(e));
        }
      }
    }
  };
  send_for(o.warmup_seconds);
  if (!await_reports(run, seq)) return 1;
  const std::int64_t first = seq;
  const auto start = Clock::now();
  send_for(o.seconds);
  if (!await_reports(run, seq)) return 1;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const std::int64_t sent = seq - first;
  std::printf(R"({"rate":0,"seconds":%d,"warmup_seconds":%d,"sent":%lld,"failed":%lld,)"
              R"("first_error":"%s","elapsed_s":%.3f,"messages_per_s":%.1f})"
              "\n",
              o.seconds, o.warmup_seconds, static_cast<long long>(sent),
              static_cast<long long>(run.failed.load()), run.first_error.c_str(), elapsed,
              static_cast<double>(sent) / elapsed);
  return run.failed.load() != 0 ? 1 : 0;
}

int run_reference(const Options& o) {
  const std::vector<std::string> payloads = read_payloads(o.payloads);
  return o.rate == 0 ? run_flat_out(o, payloads) : run_paced(o, payloads);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_reference(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-bench-paced-produce: %s\n", e.what());
    return 2;
  }
}
