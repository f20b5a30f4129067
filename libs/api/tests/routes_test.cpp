// The route table (routes.hpp) against its contract, proto/openapi.yaml: a
// route added to one and not the other fails here, not in schemathesis.
#include "routes.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "millrace/test_paths.hpp"
#include "openapi.hpp"

using namespace millrace::api;

namespace {

// "METHOD /path" for each operation, the method in upper case.
using Operations = std::set<std::string>;

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

Operations table_operations() {
  Operations ops;
  for (const RouteSpec& spec : kRoutes) {
    for (const Operation& op : spec.operations) {
      if (!op.method.empty()) ops.insert(std::string(op.method) + " " + std::string(spec.pattern));
    }
  }
  return ops;
}

// The operations under `paths:` of an OpenAPI document written as
// proto/openapi.yaml is: a path at two spaces' indent, its methods at four.
Operations openapi_operations(std::istream& yaml) {
  static const std::regex kPath(R"(^  (/[^ :]*):\s*$)");
  static const std::regex kMethod(R"(^    (get|put|post|delete|patch|head|options|trace):)");
  Operations ops;
  bool in_paths = false;
  std::string path;
  std::smatch m;
  for (std::string line; std::getline(yaml, line);) {
    if (!line.empty() && line.front() != ' ' && line.front() != '#') {
      in_paths = line.rfind("paths:", 0) == 0;
      continue;
    }
    if (!in_paths) continue;
    if (std::regex_match(line, m, kPath)) {
      path = m[1];
    } else if (std::regex_search(line, m, kMethod)) {
      ops.insert(upper(m[1]) + " " + path);
    }
  }
  return ops;
}

// The document names some paths a template matches, to give them their own
// schema (/v1/views/hourly_sales): those are the template's operations
// again, not routes of their own.
Operations without_instances(const Operations& documented) {
  Operations ops;
  for (const std::string& op : documented) {
    const std::string path = op.substr(op.find(' ') + 1);
    const Route route = match(path).route;
    const bool instance = route != kRouteOther && kRoutes[route].pattern != path;
    if (instance) {
      INFO(op << " is an instance of " << kRoutes[route].pattern);
      CHECK(documented.count(op.substr(0, op.find(' ') + 1) +
                             std::string(kRoutes[route].pattern)) == 1);
    } else {
      ops.insert(op);
    }
  }
  return ops;
}

}  // namespace

TEST_CASE("the OpenAPI reader finds each path's methods, and only under paths:", "[api][routes]") {
  std::istringstream yaml(
      "openapi: 3.0.3\n"
      "info:\n"
      "  title: x\n"
      "paths:\n"
      "  /a:\n"
      "    get:\n"
      "      operationId: a\n"
      "    post:\n"
      "      responses:\n"
      "        get: {}\n"
      "\n"
      "  /b/{key}:\n"
      "    parameters: []\n"
      "    delete:\n"
      "components:\n"
      "  /c:\n"
      "    get:\n");
  CHECK(openapi_operations(yaml) == Operations{"GET /a", "POST /a", "DELETE /b/{key}"});
}

TEST_CASE("proto/openapi.yaml documents exactly the route table's operations", "[api][routes]") {
  std::ifstream yaml(millrace::test_paths::source("proto/openapi.yaml"));
  REQUIRE(yaml);
  const Operations documented = openapi_operations(yaml);
  REQUIRE_FALSE(documented.empty());
  const Operations routes = table_operations();
  const Operations documented_routes = without_instances(documented);
  Operations undocumented, unrouted;
  std::set_difference(routes.begin(), routes.end(), documented_routes.begin(),
                      documented_routes.end(), std::inserter(undocumented, undocumented.end()));
  std::set_difference(documented_routes.begin(), documented_routes.end(), routes.begin(),
                      routes.end(), std::inserter(unrouted, unrouted.end()));
  // Declared in routes.hpp, missing from proto/openapi.yaml.
  CHECK(undocumented == Operations{});
  // Documented in proto/openapi.yaml, not served.
  CHECK(unrouted == Operations{});
}

TEST_CASE("the served description documents the same routes, and a path per kind view",
          "[api][routes]") {
  std::istringstream served(openapi_document(static_openapi(), *built_in_views()));
  const Operations documented = openapi_operations(served);
  CHECK(without_instances(documented) == table_operations());
  for (const auto& v : built_in_views()->views) {
    if (v.kind == "store_event" && !v.windowed) continue;  // under /v1/views/{name}
    INFO(v.name);
    CHECK(documented.count("GET /v1/views/" + v.name) == 1);
  }
}

TEST_CASE("each route's pattern matches itself, with the parameter as its key", "[api][routes]") {
  for (const RouteSpec& spec : kRoutes) {
    INFO(spec.pattern);
    const Match m = match(spec.pattern);
    CHECK(m.route == spec.route);
    CHECK(kRouteNames[spec.route] == spec.pattern);
    if (spec.keyed()) CHECK(m.key == spec.parameter());
  }
  CHECK(kRouteNames[kRouteOther] == "other");
}
