#include "millrace/changefeed/change.hpp"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "millrace/test_paths.hpp"

using namespace millrace::changefeed;
using Catch::Matchers::Contains;

namespace {

Value text(std::string s) {
  return Value{Value::Kind::kText, std::move(s)};
}
const Value kNull{Value::Kind::kNull, {}};
const Value kUnchanged{Value::Kind::kUnchanged, {}};

// products(sku int8 key, name text, price numeric, active bool, ratio float8,
//          attrs jsonb, stock int4)
Relation products() {
  Relation r;
  r.oid = 16400;
  r.schema = "public";
  r.name = "products";
  r.columns = {{"sku", 20, -1, true},     {"name", 25, -1, false},   {"price", 1700, -1, false},
               {"active", 16, -1, false}, {"ratio", 701, -1, false}, {"attrs", 3802, -1, false},
               {"stock", 23, -1, false}};
  return r;
}

Tuple row(const std::string& sku, const std::string& name) {
  return {text(sku), text(name),   text("1234567890.123456789"),
          text("t"), text("0.25"), text(R"({"color": "red", "sizes": [1, 2]})"),
          text("-7")};
}

Source source(std::uint32_t seq) {
  Source s;
  s.commit_lsn = 0x16B374D848ULL;
  s.xid = 4242;
  s.commit_time_pg_us = 0;  // 2000-01-01T00:00:00Z
  s.seq = seq;
  return s;
}

// An insert into products() of `after`, the seq-th change of its transaction.
Change created(Tuple after, std::uint32_t seq) {
  Change c;
  c.op = Op::kCreate;
  c.relation = std::make_shared<const Relation>(products());
  c.key_columns = {0};
  c.after = std::move(after);
  c.source = source(seq);
  return c;
}

// proto/change.schema.json, which every encoded change must satisfy.
const rapidjson::SchemaDocument& change_schema() {
  static const rapidjson::SchemaDocument schema = [] {
    std::ifstream in(millrace::test_paths::source("proto/change.schema.json"));
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document d;
    d.Parse(text.str().c_str());
    if (d.HasParseError()) throw std::runtime_error("proto/change.schema.json does not parse");
    return rapidjson::SchemaDocument(d);
  }();
  return schema;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  INFO(json);
  REQUIRE_FALSE(d.HasParseError());
  rapidjson::SchemaValidator validator(change_schema());
  if (!d.Accept(validator)) {
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    FAIL("not a Change per proto/change.schema.json: " << validator.GetInvalidSchemaKeyword()
                                                       << " at " << where.GetString());
  }
  return d;
}

}  // namespace

TEST_CASE("proto/change.schema.json refuses what is not a change") {
  rapidjson::Document d;
  d.Parse(R"({"id":"x","op":"c","table":"t","before":null,"after":null,"source":{}})");
  rapidjson::SchemaValidator validator(change_schema());
  CHECK_FALSE(d.Accept(validator));
}

TEST_CASE("a change id is the commit LSN and the position, ordered like the feed") {
  CHECK(change_id(source(3)) == "00000016B374D848-00000003");
  Source later = source(0);
  later.commit_lsn += 1;
  CHECK(change_id(source(3)) < change_id(source(10)));
  CHECK(change_id(source(0xFFFFFFFF)) < change_id(later));
}

TEST_CASE("an insert: typed values, the key from the new row, and where it came from") {
  Change c = created(row("42", "Caf\xc3\xa9 \"deluxe\"\n"), 1);
  c.source.change_lsn = 0x16B374D000ULL;
  const std::string json = to_json(c, change_id(c.source));
  CHECK(json ==
        R"({"id":"00000016B374D848-00000001","op":"c","table":"public.products",)"
        R"("key":{"sku":42},"before":null,"after":{"sku":42,"name":"Caf)"
        "\xc3\xa9"
        R"( \"deluxe\"\n","price":1234567890.123456789,"active":true,"ratio":0.25,)"
        R"("attrs":{"color": "red", "sizes": [1, 2]},"stock":-7},)"
        R"("source":{"lsn":"16/B374D848","xid":4242,"commit_time":"2000-01-01T00:00:00.000000Z",)"
        R"("seq":1,"change_lsn":"16/B374D000"}})");
  parse(json);
  CHECK(kafka_key(c) == R"({"table":"public.products","key":{"sku":42}})");
}

TEST_CASE("values without a JSON number form are strings, NULL is null") {
  const auto rel = std::make_shared<const Relation>(products());
  Change c;
  c.relation = rel;
  c.key_columns = {0};
  c.after = Tuple{text("1"), kNull, text("NaN"), text("f"), text("-Infinity"), kNull, text("0")};
  c.source = source(0);
  const auto d = parse(to_json(c, change_id(c.source)));
  const auto& after = d["after"];
  CHECK(after["name"].IsNull());
  CHECK(std::string(after["price"].GetString()) == "NaN");
  CHECK(after["active"].IsFalse());
  CHECK(std::string(after["ratio"].GetString()) == "-Infinity");
  CHECK(after["attrs"].IsNull());
  CHECK(after["stock"].GetInt() == 0);
}

TEST_CASE("an update with a TOASTed value left alone names it instead of sending it") {
  const auto rel = std::make_shared<const Relation>(products());
  Change c;
  c.op = Op::kUpdate;
  c.relation = rel;
  c.key_columns = {0};
  Tuple t = row("42", "x");
  t[1] = kUnchanged;
  t[5] = kUnchanged;
  c.after = t;
  c.source = source(0);
  const auto d = parse(to_json(c, change_id(c.source)));
  CHECK(std::string(d["op"].GetString()) == "u");
  CHECK(d["before"].IsNull());
  CHECK_FALSE(d["after"].HasMember("name"));
  CHECK_FALSE(d["after"].HasMember("attrs"));
  REQUIRE(d["unchanged"].IsArray());
  REQUIRE(d["unchanged"].Size() == 2);
  CHECK(std::string(d["unchanged"][0].GetString()) == "name");
  CHECK(std::string(d["unchanged"][1].GetString()) == "attrs");
}

TEST_CASE("before: the whole old row under replica identity full, else only the old key") {
  const auto rel = std::make_shared<const Relation>(products());
  Change rekey;
  rekey.op = Op::kUpdate;
  rekey.relation = rel;
  rekey.key_columns = {0};
  rekey.old_key = Tuple{text("41"), kNull, kNull, kNull, kNull, kNull, kNull};
  rekey.after = row("42", "x");
  rekey.source = source(0);
  const auto d = parse(to_json(rekey, change_id(rekey.source)));
  CHECK(d["before"].MemberCount() == 1);
  CHECK(d["before"]["sku"].GetInt() == 41);
  CHECK(d["key"]["sku"].GetInt() == 42);  // the row's key now

  Change del;
  del.op = Op::kDelete;
  del.relation = rel;
  del.key_columns = {0};
  del.before = row("42", "gone");
  del.source = source(0);
  const auto e = parse(to_json(del, change_id(del.source)));
  CHECK(e["after"].IsNull());
  CHECK(std::string(e["before"]["name"].GetString()) == "gone");
  CHECK(kafka_key(del) == R"({"table":"public.products","key":{"sku":42}})");

  Change key_only = del;
  key_only.before.reset();
  key_only.old_key = Tuple{text("42"), kNull, kNull, kNull, kNull, kNull, kNull};
  CHECK(kafka_key(key_only) == kafka_key(del));
}

TEST_CASE("a truncate names the table only") {
  const auto rel = std::make_shared<const Relation>(products());
  Change c;
  c.op = Op::kTruncate;
  c.relation = rel;
  c.source = source(0);
  const auto d = parse(to_json(c, change_id(c.source)));
  CHECK(std::string(d["op"].GetString()) == "t");
  CHECK_FALSE(d.HasMember("key"));
  CHECK(d["before"].IsNull());
  CHECK(d["after"].IsNull());
  CHECK(kafka_key(c) == R"({"table":"public.products"})");
}

TEST_CASE("a row that does not fit its relation, or a binary value, is refused") {
  const auto rel = std::make_shared<const Relation>(products());
  Change c;
  c.relation = rel;
  c.key_columns = {0};
  c.after = Tuple{text("1")};
  CHECK_THROWS_WITH(to_json(c, "x"), Contains("with 1 column(s), but the relation has 7"));
  c.after = row("1", "x");
  (*c.after)[1] = Value{Value::Kind::kBinary, "\x01"};
  CHECK_THROWS_WITH(to_json(c, "x"), Contains("binary"));
}

TEST_CASE("a snapshot row (op r, xid 0, the LSN below the consistent point) is a valid change") {
  Change c;
  c.op = Op::kRead;
  c.relation = std::make_shared<const Relation>(products());
  c.key_columns = {0};
  c.after = row("12", "rake");
  c.source.commit_lsn = 0x16B374D847ULL;
  c.source.seq = 70000;
  const auto d = parse(to_json(c, change_id(c.source)));
  CHECK(std::string(d["id"].GetString()) == "00000016B374D847-00011170");
  CHECK(std::string(d["op"].GetString()) == "r");
  CHECK(d["before"].IsNull());
  CHECK(d["source"]["xid"].GetUint() == 0);
  CHECK(std::string(d["source"]["lsn"].GetString()) == "16/B374D847");
}

TEST_CASE("a backfill's row, its end marker and a gap marker are valid changes") {
  const auto rel = std::make_shared<const Relation>(products());
  Change r;
  r.op = Op::kRead;
  r.relation = rel;
  r.key_columns = {0};
  r.after = row("12", "rake");
  r.source.commit_lsn = 0x16B374D848ULL;
  r.source.seq = 3;
  r.source.backfill = 7;
  const auto row_doc = parse(to_json(r, change_id(r.source)));
  CHECK(row_doc["source"]["backfill"].GetInt64() == 7);
  CHECK_FALSE(row_doc["source"].HasMember("for"));
  r.source.audience = "webhooks:3";
  const auto for_one = parse(to_json(r, change_id(r.source)));
  CHECK(std::string(for_one["source"]["for"].GetString()) == "webhooks:3");

  Change end;
  end.op = Op::kBackfillEnd;
  end.relation = rel;
  end.source = r.source;
  end.source.seq = 4;
  end.marker = Marker{4, "price > 10", 0, 0};
  const auto e = parse(to_json(end, change_id(end.source)));
  CHECK(std::string(e["op"].GetString()) == "e");
  CHECK_FALSE(e.HasMember("key"));
  CHECK(e["backfill"]["id"].GetInt64() == 7);
  CHECK(e["backfill"]["rows"].GetInt64() == 4);
  CHECK(std::string(e["backfill"]["where"].GetString()) == "price > 10");
  CHECK(kafka_key(end) == R"({"table":"public.products"})");

  Change gap;
  gap.op = Op::kGap;
  gap.relation = rel;
  gap.source.commit_lsn = 0x200;
  gap.marker = Marker{0, "", 0x100, 0x201};
  gap.source.backfill = 9;
  const auto g = parse(to_json(gap, change_id(gap.source)));
  CHECK(std::string(g["op"].GetString()) == "g");
  CHECK(std::string(g["gap"]["from_lsn"].GetString()) == "0/100");
  CHECK(std::string(g["gap"]["to_lsn"].GetString()) == "0/201");
  CHECK(g["gap"]["backfill"].GetInt64() == 9);
  CHECK_FALSE(g.HasMember("key"));
}

TEST_CASE("encode_change writes change_id, kafka_key and to_json at once, byte for byte") {
  Change insert = created(row("42", "a \"quoted\" name"), 0xABCDEF);
  insert.source.change_lsn = 0xF0ULL;
  const auto rel = insert.relation;
  Change del;
  del.op = Op::kDelete;
  del.relation = rel;
  del.key_columns = {0};
  del.old_key = Tuple{text("7"), kNull, kNull, kNull, kNull, kNull, kNull};
  del.source = source(2);
  Change truncate;
  truncate.op = Op::kTruncate;
  truncate.relation = rel;
  truncate.source = source(0);
  Change end;
  end.op = Op::kBackfillEnd;
  end.relation = rel;
  end.source = source(5);
  end.source.backfill = 12;
  end.source.audience = "webhooks:3";
  end.marker = Marker{1234, "price > 10", 0, 0};
  Change gap;
  gap.op = Op::kGap;
  gap.relation = rel;
  gap.source.commit_lsn = 0x200;
  gap.source.backfill = 9;
  gap.marker = Marker{0, "", 0x1234567890ULL, 0x201};
  for (const Change* c : {&insert, &del, &truncate, &end, &gap}) {
    std::string id = "left over", key = "left over", value = "left over";
    encode_change(*c, id, key, value);
    CHECK(id == change_id(c->source));
    CHECK(key == kafka_key(*c));
    CHECK(value == to_json(*c, id));
    parse(value);
  }
  std::string id, key, value;
  encode_change(insert, id, key, value);
  CHECK(id == "00000016B374D848-00ABCDEF");
  encode_change(end, id, key, value);
  CHECK(value ==
        R"({"id":"00000016B374D848-00000005","op":"e","table":"public.products","before":null,)"
        R"("after":null,"backfill":{"id":12,"rows":1234,"where":"price > 10"},)"
        R"("source":{"lsn":"16/B374D848","xid":4242,"commit_time":"2000-01-01T00:00:00.000000Z",)"
        R"("seq":5,"backfill":12,"for":"webhooks:3"}})");
  encode_change(gap, id, key, value);
  CHECK(value ==
        R"({"id":"0000000000000200-00000000","op":"g","table":"public.products","before":null,)"
        R"("after":null,"gap":{"from_lsn":"12/34567890","to_lsn":"0/201","backfill":9},)"
        R"("source":{"lsn":"0/200","xid":0,"commit_time":"2000-01-01T00:00:00.000000Z","seq":0,)"
        R"("backfill":9}})");
}
