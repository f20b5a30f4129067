#include "millrace/changefeed/assembler.hpp"

#include <catch2/catch.hpp>

using namespace millrace::changefeed;
using Catch::Matchers::Contains;

namespace {

Value text(std::string s) {
  return Value{Value::Kind::kText, std::move(s)};
}

Relation items(char identity, bool flag_id = true, bool flag_name = false) {
  Relation r;
  r.oid = 7;
  r.schema = "public";
  r.name = "items";
  r.replica_identity = identity;
  r.columns = {{"id", 23, -1, flag_id}, {"name", 25, -1, flag_name}};
  return r;
}

Begin begin(Lsn at, std::uint32_t xid) {
  return Begin{at, 1000, xid};
}
Commit commit(Lsn at) {
  return Commit{at, at + 0x30, 1000};
}

std::vector<std::string> no_primary_key(const Relation&) {
  return {};
}

}  // namespace

TEST_CASE("a transaction comes out whole at its Commit, its changes numbered in order") {
  Assembler a(no_primary_key);
  CHECK_FALSE(a.feed(items('d')).has_value());
  CHECK_FALSE(a.feed(begin(0x500, 9)).has_value());
  CHECK(a.in_transaction());
  CHECK_FALSE(a.feed(Insert{7, {text("1"), text("a")}}, 0x400).has_value());
  CHECK_FALSE(a.feed(Update{7, std::nullopt, std::nullopt, {text("1"), text("b")}}, 0x440));
  CHECK_FALSE(a.feed(Delete{7, Tuple{text("1"), Value{}}, std::nullopt}, 0x480));
  const auto tx = a.feed(commit(0x500));
  REQUIRE(tx.has_value());
  CHECK_FALSE(a.in_transaction());
  CHECK(tx->xid == 9);
  CHECK(tx->commit_lsn == 0x500);
  CHECK(tx->end_lsn == 0x530);
  REQUIRE(tx->changes.size() == 3);
  const Op ops[] = {Op::kCreate, Op::kUpdate, Op::kDelete};
  const Lsn at[] = {0x400, 0x440, 0x480};
  for (std::uint32_t i = 0; i < 3; ++i) {
    INFO(i);
    const auto& c = tx->changes[i];
    CHECK(c.op == ops[i]);
    CHECK(c.source.seq == i);
    CHECK(c.source.commit_lsn == 0x500);
    CHECK(c.source.xid == 9);
    CHECK(c.source.change_lsn == at[i]);
    CHECK(c.key_columns == std::vector<std::size_t>{0});
  }
  CHECK(tx->changes[2].old_key.has_value());
  CHECK_FALSE(tx->changes[2].after.has_value());
  CHECK(kafka_key(tx->changes[2]) == R"({"table":"public.items","key":{"id":1}})");
}

TEST_CASE("a change keeps the relation as it was described when the change was made") {
  Assembler a(no_primary_key);
  a.feed(items('d'));
  a.feed(begin(0x900, 1));
  a.feed(Insert{7, {text("1"), text("a")}});
  Relation wider = items('d');
  wider.columns.push_back({"shelf", 23, -1, false});
  a.feed(wider);
  a.feed(Insert{7, {text("2"), text("b"), text("5")}});
  const auto tx = a.feed(commit(0x900));
  REQUIRE(tx->changes.size() == 2);
  CHECK(tx->changes[0].relation->columns.size() == 2);
  CHECK(tx->changes[1].relation->columns.size() == 3);
  CHECK_NOTHROW(to_json(tx->changes[0], "a"));
  CHECK_NOTHROW(to_json(tx->changes[1], "b"));
}

TEST_CASE("a truncate is one change per table it emptied") {
  Assembler a(no_primary_key);
  a.feed(items('d'));
  Relation other = items('d');
  other.oid = 8;
  other.name = "others";
  a.feed(other);
  a.feed(begin(0x100, 1));
  a.feed(Truncate{{7, 8}, false, false});
  const auto tx = a.feed(commit(0x100));
  REQUIRE(tx->changes.size() == 2);
  CHECK(tx->changes[0].op == Op::kTruncate);
  CHECK(tx->changes[1].relation->name == "others");
  CHECK(tx->changes[1].source.seq == 1);
  CHECK(tx->changes[0].key_columns.empty());
}

TEST_CASE("the key: pgoutput's flags, else the primary key, else the whole row") {
  SECTION("default identity: the flagged columns") {
    Assembler a(no_primary_key);
    CHECK(a.key_columns(items('d')) == std::vector<std::size_t>{0});
  }
  SECTION("identity full flags every column: the primary key is asked for") {
    std::vector<std::string> asked;
    Assembler a([&](const Relation& r) {
      asked.push_back(r.name);
      return std::vector<std::string>{"id"};
    });
    CHECK(a.key_columns(items('f', true, true)) == std::vector<std::size_t>{0});
    CHECK(asked == std::vector<std::string>{"items"});
  }
  SECTION("a composite primary key in key order, not column order") {
    Assembler a([](const Relation&) { return std::vector<std::string>{"name", "id"}; });
    CHECK(a.key_columns(items('f', true, true)) == std::vector<std::size_t>{1, 0});
  }
  SECTION("no key anywhere: every column") {
    Assembler a(no_primary_key);
    CHECK(a.key_columns(items('n', false, false)) == std::vector<std::size_t>{0, 1});
  }
}

TEST_CASE("a stream that breaks the protocol is refused") {
  Assembler a(no_primary_key);
  a.feed(items('d'));
  CHECK_THROWS_WITH(a.feed(Insert{7, {text("1"), text("a")}}), Contains("outside a transaction"));
  CHECK_THROWS_WITH(a.feed(commit(0x10)), Contains("without a Begin"));
  a.feed(begin(0x20, 1));
  CHECK_THROWS_WITH(a.feed(begin(0x30, 2)), Contains("inside a transaction"));
  CHECK_THROWS_WITH(a.feed(Insert{99, {}}), Contains("99"));
  CHECK_THROWS_WITH(a.feed(commit(0x40)), Contains("0/40"));
}

TEST_CASE("a table's key is looked up once per description, not per change") {
  int asked = 0;
  Assembler a([&](const Relation&) {
    ++asked;
    return std::vector<std::string>{"id"};
  });
  a.feed(items('f', true, true));
  a.feed(begin(0x100, 1));
  for (int i = 0; i < 3; ++i) a.feed(Insert{7, {text(std::to_string(i)), text("a")}});
  auto tx = a.feed(commit(0x100));
  REQUIRE(tx);
  CHECK(asked == 1);
  for (const auto& c : tx->changes) CHECK(c.key_columns == std::vector<std::size_t>{0});
  // Described anew (an ALTER TABLE): its key is worked out again.
  Relation renamed = items('f', true, true);
  renamed.columns = {{"name", 25, -1, true}, {"id", 23, -1, true}};
  a.feed(renamed);
  a.feed(begin(0x200, 2));
  a.feed(Insert{7, {text("b"), text("9")}});
  tx = a.feed(commit(0x200));
  REQUIRE(tx);
  CHECK(asked == 2);
  CHECK(tx->changes[0].key_columns == std::vector<std::size_t>{1});
}
