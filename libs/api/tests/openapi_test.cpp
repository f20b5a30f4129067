// GET /v1/openapi.yaml: proto/openapi.yaml with each declared kind's views
// (openapi.hpp), generated from the declarations the service loaded.
#include "openapi.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "millrace/kinds/registry.hpp"
#include "millrace/test_paths.hpp"
#include "parcel.hpp"

using namespace millrace;
using namespace millrace::api;
using Catch::Matchers::Contains;

namespace {

// The JSON after "<prefix>" on the line that starts with it.
rapidjson::Document json_after(const std::string& doc, const std::string& prefix) {
  rapidjson::Document d;
  const auto at = doc.find("\n" + prefix);
  if (at == std::string::npos) return d;
  const auto start = at + 1 + prefix.size();
  const std::string line = doc.substr(start, doc.find('\n', start) - start);
  d.Parse(line.c_str());
  return d;
}

}  // namespace

TEST_CASE("the built-in description is proto/openapi.yaml, with each marker once",
          "[api][openapi]") {
  std::ifstream file(millrace::test_paths::source("proto/openapi.yaml"));
  REQUIRE(file);
  const std::string text{std::istreambuf_iterator<char>(file), {}};
  CHECK(static_openapi() == text);
  for (const auto marker :
       {kOpenApiPathsMarker, kOpenApiNamesMarker, kOpenApiSchemasMarker, kOpenApiAnyOfMarker}) {
    INFO(marker);
    const auto at = text.find(marker);
    REQUIRE(at != std::string::npos);
    CHECK(text.find(marker, at + 1) == std::string::npos);
  }
  CHECK_THROWS_AS(openapi_document("openapi: 3.0.3\n", *built_in_views()), std::logic_error);
}

TEST_CASE("each declared kind's view gets a path, a rows schema and its name in ViewName",
          "[api][openapi]") {
  auto kinds = kinds::all_kinds("");
  kinds.push_back(testing::parcel_kind());
  const auto served = serve_views(kinds);
  const std::string doc = openapi_document(static_openapi(), *served);

  // A windowed view takes from and to; the others only limit.
  const auto hourly = json_after(doc, "  /v1/views/parcels_hourly:\n    get: ");
  REQUIRE_FALSE(hourly.HasParseError());
  REQUIRE(hourly.IsObject());
  CHECK(std::string(hourly["operationId"].GetString()) == "readParcelsHourly");
  CHECK(hourly["parameters"].Size() == 3);
  CHECK(std::string(hourly["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                        .GetString()) == "#/components/schemas/ParcelsHourlyRows");
  const auto today = json_after(doc, "  /v1/views/parcels_today:\n    get: ");
  REQUIRE(today.IsObject());
  CHECK(today["parameters"].Size() == 1);
  CHECK(doc.find("/v1/views/parcels_top_products") == std::string::npos);  // no lines

  const auto rows = json_after(doc, "    ParcelsTodayRows: ");
  REQUIRE(rows.IsObject());
  const auto& row = rows["properties"]["rows"]["items"];
  CHECK(row["required"].Size() == 4);
  CHECK(std::string(row["required"][1].GetString()) == "parcels");
  CHECK(std::string(row["properties"]["day"]["format"].GetString()) == "date-time");
  CHECK(std::string(row["properties"]["kilograms"]["$ref"].GetString()) ==
        "#/components/schemas/Decimal");
  CHECK(std::string(row["properties"]["units"]["type"].GetString()) == "integer");
  CHECK(std::string(rows["properties"]["view"]["enum"][0].GetString()) == "parcels_today");

  // The orders' views come from order.json the same way, with the product's.
  const auto top = json_after(doc, "    WebOrdersTopProductsRows: ");
  REQUIRE(top.IsObject());
  CHECK(top["properties"]["rows"]["items"]["properties"]["name"]["nullable"].GetBool());
  CHECK_THAT(doc, Contains("\n        - \"web_orders_categories\"\n"));
  CHECK_THAT(doc, Contains("\n        - \"parcels_daily\"\n"));
  // /v1/views/{name} matches their paths too: it may answer their rows.
  CHECK_THAT(doc, Contains("\n                  - {\"$ref\": "
                           "\"#/components/schemas/ParcelsTodayRows\"}\n"));
  // A declared view's rows may say it is not filled yet; an aggregate's never.
  const auto declared = json_after(doc, "    WebOrdersTopProductsPerLocalDayRows: ");
  REQUIRE(declared.IsObject());
  CHECK(std::string(declared["properties"]["fill"]["$ref"].GetString()) ==
        "#/components/schemas/ViewFill");
  CHECK_FALSE(rows["properties"].HasMember("fill"));
  const auto get = json_after(doc, "  /v1/views/web_orders_top_products_per_local_day:\n    get: ");
  REQUIRE(get.IsObject());
  CHECK(std::string(get["responses"]["200"]["headers"]["Millrace-View-Fill"]["$ref"].GetString()) ==
        "#/components/headers/ViewFill");
  CHECK_FALSE(today["responses"]["200"].HasMember("headers"));
  // The store event's views stay in the static part.
  CHECK(doc.find("  /v1/views/hourly_sales:\n    get:\n") != std::string::npos);
  CHECK(doc.find("  /v1/views/hourly_sales:\n    get: {") == std::string::npos);
}
