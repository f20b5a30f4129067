// The sink's handler without Kafka or PostgreSQL: records are handed to it
// as the consumer would, its dead letters and the store's partitions are
// in memory. What only PostgreSQL can say (which ids it holds already,
// which rows it refuses) comes in as the answers the consumer and the
// staging INSERT pass on; the SQL itself is covered by the integration
// tests (integration.exactly-once, integration.store-retention).
#include "handler.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/registry.hpp"
#include "sample_event.hpp"

namespace {

using namespace millrace;
using core::Outcome;
using sink::detail::SinkBatch;
using sink::detail::SinkHandler;

const std::string kA = "00000000-0000-4000-8000-00000000000a";
const std::string kB = "00000000-0000-4000-8000-00000000000b";
constexpr const char* kMay = "2023-05-19T14:36:09.985501";
constexpr const char* kJune = "2023-06-19T14:36:09.985501";

std::string payload(const std::string& id, const std::string& ts = kMay,
                    const std::string& discount = "30") {
  return core::testing::SampleBody()
      .set("id", "\"" + id + "\"")
      .set("ts", "\"" + ts + "\"")
      .set("discount", discount)
      .str();
}

// A dead letter as sent: copies, since the source's views die with the
// record.
struct Letter {
  std::string topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  std::string key, payload;
  std::map<std::string, std::string> headers;  // the record's
  std::map<std::string, std::string> why;
  sink::detail::TrackerRef tracker;
};

class FakeLetters final : public sink::detail::LetterPort {
 public:
  std::vector<Letter> sent;
  std::vector<sink::detail::TrackerRef> awaited;

  void start() override {}
  void flush() override {}
  void send(const sink::detail::LetterSource& s, const sink::detail::LetterReasons& why,
            const sink::detail::TrackerRef& tracker) override {
    Letter l{std::string(s.topic),   s.partition, s.offset, s.timestamp_ms, std::string(s.key),
             std::string(s.payload), {},          {},       tracker};
    for (const auto& [k, v] : s.headers) l.headers.emplace(k, v);
    for (const auto& [k, v] : why) l.why.emplace(k, v);
    sent.push_back(std::move(l));
  }
  void await(const sink::detail::TrackerRef& tracker) override { awaited.push_back(tracker); }
};

class FakePartitions final : public sink::detail::PartitionPort {
 public:
  sink::detail::StoreRules store_rules;
  std::optional<std::int64_t> cutoff;
  std::vector<std::vector<std::int64_t>> ensured;  // each call's times

  const sink::detail::StoreRules& rules() const override { return store_rules; }
  void ensure_for(const std::vector<std::int64_t>& ts_us) override { ensured.push_back(ts_us); }
  std::optional<std::int64_t> cutoff_us() const override { return cutoff; }
};

// A sink handler with its ports in memory, and one batch as the consumer
// fills it.
struct Rig {
  sink::SinkConfig config = [] {
    sink::SinkConfig c;
    c.stream.kafka.topic = "store-events";
    return c;
  }();
  metrics::Registry registry{"test"};
  FakePartitions store;
  FakeLetters* letters = nullptr;
  std::unique_ptr<SinkHandler> handler = [this] {
    auto l = std::make_unique<FakeLetters>();
    letters = l.get();
    return std::make_unique<SinkHandler>(config, nullptr, store, std::move(l), registry, nullptr);
  }();
  stream::Batch batch;
  std::unique_ptr<stream::BatchState> state = handler->open_batch();

  void add(std::int32_t partition, std::int64_t offset, std::string body,
           std::string event_type = "sale_event") {
    const auto msg = kafka::Message::from_record({config.stream.kafka.topic,
                                                  partition,
                                                  offset,
                                                  std::move(body),
                                                  "key-" + std::to_string(offset),
                                                  1'700'000'000'000 + offset,
                                                  {{"event_type", event_type}, {"trace", "t1"}}});
    handler->handle(msg, batch.add(partition, offset, *msg.timestamp_ms()), *state);
  }
  std::uint64_t count(std::int32_t partition, Outcome outcome, std::string_view reason) {
    const auto& counts = batch.at(partition).tally.counts();
    const auto it = counts.find({outcome, reason});
    return it == counts.end() ? 0 : it->second;
  }
  SinkBatch& rows() { return static_cast<SinkBatch&>(*state); }
  const kinds::DeclaredCodec& codec() const { return handler->sink().codec; }
};

}  // namespace

TEST_CASE("sink handler: kept rows are buffered, filtered ones counted, invalid ones dead-lettered",
          "[handler]") {
  Rig rig;
  rig.add(0, 0, payload(kA));
  rig.add(0, 1, payload(kB, kMay, "20"));  // not above the discount threshold
  rig.add(0, 2, payload(kB), "refund_event");
  rig.add(1, 5, "{nope");
  rig.add(1, 6, payload(kA));  // a resend: only PostgreSQL knows it (write())

  CHECK(rig.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.count(0, Outcome::kFiltered, "discount_not_above_threshold") == 1);
  CHECK(rig.count(0, Outcome::kRejected, "unknown_event_type") == 1);
  CHECK(rig.count(1, Outcome::kRejected, "invalid_json") == 1);
  CHECK(rig.count(1, Outcome::kPersisted, "") == 1);

  REQUIRE(rig.rows().rows.size() == 2);
  const auto& row = rig.rows().rows.front();
  CHECK(row.record.identity(rig.codec().declaration()) == kA);
  CHECK(row.partition == 0);
  CHECK(row.offset == 0);
  CHECK(row.key == "key-0");
  CHECK(row.timestamp_ms == 1'700'000'000'000);
  CHECK(row.payload == payload(kA));
  CHECK(row.headers.size() == 2);
  CHECK(rig.rows().rows.back().offset == 6);

  // Each rejected record is a letter with its source and the reason.
  REQUIRE(rig.letters->sent.size() == 2);
  const auto& bad = rig.letters->sent.back();
  CHECK(bad.topic == "store-events");
  CHECK(bad.partition == 1);
  CHECK(bad.offset == 5);
  CHECK(bad.key == "key-5");
  CHECK(bad.payload == "{nope");
  CHECK(bad.timestamp_ms == 1'700'000'000'005);
  CHECK(bad.headers.at("trace") == "t1");
  CHECK(bad.why.at("millrace.reason") == "invalid_json");
  CHECK(bad.tracker == rig.rows().letters);
  CHECK(rig.letters->sent.front().offset == 2);
  CHECK(rig.letters->sent.front().why.at("millrace.reason") == "unknown_event_type");
  CHECK_THAT(rig.letters->sent.front().why.at("millrace.detail"), Catch::Contains("refund_event"));
}

TEST_CASE("sink handler: an event past the partitions made ahead is dead-lettered, not kept",
          "[handler]") {
  Rig rig;
  rig.store.store_rules.ahead = std::chrono::hours(48);
  rig.add(0, 0, payload(kA, "2200-01-01T00:00:00.000000"));
  CHECK(rig.count(0, Outcome::kRejected, "ts_out_of_window") == 1);
  CHECK(rig.rows().rows.empty());
  REQUIRE(rig.letters->sent.size() == 1);
  CHECK(rig.letters->sent[0].why.at("millrace.reason") == "ts_out_of_window");
  CHECK(rig.letters->sent[0].why.at("millrace.field") == "ts");
  CHECK_THAT(rig.letters->sent[0].why.at("millrace.detail"), Catch::Contains("2 days"));
}

TEST_CASE("sink handler: before the commit, partitions for the rows kept and letters durable",
          "[handler]") {
  Rig rig;
  rig.store.cutoff = *core::parse_timestamp("2023-06-01T00:00:00");
  rig.add(0, 0, payload(kA, kMay));  // past the retention: needs no partition
  rig.add(0, 1, payload(kB, kJune));
  rig.add(0, 2, "{nope");
  rig.handler->before_commit(*rig.state);
  REQUIRE(rig.store.ensured.size() == 1);
  CHECK(rig.store.ensured[0] == std::vector<std::int64_t>{*core::parse_timestamp(kJune)});
  REQUIRE(rig.letters->awaited.size() == 1);
  CHECK(rig.letters->awaited[0] == rig.rows().letters);

  // A partition that cannot be made fails the batch before its letters
  // are waited for; the consumer replays it.
  struct Failing final : sink::detail::PartitionPort {
    sink::detail::StoreRules r;
    const sink::detail::StoreRules& rules() const override { return r; }
    void ensure_for(const std::vector<std::int64_t>&) override {
      throw core::InfraError(core::FailureClass::kRetryable, "no partition");
    }
    std::optional<std::int64_t> cutoff_us() const override { return std::nullopt; }
  } failing;
  auto letters = std::make_unique<FakeLetters>();
  auto* sent = letters.get();
  SinkHandler handler(rig.config, nullptr, failing, std::move(letters), rig.registry, nullptr);
  const auto state = handler.open_batch();
  CHECK_THROWS_AS(handler.before_commit(*state), core::InfraError);
  CHECK(sent->awaited.empty());
}

TEST_CASE("sink handler: rows past the retention are counted expired and not written",
          "[handler]") {
  Rig rig;
  rig.add(0, 0, payload(kA, kMay));
  rig.add(0, 1, payload(kB, kJune));
  rig.add(1, 0, payload(kB, kMay));
  const auto all =
      sink::detail::unexpired_rows(rig.batch, rig.codec(), rig.rows().rows, std::nullopt);
  CHECK(all.size() == 3);
  CHECK(rig.batch.at(0).tally.of(Outcome::kExpired) == 0);

  const auto kept = sink::detail::unexpired_rows(rig.batch, rig.codec(), rig.rows().rows,
                                                 *core::parse_timestamp("2023-06-01T00:00:00"));
  REQUIRE(kept.size() == 1);
  CHECK(kept[0]->offset == 1);
  CHECK(rig.count(0, Outcome::kExpired, "retention") == 1);
  CHECK(rig.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.count(1, Outcome::kExpired, "retention") == 1);
  CHECK(rig.count(1, Outcome::kPersisted, "") == 0);
}

TEST_CASE("sink handler: rows PostgreSQL held already are re-counted duplicates", "[handler]") {
  Rig rig;
  rig.add(0, 0, payload(kA));
  rig.add(0, 1, payload(kA));  // resent in the same batch
  rig.add(0, 2, payload(kB));
  rig.add(1, 0, payload(kB));
  const auto rows =
      sink::detail::unexpired_rows(rig.batch, rig.codec(), rig.rows().rows, std::nullopt);
  // The staging INSERT stored two rows of partition 0 and none of partition 1.
  CHECK(sink::detail::count_duplicates(rig.batch, rows, {{0, 2}}) == 2);
  CHECK(rig.count(0, Outcome::kPersisted, "") == 2);
  CHECK(rig.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.count(1, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.batch.at(1).tally.total() == 1);

  // A slice is counted from its own rows, not its batch's.
  Rig slice;
  slice.add(0, 0, payload(kA));
  slice.add(0, 1, payload(kB));
  const auto part = slice.rows().slice(1, 2);
  const auto one = sink::detail::unexpired_rows(slice.batch, slice.codec(),
                                                SinkHandler::of(*part).rows, std::nullopt);
  CHECK(sink::detail::count_duplicates(slice.batch, one, {}) == 1);
  CHECK(slice.count(0, Outcome::kPersisted, "") == 1);
}

TEST_CASE("sink handler: refused rows become dead letters awaited before the commit again",
          "[handler]") {
  Rig rig;
  rig.add(0, 0, payload(kA));
  rig.add(0, 1, payload(kB));
  rig.add(1, 0, payload(kB));
  rig.handler->refuse(rig.batch, *rig.state,
                      {{{0, 1}, "22003", "numeric field overflow"},
                       {{1, 7}, "23514", "a record not in the batch"}});
  CHECK(rig.count(0, Outcome::kRejected, "db_refused") == 1);
  CHECK(rig.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.batch.at(1).tally.of(Outcome::kRejected) == 0);
  REQUIRE(rig.rows().rows.size() == 2);
  CHECK(rig.rows().record(0) == stream::RecordRef{0, 0});
  CHECK(rig.rows().record(1) == stream::RecordRef{1, 0});

  REQUIRE(rig.letters->sent.size() == 1);
  const auto& letter = rig.letters->sent[0];
  CHECK(letter.topic == "store-events");
  CHECK(letter.partition == 0);
  CHECK(letter.offset == 1);
  CHECK(letter.key == "key-1");
  CHECK(letter.payload == payload(kB));
  CHECK(letter.headers.at("event_type") == "sale_event");
  CHECK(letter.why ==
        std::map<std::string, std::string>{{"millrace.reason", "db_refused"},
                                           {"millrace.sqlstate", "22003"},
                                           {"millrace.detail", "numeric field overflow"}});
  CHECK(letter.tracker == rig.rows().letters);
}

TEST_CASE("sink handler: a partition revoked mid-batch is forgotten, its letters still awaited",
          "[handler]") {
  Rig rig;
  rig.add(0, 0, payload(kA));
  rig.add(1, 0, payload(kB));
  rig.add(1, 1, "{nope");
  rig.add(0, 1, payload(kB));
  // What the consumer does on a revoke: the next owner reads partition 1 again.
  rig.state->discard(1);
  rig.batch.drop_partition(1);
  REQUIRE(rig.state->size() == 2);
  CHECK(rig.state->record(0) == stream::RecordRef{0, 0});
  CHECK(rig.state->record(1) == stream::RecordRef{0, 1});
  const auto rows =
      sink::detail::unexpired_rows(rig.batch, rig.codec(), rig.rows().rows, std::nullopt);
  CHECK(rows.size() == 2);
  // A letter already sent stays sent; the batch still waits for it.
  rig.handler->before_commit(*rig.state);
  CHECK(rig.letters->sent.size() == 1);
  CHECK(rig.letters->awaited.at(0) == rig.rows().letters);
  // Slices share the letters.
  CHECK(SinkHandler::of(*rig.state->slice(0, 1)).letters == rig.rows().letters);
}

namespace {

// A declared kind's sink handler (orders) with its ports in memory.
struct KindRig {
  sink::SinkConfig config = [] {
    sink::SinkConfig c;
    c.kinds.kind = "order";
    c.kinds.declaration = kinds::find_kind("order", "");
    c.kinds.pii["order"] = "keep";
    c.stream.kafka.topic = "store-orders";
    return c;
  }();
  metrics::Registry registry{"test"};
  FakePartitions store;
  FakeLetters* letters = nullptr;
  std::unique_ptr<sink::detail::KindHandler> handler = [this] {
    auto l = std::make_unique<FakeLetters>();
    letters = l.get();
    return std::make_unique<sink::detail::KindHandler>(config, nullptr, store, std::move(l),
                                                       registry, nullptr);
  }();
  stream::Batch batch;
  std::unique_ptr<stream::BatchState> state = handler->open_batch();

  void add(std::int32_t partition, std::int64_t offset, const std::string& id,
           const std::string& date) {
    const std::string body = R"({"PaymentTransactionId": ")" + id + R"(", "OrderDate": ")" + date +
                             R"(", "Total": 12.5, "Details": [{"Email": "", "ProductId": 100000, )"
                             R"("Quantity": 1, "UnitPrice": 12.5}]})";
    const auto msg = kafka::Message::from_record(
        {config.stream.kafka.topic, partition, offset, body, id, 1'700'000'000'000 + offset, {}});
    handler->handle(msg, batch.add(partition, offset, *msg.timestamp_ms()), *state);
  }
  std::uint64_t count(std::int32_t partition, Outcome outcome, std::string_view reason) {
    const auto& counts = batch.at(partition).tally.counts();
    const auto it = counts.find({outcome, reason});
    return it == counts.end() ? 0 : it->second;
  }
  const std::vector<sink::detail::KindRow>& rows() {
    return sink::detail::KindHandler::of(*state).rows;
  }
};

std::int64_t at(const char* text) {
  return *core::parse_timestamp(text);
}

}  // namespace

TEST_CASE("kind sink handler: partitions are made for the records' times, not the expired ones'",
          "[handler][kinds]") {
  KindRig rig;
  rig.add(0, 0, "tx-1", "2023-05-19T14:36:09Z");
  rig.add(0, 1, "tx-2", "2023-06-19T10:00:00+02:00");
  rig.add(1, 0, "tx-3", "2023-04-01T00:00:00Z");
  rig.handler->before_commit(*rig.state);
  REQUIRE(rig.store.ensured.size() == 1);
  CHECK(rig.store.ensured[0] == std::vector<std::int64_t>{at("2023-05-19T14:36:09Z"),
                                                          at("2023-06-19T08:00:00Z"),
                                                          at("2023-04-01T00:00:00Z")});
  // With a retention, what is older than its cutoff gets no partition.
  rig.store.cutoff = at("2023-05-01T00:00:00Z");
  rig.handler->before_commit(*rig.state);
  REQUIRE(rig.store.ensured.size() == 2);
  CHECK(rig.store.ensured[1] ==
        std::vector<std::int64_t>{at("2023-05-19T14:36:09Z"), at("2023-06-19T08:00:00Z")});
  CHECK(rig.letters->awaited.size() == 2);
}

TEST_CASE("kind sink handler: records past the retention are counted expired and not written",
          "[handler][kinds]") {
  KindRig rig;
  rig.add(0, 0, "tx-1", "2023-05-19T14:36:09Z");
  rig.add(0, 1, "tx-2", "2023-04-30T23:59:59.999999Z");
  rig.add(1, 0, "tx-3", "2023-04-01T00:00:00Z");
  rig.add(1, 1, "tx-4", "2023-05-01T00:00:00Z");
  const auto& codec = rig.handler->sink().codec;
  const auto time_of = [&](const sink::detail::KindRow& r) { return codec.time(r.record); };
  const auto all = sink::detail::unexpired(rig.batch, rig.rows(), std::nullopt, time_of);
  CHECK(all.size() == 4);
  CHECK(rig.batch.at(0).tally.of(Outcome::kExpired) == 0);

  const auto kept =
      sink::detail::unexpired(rig.batch, rig.rows(), at("2023-05-01T00:00:00Z"), time_of);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0]->offset == 0);
  CHECK(kept[0]->partition == 0);
  CHECK(kept[1]->offset == 1);  // exactly at the cutoff: kept
  CHECK(kept[1]->partition == 1);
  CHECK(rig.count(0, Outcome::kExpired, "retention") == 1);
  CHECK(rig.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.count(1, Outcome::kExpired, "retention") == 1);
  CHECK(rig.count(1, Outcome::kPersisted, "") == 1);
}

TEST_CASE("kind sink handler: a record failing the keep rule is counted filtered, not stored",
          "[handler][kinds]") {
  KindRig rig;
  // The rig's records total 12.5.
  kinds::KeepCondition over;
  over.field = *rig.config.kinds.declaration->find("Total");
  over.op = kinds::KeepCondition::Op::kGt;
  over.decimal = core::Decimal::from_integer(12);
  over.reason = "total_not_kept";
  rig.config.kinds.declaration->keep = {over};
  rig.add(0, 0, "tx-1", "2023-05-19T14:36:09Z");
  over.decimal = core::Decimal::from_integer(20);
  rig.config.kinds.declaration->keep = {over};
  rig.add(0, 1, "tx-2", "2023-05-19T14:36:09Z");
  CHECK(rig.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.count(0, Outcome::kFiltered, "total_not_kept") == 1);
  REQUIRE(rig.rows().size() == 1);
  CHECK(rig.rows()[0].offset == 0);
  CHECK(rig.letters->sent.empty());
}

TEST_CASE("sink handler: the store event's keep overrides replace its declared rule", "[handler]") {
  Rig rig;
  rig.config.min_discount = "40";
  rig.config.keep_types = {"inventory_event"};
  sink::validate(rig.config);
  FakePartitions store;
  SinkHandler handler(rig.config, nullptr, store, std::make_unique<FakeLetters>(), rig.registry,
                      nullptr);
  const auto state = handler.open_batch();
  stream::Batch batch;
  std::int64_t offset = 0;
  for (const auto& [discount, type] : std::vector<std::pair<std::string, std::string>>{
           {"41", "inventory_event"}, {"40", "inventory_event"}, {"90", "sale_event"}}) {
    const auto msg = kafka::Message::from_record({"store-events",
                                                  0,
                                                  offset,
                                                  payload(kA, kMay, discount),
                                                  "k",
                                                  1'700'000'000'000,
                                                  {{"event_type", type}}});
    handler.handle(msg, batch.add(0, offset, *msg.timestamp_ms()), *state);
    ++offset;
  }
  const auto& counts = batch.at(0).tally.counts();
  CHECK(counts.at({Outcome::kPersisted, ""}) == 1);
  CHECK(counts.at({Outcome::kFiltered, "discount_not_above_threshold"}) == 1);
  CHECK(counts.at({Outcome::kFiltered, "event_type_not_kept"}) == 1);
}
