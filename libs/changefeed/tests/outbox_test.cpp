#include "millrace/changefeed/outbox.hpp"

#include <catch2/catch.hpp>

#include "millrace/changefeed/service.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"

using namespace millrace::changefeed;
using namespace millrace::changefeed::outbox;

namespace {

Value text(std::string s) {
  return Value{Value::Kind::kText, std::move(s)};
}
const Value kNull{Value::Kind::kNull, {}};

// outbox(id uuid, aggregatetype text, aggregateid text, type text,
//        payload jsonb, tenant int4, urgent bool, note text)
std::shared_ptr<const Relation> table() {
  auto r = std::make_shared<Relation>();
  r->oid = 17000;
  r->schema = "shop";
  r->name = "outbox";
  r->replica_identity = 'f';
  r->columns = {{"id", 2950, -1, true},        {"aggregatetype", 25, -1, true},
                {"aggregateid", 25, -1, true}, {"type", 25, -1, true},
                {"payload", 3802, -1, true},   {"tenant", 23, -1, true},
                {"urgent", 16, -1, true},      {"note", 25, -1, true}};
  return r;
}

Tuple row(std::string route, std::string key, Value payload) {
  return {text("4d47e190-0402-4048-bc2c-89dd54343cdc"),
          text(std::move(route)),
          text(std::move(key)),
          text("OrderCreated"),
          std::move(payload),
          text("7"),
          text("t"),
          text("sp\xC3\xA4t")};
}

Change insert(Tuple after, Op op = Op::kCreate) {
  Change c;
  c.op = op;
  c.relation = table();
  c.key_columns = {0};
  c.after = std::move(after);
  c.source.commit_lsn = 26389800;
  c.source.xid = 744;
  return c;
}

Options options() {
  Options o;
  o.feed_topic = "millrace.outboxfeed";
  return o;
}

std::vector<OutRecord> encode(const Options& o, Counts& counts, const Change& c) {
  auto format = make_format(o, counts);
  std::vector<OutRecord> out;
  format->encode(c, out);
  return out;
}

std::string header(const OutRecord& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  FAIL("no header " << name);
  return {};
}

}  // namespace

TEST_CASE("outbox: an inserted row is an event on its aggregate type's topic", "[outbox]") {
  Counts counts;
  const auto out =
      encode(options(), counts, insert(row("order", "42", text(R"({"id": 42, "total": 9.5})"))));
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "outbox.event.order");
  CHECK(out[0].key == std::optional<std::string>("42"));
  CHECK(out[0].value == std::optional<std::string>(R"({"id": 42, "total": 9.5})"));
  REQUIRE(out[0].headers.size() == 1);
  CHECK(header(out[0], "id") == "4d47e190-0402-4048-bc2c-89dd54343cdc");
  CHECK(counts.events == 1);
}

TEST_CASE("outbox: renamed columns and a topic template", "[outbox]") {
  auto o = options();
  o.route_by = "type";
  o.key_column = "note";
  o.id_column = "tenant";
  o.topic = "events.${routedByValue}.v1.${routedByValue}";
  Counts counts;
  const auto out = encode(o, counts, insert(row("order", "42", text("{}"))));
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "events.OrderCreated.v1.OrderCreated");
  CHECK(out[0].key == std::optional<std::string>("sp\xC3\xA4t"));
  CHECK(header(out[0], "id") == "7");
}

TEST_CASE("outbox: additional fields in headers and in the envelope", "[outbox]") {
  auto o = options();
  o.additional = parse_additional_fields(
      {"type:header:eventType", "urgent:header", "tenant:envelope", "note:envelope:remark"});
  Counts counts;
  const auto out = encode(o, counts, insert(row("order", "42", text(R"({"a": [1, 2]})"))));
  REQUIRE(out.size() == 1);
  CHECK(header(out[0], "eventType") == "OrderCreated");
  CHECK(header(out[0], "urgent") == "true");
  // The payload stays a string in the envelope unless it is expanded.
  CHECK(out[0].value ==
        std::optional<std::string>(R"({"payload":"{\"a\": [1, 2]}","tenant":7,"remark":"spät"})"));
  o.expand_json_payload = true;
  const auto expanded = encode(o, counts, insert(row("order", "42", text(R"({"a": [1, 2]})"))));
  CHECK(expanded[0].value ==
        std::optional<std::string>(R"({"payload":{"a":[1,2]},"tenant":7,"remark":"spät"})"));
}

TEST_CASE("outbox: an expanded payload is one line of JSON", "[outbox]") {
  auto o = options();
  o.expand_json_payload = true;
  Counts counts;
  const auto out = encode(
      o, counts, insert(row("order", "1", text(R"({"name": "Zoë ☕", "n": {"x": [true, null]}})"))));
  CHECK(out.at(0).value == std::optional<std::string>(R"({"name":"Zoë ☕","n":{"x":[true,null]}})"));
}

TEST_CASE("outbox: an empty payload is a tombstone only when asked", "[outbox]") {
  auto o = options();
  Counts counts;
  CHECK(encode(o, counts, insert(row("order", "1", text("  ")))).at(0).value ==
        std::optional<std::string>("  "));
  CHECK_FALSE(encode(o, counts, insert(row("order", "1", kNull))).at(0).value);
  // With expansion the value is JSON, so a null payload is JSON's null and a
  // blank one a string, neither of them expanded nor dead-lettered.
  o.expand_json_payload = true;
  CHECK(encode(o, counts, insert(row("order", "1", kNull))).at(0).value ==
        std::optional<std::string>("null"));
  CHECK(encode(o, counts, insert(row("order", "1", text(" ")))).at(0).value ==
        std::optional<std::string>("\" \""));
  o.tombstone_on_empty_payload = true;
  o.additional = parse_additional_fields({"tenant:envelope"});
  const auto out = encode(o, counts, insert(row("order", "1", text(""))));
  CHECK(out.at(0).topic == "outbox.event.order");
  CHECK_FALSE(out.at(0).value);
  CHECK(out.at(0).key == std::optional<std::string>("1"));
}

TEST_CASE("outbox: deletes, updates and truncates are no events, and are counted", "[outbox]") {
  Counts counts;
  auto o = options();
  auto del = insert(row("order", "1", text("{}")), Op::kDelete);
  CHECK(encode(o, counts, del).empty());
  CHECK(encode(o, counts, insert(row("order", "1", text("{}")), Op::kUpdate)).empty());
  CHECK(encode(o, counts, insert(row("order", "1", text("{}")), Op::kTruncate)).empty());
  CHECK(counts.deletes_ignored == 1);
  CHECK(counts.updates_ignored == 1);
  CHECK(counts.truncates_ignored == 1);
  CHECK(counts.events == 0);
  o.invalid_op = InvalidOp::kFatal;
  CHECK_THROWS_AS(encode(o, counts, insert(row("order", "1", text("{}")), Op::kUpdate)),
                  millrace::core::InfraError);
  // A backfill's rows are events, as a snapshot's are Debezium's.
  CHECK(encode(o, counts, insert(row("order", "1", text("{}")), Op::kRead)).size() == 1);
}

TEST_CASE("outbox: bad rows are dead-lettered to the feed's topic with their reason", "[outbox]") {
  Counts counts;
  auto o = options();
  const auto dead = [&](const Change& c, std::string_view reason) {
    const auto out = encode(o, counts, c);
    REQUIRE(out.size() == 1);
    CHECK(out[0].topic == "millrace.outboxfeed");
    CHECK(header(out[0], kReasonHeader) == reason);
    CHECK_FALSE(header(out[0], kDetailHeader).empty());
    CHECK(header(out[0], kChangeIdHeader) == "000000000192AD28-00000000");
    // The row itself, as the Millrace change record.
    REQUIRE(out[0].value);
    CHECK(out[0].value->find("\"aggregatetype\"") != std::string::npos);
  };
  auto no_route = row("order", "1", text("{}"));
  no_route[1] = kNull;
  dead(insert(no_route), "null_route");
  auto no_key = row("order", "1", text("{}"));
  no_key[2] = kNull;
  dead(insert(no_key), "null_key");
  auto no_id = row("order", "1", text("{}"));
  no_id[0] = kNull;
  dead(insert(no_id), "null_id");
  dead(insert(row("or der", "1", text("{}"))), "invalid_topic");
  dead(insert(row(std::string(240, 'x'), "1", text("{}"))), "invalid_topic");
  o.expand_json_payload = true;
  dead(insert(row("order", "1", text("\"just a string\""))), "invalid_json");
  o.payload_column = "body";
  dead(insert(row("order", "1", text("{}"))), "missing_column");
  CHECK(counts.dead_letters[static_cast<std::size_t>(Reason::kInvalidTopic)] == 2);
  CHECK(counts.dead_letters[static_cast<std::size_t>(Reason::kNullRoute)] == 1);
  CHECK(counts.events == 0);
}

TEST_CASE("outbox: Kafka's rule for topic names", "[outbox]") {
  CHECK(topic_problem("outbox.event.order-v1_x").empty());
  CHECK_FALSE(topic_problem("").empty());
  CHECK_FALSE(topic_problem("..").empty());
  CHECK_FALSE(topic_problem("a/b").empty());
  CHECK_FALSE(topic_problem("café").empty());
  CHECK(topic_problem(std::string(249, 'a')).empty());
  CHECK_FALSE(topic_problem(std::string(250, 'a')).empty());
}

TEST_CASE("outbox: additional fields are read as the router reads them", "[outbox]") {
  const auto f = parse_additional_fields({"type:header:eventType", "tenant:envelope"});
  REQUIRE(f.size() == 2);
  CHECK(f[0].column == "type");
  CHECK(f[0].placement == Placement::kHeader);
  CHECK(f[0].alias == "eventType");
  CHECK(f[1].alias == "tenant");
  CHECK(f[1].placement == Placement::kEnvelope);
  using millrace::core::UsageError;
  CHECK_THROWS_AS(parse_additional_fields({"type"}), UsageError);
  CHECK_THROWS_AS(parse_additional_fields({"type:body"}), UsageError);
  CHECK_THROWS_AS(parse_additional_fields({"type:header:"}), UsageError);
  CHECK_THROWS_AS(parse_additional_fields({"type:partition"}), UsageError);
  CHECK_THROWS_AS(parse_additional_fields({"note:envelope:payload"}), UsageError);
}

TEST_CASE("outbox: the feed's settings are checked at start", "[outbox]") {
  ChangefeedConfig c;
  c.format = Format::kOutbox;
  validate(c);
  c.outbox_additional_fields = {"type:nowhere"};
  CHECK_THROWS_AS(validate(c), millrace::core::UsageError);
  c.outbox_additional_fields = {};
  c.topic_per_table = true;
  CHECK_THROWS_AS(validate(c), millrace::core::UsageError);
}

namespace {

// The row of `c` with one more column, `name` of type `oid`, holding `v`.
Change with_column(Change c, const std::string& name, Oid oid, Value v) {
  auto r = std::make_shared<Relation>(*c.relation);
  r->columns.push_back({name, oid, -1, false});
  c.relation = std::move(r);
  c.after->push_back(std::move(v));
  return c;
}

constexpr Oid kTimestamp = 1114;
constexpr Oid kTimestamptz = 1184;

}  // namespace

TEST_CASE("outbox: the record's timestamp from a timestamp column", "[outbox]") {
  auto o = options();
  Counts counts;
  const auto plain = insert(row("order", "42", text("{}")));
  // Unset: the time it is produced.
  CHECK(encode(o, counts,
               with_column(plain, "occurred", kTimestamp, text("2026-11-30 04:48:01.123456")))[0]
            .timestamp_ms == 0);
  o.timestamp_column = "occurred";
  // Milliseconds, the microseconds truncated; a timestamp read as UTC, as
  // Debezium reads it.
  auto out = encode(o, counts,
                    with_column(plain, "occurred", kTimestamp, text("2026-11-30 04:48:01.123999")));
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "outbox.event.order");
  CHECK(out[0].timestamp_ms == 1796014081123);
  out = encode(o, counts,
               with_column(plain, "occurred", kTimestamptz, text("2026-11-30 06:18:01.123+01:30")));
  CHECK(out[0].timestamp_ms == 1796014081123);
  CHECK(
      encode(o, counts, with_column(plain, "occurred", kTimestamp, text("1970-01-01 00:00:01")))[0]
          .timestamp_ms == 1000);
  // A null value: the time it is produced, as Debezium's processing time.
  out = encode(o, counts, with_column(plain, "occurred", kTimestamptz, kNull));
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "outbox.event.order");
  CHECK(out[0].timestamp_ms == 0);
  CHECK(counts.events == 5);
}

TEST_CASE("outbox: a timestamp column Kafka cannot take is dead-lettered", "[outbox]") {
  auto o = options();
  o.timestamp_column = "occurred";
  Counts counts;
  const auto plain = insert(row("order", "42", text("{}")));
  const auto dead = [&](const Change& c, std::string_view reason) {
    const auto out = encode(o, counts, c);
    REQUIRE(out.size() == 1);
    CHECK(out[0].topic == "millrace.outboxfeed");
    CHECK(header(out[0], kReasonHeader) == reason);
    CHECK(header(out[0], kDetailHeader).find("occurred") != std::string::npos);
    CHECK(out[0].timestamp_ms == 0);
  };
  dead(plain, "missing_column");
  dead(with_column(plain, "occurred", 20, text("1796014081123")), "invalid_timestamp");
  dead(with_column(plain, "occurred", kTimestamp, text("1969-12-31 23:59:59.999")),
       "invalid_timestamp");
  dead(with_column(plain, "occurred", kTimestamptz, text("infinity")), "invalid_timestamp");
  CHECK(counts.dead_letters[static_cast<std::size_t>(Reason::kInvalidTimestamp)] == 3);
  CHECK(counts.dead_letters[static_cast<std::size_t>(Reason::kMissingColumn)] == 1);
  CHECK(counts.events == 0);
  // A null value, whatever the column's type, is the time it is produced,
  // as the router takes its processing time for a null int64.
  const auto out = encode(o, counts, with_column(plain, "occurred", 20, kNull));
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "outbox.event.order");
  CHECK(out[0].timestamp_ms == 0);
}
