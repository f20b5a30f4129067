#include "millrace/changefeed/outbox.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "millrace/changefeed/change.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/json_string.hpp"
#include "millrace/core/options.hpp"
#include "millrace/runtime/log.hpp"
#include "pg_text.hpp"

namespace millrace::changefeed::outbox {

namespace {

// json and jsonb: a string in Debezium's records (io.debezium.data.Json).
constexpr Oid kJsonOid = 114;
constexpr Oid kJsonbOid = 3802;
constexpr Oid kBoolOid = 16;
constexpr Oid kTimestampOid = 1114;
constexpr Oid kTimestamptzOid = 1184;

// A dead letter's cause, found while the row is read.
struct Refusal {
  Reason reason = Reason::kMissingColumn;
  std::string detail;
};

// A column of the row: its description and value, or null when the table
// has no such column.
struct Cell {
  const Column* column = nullptr;
  const Value* value = nullptr;
  bool null() const { return value == nullptr || value->kind != Value::Kind::kText; }
};

Cell cell(const Change& change, const std::string& name) {
  const auto& columns = change.relation->columns;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) {
      return {&columns[i], &(*change.after)[i]};
    }
  }
  return {};
}

std::string outbox_table(const Change& change) {
  return change.relation->schema + "." + change.relation->name;
}

Refusal missing_column(const Change& change, const std::string& name, std::string_view why = {}) {
  return {Reason::kMissingColumn,
          "outbox table " + outbox_table(change) + " has no column " + name + std::string(why)};
}

// What SimpleHeaderConverter writes of the value Debezium read: booleans as
// true and false, everything else as its text here.
std::string header_text(const Cell& c) {
  if (c.column->type_oid == kBoolOid) return c.value->data == "t" ? "true" : "false";
  return c.value->data;
}

void append_envelope_value(std::string& out, const Cell& c) {
  if (c.null()) {
    out += "null";
  } else if (c.column->type_oid == kJsonOid || c.column->type_oid == kJsonbOid) {
    core::append_json_string(out, c.value->data);
  } else {
    append_json_value(out, *c.column, *c.value);
  }
}

bool blank(std::string_view s) {
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

class OutboxFormat final : public RecordFormat {
 public:
  OutboxFormat(Options options, Counts& counts)
      : options_(std::move(options)),
        route_(options_.topic_regex, options_.topic),
        counts_(counts),
        markers_(millrace_format(options_.feed_topic)) {}

  void encode(const Change& change, std::vector<OutRecord>& out) override {
    switch (change.op) {
      case Op::kCreate:
      case Op::kRead:
        break;
      case Op::kDelete:
        ++counts_.deletes_ignored;
        return;
      case Op::kUpdate:
        invalid_update(change);
        return;
      case Op::kTruncate:
        ++counts_.truncates_ignored;
        return;
      case Op::kBackfillEnd:
      case Op::kGap:
        markers_->encode(change, out);
        return;
    }
    Refusal refusal;
    if (event(change, out, refusal)) {
      ++counts_.events;
      return;
    }
    ++counts_.dead_letters[static_cast<std::size_t>(refusal.reason)];
    OutRecord r;
    r.topic = options_.feed_topic;
    std::string id;
    encode_change(change, id, r.key.emplace(), r.value.emplace());
    r.headers.emplace_back(kChangeIdHeader, std::move(id));
    r.headers.emplace_back(kReasonHeader, reason_code(refusal.reason));
    r.headers.emplace_back(kDetailHeader, std::move(refusal.detail));
    out.push_back(std::move(r));
  }

 private:
  void invalid_update(const Change& change) {
    ++counts_.updates_ignored;
    const std::string what = "an update of outbox table " + outbox_table(change) + " (commit " +
                             format_lsn(change.source.commit_lsn) + ")";
    if (options_.invalid_op == InvalidOp::kFatal) {
      throw core::InfraError(core::FailureClass::kFatal,
                             what + " is no event, and --outbox-invalid-op is fatal");
    }
    // Logged once a session, not once a row: the rest are counted.
    if (told_update_) return;
    told_update_ = true;
    runtime::log(
        options_.invalid_op == InvalidOp::kError ? runtime::Level::kError : runtime::Level::kWarn,
        "changefeed",
        what +
            " is no event: ignored, as the later ones are "
            "(millrace_changefeed_outbox_ignored_total{op=\"update\"})");
  }

  // Appends the event of an inserted row, or says why there is none.
  bool event(const Change& change, std::vector<OutRecord>& out, Refusal& refusal) {
    const auto required = [&](const std::string& name, Reason if_null, Cell& c) {
      c = cell(change, name);
      if (c.column == nullptr) {
        refusal = missing_column(change, name);
        return false;
      }
      if (c.null()) {
        refusal = {if_null,
                   "column " + name + " of outbox table " + outbox_table(change) + " is null"};
        return false;
      }
      return true;
    };
    Cell id;
    Cell key;
    Cell route;
    if (!required(options_.id_column, Reason::kNullId, id) ||
        !required(options_.route_by, Reason::kNullRoute, route) ||
        !required(options_.key_column, Reason::kNullKey, key)) {
      return false;
    }
    const Cell payload = cell(change, options_.payload_column);
    if (payload.column == nullptr) {
      refusal = missing_column(change, options_.payload_column);
      return false;
    }
    OutRecord r;
    r.topic = route_.topic(route.value->data);
    if (auto problem = topic_problem(r.topic); !problem.empty()) {
      refusal = {Reason::kInvalidTopic, "column " + options_.route_by + " routes to topic \"" +
                                            r.topic + "\", " + problem};
      return false;
    }
    // Blank or null: a tombstone when asked, and never expanded.
    const bool empty = payload.null() || blank(payload.value->data);
    std::optional<std::string> expanded;
    if (options_.expand_json_payload && !empty) {
      expanded = expand(payload.value->data, refusal);
      if (!expanded) return false;
    }
    if (!options_.timestamp_column.empty() && !timestamp(change, r, refusal)) return false;
    r.key = key.value->data;
    r.headers.emplace_back("id", id.value->data);
    bool enveloped = false;
    for (const auto& field : options_.additional) {
      const Cell c = cell(change, field.column);
      if (c.column == nullptr) {
        refusal = missing_column(change, field.column, " (--outbox-additional-fields)");
        return false;
      }
      if (field.placement == Placement::kEnvelope) {
        enveloped = true;
      } else if (!c.null()) {
        r.headers.emplace_back(field.alias, header_text(c));
      }
    }
    if (empty && options_.tombstone_on_empty_payload) {
      r.value = std::nullopt;
    } else if (enveloped) {
      r.value = envelope(change, payload, expanded);
    } else if (expanded) {
      r.value = std::move(*expanded);
    } else if (options_.expand_json_payload) {
      // An empty payload left as it is, in JSON as JsonConverter writes it:
      // null, or the blank string.
      r.value.emplace();
      append_envelope_value(*r.value, payload);
    } else if (!payload.null()) {
      r.value = payload.value->data;
    }
    out.push_back(std::move(r));
    return true;
  }

  // The record's timestamp from the timestamp column, as the router takes
  // it: milliseconds, the microseconds truncated; a null value leaves the
  // time it is produced. Debezium reads a timestamp (without time zone) as
  // if it were UTC, and so does this.
  bool timestamp(const Change& change, OutRecord& r, Refusal& refusal) const {
    const Cell c = cell(change, options_.timestamp_column);
    if (c.column == nullptr) {
      refusal = missing_column(change, options_.timestamp_column, " (--outbox-timestamp-column)");
      return false;
    }
    // Null, whatever the column's type: the router's processing time.
    if (c.null()) return true;
    const std::string where =
        "column " + options_.timestamp_column + " of outbox table " + outbox_table(change);
    if (c.column->type_oid != kTimestampOid && c.column->type_oid != kTimestamptzOid) {
      refusal = {Reason::kInvalidTimestamp,
                 where + " is neither a timestamp nor a timestamptz (type oid " +
                     std::to_string(c.column->type_oid) + ")"};
      return false;
    }
    const auto us = c.column->type_oid == kTimestampOid ? pgtext::timestamp_us(c.value->data)
                                                        : pgtext::timestamptz_us(c.value->data);
    if (!us) {
      refusal = {Reason::kInvalidTimestamp,
                 where + " holds \"" + c.value->data + "\", which is no point in time"};
      return false;
    }
    // Kafka takes no timestamp before 1970.
    if (*us < 0) {
      refusal = {Reason::kInvalidTimestamp,
                 where + " holds \"" + c.value->data + "\", before 1970, which Kafka refuses"};
      return false;
    }
    r.timestamp_ms = *us / 1000;
    return true;
  }

  // The payload as one line of JSON, as JsonConverter writes the structure
  // Debezium infers from it; only an object or an array is expanded.
  static std::optional<std::string> expand(const std::string& text, Refusal& refusal) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError() || !(d.IsObject() || d.IsArray())) {
      refusal = {Reason::kInvalidJson,
                 d.HasParseError() ? "the payload is not JSON (--outbox-expand-json-payload)"
                                   : "the payload is JSON but not an object or an array "
                                     "(--outbox-expand-json-payload)"};
      return std::nullopt;
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    d.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  std::string envelope(const Change& change, const Cell& payload,
                       const std::optional<std::string>& expanded) const {
    std::string out = "{\"payload\":";
    if (expanded) {
      out += *expanded;
    } else {
      append_envelope_value(out, payload);
    }
    for (const auto& field : options_.additional) {
      if (field.placement != Placement::kEnvelope) continue;
      out += ',';
      core::append_json_string(out, field.alias);
      out += ':';
      append_envelope_value(out, cell(change, field.column));
    }
    out += '}';
    return out;
  }

  Options options_;
  TopicRoute route_;
  Counts& counts_;
  std::unique_ptr<RecordFormat> markers_;
  bool told_update_ = false;
};

}  // namespace

std::string_view reason_code(Reason reason) {
  switch (reason) {
    case Reason::kMissingColumn:
      return "missing_column";
    case Reason::kNullRoute:
      return "null_route";
    case Reason::kNullKey:
      return "null_key";
    case Reason::kNullId:
      return "null_id";
    case Reason::kInvalidJson:
      return "invalid_json";
    case Reason::kInvalidTopic:
      return "invalid_topic";
    case Reason::kInvalidTimestamp:
      return "invalid_timestamp";
  }
  return "unknown";
}

std::string topic_problem(std::string_view topic) {
  if (topic.empty()) return "which is empty";
  if (topic == "." || topic == "..") return "which Kafka does not allow";
  if (topic.size() > 249) return "longer than the 249 characters Kafka allows";
  for (const char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "which holds a character Kafka does not allow (only a-z A-Z 0-9 . _ -)";
  }
  return {};
}

std::vector<AdditionalField> parse_additional_fields(const std::vector<std::string>& entries) {
  std::vector<AdditionalField> out;
  for (const auto& entry : entries) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (auto at = entry.find(':');; at = entry.find(':', from)) {
      parts.push_back(entry.substr(from, at == std::string::npos ? std::string::npos : at - from));
      if (at == std::string::npos) break;
      from = at + 1;
    }
    const auto bad = [&](const std::string& why) {
      return core::UsageError("--outbox-additional-fields: \"" + entry + "\" " + why +
                              " (column:header or column:envelope, with :alias after either)");
    };
    if (parts.size() < 2 || parts.size() > 3) throw bad("is not two or three parts");
    for (const auto& p : parts) {
      if (p.empty()) throw bad("has an empty part");
    }
    AdditionalField f;
    f.column = parts[0];
    if (parts[1] == "header") {
      f.placement = Placement::kHeader;
    } else if (parts[1] == "envelope") {
      f.placement = Placement::kEnvelope;
    } else if (parts[1] == "partition") {
      throw bad("places a column in the partition, which the outbox format does not do");
    } else {
      throw bad("has placement \"" + parts[1] + "\"");
    }
    f.alias = parts.size() == 3 ? parts[2] : parts[0];
    if (f.placement == Placement::kEnvelope && f.alias == "payload") {
      throw bad("would replace the envelope's payload");
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::unique_ptr<RecordFormat> make_format(Options options, Counts& counts) {
  return std::make_unique<OutboxFormat>(std::move(options), counts);
}

}  // namespace millrace::changefeed::outbox
