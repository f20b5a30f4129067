// millrace catalog load: flags, sources (a file, stdin, a URL), what is
// loaded or refused and printed, and --every's rounds, against a fake
// database.
#include "catalog.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common.hpp"
#include "fakes.hpp"
#include "millrace/catalog/generated.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using cli::testing::CatalogState;
using cli::testing::FakeCatalogDb;
using cli::testing::Harness;

namespace {

// A file of its own for one test, removed at the end.
struct TempFile {
  std::filesystem::path path;
  TempFile(const std::string& name, const std::string& text)
      : path(std::filesystem::temp_directory_path() /
             ("millrace-cli-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string str() const { return path.string(); }
};

std::string generated(const std::string& table) {
  std::ostringstream out;
  REQUIRE(cli::write_catalog(table, "csv", out) == 0);
  return out.str();
}

void use(Harness& h, CatalogState& state) {
  h.ctx.backend.catalog_db = [&state](const pg::PgOptions&) {
    return std::make_unique<FakeCatalogDb>(state);
  };
}

std::size_t lines_of(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("catalog load upserts a CSV file's categories in one transaction and prints a summary") {
  const auto text = generated("categories");
  TempFile file("categories.csv", text);
  Harness h;
  CatalogState state;
  use(h, state);
  CHECK(h.run({"catalog", "load", file.str()}) == 0);
  CHECK(state.calls == std::vector<std::string>{"connect", "upsert categories", "commit"});
  const auto records = lines_of(text) - 1;  // the header
  CHECK(state.added.size() == records);
  CHECK_THAT(h.out.str(),
             StartsWith("{\"table\":\"categories\",\"lines\":" + std::to_string(records + 1) +
                        ",\"records\":" + std::to_string(records) + ",\"inserted\":" +
                        std::to_string(records) + ",\"updated\":0,\"unchanged\":0,\"refused\":0,"));
  CHECK(h.err.str().empty());
}

TEST_CASE("catalog load accepts the generated products once their categories are known") {
  TempFile file("products.csv", generated("products"));
  Harness h;
  CatalogState state;
  for (const auto& c : catalog::generated_categories()) state.categories.insert(c.name);
  use(h, state);
  CHECK(h.run({"catalog", "load", file.str()}) == 0);
  // The categories are read before the upsert's transaction begins.
  CHECK(state.calls ==
        std::vector<std::string>{"connect", "categories", "upsert products", "commit"});
  CHECK(state.added.size() == catalog::generated_products().size());
}

TEST_CASE("catalog load refuses a product of an unknown category by line, loads the rest, exit 1") {
  Harness h;
  CatalogState state;
  state.categories = {"pens"};
  use(h, state);
  h.in.str(
      "{\"sku\":1,\"name\":\"Pen\",\"category\":\"pens\",\"list_price\":2.50}\n"
      "{\"sku\":2,\"name\":\"Ink\",\"category\":\"ink\",\"list_price\":4}\n"
      "{\"sku\":3,\"name\":\"Nib\",\"category\":\"pens\",\"list_price\":1}\n");
  CHECK(h.run({"catalog", "load", "-", "--format", "ndjson"}) == 1);
  CHECK(state.added.size() == 2);
  CHECK(h.err.str() == "-:2: category \"ink\" is not in the catalog (load categories first)\n");
  CHECK_THAT(h.out.str(), Contains("\"records\":2,"));
  CHECK_THAT(h.out.str(), Contains("\"refused\":1,"));
}

TEST_CASE("catalog load prints the first 1000 refused lines and counts the rest") {
  Harness h;
  CatalogState state;
  use(h, state);
  std::string text;
  for (int i = 0; i < 1003; ++i) text += "{\"name\":\"\"}\n";
  h.in.str(text);
  CHECK(h.run({"catalog", "load", "-", "--format", "ndjson", "--table", "categories"}) == 1);
  CHECK(lines_of(h.err.str()) == cli::kPrintedErrors + 1);
  CHECK_THAT(h.err.str(), Contains("-: 3 more refused line(s) not shown\n"));
  CHECK_THAT(h.out.str(), Contains("\"refused\":1003,"));
  // --table began the transaction at once: it commits, with nothing in it.
  CHECK(std::count(state.calls.begin(), state.calls.end(), "commit") == 1);
  CHECK(state.added.empty());
}

TEST_CASE("catalog load's misuse exits 2 before connecting") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "give one SOURCE: a file, - for stdin, or a URL"},
      {{"a.csv", "b.csv"}, "give one SOURCE"},
      {{"a.csv", "--table", "orders"},
       "--table: expected categories, products or assets, got \"orders\""},
      {{"a.csv", "--format", "xml"}, "--format: expected csv or ndjson, got \"xml\""},
      {{"a.txt"}, "cannot tell the format of a.txt: give --format csv or ndjson"},
      {{"-"}, "cannot tell the format of -"},
      {{"a.csv", "--every", "5x"}, "--every: expected a period such as 30s, 5m, 1h or 1d"},
      {{"a.csv", "--every", "0s"}, "--every: expected a period"},
      {{"-", "--format", "csv", "--every", "5m"}, "--every cannot reload stdin"},
  };
  for (const auto& [flags, message] : cases) {
    Harness h;
    CatalogState state;
    use(h, state);
    INFO(message);
    CHECK(h.run({"catalog", "load"}, flags) == 2);
    CHECK_THAT(h.err.str(), StartsWith("millrace catalog load: "));
    CHECK_THAT(h.err.str(), Contains(message));
    CHECK(state.calls.empty());
  }
}

TEST_CASE("catalog load of a file it cannot open is misuse, exit 2") {
  Harness h;
  CatalogState state;
  use(h, state);
  CHECK(h.run({"catalog", "load", "/nonexistent/categories.csv"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace catalog load: cannot open /nonexistent/"));
  CHECK(state.calls.empty());
}

TEST_CASE("catalog load of unreadable input names the source, exit 2") {
  Harness h;
  CatalogState state;
  use(h, state);
  h.in.str("colour,shade\nred,dark\n");
  CHECK(h.run({"catalog", "load", "-", "--format", "csv"}) == 2);
  CHECK_THAT(h.err.str(), StartsWith("millrace catalog load: -: "));
}

TEST_CASE("catalog load reports a database failure, exit 1") {
  Harness h;
  CatalogState state;
  state.fail_commit = true;
  use(h, state);
  h.in.str("{\"name\":\"pens\",\"display_name\":\"Pens\"}\n");
  CHECK(h.run({"catalog", "load", "-", "--format", "ndjson"}) == 1);
  CHECK(h.err.str() == "millrace catalog load: server gone\n");
  CHECK(h.out.str().empty());
}

TEST_CASE("catalog load of a URL takes the format from the Content-Type, then the path") {
  Harness h;
  CatalogState state;
  use(h, state);
  std::vector<std::string> fetched;
  catalog::FetchLimits limits;
  h.ctx.backend.fetch = [&](const std::string& url, const catalog::FetchLimits& l) {
    fetched.push_back(url);
    limits = l;
    return catalog::Fetched{"{\"name\":\"pens\",\"display_name\":\"Pens\"}\n",
                            "application/x-ndjson", url + "?v=2"};
  };
  CHECK(h.run({"catalog", "load", "https://example.com/c", "--timeout-s", "7", "--max-bytes",
               "1000"}) == 0);
  CHECK(fetched == std::vector<std::string>{"https://example.com/c"});
  CHECK(limits.timeout == std::chrono::seconds(7));
  CHECK(limits.max_bytes == 1000);
  CHECK(state.added.size() == 1);

  Harness unknown;
  use(unknown, state);
  unknown.ctx.backend.fetch = [](const std::string& url, const catalog::FetchLimits&) {
    return catalog::Fetched{"x\n", "text/plain", url};
  };
  CHECK(unknown.run({"catalog", "load", "https://example.com/c"}) == 2);
  CHECK_THAT(unknown.err.str(),
             Contains("cannot tell the format of https://example.com/c (Content-Type "
                      "\"text/plain\"): give --format csv or ndjson"));

  Harness by_path;
  CatalogState by_path_state;
  use(by_path, by_path_state);
  by_path.ctx.backend.fetch = [](const std::string& url, const catalog::FetchLimits&) {
    return catalog::Fetched{"name,display_name\npens,Pens\n", "", url + "?token=1"};
  };
  CHECK(by_path.run({"catalog", "load", "https://example.com/c.csv"}) == 0);
  CHECK(by_path_state.added.size() == 1);
}

TEST_CASE(
    "catalog load --every loads each round, reconnects after a failed one, stops on a signal") {
  TempFile file("every.ndjson", "{\"name\":\"pens\",\"display_name\":\"Pens\"}\n");
  Harness h;
  CatalogState state;
  state.fail_commit = true;  // the first round fails
  use(h, state);
  std::vector<std::chrono::seconds> waits;
  h.ctx.backend.shutdown_wait = [&] {
    return std::function<bool(std::chrono::seconds)>([&](std::chrono::seconds period) {
      waits.push_back(period);
      state.fail_commit = false;
      return waits.size() == 3;  // a signal during the third wait
    });
  };
  CHECK(h.run({"catalog", "load", file.str(), "--every", "2m"}) == 0);
  CHECK(waits == std::vector<std::chrono::seconds>(3, std::chrono::minutes(2)));
  // A round failed: the next connects again; the good ones keep their connection.
  CHECK(std::count(state.calls.begin(), state.calls.end(), "connect") == 2);
  CHECK(std::count(state.calls.begin(), state.calls.end(), "commit") == 3);
  CHECK(lines_of(h.out.str()) == 2);  // a summary per round that loaded
}

TEST_CASE("catalog load --every connects again when the connection broke") {
  TempFile file("broken.ndjson", "{\"name\":\"pens\",\"display_name\":\"Pens\"}\n");
  Harness h;
  CatalogState state;
  use(h, state);
  int rounds = 0;
  h.ctx.backend.shutdown_wait = [&] {
    return std::function<bool(std::chrono::seconds)>([&](std::chrono::seconds) {
      state.open = false;
      return ++rounds == 2;
    });
  };
  CHECK(h.run({"catalog", "load", file.str(), "--every", "1s"}) == 0);
  CHECK(std::count(state.calls.begin(), state.calls.end(), "connect") == 2);
}

TEST_CASE("parse_period reads seconds, minutes, hours and days, and nothing else") {
  using cli::parse_period;
  CHECK(parse_period("30s") == std::chrono::seconds(30));
  CHECK(parse_period("5m") == std::chrono::minutes(5));
  CHECK(parse_period("1h") == std::chrono::hours(1));
  CHECK(parse_period("2d") == std::chrono::hours(48));
  CHECK_FALSE(parse_period("5"));
  CHECK_FALSE(parse_period("m"));
  CHECK_FALSE(parse_period("-5m"));
  CHECK_FALSE(parse_period("5mm"));
  CHECK_FALSE(parse_period("5w"));
}

TEST_CASE("generate --catalog writes NDJSON by default and CSV with a header") {
  std::ostringstream ndjson, csv;
  CHECK(cli::write_catalog("products", "ndjson", ndjson) == 0);
  CHECK(cli::write_catalog("products", "csv", csv) == 0);
  CHECK(lines_of(ndjson.str()) == catalog::generated_products().size());
  CHECK(lines_of(csv.str()) == catalog::generated_products().size() + 1);
  CHECK_THAT(ndjson.str(), StartsWith("{"));
}
