#include "millrace/changefeed/debezium.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

using namespace millrace::changefeed;
using namespace millrace::changefeed::debezium;

namespace {

Value text(std::string s) {
  return Value{Value::Kind::kText, std::move(s)};
}
const Value kNull{Value::Kind::kNull, {}};
const Value kUnchanged{Value::Kind::kUnchanged, {}};

class FakeFacts final : public TableFactsPort {
 public:
  std::shared_ptr<const TableFacts> facts(const Relation&) override {
    ++asked;
    return std::make_shared<TableFacts>(table);
  }
  TableFacts table;
  int asked = 0;
};

// items(id int4 primary key, name text NOT NULL, qty int4 DEFAULT 7,
//       price numeric(8,2), at timestamptz, body text)
std::shared_ptr<const Relation> items() {
  auto r = std::make_shared<Relation>();
  r->oid = 16500;
  r->schema = "shop";
  r->name = "items";
  r->replica_identity = 'd';
  r->columns = {{"id", 23, -1, true},    {"name", 25, -1, false},
                {"qty", 23, -1, false},  {"price", 1700, (8 << 16 | 2) + 4, false},
                {"at", 1184, -1, false}, {"body", 25, -1, false}};
  return r;
}

FakeFacts items_facts() {
  FakeFacts f;
  f.table.columns["name"].not_null = true;
  f.table.columns["qty"].default_expression = "7";
  f.table.primary_key = {"id"};
  return f;
}

Tuple row(const std::string& id, const std::string& name) {
  return {text(id),    text(name), text("3"), text("12.5"), text("2024-06-01 06:34:00.000001+00"),
          text("long")};
}

Change change(Op op, std::shared_ptr<const Relation> r) {
  Change c;
  c.op = op;
  c.relation = std::move(r);
  c.key_columns = {0};
  c.source.commit_lsn = 26389800;
  c.source.change_lsn = 26389700;
  c.source.xid = 744;
  // 2026-11-28T00:00:00.123456Z in µs since 2000-01-01.
  c.source.commit_time_pg_us = 849153600123456;
  return c;
}

Options options() {
  Options o;
  o.prefix = "shopfeed";
  o.database = "millrace";
  o.version = "test";
  o.topic_per_table = true;
  return o;
}

rapidjson::Document parse(const std::optional<std::string>& text) {
  REQUIRE(text);
  rapidjson::Document d;
  d.Parse(text->c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::vector<OutRecord> encode(RecordFormat& f, const Change& c) {
  std::vector<OutRecord> out;
  f.encode(c, out);
  return out;
}

std::string header(const OutRecord& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

}  // namespace

TEST_CASE("a create is Debezium's envelope with the source block", "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{1795839918435510}; });
  auto c = change(Op::kCreate, items());
  c.after = row("1", "pen");
  const auto out = encode(*format, c);
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "shopfeed.shop.items");
  CHECK(*out[0].key == R"({"id":1})");
  const auto v = parse(out[0].value);
  CHECK(v["op"] == "c");
  CHECK(v["before"].IsNull());
  CHECK(v["after"]["name"] == "pen");
  CHECK(v["after"]["price"] == "BOI=");  // 12.50 at scale 2: 1250
  CHECK(v["after"]["at"] == "2024-06-01T06:34:00.000001Z");
  CHECK(v["ts_ms"].GetInt64() == 1795839918435);
  CHECK(v["transaction"].IsNull());
  const auto& s = v["source"];
  CHECK(s["connector"] == "postgresql");
  CHECK(s["name"] == "shopfeed");
  CHECK(s["db"] == "millrace");
  CHECK(s["schema"] == "shop");
  CHECK(s["table"] == "items");
  CHECK(s["snapshot"] == "false");
  CHECK(s["txId"].GetInt64() == 744);
  CHECK(s["lsn"].GetInt64() == 26389700);
  CHECK(s["ts_ms"].GetInt64() == 1795838400123);
  CHECK(s["ts_us"].GetInt64() == 1795838400123456);
  CHECK(header(out[0], "millrace.change_id") == change_id(c.source));
  CHECK(facts.asked == 1);
  encode(*format, c);
  CHECK(facts.asked == 1);  // once per relation description
}

TEST_CASE("a delete is followed by a tombstone, its old key filled as Debezium fills it",
          "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kDelete, items());
  c.old_key = Tuple{text("4"), kNull, kNull, kNull, kNull, kNull};
  auto out = encode(*format, c);
  REQUIRE(out.size() == 2);
  const auto v = parse(out[0].value);
  CHECK(v["op"] == "d");
  CHECK(v["before"]["id"].GetInt() == 4);
  CHECK(v["before"]["name"] == "");         // NOT NULL without a default: the type's zero
  CHECK(v["before"]["qty"].GetInt() == 7);  // the default
  CHECK(v["before"]["price"].IsNull());
  CHECK(v["after"].IsNull());
  CHECK(*out[1].key == R"({"id":4})");
  CHECK_FALSE(out[1].value);

  auto o = options();
  o.tombstones = false;
  auto quiet = make_format(o, facts, [] { return std::int64_t{0}; });
  CHECK(encode(*quiet, c).size() == 1);
}

TEST_CASE("an update that changes the key is a delete, a tombstone and a create", "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kUpdate, items());
  c.old_key = Tuple{text("2"), kNull, kNull, kNull, kNull, kNull};
  c.after = row("10", "pen");
  const auto out = encode(*format, c);
  REQUIRE(out.size() == 3);
  CHECK(parse(out[0].value)["op"] == "d");
  CHECK(*out[0].key == R"({"id":2})");
  CHECK(header(out[0], "__debezium.newkey") == R"({"id":10})");
  CHECK_FALSE(out[1].value);
  CHECK(*out[1].key == R"({"id":2})");
  CHECK(header(out[1], "__debezium.newkey") == R"({"id":10})");
  const auto created = parse(out[2].value);
  CHECK(created["op"] == "c");
  CHECK(created["before"].IsNull());
  CHECK(*out[2].key == R"({"id":10})");
  CHECK(header(out[2], "__debezium.oldkey") == R"({"id":2})");

  // The same key: one update.
  c.old_key.reset();
  c.after = row("2", "pencil");
  CHECK(encode(*format, c).size() == 1);
}

TEST_CASE("an unchanged TOASTed value is the placeholder, or the old row's value under full",
          "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kUpdate, items());
  c.after = row("1", "pen");
  (*c.after)[5] = kUnchanged;
  CHECK(parse(encode(*format, c)[0].value)["after"]["body"] == "__debezium_unavailable_value");
  c.before = row("1", "pen");
  const auto v = parse(encode(*format, c)[0].value);
  CHECK(v["after"]["body"] == "long");
  CHECK(v["before"]["name"] == "pen");
}

TEST_CASE("a null is the column's default, as JsonConverter writes it", "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kCreate, items());
  c.after = row("1", "pen");
  (*c.after)[2] = kNull;
  CHECK(parse(encode(*format, c)[0].value)["after"]["qty"].GetInt() == 7);
}

TEST_CASE("with schemas, key and value carry JsonConverter's schema", "[debezium]") {
  auto facts = items_facts();
  auto o = options();
  o.schemas = true;
  auto format = make_format(o, facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kCreate, items());
  c.after = row("1", "pen");
  const auto out = encode(*format, c);
  const auto k = parse(out[0].key);
  CHECK(k["schema"]["name"] == "shopfeed.shop.items.Key");
  CHECK(k["schema"]["fields"][0]["type"] == "int32");
  CHECK(k["payload"]["id"].GetInt() == 1);
  const auto v = parse(out[0].value);
  CHECK(v["schema"]["name"] == "shopfeed.shop.items.Envelope");
  const auto& after = v["schema"]["fields"][1];
  CHECK(after["field"] == "after");
  CHECK_FALSE(after["fields"][1]["optional"].GetBool());  // name: NOT NULL
  CHECK(after["fields"][2]["default"].GetInt() == 7);
  CHECK(after["fields"][3]["name"] == "org.apache.kafka.connect.data.Decimal");
  CHECK(after["fields"][3]["parameters"]["scale"] == "2");
  CHECK(after["fields"][4]["name"] == "io.debezium.time.ZonedTimestamp");
  CHECK(v["payload"]["after"]["name"] == "pen");
}

TEST_CASE("a table without a primary key has a null key", "[debezium]") {
  auto facts = items_facts();
  facts.table.primary_key.clear();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto c = change(Op::kCreate, items());
  c.after = row("1", "pen");
  CHECK_FALSE(encode(*format, c)[0].key);
}

TEST_CASE("truncates, rows a backfill read, and Millrace's markers", "[debezium]") {
  auto facts = items_facts();
  auto format = make_format(options(), facts, [] { return std::int64_t{0}; });
  auto t = change(Op::kTruncate, items());
  t.key_columns.clear();
  auto out = encode(*format, t);
  REQUIRE(out.size() == 1);
  CHECK(parse(out[0].value)["op"] == "t");
  CHECK_FALSE(out[0].key);

  auto r = change(Op::kRead, items());
  r.after = row("1", "pen");
  r.source.backfill = 3;
  CHECK(parse(encode(*format, r)[0].value)["source"]["snapshot"] == "incremental");

  auto e = change(Op::kBackfillEnd, items());
  e.key_columns.clear();
  e.marker = Marker{};
  e.marker->rows = 5;
  e.source.backfill = 3;
  out = encode(*format, e);
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "shopfeed");
  const auto m = parse(out[0].value);
  CHECK(m["op"] == "m");
  CHECK(m["message"]["prefix"] == "millrace");
  CHECK(*out[0].key == R"({"prefix":"millrace"})");

  auto o = options();
  o.truncates = false;
  auto skipping = make_format(o, facts, [] { return std::int64_t{0}; });
  CHECK(encode(*skipping, t).empty());
}

TEST_CASE("default expressions: constants only", "[debezium]") {
  CHECK(default_constant("7") == "7");
  CHECK(default_constant("'n/a'::text") == "n/a");
  CHECK(default_constant("'it''s'::character varying") == "it's");
  CHECK(default_constant("'-1'::integer") == "-1");
  CHECK(default_constant("(-1)") == "-1");
  CHECK(default_constant("1.50") == "1.50");
  CHECK(default_constant("true") == "t");
  CHECK_FALSE(default_constant("now()"));
  CHECK_FALSE(default_constant("nextval('items_id_seq'::regclass)"));
  CHECK_FALSE(default_constant("'a'::text || 'b'::text"));
}

TEST_CASE("table topics are sanitised as Debezium sanitises them", "[debezium]") {
  Relation r;
  r.schema = "shop";
  r.name = "order lines$";
  CHECK(table_topic("p", r) == "p.shop.order_lines_");
}

TEST_CASE("transaction metadata: BEGIN, each event's block, END with its counts", "[debezium]") {
  auto facts = items_facts();
  auto o = options();
  o.transaction_metadata = true;
  auto format = make_format(o, facts, [] { return std::int64_t{0}; });
  Transaction tx;
  tx.xid = 744;
  tx.commit_lsn = 26389800;
  tx.commit_time_pg_us = 849153600123456;
  auto a = change(Op::kCreate, items());
  a.after = row("1", "pen");
  auto b = change(Op::kDelete, items());
  b.old_key = Tuple{text("2"), kNull, kNull, kNull, kNull, kNull};
  tx.changes = {a, b};
  std::vector<OutRecord> out;
  format->begin(tx, out);
  for (const auto& c : tx.changes) format->encode(c, out);
  format->end(tx, out);
  REQUIRE(out.size() == 5);  // BEGIN, c, d, tombstone, END
  CHECK(out[0].topic == "shopfeed.transaction");
  CHECK(*out[0].key == R"({"id":"744:26389800"})");
  CHECK(parse(out[0].value)["status"] == "BEGIN");
  const auto c = parse(out[1].value);
  CHECK(c["transaction"]["id"] == "744:26389800");
  CHECK(c["transaction"]["total_order"].GetInt() == 1);
  CHECK(parse(out[2].value)["transaction"]["data_collection_order"].GetInt() == 2);
  const auto end = parse(out[4].value);
  CHECK(end["status"] == "END");
  CHECK(end["event_count"].GetInt() == 2);
  CHECK(end["data_collections"][0]["data_collection"] == "shop.items");
  CHECK(end["data_collections"][0]["event_count"].GetInt() == 2);
  CHECK(end["ts_ms"].GetInt64() == 1795838400123);

  // A backfill's chunk (rows read) has no transaction.
  auto r = change(Op::kRead, items());
  r.after = row("3", "ink");
  Transaction chunk;
  chunk.changes = {r};
  out.clear();
  format->begin(chunk, out);
  format->encode(r, out);
  format->end(chunk, out);
  REQUIRE(out.size() == 1);
  CHECK(parse(out[0].value)["transaction"].IsNull());
}

TEST_CASE("decimal.handling.mode string and double, numeric and money alike", "[debezium]") {
  auto facts = items_facts();
  auto money_items = [] {
    auto r = std::make_shared<Relation>(*items());
    r->columns.push_back({"paid", 790, -1, false});    // money
    r->columns.push_back({"ratio", 1700, -1, false});  // numeric without a precision
    return std::shared_ptr<const Relation>(r);
  }();
  auto c = change(Op::kCreate, money_items);
  c.after = row("1", "pen");
  c.after->push_back(text("-$1,234.50"));
  c.after->push_back(text("NaN"));
  for (const auto& [mode, price, paid] : {std::tuple{DecimalMode::kPrecise, "BOI=", "/h3G"},
                                          std::tuple{DecimalMode::kString, "12.5", "-1234.50"}}) {
    auto o = options();
    o.decimal = mode;
    auto format = make_format(o, facts, [] { return std::int64_t{0}; });
    const auto v = parse(encode(*format, c)[0].value);
    CHECK(v["after"]["price"] == price);
    CHECK(v["after"]["paid"] == paid);
    if (mode == DecimalMode::kPrecise) {
      CHECK(v["after"]["ratio"].IsNull());  // NaN has no Decimal
    } else {
      CHECK(v["after"]["ratio"] == "NaN");
    }
  }
  auto o = options();
  o.decimal = DecimalMode::kDouble;
  auto format = make_format(o, facts, [] { return std::int64_t{0}; });
  const auto v = parse(encode(*format, c)[0].value);
  CHECK(v["after"]["price"].GetDouble() == 12.5);
  CHECK(v["after"]["paid"].GetDouble() == -1234.5);
  CHECK(v["after"]["ratio"] == "NaN");
}
