#include "millrace/webhooks/admin_json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_members.hpp"

namespace millrace::webhooks {

namespace {
// Named, so that no name here meets another source's in the library's unity
// build.
namespace admin_json_impl {

using namespace detail;  // json_members.hpp
using Value = rapidjson::Value;
using Writer = JsonWriter;

// Iterative: a body nested deep must not take the stack.
constexpr unsigned kParseFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
// An Event Grid filter nests four levels (advancedFilters, a filter, its
// values, a range); more is a mistake, and is refused before it is walked.
constexpr int kMaxFilterDepth = 16;

constexpr std::string_view kEndpointMembers[] = {
    "url",        "description",           "tables", "ops", "ordering", "format", "filter",
    "rate_limit", "disable_after_seconds", "secret"};
// An endpoint's settings: all of the above but its secret.
constexpr std::span<const std::string_view> kChangeMembers(kEndpointMembers, 9);
constexpr std::string_view kRotationMembers[] = {"overlap_seconds", "secret"};
constexpr std::string_view kDisableMembers[] = {"reason"};
constexpr std::string_view kReplayMembers[] = {"since"};

std::string quoted(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

// A body read twice: for the JSON types, and keeping each number's text (a
// filter's numbers compare as decimals, so they keep the digits sent).
struct Parsed {
  rapidjson::Document typed;
  rapidjson::Document literal;
};

// Reads `body` as a JSON object; false for an empty body when `may_be_empty`.
bool parse_object(Parsed& p, std::string_view body, bool may_be_empty) {
  if (body.empty() && may_be_empty) return false;
  p.typed.Parse<kParseFlags>(body.data(), body.size());
  if (p.typed.HasParseError()) {
    throw InvalidBody("",
                      std::string("the body is not JSON: ") +
                          rapidjson::GetParseError_En(p.typed.GetParseError()) + " at byte " +
                          std::to_string(p.typed.GetErrorOffset() + 1),
                      true);
  }
  if (!p.typed.IsObject()) throw InvalidBody("", "the body must be a JSON object");
  p.literal.Parse<kParseFlags | rapidjson::kParseNumbersAsStringsFlag>(body.data(), body.size());
  return true;
}

struct Member {
  std::string name;
  const Value& typed;
  const Value& literal;
};

// Calls `visit` with each member of the object, in order; refuses a member
// given twice and one not in `known` (`what` says what the body is).
template <typename Visit>
void each_member(const Parsed& p, std::span<const std::string_view> known, std::string_view what,
                 Visit&& visit) {
  std::vector<std::string> seen;
  auto literal = p.literal.MemberBegin();
  for (auto m = p.typed.MemberBegin(); m != p.typed.MemberEnd(); ++m, ++literal) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      throw InvalidBody(name, quoted(name) + " is given twice");
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      throw InvalidBody(name, "unknown field " + quoted(name) + " (" + std::string(what) +
                                  " takes " + list + ")");
    }
    seen.push_back(name);
    visit(Member{std::move(name), m->value, literal->value});
  }
}

bool has_nul(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength()).find('\0') != std::string_view::npos;
}

// PostgreSQL's text holds no NUL: refused here, not by the database.
std::string text_of(const Member& m) {
  if (!m.typed.IsString()) throw InvalidBody(m.name, quoted(m.name) + " must be a string");
  if (has_nul(m.typed)) throw InvalidBody(m.name, quoted(m.name) + " must not contain NUL");
  return std::string(m.typed.GetString(), m.typed.GetStringLength());
}

// A secret given; "" is none (left out, the service makes one), so it is
// refused rather than taken for that.
std::string secret_of(const Member& m) {
  std::string secret = text_of(m);
  if (secret.empty()) {
    throw InvalidBody(m.name, quoted(m.name) + " must not be empty: leave it out to get a new one");
  }
  return secret;
}

std::vector<std::string> texts_of(const Member& m) {
  const auto refuse = [&] {
    return InvalidBody(m.name, quoted(m.name) + " must be an array of strings (empty: all)");
  };
  if (!m.typed.IsArray()) throw refuse();
  std::vector<std::string> out;
  for (const auto& item : m.typed.GetArray()) {
    if (!item.IsString() || has_nul(item)) throw refuse();
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

double rate_of(const Member& m) {
  if (!m.typed.IsNumber() || m.typed.GetDouble() < 0) {
    throw InvalidBody(m.name, quoted(m.name) +
                                  " must be a number of deliveries per second, 0 (no limit) "
                                  "or more");
  }
  return m.typed.GetDouble();
}

std::int64_t seconds_of(const Member& m, std::int64_t max, std::string_view zero) {
  if (!m.typed.IsInt64() || m.typed.GetInt64() < 0 || m.typed.GetInt64() > max) {
    std::string range = max == std::numeric_limits<std::int64_t>::max()
                            ? "0 or more"
                            : "from 0 to " + std::to_string(max);
    throw InvalidBody(m.name, quoted(m.name) + " must be a whole number of seconds, " + range +
                                  " (0: " + std::string(zero) + ")");
  }
  return m.typed.GetInt64();
}

// Writes `typed` with the numbers as `literal` spells them; false when it
// nests deeper than `depth` or holds a NUL (in a string or a name).
bool write_exact(const Value& typed, const Value& literal, Writer& w, int depth) {
  if (depth < 0) return false;
  switch (typed.GetType()) {
    case rapidjson::kNullType:
      return w.Null();
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return w.Bool(typed.GetBool());
    case rapidjson::kStringType:
      return !has_nul(typed) && w.String(typed.GetString(), typed.GetStringLength());
    case rapidjson::kNumberType:
      return w.RawValue(literal.GetString(), literal.GetStringLength(), rapidjson::kNumberType);
    case rapidjson::kArrayType:
      w.StartArray();
      for (rapidjson::SizeType i = 0; i < typed.Size(); ++i) {
        if (!write_exact(typed[i], literal[i], w, depth - 1)) return false;
      }
      return w.EndArray();
    case rapidjson::kObjectType: {
      w.StartObject();
      auto l = literal.MemberBegin();
      for (auto m = typed.MemberBegin(); m != typed.MemberEnd(); ++m, ++l) {
        if (has_nul(m->name)) return false;
        w.Key(m->name.GetString(), m->name.GetStringLength());
        if (!write_exact(m->value, l->value, w, depth - 1)) return false;
      }
      return w.EndObject();
    }
  }
  return false;
}

// The filter object, compact, its numbers as sent.
std::string filter_of(const Member& m) {
  if (!m.typed.IsObject()) {
    throw InvalidBody(m.name, quoted(m.name) + " must be an Event Grid filter object" +
                                  (m.name == "filter" ? std::string(" or null") : ""));
  }
  rapidjson::StringBuffer out;
  Writer w(out);
  if (!write_exact(m.typed, m.literal, w, kMaxFilterDepth)) {
    throw InvalidBody(m.name, quoted(m.name) + " must not nest deeper than " +
                                  std::to_string(kMaxFilterDepth) + " levels nor contain NUL");
  }
  return {out.GetString(), out.GetSize()};
}

// The settings POST and PATCH share; false for a member it is not.
template <typename Target>
bool read_setting(const Member& m, Target& t) {
  if (m.name == "url") {
    t.url = text_of(m);
  } else if (m.name == "description") {
    t.description = text_of(m);
  } else if (m.name == "tables") {
    t.tables = texts_of(m);
  } else if (m.name == "ops") {
    t.ops = texts_of(m);
  } else if (m.name == "ordering") {
    t.ordering = text_of(m);
  } else if (m.name == "format") {
    t.format = text_of(m);
  } else if (m.name == "filter") {
    // null: none (and, in a change, the filter removed).
    t.filter = m.typed.IsNull() ? std::string() : filter_of(m);
  } else if (m.name == "rate_limit") {
    t.rate_limit = rate_of(m);
  } else if (m.name == "disable_after_seconds") {
    t.disable_after_s = seconds_of(m, std::numeric_limits<std::int64_t>::max(), "never");
  } else {
    return false;
  }
  return true;
}

// A stored filter, as an object (null when none).
void stored_filter(Writer& w, const std::string& filter) {
  if (filter.empty()) {
    w.Null();
    return;
  }
  Parsed p;
  p.typed.Parse<kParseFlags>(filter.data(), filter.size());
  p.literal.Parse<kParseFlags | rapidjson::kParseNumbersAsStringsFlag>(filter.data(),
                                                                       filter.size());
  // Stored only as admin.cpp wrote it: this is a bug or a hand-made row.
  if (p.typed.HasParseError() || !p.typed.IsObject()) {
    throw std::runtime_error("a stored webhook filter is not a JSON object: " + filter);
  }
  write_exact(p.typed, p.literal, w, std::numeric_limits<int>::max());
}

void write_endpoint(Writer& w, const Endpoint& e) {
  w.StartObject();
  int_member(w, "id", e.id);
  string_member(w, "url", e.url);
  string_member(w, "description", e.description);
  strings_member(w, "tables", e.tables);
  strings_member(w, "ops", e.ops);
  string_member(w, "ordering", e.ordering);
  string_member(w, "format", e.format);
  w.Key("filter");
  stored_filter(w, e.filter);
  double_member(w, "rate_limit", e.rate_limit);
  int_member(w, "disable_after_seconds", e.disable_after_s);
  bool_member(w, "active", e.active);
  text_or_null_member(w, "disabled_reason", e.disabled_reason);
  text_or_null_member(w, "disabled_at", e.disabled_at);
  text_or_null_member(w, "failing_since", e.failing_since);
  text_or_null_member(w, "created_at", e.created_at);
  bool_member(w, "previous_secret_valid", e.previous_secret_valid);
  int_member(w, "pending", e.pending);
  int_member(w, "failed", e.failed);
  int_member(w, "filtered", e.filtered);
  w.EndObject();
}

std::string taken(const rapidjson::StringBuffer& out) {
  return {out.GetString(), out.GetSize()};
}

}  // namespace admin_json_impl
}  // namespace

NewEndpoint new_endpoint_from_json(std::string_view body) {
  using namespace admin_json_impl;
  Parsed p;
  parse_object(p, body, false);
  NewEndpoint e;
  bool has_url = false;
  each_member(p, kEndpointMembers, "an endpoint", [&](const Member& m) {
    if (m.name == "secret") {
      e.secret = secret_of(m);
    } else {
      read_setting(m, e);
    }
    has_url = has_url || m.name == "url";
  });
  if (!has_url) throw InvalidBody("url", "\"url\" is required: where to POST the changes");
  return e;
}

EndpointChange endpoint_change_from_json(std::string_view body) {
  using namespace admin_json_impl;
  Parsed p;
  parse_object(p, body, false);
  EndpointChange c;
  each_member(p, kChangeMembers, "a change of an endpoint",
              [&](const Member& m) { read_setting(m, c); });
  return c;
}

SecretRotation rotation_from_json(std::string_view body) {
  using namespace admin_json_impl;
  SecretRotation r;
  Parsed p;
  if (!parse_object(p, body, true)) return r;
  each_member(p, kRotationMembers, "a rotation", [&](const Member& m) {
    if (m.name == "secret") {
      r.secret = secret_of(m);
    } else {
      r.overlap = std::chrono::seconds(
          seconds_of(m, kMaxSecretOverlap.count(), "the old secret stops signing at once"));
    }
  });
  return r;
}

std::string disable_reason_from_json(std::string_view body) {
  using namespace admin_json_impl;
  std::string reason;
  Parsed p;
  if (!parse_object(p, body, true)) return reason;
  each_member(p, kDisableMembers, "disabling", [&](const Member& m) { reason = text_of(m); });
  return reason;
}

std::optional<std::string> replay_since_from_json(std::string_view body) {
  using namespace admin_json_impl;
  std::optional<std::string> since;
  Parsed p;
  if (!parse_object(p, body, true)) return since;
  each_member(p, kReplayMembers, "a replay", [&](const Member& m) { since = text_of(m); });
  return since;
}

std::string endpoint_json(const Endpoint& endpoint) {
  using namespace admin_json_impl;
  rapidjson::StringBuffer out;
  Writer w(out);
  write_endpoint(w, endpoint);
  return taken(out);
}

std::string endpoints_json(const std::vector<Endpoint>& endpoints) {
  using namespace admin_json_impl;
  rapidjson::StringBuffer out;
  Writer w(out);
  w.StartObject();
  w.Key("endpoints");
  w.StartArray();
  for (const auto& e : endpoints) write_endpoint(w, e);
  w.EndArray();
  w.EndObject();
  return taken(out);
}

std::string secret_json(const Endpoint& endpoint, const std::string& secret) {
  using namespace admin_json_impl;
  rapidjson::StringBuffer out;
  Writer w(out);
  w.StartObject();
  w.Key("endpoint");
  write_endpoint(w, endpoint);
  if (!secret.empty()) string_member(w, "secret", secret);
  w.EndObject();
  return taken(out);
}

std::string deliveries_json(const std::vector<DeliveryRecord>& deliveries,
                            std::optional<std::int64_t> next_before) {
  using namespace admin_json_impl;
  rapidjson::StringBuffer out;
  Writer w(out);
  w.StartObject();
  w.Key("deliveries");
  w.StartArray();
  for (const auto& d : deliveries) {
    w.StartObject();
    int_member(w, "id", d.id);
    int_member(w, "endpoint", d.endpoint);
    string_member(w, "change_id", d.change_id);
    string_member(w, "status", d.status);
    int_member(w, "attempts", d.attempts);
    text_or_null_member(w, "enqueued_at", d.enqueued_at);
    text_or_null_member(w, "next_attempt_at", d.next_attempt_at);
    text_or_null_member(w, "last_attempt_at", d.last_attempt_at);
    int_or_null_member(w, "last_status", d.last_status);
    text_or_null_member(w, "last_error", d.last_error);
    text_or_null_member(w, "delivered_at", d.delivered_at);
    w.EndObject();
  }
  w.EndArray();
  int_or_null_member(w, "next_before", next_before);
  w.EndObject();
  return taken(out);
}

std::string replayed_json(std::int64_t replayed) {
  return "{\"replayed\":" + std::to_string(replayed) + "}";
}

}  // namespace millrace::webhooks
