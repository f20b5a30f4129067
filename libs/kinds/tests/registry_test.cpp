#include "millrace/kinds/registry.hpp"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "declaration_fixtures.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kinds/options.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using Rule = GenerateHint::Rule;
using namespace millrace::kinds::testing;

TEST_CASE("find_kind finds a kind declared in a directory", "[kinds][registry]") {
  const TempDir dir;
  dir.write("widget.json", kWidget);
  const auto d = find_kind("widget", dir.dir());
  CHECK(d.kind == "widget");
  CHECK(d.table == "widgets");
  // The built-in kinds are still found with a directory set.
  CHECK(find_kind("order", dir.dir()).kind == "order");
  CHECK(find_kind("store_event", dir.dir()).kind == "store_event");

  // all_kinds: the built-in ones, then the directory's in name order;
  // other files are not declarations.
  dir.write("gizmo.json", widget_with(R"("kind": "widget")", R"("kind": "gizmo")"));
  dir.write("notes.txt", "not a declaration");
  std::vector<std::string> kinds;
  for (const auto& k : all_kinds(dir.dir())) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade", "gizmo", "widget"});
  kinds.clear();
  for (const auto& k : all_kinds("")) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade"});
}

TEST_CASE("an unknown kind's error lists the built-in kinds", "[kinds][registry]") {
  CHECK_THAT(find_kind_refusal("invoice", ""), Contains("no kind \"invoice\"") &&
                                                   Contains("order, store_event") &&
                                                   Contains("no MILLRACE_KINDS_DIR"));
  const TempDir dir;
  CHECK_THAT(find_kind_refusal("invoice", dir.dir()),
             Contains("no kind \"invoice\"") && Contains("order, store_event") &&
                 Contains((dir.path / "invoice.json").string()) && Contains("does not exist"));
}

TEST_CASE("a directory may not redeclare a built-in kind", "[kinds][registry]") {
  const TempDir dir;
  dir.write("order.json", widget_with(R"("kind": "widget")", R"("kind": "order")"));
  CHECK_THAT(
      find_kind_refusal("order", dir.dir()),
      Contains("kind \"order\" is built in") && Contains((dir.path / "order.json").string()));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
  // Other kinds are unaffected.
  CHECK(find_kind("store_event", dir.dir()).kind == "store_event");
}

TEST_CASE("a declaration's kind must match its file name", "[kinds][registry]") {
  const TempDir dir;
  dir.write("gadget.json", kWidget);
  CHECK_THAT(find_kind_refusal("gadget", dir.dir()),
             Contains((dir.path / "gadget.json").string()) &&
                 Contains("declares kind \"widget\"") && Contains("widget.json"));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
}

TEST_CASE("a bad declaration in a directory is refused, naming its file", "[kinds][registry]") {
  const TempDir dir;
  dir.write("widget.json", widget_with(R"("column": "note")", R"("column": "Drop Table")"));
  CHECK_THAT(find_kind_refusal("widget", dir.dir()),
             Contains("kind declaration " + (dir.path / "widget.json").string()) &&
                 Contains("fields[4].column") && Contains("Drop Table"));
}

TEST_CASE("a views file beside the declarations adds views to a kind, a built-in one too",
          "[kinds][registry]") {
  const TempDir dir;
  constexpr std::string_view kHourly =
      R"({"name": "orders_hourly", "window": {"size": "1h"},
          "measures": [{"as": "orders", "op": "count"}, {"as": "revenue", "op": "sum", "of": ["Total"]}]})";
  dir.write("order.views.json",
            std::string(R"({"kind": "order", "views": [)") + std::string(kHourly) + "]}");
  const auto built = find_kind("order", "").views;
  const auto order = find_kind("order", dir.dir());
  REQUIRE(order.views.size() == built.size() + 1);
  CHECK(order.views.back().name == "orders_hourly");
  // Every service reads kinds through all_kinds or find_kind: the same views.
  const auto all = all_kinds(dir.dir());
  std::vector<std::string> kinds;
  for (const auto& k : all) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade"});
  CHECK(all[0].views.size() == order.views.size());
  // A kind of the directory takes one too.
  dir.write("widget.json", kWidget);
  dir.write("widget.views.json", R"({"kind": "widget", "views": [{"name": "widgets_daily",
            "window": {"size": "1d"}, "measures": [{"as": "n", "op": "count"}]}]})");
  CHECK(find_kind("widget", dir.dir()).views.size() == 1);
  CHECK(all_kinds(dir.dir()).size() == 4);
  // Without the directory, the built-in declaration alone.
  CHECK(find_kind("order", "").views.size() == built.size());
}

TEST_CASE("a views file is refused naming it", "[kinds][registry]") {
  const TempDir dir;
  // A views file of no kind.
  dir.write("invoice.views.json", R"({"kind": "invoice", "views": []})");
  CHECK_THROWS_WITH(all_kinds(dir.dir()),
                    Contains("views file " + (dir.path / "invoice.views.json").string()) &&
                        Contains("no kind \"invoice\""));
  std::filesystem::remove(dir.path / "invoice.views.json");
  // Not JSON, and a view the built-in declaration names already.
  dir.write("order.views.json", "views: []");
  CHECK_THAT(find_kind_refusal("order", dir.dir()),
             Contains("views file " + (dir.path / "order.views.json").string() + ": not JSON"));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
  const auto taken = find_kind("order", "").views.at(0).name;
  dir.write("order.views.json",
            R"({"kind": "order", "views": [{"name": ")" + taken +
                R"(", "window": {"size": "1h"}, "measures": [{"as": "n", "op": "count"}]}]})");
  CHECK_THAT(find_kind_refusal("order", dir.dir()),
             Contains((dir.path / "order.views.json").string()) &&
                 Contains("\"" + taken + "\" is declared twice"));
  // The store event's: read wherever its declaration is, a --kind
  // store_event service's start (resolve()) too, which refuses a bad one.
  std::filesystem::remove(dir.path / "order.views.json");
  dir.write("store_event.views.json",
            R"({"kind": "store_event", "views": [{"name": "sales_per_store", "window": )"
            R"({"size": "1h"}, "group_by": ["store_id"], "measures": [{"as": "n", "op": )"
            R"("count"}]}]})");
  const auto store_event = find_kind("store_event", dir.dir());
  REQUIRE(store_event.views.size() == 5);  // after its own four
  CHECK(store_event.views[4].name == "sales_per_store");
  KindOptions k;
  k.kind = "store_event";
  k.kinds_dir = dir.dir();
  CHECK(resolve(k, "store-events") == "store-events");
  dir.write("store_event.views.json", R"({"kind": "store_event", "views": [{"name": "x"}]})");
  CHECK_THROWS_WITH(resolve(k, "store-events"), Contains("store_event.views.json"));
  k.kinds_dir.clear();
  CHECK(resolve(k, "store-events") == "store-events");
}

TEST_CASE("storage: partitions by day and no retention unless declared", "[kinds][declaration]") {
  const auto plain = parse_declaration(kWidget, "test widget");
  CHECK(plain.storage.partition_span == std::chrono::minutes(1440));
  CHECK_FALSE(plain.storage.retention.has_value());

  const auto set = parse_declaration(
      widget_with(R"("time": "At",)",
                  R"("time": "At", "storage": {"partition_span": "6h", "retention": "90d"},)"),
      "test widget");
  CHECK(set.storage.partition_span == std::chrono::minutes(360));
  CHECK(set.storage.retention == std::chrono::milliseconds(90LL * 86'400'000));

  const auto weekly = parse_declaration(
      widget_with(R"("time": "At",)", R"("time": "At", "storage": {"partition_span": "7d"},)"),
      "test widget");
  CHECK(weekly.storage.partition_span == std::chrono::minutes(7 * 1440));
  CHECK_FALSE(weekly.storage.retention.has_value());

  // A declared kind's record too far ahead gets its partition, and its
  // resends are told by kind_identities, unless it says otherwise.
  CHECK_FALSE(plain.storage.far_ahead_dead_letter);
  CHECK(plain.resends == Resends::kRegistry);
  const auto told =
      parse_declaration(widget_with(R"("time": "At",)", R"("time": "At", "resends": "table_key",
                  "storage": {"far_ahead": "dead_letter"},)"),
                        "test widget");
  CHECK(told.storage.far_ahead_dead_letter);
  CHECK(told.resends == Resends::kTableKey);
  CHECK_THAT(refusal(widget_with(R"("time": "At",)", R"("time": "At", "resends": "key",)")),
             Contains("resends: \"key\" is neither registry nor table_key"));
  CHECK_THAT(refusal(widget_with(R"("time": "At",)",
                                 R"("time": "At", "storage": {"far_ahead": "drop"},)")),
             Contains("storage.far_ahead: \"drop\" is neither partition nor dead_letter"));

  // The built-in order declares a day, and keeps every order unless the
  // sink's MILLRACE_ORDERS_RETENTION says otherwise.
  const auto order = find_kind("order", "");
  CHECK(order.storage.partition_span == std::chrono::minutes(1440));
  CHECK_FALSE(order.storage.retention.has_value());
}

TEST_CASE("storage: spans that do not tile a day and short retentions are refused",
          "[kinds][declaration]") {
  const auto with = [](std::string_view storage) {
    return widget_with(R"("time": "At",)",
                       std::string(R"("time": "At", "storage": )") + std::string(storage) + ",");
  };
  CHECK_THAT(refusal(with(R"({"partition_span": "7h"})")),
             Contains("kind declaration test widget: storage.partition_span: must be whole "
                      "minutes that divide a day (1m .. 1d) or whole days up to 31d, got \"7h\""));
  for (const char* span : {"36h", "32d", "90s", "0m", "1500ms"}) {
    INFO("span: " << span);
    CHECK_THAT(refusal(with(std::string(R"({"partition_span": ")") + span + "\"}")),
               Contains("storage.partition_span: must be whole minutes"));
  }
  // Durations are libs/core's (core::parse_duration), with its messages.
  CHECK_THAT(refusal(with(R"({"partition_span": "1 day"})")),
             Contains("storage.partition_span: \"1 day\" has an unknown unit \" day\""));
  CHECK_THAT(refusal(with(R"({"partition_span": "24"})")),
             Contains("storage.partition_span: \"24\" has no unit"));
  CHECK_THAT(refusal(with(R"({"partition_span": 86400})")),
             Contains("storage.partition_span: must be a non-empty string"));
  CHECK_THAT(refusal(with(R"({"retention": "30s"})")),
             Contains("storage.retention: keep at least a minute (1m)"));
  CHECK_THAT(refusal(with(R"({"retention": "0d"})")), Contains("storage.retention: keep at least"));
  CHECK_THAT(refusal(with(R"({"retention": "forever"})")),
             Contains("storage.retention: \"forever\" is not a duration"));
  CHECK_THAT(refusal(with(R"({"retention": "90d", "retain": "1d"})")),
             Contains("storage: unknown member \"retain\""));
  CHECK_THAT(refusal(with(R"({"retention": "90d", "retention": "1d"})")),
             Contains("storage: member \"retention\" appears more than once"));
  CHECK_THAT(refusal(with(R"("1d")")), Contains("storage: must be an object"));
}

TEST_CASE("a kind's retention setting overrides its declaration's", "[kinds][options]") {
  KindOptions k;
  k.kind = "widget";
  k.declaration = parse_declaration(
      widget_with(R"("time": "At",)", R"("time": "At", "storage": {"retention": "30d"},)"),
      "test widget");
  CHECK(retention(k) == std::chrono::milliseconds(30LL * 86'400'000));
  k.retention["widget"] = "";
  CHECK(retention(k) == std::chrono::milliseconds(30LL * 86'400'000));
  k.retention["widget"] = "12h";
  CHECK(retention(k) == std::chrono::milliseconds(12LL * 3'600'000));
  k.retention["widget"] = "0";
  CHECK_FALSE(retention(k).has_value());
  const auto refused = [&](const char* value) -> std::string {
    k.retention["widget"] = value;
    INFO("value: " << value);
    try {
      retention(k);
    } catch (const core::UsageError& e) {
      return e.what();
    }
    FAIL("accepted");
    return {};
  };
  for (const char* short_one : {"30s", "0s", "59999ms"}) {
    CHECK_THAT(refused(short_one), Contains("--widget-retention / MILLRACE_WIDGETS_RETENTION: "
                                            "keep at least a minute (1m), or 0"));
  }
  for (const char* bad : {"12 h", "1.5d", "-1d", "90"}) {
    CHECK_THAT(refused(bad), Contains("--widget-retention / MILLRACE_WIDGETS_RETENTION: \"" +
                                      std::string(bad) + "\""));
  }
  // The store event's partitions follow MILLRACE_STORE_RETENTION_DAYS.
  KindOptions store;
  CHECK_FALSE(retention(store).has_value());
}
