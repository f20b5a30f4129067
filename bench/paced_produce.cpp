// The latency reference for bench/run: what Kafka's acknowledgement alone
// costs at a fixed rate on this machine. A bare librdkafka producer (none of
// Millrace's code) sends the benchmark's own payloads on a fixed schedule
// and times each message from its slot to its delivery report, with the same
// threading as millrace-producer: one thread produces, one serves delivery
// reports. Prints one JSON line.
//
//   millrace-bench-paced-produce --brokers HOST:PORT --topic T --payloads FILE
//       [--rate 1500] [--seconds 20] [--warmup-seconds 2] [--partitions 4]
//       [-X key=value ...]
//
// Kafka's ProducerPerformance can pace too (--throughput), but its client is
// a JVM started for the run: its JIT put a 0.6 s stall and a p99 of 73 ms
// into a 20 s run at 1,500 records/s on this machine, which measures the
// client's start, not the broker's acknowledgement.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
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

namespace {

using Clock = std::chrono::steady_clock;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;

struct Options {
  std::string brokers;
  std::string topic;
  std::string payloads;
  int rate = 1500;
  int seconds = 20;
  int warmup_seconds = 2;
  int partitions = 4;
  std::vector<std::pair<std::string, std::string>> properties;
};

constexpr const char* kUsage =
    "usage: millrace-bench-paced-produce --brokers HOST:PORT --topic T --payloads FILE\n"
    "       [--rate N] [--seconds N] [--warmup-seconds N] [--partitions N] [-X key=value ...]\n";

int positive(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || n < 0) throw std::invalid_argument(flag + ": not a count: " + value);
  return n;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value\n" + kUsage);
    const std::string value = argv[++i];
    if (flag == "--brokers") {
      o.brokers = value;
    } else if (flag == "--topic") {
      o.topic = value;
    } else if (flag == "--payloads") {
      o.payloads = value;
    } else if (flag == "--rate") {
      o.rate = positive(flag, value);
    } else if (flag == "--seconds") {
      o.seconds = positive(flag, value);
    } else if (flag == "--warmup-seconds") {
      o.warmup_seconds = positive(flag, value);
    } else if (flag == "--partitions") {
      o.partitions = positive(flag, value);
    } else if (flag == "-X") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("-X wants key=value: " + value);
      o.properties.emplace_back(value.substr(0, eq), value.substr(eq + 1));
    } else {
      throw std::invalid_argument("unknown flag " + flag + "\n" + kUsage);
    }
  }
  if (o.brokers.empty() || o.topic.empty() || o.payloads.empty() || o.rate == 0 ||
      o.seconds == 0 || o.partitions == 0) {
    throw std::invalid_argument(std::string("--brokers, --topic, --payloads and nonzero --rate, "
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
// needs no lock.
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
  } else {
    run->from_schedule_us[seq] =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - run->due[seq])
            .count();
    run->from_enqueue_us[seq] = rd_kafka_message_latency(msg);
  }
  run->reported.fetch_add(1, std::memory_order_release);
}

std::string percentiles(std::vector<std::int64_t> us) {
  us.erase(std::remove(us.begin(), us.end(), -1), us.end());
  if (us.empty()) return "null";
  std::sort(us.begin(), us.end());
  const auto at = [&](double p) {
    // Nearest rank, as bench/wrk/ingest.lua computes it.
    const auto rank = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(us.size()))), 1,
        us.size());
    return static_cast<double>(us[rank - 1]) / 1000.0;
  };
  char buf[200];
  std::snprintf(buf, sizeof buf,
                R"({"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f,"samples":%zu})", at(50), at(99),
                at(99.9), static_cast<double>(us.back()) / 1000.0, us.size());
  return buf;
}

int run_reference(const Options& o) {
  const std::vector<std::string> payloads = read_payloads(o.payloads);
  const std::int64_t warmup = static_cast<std::int64_t>(o.rate) * o.warmup_seconds;
  const std::int64_t total = warmup + static_cast<std::int64_t>(o.rate) * o.seconds;
  Run run;
  run.due.resize(static_cast<std::size_t>(total));
  run.from_schedule_us.assign(static_cast<std::size_t>(total), -1);
  run.from_enqueue_us.assign(static_cast<std::size_t>(total), -1);

  char err[512];
  ConfPtr conf(rd_kafka_conf_new());
  const auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      throw std::invalid_argument(key + "=" + value + ": " + err);
    }
  };
  set("bootstrap.servers", o.brokers);
  for (const auto& [key, value] : o.properties) set(key, value);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), &run);
  KafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  conf.release();  // rd_kafka_new took it

  std::atomic<bool> stop{false};
  std::thread poller([&] {
    while (!stop.load(std::memory_order_relaxed)) rd_kafka_poll(rk.get(), 100);
  });

  const auto period = std::chrono::nanoseconds(1'000'000'000LL / o.rate);
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  std::int64_t sent = 0;
  int produce_error = 0;
  for (std::int64_t seq = 0; seq < total; ++seq) {
    const auto due = start + period * seq;
    std::this_thread::sleep_until(due);
    run.due[static_cast<std::size_t>(seq)] = due;
    const std::string& payload = payloads[static_cast<std::size_t>(seq) % payloads.size()];
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        rk.get(), RD_KAFKA_V_TOPIC(o.topic.c_str()),
        RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(seq % o.partitions)),
        RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq))),
        RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // At a paced rate far below the queue's limits this is a broken setup.
      std::fprintf(stderr, "millrace-bench-paced-produce: produce: %s\n", rd_kafka_err2str(e));
      produce_error = 1;
      break;
    }
    ++sent;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (run.reported.load(std::memory_order_acquire) < sent && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  poller.join();
  const std::int64_t reported = run.reported.load(std::memory_order_acquire);
  if (reported < sent) {
    std::fprintf(stderr, "millrace-bench-paced-produce: %lld of %lld messages unreported after 30 s\n",
                 static_cast<long long>(sent - reported), static_cast<long long>(sent));
    return 1;
  }

  const auto measured = [&](std::vector<std::int64_t>& v) {
    return std::vector<std::int64_t>(v.begin() + std::min<std::int64_t>(warmup, sent),
                                     v.begin() + sent);
  };
  std::printf(
      R"({"rate":%d,"seconds":%d,"warmup_seconds":%d,"sent":%lld,"failed":%lld,)"
      R"("first_error":"%s","from_schedule_ms":%s,"from_enqueue_ms":%s})"
      "\n",
      o.rate, o.seconds, o.warmup_seconds, static_cast<long long>(sent - std::min(warmup, sent)),
      static_cast<long long>(run.failed.load()), run.first_error.c_str(),
      percentiles(measured(run.from_schedule_us)).c_str(),
      percentiles(measured(run.from_enqueue_us)).c_str());
  return produce_error != 0 || run.failed.load() != 0 ? 1 : 0;
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
