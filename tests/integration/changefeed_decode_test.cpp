// The pgoutput decoder against what PostgreSQL really emits: a publication
// and a logical slot on the test stack, changes of every kind (a TOASTed
// value left unchanged, a key changed, a NULL, a column added mid-stream, a
// TRUNCATE), read back with pg_logical_slot_get_binary_changes and decoded.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <variant>

#include "harness.hpp"
#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/pgoutput.hpp"
#include "millrace/core/timestamp.hpp"

using namespace millrace;
using namespace millrace::changefeed;
using namespace millrace::testing;

namespace {

// The changes of one transaction, with the Relation messages that came
// before them (PostgreSQL sends one ahead of a relation's first change and
// again after its definition changed).
struct Decoded {
  Begin begin;
  Commit commit;
  std::vector<Message> changes;
};

std::vector<Decoded> read_slot(pqxx::connection& feed, const std::string& slot,
                               const std::string& publication, RelationCache& relations,
                               std::vector<changefeed::Transaction>& assembled) {
  pqxx::nontransaction tx(feed);
  const auto rows = tx.exec(
      "SELECT data FROM pg_logical_slot_get_binary_changes(" + tx.quote(slot) +
      ", NULL, NULL, 'proto_version', '1', 'publication_names', " + tx.quote(publication) + ")");
  std::vector<Decoded> out;
  std::optional<Decoded> open;
  Assembler assembler([](const Relation&) { return std::vector<std::string>{}; });
  for (const auto& row : rows) {
    const pqxx::binarystring bytes(row[0]);
    auto message = decode(bytes.str());
    if (auto tx = assembler.feed(message)) assembled.push_back(std::move(*tx));
    if (auto* b = std::get_if<Begin>(&message)) {
      REQUIRE_FALSE(open.has_value());
      open = Decoded{*b, {}, {}};
    } else if (auto* c = std::get_if<Commit>(&message)) {
      REQUIRE(open.has_value());
      open->commit = *c;
      // A transaction with nothing published in it (DDL alone) may or may not
      // be sent as an empty Begin/Commit, depending on the server version.
      if (!open->changes.empty()) out.push_back(std::move(*open));
      open.reset();
    } else {
      REQUIRE(open.has_value());
      if (auto* r = std::get_if<Relation>(&message)) relations.put(*r);
      open->changes.push_back(std::move(message));
    }
  }
  REQUIRE_FALSE(open.has_value());
  return out;
}

// The one change of `tx` that is not a Relation.
template <typename T>
const T& only_change(const Decoded& tx) {
  const T* found = nullptr;
  for (const auto& m : tx.changes) {
    if (std::holds_alternative<Relation>(m)) continue;
    REQUIRE(found == nullptr);
    found = std::get_if<T>(&m);
    REQUIRE(found != nullptr);
  }
  REQUIRE(found != nullptr);
  return *found;
}

}  // namespace

TEST_CASE("pgoutput as PostgreSQL emits it decodes into every kind of change",
          "[changefeed-decode]") {
  const auto env = stack_env();
  REQUIRE_FALSE(env.changefeed_pg.empty());
  const std::string name = unique_name("it_cfd");
  pqxx::connection owner(env.pg);
  pqxx::connection feed(env.changefeed_pg);
  {
    pqxx::work tx(owner);
    const std::string s = tx.quote_name(name);
    tx.exec("CREATE SCHEMA " + s);
    tx.exec("CREATE TABLE " + s + ".items (id int PRIMARY KEY, name text NOT NULL, note text, " +
            "big text)");
    // Out of line and uncompressed, so an UPDATE that leaves it alone sends
    // it as 'u' (unchanged TOASTed value).
    tx.exec("ALTER TABLE " + s + ".items ALTER big SET STORAGE EXTERNAL");
    tx.exec("CREATE PUBLICATION " + s + " FOR TABLE " + s + ".items");
    tx.commit();
  }
  {
    pqxx::nontransaction tx(feed);
    tx.exec("SELECT pg_create_logical_replication_slot(" + tx.quote(name) + ", 'pgoutput')");
  }
  const std::string big(10'000, 'x');
  const auto exec = [&](const std::string& sql) {
    pqxx::work tx(owner);
    tx.exec(sql);
    tx.commit();
  };
  const std::string t = "\"" + name + "\".items";
  exec("INSERT INTO " + t + " VALUES (1, 'Garden', NULL, '" + big + "')");
  exec("UPDATE " + t + " SET name = 'Yard' WHERE id = 1");
  exec("UPDATE " + t + " SET id = 2 WHERE id = 1");
  exec("DELETE FROM " + t + " WHERE id = 2");
  exec("ALTER TABLE " + t + " ADD COLUMN shelf int");
  exec("INSERT INTO " + t + " VALUES (3, 'Tools', 'it''s \"quoted\"', NULL, 12)");
  exec("TRUNCATE " + t);

  RelationCache relations;
  std::vector<changefeed::Transaction> assembled;
  const auto txs = read_slot(feed, name, name, relations, assembled);
  {
    pqxx::work tx(owner);
    tx.exec("DROP PUBLICATION " + tx.quote_name(name));
    tx.exec("DROP SCHEMA " + tx.quote_name(name) + " CASCADE");
    tx.commit();
    pqxx::nontransaction f(feed);
    f.exec("SELECT pg_drop_replication_slot(" + f.quote(name) + ")");
  }
  REQUIRE(txs.size() == 6);
  for (const auto& tx : txs) {
    CHECK(tx.begin.final_lsn == tx.commit.commit_lsn);
    CHECK(tx.begin.commit_time_pg_us == tx.commit.commit_time_pg_us);
    CHECK(tx.commit.end_lsn > tx.commit.commit_lsn);
  }
  for (std::size_t i = 1; i < txs.size(); ++i) {
    CHECK(txs[i].commit.commit_lsn > txs[i - 1].commit.commit_lsn);
  }

  // The relation as first described: four columns, id the key.
  const auto& first = std::get<Relation>(txs[0].changes.at(0));
  CHECK(first.schema == name);
  CHECK(first.name == "items");
  CHECK(first.replica_identity == 'd');
  REQUIRE(first.columns.size() == 4);
  CHECK(first.columns[0].name == "id");
  CHECK(first.columns[0].key);
  CHECK(first.columns[0].type_oid == 23);  // int4
  CHECK_FALSE(first.columns[1].key);
  CHECK(first.columns[3].type_oid == 25);  // text

  const auto& ins = only_change<Insert>(txs[0]);
  CHECK(ins.relation == first.oid);
  REQUIRE(ins.new_tuple.size() == 4);
  CHECK(ins.new_tuple[0].data == "1");
  CHECK(ins.new_tuple[1].data == "Garden");
  CHECK(ins.new_tuple[2].kind == Value::Kind::kNull);
  CHECK(ins.new_tuple[3].data == big);

  const auto& renamed = only_change<Update>(txs[1]);
  CHECK_FALSE(renamed.old_key.has_value());
  CHECK_FALSE(renamed.old_tuple.has_value());
  CHECK(renamed.new_tuple[1].data == "Yard");
  CHECK(renamed.new_tuple[3].kind == Value::Kind::kUnchanged);

  const auto& rekeyed = only_change<Update>(txs[2]);
  REQUIRE(rekeyed.old_key.has_value());
  CHECK((*rekeyed.old_key)[0].data == "1");
  CHECK(rekeyed.new_tuple[0].data == "2");

  const auto& del = only_change<Delete>(txs[3]);
  REQUIRE(del.old_key.has_value());
  CHECK((*del.old_key)[0].data == "2");
  CHECK((*del.old_key)[1].kind == Value::Kind::kNull);  // not part of the key

  // After ADD COLUMN the relation is described again, with five columns.
  const auto& widened = relations.at(first.oid);
  REQUIRE(widened.columns.size() == 5);
  CHECK(widened.columns[4].name == "shelf");
  const auto& ins2 = only_change<Insert>(txs[4]);
  REQUIRE(ins2.new_tuple.size() == 5);
  CHECK(ins2.new_tuple[2].data == "it's \"quoted\"");
  CHECK(ins2.new_tuple[3].kind == Value::Kind::kNull);
  CHECK(ins2.new_tuple[4].data == "12");

  const auto& trunc = only_change<Truncate>(txs[5]);
  CHECK(trunc.relations == std::vector<Oid>{first.oid});
  CHECK_FALSE(trunc.cascade);

  // The same stream assembled into published changes.
  REQUIRE(assembled.size() == 6);
  const std::string table = "\"" + name + ".items\"";
  CHECK(to_json(assembled[0].changes.at(0), "i") ==
        "{\"id\":\"i\",\"op\":\"c\",\"table\":" + table +
            ",\"key\":{\"id\":1},\"before\":null,\"after\":{\"id\":1,\"name\":\"Garden\",\"note\":"
            "null,"
            "\"big\":\"" +
            big + "\"},\"source\":{\"lsn\":\"" + format_lsn(txs[0].commit.commit_lsn) +
            "\",\"xid\":" + std::to_string(txs[0].begin.xid) + ",\"commit_time\":\"" +
            core::format_timestamp(unix_us_from_pg(txs[0].commit.commit_time_pg_us)) +
            "\",\"seq\":0}}");
  const std::string renamed_json = to_json(assembled[1].changes.at(0), "u");
  CHECK_THAT(renamed_json, Catch::Contains("\"after\":{\"id\":1,\"name\":\"Yard\",\"note\":null},"
                                           "\"unchanged\":[\"big\"]"));
  const auto& rekey = assembled[2].changes.at(0);
  CHECK(kafka_key(rekey) == "{\"table\":" + table + ",\"key\":{\"id\":2}}");
  CHECK_THAT(to_json(rekey, "k"), Catch::Contains("\"before\":{\"id\":1}"));
  CHECK(assembled[5].changes.at(0).op == Op::kTruncate);
  for (const auto& tx : assembled) CHECK(tx.end_lsn > tx.commit_lsn);
}
