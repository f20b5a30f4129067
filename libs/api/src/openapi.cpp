#include "openapi.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "render.hpp"

namespace millrace::api {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void member(JsonWriter& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void ref(JsonWriter& w, std::string_view target) {
  w.StartObject();
  member(w, "$ref");
  put(w, target);
  w.EndObject();
}
void strings(JsonWriter& w, std::initializer_list<std::string_view> items) {
  w.StartArray();
  for (const auto s : items) put(w, s);
  w.EndArray();
}

// "shipments_this_hour" as "ShipmentsThisHour".
std::string pascal(std::string_view name) {
  std::string out;
  bool upper = true;
  for (const char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

void column_schema(JsonWriter& w, const Column& c) {
  switch (c.type) {
    case ColumnType::kTimestamp:
      w.StartObject();
      member(w, "type");
      put(w, "string");
      member(w, "format");
      put(w, "date-time");
      w.EndObject();
      return;
    case ColumnType::kNumeric:
      ref(w, "#/components/schemas/Decimal");
      return;
    case ColumnType::kInteger:
    case ColumnType::kText:
      w.StartObject();
      member(w, "type");
      put(w, c.type == ColumnType::kInteger ? "integer" : "string");
      if (c.nullable) {
        member(w, "nullable");
        w.Bool(true);
      }
      w.EndObject();
      return;
  }
}

std::string rows_schema(const View& v) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  member(w, "description");
  put(w, v.name + ": " + v.description);
  member(w, "type");
  put(w, "object");
  member(w, "additionalProperties");
  w.Bool(false);
  member(w, "required");
  strings(w, {"view", "limit", "truncated", "rows"});
  member(w, "properties");
  w.StartObject();
  member(w, "view");
  w.StartObject();
  member(w, "type");
  put(w, "string");
  member(w, "enum");
  strings(w, {v.name});
  w.EndObject();
  if (v.grain == pg::ViewGrain::kDeclared) {
    member(w, "fill");
    ref(w, "#/components/schemas/ViewFill");
  }
  member(w, "limit");
  w.StartObject();
  member(w, "type");
  put(w, "integer");
  member(w, "minimum");
  w.Int(1);
  member(w, "maximum");
  w.Int(10000);
  w.EndObject();
  member(w, "truncated");
  w.StartObject();
  member(w, "type");
  put(w, "boolean");
  w.EndObject();
  member(w, "rows");
  w.StartObject();
  member(w, "type");
  put(w, "array");
  member(w, "items");
  w.StartObject();
  member(w, "type");
  put(w, "object");
  member(w, "additionalProperties");
  w.Bool(false);
  member(w, "required");
  w.StartArray();
  for (const auto& c : v.columns) put(w, c.name);
  w.EndArray();
  member(w, "properties");
  w.StartObject();
  for (const auto& c : v.columns) {
    member(w, c.name);
    column_schema(w, c);
  }
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

std::string get_operation(const View& v) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  member(w, "operationId");
  put(w, "read" + pascal(v.name));
  member(w, "tags");
  strings(w, {"views"});
  member(w, "summary");
  put(w, v.name + ", as JSON or (Accept text/csv) CSV");
  member(w, "description");
  put(w, "Kind " + v.kind + "'s view: " + v.description + ". Rows ordered by " + v.order_by +
             ", at most `limit` of them" +
             (v.windowed ? "; `from` and `to` filter on window_start (from inclusive, to "
                           "exclusive)."
                         : "."));
  member(w, "parameters");
  w.StartArray();
  ref(w, "#/components/parameters/Limit");
  if (v.windowed) {
    ref(w, "#/components/parameters/From");
    ref(w, "#/components/parameters/To");
  }
  for (const auto& d : v.dimensions) {
    w.StartObject();
    member(w, "name");
    put(w, d);
    member(w, "in");
    put(w, "query");
    member(w, "required");
    w.Bool(false);
    member(w, "description");
    put(w, "Only the rows whose " + d + " is this value (compared as text)");
    member(w, "schema");
    w.StartObject();
    member(w, "type");
    put(w, "string");
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  member(w, "security");
  w.StartArray();
  for (const char* scheme : {"", "readToken", "sessionCookie"}) {
    w.StartObject();
    if (*scheme != '\0') {
      member(w, scheme);
      w.StartArray();
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  member(w, "responses");
  w.StartObject();
  member(w, "200");
  w.StartObject();
  member(w, "description");
  put(w, "The rows");
  if (v.grain == pg::ViewGrain::kDeclared) {
    member(w, "headers");
    w.StartObject();
    member(w, kViewFillHeader);
    ref(w, "#/components/headers/ViewFill");
    w.EndObject();
  }
  member(w, "content");
  w.StartObject();
  member(w, "application/json");
  w.StartObject();
  member(w, "schema");
  ref(w, "#/components/schemas/" + rows_schema_name(v.name));
  w.EndObject();
  member(w, "text/csv");
  w.StartObject();
  member(w, "schema");
  ref(w, "#/components/schemas/Csv");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  for (const auto& [status, response] :
       {std::pair{"400", "BadRequest"}, std::pair{"401", "Unauthorized"},
        std::pair{"406", "NotAcceptable"}, std::pair{"503", "Unavailable"},
        std::pair{"default", "Problem"}}) {
    member(w, status);
    ref(w, std::string("#/components/responses/") + response);
  }
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

// Where `marker` is in `yaml`: once, else a logic error (the build carries
// a proto/openapi.yaml the unit tests hold to the markers).
std::size_t marker_at(std::string_view yaml, std::string_view marker) {
  const auto at = yaml.find(marker);
  if (at == std::string_view::npos || yaml.find(marker, at + 1) != std::string_view::npos) {
    throw std::logic_error("proto/openapi.yaml must hold this line once: " +
                           std::string(marker.substr(0, marker.size() - 1)));
  }
  return at;
}

std::string quoted(std::string_view s) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  put(w, s);
  return buffer.GetString();
}

}  // namespace

std::string rows_schema_name(std::string_view view) {
  return pascal(view) + "Rows";
}

std::string openapi_document(std::string_view yaml, const ServedViews& served) {
  std::string paths, names, schemas, any_of;
  for (const auto& v : served.views) {
    if (v.grain == pg::ViewGrain::kOther) continue;  // the store event's: in the static part
    // View names are [a-z0-9_] (kinds::parse_declaration): a plain key.
    paths += "  /v1/views/" + v.name + ":\n    get: " + get_operation(v) + "\n";
    names += "        - " + quoted(v.name) + "\n";
    schemas += "    " + rows_schema_name(v.name) + ": " + rows_schema(v) + "\n";
    any_of += "                  - {\"$ref\": " +
              quoted("#/components/schemas/" + rows_schema_name(v.name)) + "}\n";
  }
  // After each marker, in the order they come.
  struct Insert {
    std::size_t at;
    const std::string* text;
  };
  Insert inserts[] = {
      {marker_at(yaml, kOpenApiPathsMarker) + kOpenApiPathsMarker.size(), &paths},
      {marker_at(yaml, kOpenApiNamesMarker) + kOpenApiNamesMarker.size(), &names},
      {marker_at(yaml, kOpenApiSchemasMarker) + kOpenApiSchemasMarker.size(), &schemas},
      {marker_at(yaml, kOpenApiAnyOfMarker) + kOpenApiAnyOfMarker.size(), &any_of}};
  std::sort(std::begin(inserts), std::end(inserts),
            [](const Insert& a, const Insert& b) { return a.at < b.at; });
  std::string out;
  std::size_t from = 0;
  for (const auto& i : inserts) {
    out.append(yaml.substr(from, i.at - from));
    out += *i.text;
    from = i.at;
  }
  out.append(yaml.substr(from));
  return out;
}

}  // namespace millrace::api
