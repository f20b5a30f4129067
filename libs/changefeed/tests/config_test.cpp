#include <catch2/catch.hpp>

#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/parse_config.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {

changefeed::ChangefeedConfig parse(std::map<std::string, std::string> env,
                                   std::vector<std::string> args) {
  return core::parse_config<changefeed::ChangefeedConfig>(env, args);
}

}  // namespace

TEST_CASE("the change feed's own variables, never the store events' topic") {
  const auto d = parse({{"MILLRACE_TOPIC", "store-events"}}, {});
  CHECK(d.kafka.topic == "millrace.changes");
  CHECK(d.pg.url.find("millrace_changefeed") != std::string::npos);
  CHECK(d.transactional_id == "millrace-changefeed.millrace_changefeed");
  CHECK(d.checkpoint_group == "millrace-changefeed.millrace_changefeed.checkpoint");
  // One MILLRACE_PG for every service reaches the change feed too (each
  // service's own MILLRACE_<SERVICE>_PG wins over it), rather than leaving
  // it on its default database in silence.
  const auto shared = parse({{"MILLRACE_PG", "postgresql://millrace:x@db/millrace"}}, {});
  CHECK(shared.pg.url == "postgresql://millrace:x@db/millrace");
  const auto own = parse({{"MILLRACE_PG", "postgresql://millrace:x@db/millrace"},
                          {"MILLRACE_CHANGEFEED_PG", "postgresql://feed@db/millrace"}},
                         {});
  CHECK(own.pg.url == "postgresql://feed@db/millrace");
  const auto e = parse({{"MILLRACE_CHANGES_TOPIC", "changes"},
                        {"MILLRACE_CHANGEFEED_PG", "postgresql://feed@db/x"},
                        {"MILLRACE_CHANGEFEED_SLOT", "feed_2"}},
                       {"--publication", "pub_a"});
  CHECK(e.kafka.topic == "changes");
  CHECK(e.pg.url == "postgresql://feed@db/x");
  CHECK(e.slot == "feed_2");
  CHECK(e.publication == "pub_a");
  CHECK(e.transactional_id == "millrace-changefeed.feed_2");
}

TEST_CASE("slot and publication names are what PostgreSQL allows for slots") {
  CHECK_THROWS_WITH(parse({}, {"--slot", "Feed"}), Contains("--slot may hold only"));
  CHECK_THROWS_WITH(parse({}, {"--publication", "a-b"}), Contains("--publication"));
  CHECK_THROWS_WITH(parse({}, {"--slot", ""}), Contains("--slot must be 1 to 63"));
  CHECK_THROWS_WITH(parse({}, {"--kafka-properties", "transactional.id=x"}),
                    Contains("--transactional-id"));
  CHECK_THROWS_WITH(parse({}, {"--retry-backoff-ms", "500", "--retry-backoff-max-ms", "100"}),
                    Contains("--retry-backoff-max-ms"));
}

TEST_CASE("the initial snapshot and a lost slot's handling are chosen by name") {
  const auto d = parse({}, {});
  CHECK(d.snapshot == changefeed::Snapshot::kNever);
  CHECK(d.on_slot_lost == changefeed::SlotLost::kStop);
  CHECK(d.backfill_chunk_size == 10000);
  CHECK(d.transaction_timeout_ms == 60000);
  const auto e = parse({{"MILLRACE_CHANGEFEED_SNAPSHOT", "initial"},
                        {"MILLRACE_CHANGEFEED_ON_SLOT_LOST", "backfill"},
                        {"MILLRACE_CHANGEFEED_BACKFILL_CHUNK_SIZE", "500"}},
                       {});
  CHECK(e.snapshot == changefeed::Snapshot::kInitial);
  CHECK(e.on_slot_lost == changefeed::SlotLost::kBackfill);
  CHECK(e.backfill_chunk_size == 500);
  CHECK_THROWS_WITH(parse({}, {"--on-slot-lost", "ignore"}),
                    Contains("--on-slot-lost: expected stop or backfill, got \"ignore\""));
  CHECK_THROWS_WITH(parse({}, {"--backfill-table", "Signals"}), Contains("--backfill-table"));
  CHECK_THROWS_WITH(parse({}, {"--snapshot", "always"}),
                    Contains("--snapshot: expected initial or never, got \"always\""));
}

TEST_CASE("the records' format and the Debezium format's settings") {
  const auto d = parse({}, {});
  CHECK(d.format == changefeed::Format::kMillrace);
  CHECK(d.tombstones);
  CHECK(d.truncates);
  const auto dbz = parse(
      {{"MILLRACE_CHANGEFEED_FORMAT", "debezium"}},
      {"--schemas", "--topic-per-table", "--tombstones=false", "--decimal-handling", "string"});
  CHECK(dbz.format == changefeed::Format::kDebezium);
  CHECK(dbz.schemas);
  CHECK(dbz.topic_per_table);
  CHECK_FALSE(dbz.tombstones);
  CHECK(dbz.decimal_handling == changefeed::debezium::DecimalMode::kString);
  CHECK_THROWS_WITH(parse({}, {"--format", "avro"}), Contains("millrace, debezium or outbox"));
  CHECK_THROWS_WITH(parse({}, {"--format", "debezium", "--decimal-handling", "float"}),
                    Contains("precise, string or double"));
  CHECK_THROWS_WITH(parse({}, {"--schemas"}), Contains("--format debezium"));
  CHECK_THROWS_WITH(parse({}, {"--topic-per-table"}), Contains("--format debezium"));
}
