#include "millrace/ingest/request.hpp"

#include <charconv>

#include "millrace/core/enum_names.hpp"
#include "millrace/core/json_string.hpp"

namespace millrace::ingest {

namespace {

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The end of the JSON value starting at body[pos] (one past its last byte),
// or npos when it runs off the end. Tracks strings and bracket depth only;
// the validator checks the rest of each element.
std::size_t value_end(std::string_view body, std::size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = pos; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // whatever is escaped cannot end the string
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        if (depth == 0) return i;  // a scalar element ends at the array's ']'
        if (--depth == 0) return i + 1;
        break;
      case ',':
        if (depth == 0) return i;
        break;
      default:
        if (depth == 0 && is_json_space(c)) return i;
    }
  }
  return depth == 0 && !in_string ? body.size() : std::string_view::npos;
}

std::string at(std::size_t pos) {
  return " at offset " + std::to_string(pos);
}

std::optional<std::string> split_array(std::string_view body, std::size_t pos,
                                       std::vector<std::string_view>& events) {
  ++pos;  // the '['
  const auto skip_space = [&] {
    while (pos < body.size() && is_json_space(body[pos])) ++pos;
  };
  skip_space();
  if (pos < body.size() && body[pos] == ']') return "the array holds no events";
  for (;;) {
    skip_space();
    if (pos >= body.size()) return "the array is not closed";
    if (body[pos] == ',' || body[pos] == ']') return "an array element is missing" + at(pos);
    const std::size_t end = value_end(body, pos);
    if (end == std::string_view::npos) return "the array is not closed";
    events.push_back(body.substr(pos, end - pos));
    pos = end;
    skip_space();
    if (pos >= body.size()) return "the array is not closed";
    if (body[pos] == ',') {
      ++pos;
      continue;
    }
    if (body[pos] != ']') return "expected ',' or ']' between array elements" + at(pos);
    ++pos;
    skip_space();
    if (pos != body.size()) return "text after the array" + at(pos);
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> split_body(std::string_view body, httpd::BodyFormat format,
                                      std::vector<std::string_view>& events) {
  events.clear();
  if (format == httpd::BodyFormat::kNdjson) {
    std::size_t pos = 0;
    while (pos < body.size()) {
      const auto nl = body.find('\n', pos);
      std::string_view line =
          body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? body.size() : nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (httpd::trim(line, is_json_space).empty()) continue;
      events.push_back(line);
    }
    if (events.empty()) return "the body holds no events";
    return std::nullopt;
  }
  std::size_t first = 0;
  while (first < body.size() && is_json_space(body[first])) ++first;
  if (first == body.size()) return "the body holds no events";
  if (body[first] == '[') {
    auto error = split_array(body, first, events);
    if (error) events.clear();
    return error;
  }
  events.push_back(httpd::trim(body, is_json_space));
  return std::nullopt;
}

std::optional<AckMode> parse_ack(std::optional<std::string_view> value) {
  if (!value || *value == "all") return AckMode::kAll;
  if (*value == "none") return AckMode::kNone;
  return std::nullopt;
}

ResultCounts count_results(std::span<const EventResult> results) {
  ResultCounts c;
  for (const auto& r : results) {
    switch (r.status) {
      case EventStatus::kAccepted:
      case EventStatus::kQueued:
        ++c.accepted;
        break;
      case EventStatus::kRejected:
        ++c.rejected;
        break;
      case EventStatus::kFailed:
        ++c.failed;
        break;
    }
  }
  return c;
}

namespace {

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

constexpr core::EnumNames<EventStatus, kEventStatusCount> kStatusNames({
    {EventStatus::kAccepted, "accepted"},
    {EventStatus::kQueued, "queued"},
    {EventStatus::kRejected, "rejected"},
    {EventStatus::kFailed, "failed"},
});

}  // namespace

void append_results_json(std::string& out, std::span<const EventResult> results) {
  const ResultCounts c = count_results(results);
  out += "{\"accepted\":";
  append_int(out, static_cast<std::int64_t>(c.accepted));
  out += ",\"rejected\":";
  append_int(out, static_cast<std::int64_t>(c.rejected));
  if (c.failed > 0) {
    out += ",\"failed\":";
    append_int(out, static_cast<std::int64_t>(c.failed));
  }
  out += ",\"results\":[";
  bool first = true;
  for (const auto& r : results) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"index\":";
    append_int(out, r.index);
    if (!r.id.empty()) {
      out += ",\"id\":";
      core::append_json_string(out, r.id);
    }
    out += ",\"status\":\"";
    out += kStatusNames.name(r.status);
    out.push_back('"');
    if (r.partition >= 0) {
      out += ",\"partition\":";
      append_int(out, r.partition);
    }
    if (r.offset >= 0) {
      out += ",\"offset\":";
      append_int(out, r.offset);
    }
    if (!r.reason.empty()) {
      out += ",\"reason\":";
      core::append_json_string(out, r.reason);
    }
    if (!r.field.empty()) {
      out += ",\"field\":";
      core::append_json_string(out, r.field);
    }
    if (!r.detail.empty()) {
      out += ",\"detail\":";
      core::append_json_string(out, r.detail);
    }
    out.push_back('}');
  }
  out += "]}";
}

void append_error_json(std::string& out, std::string_view error, std::string_view detail) {
  out += "{\"error\":";
  core::append_json_string(out, error);
  out += ",\"detail\":";
  core::append_json_string(out, detail);
  out.push_back('}');
}

}  // namespace millrace::ingest
