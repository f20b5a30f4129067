// millrace catalog load on the test stack: the generated catalog loads into
// categories and products, a second load changes nothing, refused lines are
// reported by line number while the rest loads, the views name what they
// count from the catalog, and misuse exits 2.
#include <catch2/catch.hpp>
#include <fstream>
#include <pqxx/pqxx>

#include "harness.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;

namespace {

struct Result {
  int rc = 0;
  std::string output;  // stdout and stderr
};

// `millrace ARGS` with the pipeline's database and schema, output merged.
Result cli(const Pipeline& p, const std::string& args) {
  Result r;
  r.rc = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema + "' " +
                       bin("millrace") + " " + args + " 2>&1",
                   &r.output);
  return r;
}

std::string write(const Pipeline& p, const std::string& name, const std::string& text) {
  const std::string path = p.log_dir + "/" + p.schema + "." + name;
  std::ofstream(path) << text;
  return path;
}

long long count(const Pipeline& p, const std::string& sql) {
  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(p.schema));
  return tx.exec1(sql)[0].as<long long>();
}

}  // namespace

TEST_CASE("catalog load: the generated catalog, a reload, refused lines, misuse", "[catalog]") {
  Pipeline p("it_cat");
  REQUIRE(cli(p, "migrate").rc == 0);
  const std::string categories = p.log_dir + "/" + p.schema + ".categories.csv";
  const std::string products = p.log_dir + "/" + p.schema + ".products.ndjson";
  REQUIRE(cli(p, "generate --catalog categories --format csv > " + categories).rc == 0);
  REQUIRE(cli(p, "generate --catalog products > " + products).rc == 0);

  // Products first: no category is known yet, so every line is refused and
  // says why; nothing is stored.
  auto r = cli(p, "catalog load " + products);
  INFO(r.output.substr(0, 2000));
  CHECK(r.rc == 1);
  CHECK_THAT(r.output, Catch::Contains(products + ":1: category \"Notebooks\" is not in the "
                                                  "catalog (load categories first)"));
  CHECK_THAT(r.output, Catch::Contains("5000 more refused line(s) not shown"));
  CHECK_THAT(r.output, Catch::Contains("\"refused\":6000"));
  CHECK(count(p, "SELECT count(*) FROM products") == 0);

  r = cli(p, "catalog load " + categories);
  CHECK(r.rc == 0);
  CHECK_THAT(r.output, Catch::Contains("{\"table\":\"categories\",\"lines\":21,\"records\":20,"
                                       "\"inserted\":20,\"updated\":0,\"unchanged\":0,"
                                       "\"refused\":0,"));
  r = cli(p, "catalog load " + products);
  CHECK(r.rc == 0);
  CHECK_THAT(r.output, Catch::Contains("\"inserted\":6000,\"updated\":0,\"unchanged\":0"));
  // Loaded again: nothing differs, nothing is written.
  r = cli(p, "catalog load --format ndjson - < " + products);
  CHECK(r.rc == 0);
  CHECK_THAT(r.output, Catch::Contains("\"inserted\":0,\"updated\":0,\"unchanged\":6000"));
  CHECK(count(p, "SELECT count(*) FROM products WHERE list_price BETWEEN 0.5 AND 500") == 6000);

  // Mixed lines: the good ones load (one new, one changed, the same sku
  // twice: the later wins), the bad ones are refused by line number.
  const auto mixed = write(p, "mixed.csv",
                           "sku,name,brand,category,list_price,active\n"
                           "145150,Pens renamed,Contoso,Pens,3.50,true\n"
                           "145150,Pens renamed twice,Contoso,Pens,3.75,true\n"
                           "999,Bad price,,Pens,1.234,true\n"
                           "998,\"Quoted, name\",,Nowhere,1,true\n"
                           "997,New thing,,Rulers,2,false\n");
  r = cli(p, "catalog load " + mixed);
  CHECK(r.rc == 1);
  CHECK_THAT(r.output, Catch::Contains(mixed + ":4: \"list_price\" must be an amount"));
  CHECK_THAT(r.output, Catch::Contains(mixed + ":5: category \"Nowhere\" is not in the catalog"));
  CHECK_THAT(r.output, Catch::Contains("\"records\":3,\"inserted\":1,\"updated\":2,"
                                       "\"unchanged\":0,\"refused\":2"));
  CHECK(count(p,
              "SELECT count(*) FROM products WHERE sku = 145150 AND name = 'Pens renamed "
              "twice' AND list_price = 3.75") == 1);
  CHECK(count(p, "SELECT count(*) FROM products WHERE sku = 997 AND NOT active") == 1);
  CHECK(count(p, "SELECT count(*) FROM products") == 6001);

  // An edit by hand moves updated_at too.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    tx.exec("UPDATE categories SET updated_at = now() - interval '1 day' WHERE name = 'Pens'");
    tx.commit();
  }
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    tx.exec("UPDATE categories SET display_name = 'Pens & pencils' WHERE name = 'Pens'");
    tx.commit();
  }
  CHECK(count(p,
              "SELECT count(*) FROM categories WHERE name = 'Pens' AND updated_at > now() - "
              "interval '1 hour'") == 1);

  // The views name what they count, from the catalog when read: a known sku
  // and category get their names, an unknown one NULL.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    tx.exec("INSERT INTO agg_products VALUES (145150, 10, 35), (42, 5, 1)");
    tx.exec("INSERT INTO agg_categories VALUES ('Pens', 3, 10, 35, 0), ('Kites', 1, 5, 1, 0)");
    tx.commit();
  }
  CHECK(count(p,
              "SELECT count(*) FROM top_products WHERE rank = 1 AND sku = 145150 AND name = "
              "'Pens renamed twice' AND brand = 'Contoso'") == 1);
  CHECK(count(p,
              "SELECT count(*) FROM top_products WHERE rank = 2 AND sku = 42 AND name IS "
              "NULL AND brand IS NULL") == 1);
  CHECK(count(p,
              "SELECT count(*) FROM popular_categories WHERE category = 'Pens' AND "
              "display_name = 'Pens & pencils'") == 1);
  CHECK(count(p,
              "SELECT count(*) FROM popular_categories WHERE category = 'Kites' AND "
              "display_name IS NULL") == 1);

  // Misuse: exit 2, with the reason.
  r = cli(p, "catalog load");
  CHECK(r.rc == 2);
  CHECK_THAT(r.output, Catch::Contains("give one SOURCE"));
  r = cli(p, "catalog load - < " + mixed);
  CHECK(r.rc == 2);
  CHECK_THAT(r.output, Catch::Contains("--format csv or ndjson"));
  r = cli(p, "catalog load " + write(p, "odd.csv", "sku,colour\n1,red\n"));
  CHECK(r.rc == 2);
  CHECK_THAT(r.output, Catch::Contains("\"colour\", which products does not have"));
  r = cli(p, "catalog load --table shelves " + mixed);
  CHECK(r.rc == 2);
  r = cli(p, "catalog load /nonexistent/file.csv");
  CHECK(r.rc == 2);
  CHECK_THAT(r.output, Catch::Contains("cannot open"));
}
