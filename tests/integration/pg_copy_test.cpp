// pg::CopyWriter and pg::OptimisticCopy against the real PostgreSQL: many
// chunks of rows arrive exactly as written, and a stored key sends a batch,
// and the next, to the slow path the sink and the aggregator resolve
// duplicates with.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <pqxx/pqxx>

#include "harness.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/pg/copy_binary.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/kind_tables.hpp"

using namespace millrace;
using namespace millrace::testing;

namespace {

std::string text_of(int i) {
  // Every byte COPY must escape, UTF-8, and text that looks like COPY's NULL.
  switch (i % 5) {
    case 0:
      return "plain " + std::to_string(i);
    case 1:
      return "tab\there, newline\nthere, cr\r, backslash\\ " + std::to_string(i);
    case 2:
      return "\\N";
    case 3:
      return "Caf\xc3\xa9 \xe2\x82\xac " + std::to_string(i);
    default:
      return "";
  }
}

}  // namespace

TEST_CASE("COPY through pg::CopyWriter stores every row as written, across many chunks",
          "[pg-copy]") {
  const auto env = stack_env();
  const std::string schema = unique_name("it_copy");
  pqxx::connection c(env.pg);
  {
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA " + schema);
    tx.exec("CREATE TABLE " + schema +
            ".t (id integer PRIMARY KEY, s text, n bigint, b boolean, maybe text)");
    tx.commit();
  }
  constexpr int kRows = 20'000;  // about 1 MB of text: many 64 KiB chunks
  {
    pqxx::work tx(c);
    pg::CopyWriter copy(tx, schema + ".t", {"id", "s", "n", "b", "maybe"});
    for (int i = 0; i < kRows; ++i) {
      auto& r = copy.row();
      r.integer(i)
          .text(text_of(i))
          .integer(-static_cast<std::int64_t>(i) * 1'000'000'007)
          .boolean(i % 2 == 0);
      if (i % 3 == 0) {
        r.null();
      } else {
        r.text(std::string(i % 50, 'x'));
      }
      copy.end_row();
    }
    copy.complete();
    tx.commit();
  }
  pqxx::work tx(c);
  const auto rows = tx.exec("SELECT id, s, n, b, maybe FROM " + schema + ".t ORDER BY id");
  REQUIRE(rows.size() == kRows);
  int mismatches = 0;
  for (int i = 0; i < kRows; ++i) {
    const auto& r = rows[i];
    const bool same =
        r[0].as<int>() == i && r[1].as<std::string>() == text_of(i) &&
        r[2].as<std::int64_t>() == -static_cast<std::int64_t>(i) * 1'000'000'007 &&
        r[3].as<bool>() == (i % 2 == 0) &&
        (i % 3 == 0 ? r[4].is_null()
                    : !r[4].is_null() && r[4].as<std::string>() == std::string(i % 50, 'x'));
    if (!same && ++mismatches <= 3) FAIL_CHECK("row " << i << " differs");
  }
  CHECK(mismatches == 0);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
  tx.commit();
}

TEST_CASE(
    "binary COPY stores every row as written across many chunks, and a stored key "
    "surfaces as a unique violation",
    "[pg-copy]") {
  const auto env = stack_env();
  const std::string schema = unique_name("it_copybin");
  pqxx::connection c(env.pg);
  {
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA " + schema);
    tx.exec("CREATE TABLE " + schema + ".t (n integer, id uuid PRIMARY KEY, h integer, us bigint)");
    tx.commit();
  }
  const auto uuid_of = [](int i) {
    char text[37];
    std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(i),
                  static_cast<unsigned>(i) * 7919u);
    return std::string(text);
  };
  constexpr int kRows = 20'000;  // about 1 MB: many 64 KiB chunks
  {
    pqxx::work tx(c);
    pg::BinaryCopyWriter copy(tx, schema + ".t", {"n", "id", "h", "us"});
    for (int i = 0; i < kRows; ++i) {
      copy.row()
          .begin_row()
          .int4(-i)
          .uuid(uuid_of(i))
          .int4(i / 100)
          .int8(static_cast<std::int64_t>(i) * 1'000'000'007);
      copy.end_row();
    }
    copy.complete();
    tx.commit();
  }
  {
    pqxx::work tx(c);
    const auto rows = tx.exec("SELECT n, id::text, h, us FROM " + schema + ".t ORDER BY h, n DESC");
    REQUIRE(rows.size() == kRows);
    int mismatches = 0;
    for (int i = 0; i < kRows; ++i) {
      const auto& r = rows[i];
      const bool same = r[0].as<int>() == -i && r[1].as<std::string>() == uuid_of(i) &&
                        r[2].as<int>() == i / 100 &&
                        r[3].as<std::int64_t>() == static_cast<std::int64_t>(i) * 1'000'000'007;
      if (!same && ++mismatches <= 3) FAIL_CHECK("row " << i << " differs");
    }
    CHECK(mismatches == 0);
  }
  {
    // A key stored already, in the last chunk: refused as the key it is,
    // and the transaction is left to roll back.
    pqxx::work tx(c);
    bool unique = false;
    try {
      pg::BinaryCopyWriter copy(tx, schema + ".t", {"n", "id", "h", "us"});
      for (int i = kRows; i < 2 * kRows; ++i) {
        copy.row().begin_row().int4(0).uuid(uuid_of(i)).int4(0).int8(0);
        copy.end_row();
      }
      copy.row().begin_row().int4(0).uuid(uuid_of(5)).int4(0).int8(0);
      copy.end_row();
      copy.complete();
    } catch (const pqxx::unique_violation& e) {
      unique = std::string(e.sqlstate()) == "23505";
    }
    CHECK(unique);
  }
  pqxx::work tx(c);
  CHECK(tx.exec1("SELECT count(*) FROM " + schema + ".t")[0].as<int>() == kRows);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
  tx.commit();
}

TEST_CASE(
    "OptimisticCopy: a stored key undoes the direct COPY, and the slow path decides "
    "until a batch meets no duplicates",
    "[pg-copy]") {
  const auto env = stack_env();
  const std::string schema = unique_name("it_copy_dup");
  const std::string table = schema + ".t";
  pqxx::connection c(env.pg);
  pqxx::work tx(c);
  tx.exec("CREATE SCHEMA " + schema);
  tx.exec("CREATE TABLE " + table + " (id integer PRIMARY KEY)");
  tx.exec("INSERT INTO " + table + " VALUES (70000)");
  const auto count = [&] { return tx.exec1("SELECT count(*) FROM " + table)[0].as<int>(); };
  int directs = 0;
  int resolves = 0;
  int rows_before_resolve = -1;
  const auto batch = [&](pg::OptimisticCopy& copy, int first, int last, std::uint64_t found) {
    copy.write(
        tx, "direct",
        [&](pqxx::transaction_base& t) {
          ++directs;
          pg::CopyWriter w(t, table, {"id"});
          for (int i = first; i <= last; ++i) {
            w.row().integer(i);
            w.end_row();
          }
          w.complete();
        },
        [&] {
          ++resolves;
          rows_before_resolve = count();
          tx.exec("INSERT INTO " + table + " SELECT generate_series(" + std::to_string(first) +
                  ", " + std::to_string(last) + ") ON CONFLICT DO NOTHING");
          return found;
        });
  };
  pg::OptimisticCopy copy;
  // The stored key comes last, in the seventh 64 KiB chunk: the rows before
  // it were sent already, and the savepoint must undo them before the slow
  // path runs.
  batch(copy, 0, 70000, 1);
  CHECK(rows_before_resolve == 1);
  CHECK(directs == 1);
  CHECK(resolves == 1);
  CHECK(count() == 70001);
  // That batch met a duplicate: the next goes straight to the slow path...
  batch(copy, 100000, 100009, 0);
  CHECK(directs == 1);
  CHECK(resolves == 2);
  // ...which found none, so the one after is COPYed directly again.
  batch(copy, 200000, 200009, 0);
  CHECK(directs == 2);
  CHECK(resolves == 2);
  CHECK(count() == 70021);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
  tx.commit();
}

TEST_CASE("the migrated store_events table has the contract's columns, in COPY order",
          "[pg-copy]") {
  const auto env = stack_env();
  const std::string schema = unique_name("it_contract");
  {
    auto conn = pg::connect(env.pg, schema, "it-contract", {}, pg::SchemaSetup::kCreateIfMissing);
    pg::migrate(*conn, schema);
  }
  pqxx::connection c(env.pg);
  pqxx::work tx(c);
  std::vector<std::string> columns;
  for (const auto& row : tx.exec_params(
           "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND "
           "table_name = 'store_events' AND column_default IS NULL ORDER BY ordinal_position",
           schema)) {
    columns.push_back(row[0].as<std::string>());
  }
  // Every column without a default is written by COPY, which names them:
  // the contract's fields, the row's source, and the enrichment's (a sink
  // that enriches writes them; one that does not leaves them NULL).
  auto expected = pg::record_columns(kinds::find_kind(kinds::kStoreEvent, ""));
  expected.insert(expected.end(), pg::kEnrichmentColumns.begin(), pg::kEnrichmentColumns.end());
  std::sort(columns.begin(), columns.end());
  std::sort(expected.begin(), expected.end());
  CHECK(columns == expected);
  tx.exec("DROP SCHEMA " + tx.quote_name(schema) + " CASCADE");
  tx.commit();
}

TEST_CASE("a COPY whose connection is killed fails as retryable, not fatal", "[pg-copy]") {
  // A backend terminated mid-COPY (a restart, a failover, an operator):
  // libpqxx reports the write as a plain failure; it must classify as a
  // lost connection, which every worker retries.
  const auto env = stack_env();
  const std::string schema = unique_name("it_copykill");
  {
    pqxx::connection c(env.pg);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA " + schema);
    tx.exec("CREATE TABLE " + schema + ".t (id integer PRIMARY KEY, s text)");
    tx.commit();
  }
  pqxx::connection victim(env.pg);
  const int pid = victim.backendpid();
  std::optional<core::FailureClass> failure;
  try {
    pqxx::work tx(victim);
    pg::CopyWriter copy(tx, schema + ".t", {"id", "s"});
    for (int i = 0; i < 1000; ++i) {
      copy.row().integer(i).text("before");
      copy.end_row();
    }
    {
      pqxx::connection killer(env.pg);
      pqxx::nontransaction k(killer);
      REQUIRE(k.exec1("SELECT pg_terminate_backend(" + std::to_string(pid) + ")")[0].as<bool>());
    }
    // Past one chunk, so the dead connection is written to, then ended.
    for (int i = 1000; i < 200'000; ++i) {
      copy.row().integer(i).text(std::string(100, 'x'));
      copy.end_row();
    }
    copy.complete();
    tx.commit();
  } catch (const std::exception& e) {
    INFO(e.what());
    failure = pg::classify(e);
  }
  REQUIRE(failure.has_value());
  CHECK(*failure == core::FailureClass::kRetryable);
  pqxx::connection c(env.pg);
  pqxx::nontransaction tx(c);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
}
