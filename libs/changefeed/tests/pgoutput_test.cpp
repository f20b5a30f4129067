#include "millrace/changefeed/pgoutput.hpp"

#include <catch2/catch.hpp>

#include "bytes.hpp"

using namespace millrace::changefeed;
using Catch::Matchers::Contains;
using millrace::changefeed::testing::Bytes;

namespace {

// The Relation message for categories(id int4 key, name text, note
// varchar(100)), and with a fourth column (parent int4) once one is added.
Bytes categories_relation(char identity = 'd', bool with_parent = false) {
  Bytes b;
  b.ch('R').i32(16384).str("public").str("categories").ch(identity).i16(with_parent ? 4 : 3);
  b.i8(1).str("id").i32(23).i32(0xFFFFFFFF);
  b.i8(0).str("name").i32(25).i32(0xFFFFFFFF);
  b.i8(0).str("note").i32(1043).i32(104);  // varchar(100): typmod 100 + 4
  if (with_parent) b.i8(0).str("parent").i32(23).i32(0xFFFFFFFF);
  return b;
}

}  // namespace

TEST_CASE("Begin and Commit bracket a transaction with its LSNs, time and xid") {
  Bytes begin;
  begin.ch('B').i64(0x16B374D848ULL).i64(1234567).i32(4242);
  const auto b = std::get<Begin>(decode(begin));
  CHECK(b.final_lsn == 0x16B374D848ULL);
  CHECK(b.commit_time_pg_us == 1234567);
  CHECK(b.xid == 4242);

  Bytes commit;
  commit.ch('C').i8(0).i64(0x16B374D848ULL).i64(0x16B374D880ULL).i64(1234567);
  const auto c = std::get<Commit>(decode(commit));
  CHECK(c.commit_lsn == 0x16B374D848ULL);
  CHECK(c.end_lsn == 0x16B374D880ULL);
  CHECK(c.commit_time_pg_us == 1234567);
}

TEST_CASE("a Relation describes the columns, which of them form the key, and the identity") {
  const auto r = std::get<Relation>(decode(categories_relation('f')));
  CHECK(r.oid == 16384);
  CHECK(r.schema == "public");
  CHECK(r.name == "categories");
  CHECK(r.replica_identity == 'f');
  REQUIRE(r.columns.size() == 3);
  CHECK(r.columns[0].name == "id");
  CHECK(r.columns[0].key);
  CHECK(r.columns[0].type_oid == 23);
  CHECK(r.columns[0].type_modifier == -1);
  CHECK_FALSE(r.columns[1].key);
  CHECK(r.columns[2].name == "note");
  CHECK(r.columns[2].type_oid == 1043);
  CHECK(r.columns[2].type_modifier == 104);
}

TEST_CASE("an Insert carries the new row: text, NULL and binary values") {
  Bytes b;
  b.ch('I').i32(16384).ch('N').i16(3).text("7").ch('n').ch('b').i32(2).raw(std::string("\0\1", 2));
  const auto i = std::get<Insert>(decode(b));
  CHECK(i.relation == 16384);
  REQUIRE(i.new_tuple.size() == 3);
  CHECK(i.new_tuple[0].kind == Value::Kind::kText);
  CHECK(i.new_tuple[0].data == "7");
  CHECK(i.new_tuple[1].kind == Value::Kind::kNull);
  CHECK(i.new_tuple[1].data.empty());
  CHECK(i.new_tuple[2].kind == Value::Kind::kBinary);
  CHECK(i.new_tuple[2].data == std::string("\0\1", 2));
}

TEST_CASE("an Update has the new row, and the old key or old row when the server sends one") {
  SECTION("key unchanged, default identity: no old part; a TOASTed value left out") {
    Bytes b;
    b.ch('U').i32(16384).ch('N').i16(3).text("7").text("Garden").ch('u');
    const auto u = std::get<Update>(decode(b));
    CHECK_FALSE(u.old_key.has_value());
    CHECK_FALSE(u.old_tuple.has_value());
    REQUIRE(u.new_tuple.size() == 3);
    CHECK(u.new_tuple[1].data == "Garden");
    CHECK(u.new_tuple[2].kind == Value::Kind::kUnchanged);
  }
  SECTION("key changed: 'K' with the old key") {
    Bytes b;
    b.ch('U').i32(16384).ch('K').i16(3).text("7").ch('n').ch('n');
    b.ch('N').i16(3).text("8").text("Garden").ch('n');
    const auto u = std::get<Update>(decode(b));
    REQUIRE(u.old_key.has_value());
    CHECK((*u.old_key)[0].data == "7");
    CHECK_FALSE(u.old_tuple.has_value());
    CHECK(u.new_tuple[0].data == "8");
  }
  SECTION("replica identity full: 'O' with the whole old row") {
    Bytes b;
    b.ch('U').i32(16384).ch('O').i16(3).text("7").text("Yard").ch('n');
    b.ch('N').i16(3).text("7").text("Garden").ch('n');
    const auto u = std::get<Update>(decode(b));
    CHECK_FALSE(u.old_key.has_value());
    REQUIRE(u.old_tuple.has_value());
    CHECK((*u.old_tuple)[1].data == "Yard");
  }
}

TEST_CASE("a Delete carries the old key, or the old row under replica identity full") {
  Bytes key;
  key.ch('D').i32(16384).ch('K').i16(3).text("7").ch('n').ch('n');
  const auto d = std::get<Delete>(decode(key));
  CHECK(d.relation == 16384);
  REQUIRE(d.old_key.has_value());
  CHECK((*d.old_key)[0].data == "7");
  CHECK((*d.old_key)[1].kind == Value::Kind::kNull);

  Bytes full;
  full.ch('D').i32(16384).ch('O').i16(3).text("7").text("Yard").text("x");
  const auto f = std::get<Delete>(decode(full));
  CHECK_FALSE(f.old_key.has_value());
  REQUIRE(f.old_tuple.has_value());
  CHECK((*f.old_tuple)[2].data == "x");
}

TEST_CASE("Truncate, Origin, Type and logical decoding messages") {
  Bytes t;
  t.ch('T').i32(2).i8(3).i32(16384).i32(16390);
  const auto tr = std::get<Truncate>(decode(t));
  CHECK(tr.relations == std::vector<Oid>{16384, 16390});
  CHECK(tr.cascade);
  CHECK(tr.restart_identity);

  Bytes o;
  o.ch('O').i64(0x99).str("node_a");
  const auto origin = std::get<Origin>(decode(o));
  CHECK(origin.origin_lsn == 0x99);
  CHECK(origin.name == "node_a");

  Bytes y;
  y.ch('Y').i32(70000).str("public").str("mood");
  const auto type = std::get<Type>(decode(y));
  CHECK(type.oid == 70000);
  CHECK(type.name == "mood");

  Bytes m;
  m.ch('M').i8(1).i64(0x42).str("millrace").i32(5).raw("hello");
  const auto msg = std::get<LogicalMessage>(decode(m));
  CHECK(msg.transactional);
  CHECK(msg.lsn == 0x42);
  CHECK(msg.prefix == "millrace");
  CHECK(msg.content == "hello");
}

TEST_CASE("a broken message is refused, saying where") {
  CHECK_THROWS_WITH(decode(""), Contains("truncated"));
  CHECK_THROWS_WITH(decode("Z"), Contains("unknown message type 'Z'"));
  // Every strict prefix of a valid message is truncated.
  const std::string whole = categories_relation().str();
  for (std::size_t n = 1; n < whole.size(); ++n) {
    INFO(n);
    CHECK_THROWS_AS(decode(std::string_view(whole).substr(0, n)), DecodeError);
  }
  Bytes trailing = categories_relation();
  trailing.i8(0);
  CHECK_THROWS_WITH(decode(trailing), Contains("trailing bytes"));
  Bytes no_n;
  no_n.ch('I').i32(1).ch('X').i16(0);
  CHECK_THROWS_WITH(decode(no_n), Contains("expected 'N'"));
  Bytes bad_kind;
  bad_kind.ch('I').i32(1).ch('N').i16(1).ch('q');
  CHECK_THROWS_WITH(decode(bad_kind), Contains("unknown column value kind 'q'"));
  Bytes bad_old;
  bad_old.ch('D').i32(1).ch('N').i16(0);
  CHECK_THROWS_WITH(decode(bad_old), Contains("expected 'K' or 'O'"));
  Bytes negative;
  negative.ch('I').i32(1).ch('N').i16(1).ch('t').i32(0xFFFFFFFF);
  CHECK_THROWS_WITH(decode(negative), Contains("negative value length"));
  Bytes long_value;
  long_value.ch('I').i32(1).ch('N').i16(1).ch('t').i32(100).raw("short");
  CHECK_THROWS_WITH(decode(long_value), Contains("truncated"));
}

TEST_CASE("the relation cache keeps the latest definition, and refuses an unknown OID") {
  RelationCache cache;
  CHECK_THROWS_WITH(cache.at(16384), Contains("16384"));
  cache.put(std::get<Relation>(decode(categories_relation())));
  CHECK(cache.at(16384).columns.size() == 3);
  // A column added mid-stream: PostgreSQL sends the Relation again.
  cache.put(std::get<Relation>(decode(categories_relation('d', true))));
  REQUIRE(cache.at(16384).columns.size() == 4);
  CHECK(cache.at(16384).columns[3].name == "parent");
  CHECK(cache.contains(16384));
  CHECK_FALSE(cache.contains(1));
}
