// The change feed's Kafka reference for bench/run: a bare transactional
// librdkafka producer (none of Millrace's code) committing one small
// transaction per slot of a fixed schedule, as the feed does for a lone
// commit at a low rate. It prints one JSON line.
//
//   millrace-bench-paced-transactions --brokers HOST:PORT --topic T
//       [--rate 20] [--seconds 20] [--warmup-seconds 2] [--partitions 4]
//       [--offsets-group G] [-X key=value ...]
//
// Each transaction is begin, one produce of a 300-byte value, and commit;
// with --offsets-group, also an offset with metadata sent into the
// transaction for that group before the record, as the feed sends its
// checkpoint. Timed from its slot to commit_transaction()'s return, when
// its record is committed: a transaction that starts late because the one
// before ran past its slot counts that wait, as a change waiting behind the
// feed's publish does.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

using millrace::bench::KafkaPtr;

struct Options : millrace::bench::PacedOptions {
  std::string offsets_group;
  Options() { rate = 20; }
};

constexpr const char* kUsage =
    "usage: millrace-bench-paced-transactions --brokers HOST:PORT --topic T\n"
    "       [--rate N] [--seconds N] [--warmup-seconds N] [--partitions N]\n"
    "       [--offsets-group G] [-X key=value ...]\n";

Options parse(int argc, char** argv) {
  Options o;
  millrace::bench::for_each_flag(argc, argv, kUsage,
                                 [&](const std::string& flag, const std::string& value) {
                                   if (flag == "--offsets-group") {
                                     o.offsets_group = value;
                                     return true;
                                   }
                                   return o.take(flag, value, 1);
                                 });
  if (o.brokers.empty() || o.topic.empty() || o.seconds == 0 || o.partitions == 0) {
    throw std::invalid_argument(
        std::string("--brokers, --topic and nonzero --seconds and --partitions are required\n") +
        kUsage);
  }
  return o;
}

// Throws with the step's name when a transactional call failed.
void check(rd_kafka_error_t* raw, const char* step) {
  if (raw == nullptr) return;
  const KafkaPtr<rd_kafka_error_t> error(raw);
  throw std::runtime_error(std::string(step) + ": " + rd_kafka_error_string(error.get()));
}

KafkaPtr<rd_kafka_t> make_producer(const Options& o) {
  // The change feed's own producer settings (libs/kafka/src/transactional.cpp,
  // libs/changefeed/src/kafka_publisher.cpp); -X overrides them. Delivery
  // reports, as the feed has them, wake the flush in commit_transaction().
  auto rk = millrace::bench::make_producer(
      o.brokers,
      {{"transactional.id", "millrace-bench-paced-transactions." + o.topic},
       {"linger.ms", "5"},
       {"retry.backoff.ms", "5"}},
      o.properties, [](rd_kafka_conf_t* conf) {
        rd_kafka_conf_set_dr_msg_cb(conf,
                                    [](rd_kafka_t*, const rd_kafka_message_t*, void*) noexcept {});
      });
  check(rd_kafka_init_transactions(rk.get(), 60000), "init_transactions");
  return rk;
}

void send_offsets(rd_kafka_t* rk, const Options& o, std::int64_t seq) {
  KafkaPtr<rd_kafka_topic_partition_list_t> list(rd_kafka_topic_partition_list_new(1));
  auto* tp = rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), 0);
  tp->offset = seq + 1;
  // About the size of the feed's checkpoint; the list frees it with free().
  const std::string metadata = "bench checkpoint " + std::to_string(seq) + std::string(40, '.');
  tp->metadata = std::malloc(metadata.size());
  std::memcpy(tp->metadata, metadata.data(), metadata.size());
  tp->metadata_size = metadata.size();
  const KafkaPtr<rd_kafka_consumer_group_metadata_t> cgmd(
      rd_kafka_consumer_group_metadata_new(o.offsets_group.c_str()));
  check(rd_kafka_send_offsets_to_transaction(rk, list.get(), cgmd.get(), 30000),
        "send_offsets_to_transaction");
}

// One transaction: begin, (offsets,) one record, commit; the offsets
// first, as the feed sends its checkpoint.
void transact(rd_kafka_t* rk, const Options& o, const std::string& value, std::int64_t seq) {
  check(rd_kafka_begin_transaction(rk), "begin_transaction");
  if (!o.offsets_group.empty()) send_offsets(rk, o, seq);
  const std::string key = "k" + std::to_string(seq % 1000);
  const rd_kafka_resp_err_t e =
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()),
                        RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(seq % o.partitions)),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(e));
  }
  check(rd_kafka_commit_transaction(rk, 60000), "commit_transaction");
}

int run(const Options& o) {
  const std::int64_t warmup = static_cast<std::int64_t>(o.rate) * o.warmup_seconds;
  const std::int64_t total = warmup + static_cast<std::int64_t>(o.rate) * o.seconds;
  const auto rk = make_producer(o);
  const std::string value(300, 'x');
  std::vector<std::int64_t> from_slot_us;
  from_slot_us.reserve(static_cast<std::size_t>(total - warmup));
  const auto period = std::chrono::nanoseconds(1'000'000'000LL / o.rate);
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const auto first_measured = start + period * warmup;
  for (std::int64_t seq = 0; seq < total; ++seq) {
    const auto due = start + period * seq;
    std::this_thread::sleep_until(due);
    transact(rk.get(), o, value, seq);
    if (seq >= warmup) {
      from_slot_us.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due).count());
    }
  }
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - first_measured).count();
  std::printf(R"({"rate":%d,"seconds":%d,"warmup_seconds":%d,"offsets_group":%s,)"
              R"("transactions":%zu,"transactions_per_s":%.1f,"slot_to_commit_ms":%s})"
              "\n",
              o.rate, o.seconds, o.warmup_seconds, o.offsets_group.empty() ? "false" : "true",
              from_slot_us.size(), static_cast<double>(from_slot_us.size()) / elapsed_s,
              millrace::bench::percentiles_json(from_slot_us).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-bench-paced-transactions: %s\n", e.what());
    return 1;
  }
}
