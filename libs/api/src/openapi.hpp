#pragma once

// GET /v1/openapi.yaml: millrace-api's OpenAPI description as it runs.
// proto/openapi.yaml is its static part (the routes, the store event's
// views, every schema but the declared kinds' views), built into the
// binary; the views of every kind the service loaded are added from their
// declarations (pg::kind_views): a path and a rows schema per view, their
// names in ViewName, and their schemas among those /v1/views/{name} may
// answer. The additions are JSON, written by RapidJSON, which YAML takes as
// flow collections, at four marker lines the static part holds once each.

#include <string>
#include <string_view>

#include "views.hpp"

namespace millrace::api {

// proto/openapi.yaml as built in (embed_openapi.cmake).
std::string_view static_openapi();

// The markers, each a whole line of proto/openapi.yaml.
inline constexpr std::string_view kOpenApiPathsMarker =
    "  # millrace-api adds here a path per view of each declared kind\n";
inline constexpr std::string_view kOpenApiNamesMarker =
    "        # millrace-api adds here the views of each declared kind\n";
inline constexpr std::string_view kOpenApiSchemasMarker =
    "    # millrace-api adds here a rows schema per view of each declared kind\n";
// In /v1/views/{name}'s anyOf: the kinds' paths match that template too.
inline constexpr std::string_view kOpenApiAnyOfMarker =
    "                  # millrace-api adds here the rows schema of each declared kind's view\n";

// `yaml` (the static part) with the views of `served` that are a declared
// kind's. Throws std::logic_error when a marker is missing or repeated.
std::string openapi_document(std::string_view yaml, const ServedViews& served);

// A view's schema name in the document: "ShipmentsTodayRows".
std::string rows_schema_name(std::string_view view);

}  // namespace millrace::api
