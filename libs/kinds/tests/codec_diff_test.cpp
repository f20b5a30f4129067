// The codecs against each other: for every shipped declaration and one
// with lines of every type, the "sax" codec must give what the "dom" codec
// gives (the same record, or the same rejection: reason, field, detail) for
// the generator's good and bad records and for thousands of mutations of
// them. And the store event's "sax" codec against core::parse_event, the
// compiled contract's validator.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/store_event.hpp"
#include "millrace/reference/validation.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using core::Rejection;

namespace {

// `payload` without its "event_type" member (the generator writes it as
// ,"event_type":"..."), as a producer that sends the type only in the
// header does.
std::string without_event_type(std::string payload) {
  const std::string key = ",\"event_type\":\"";
  const auto at = payload.find(key);
  if (at == std::string::npos) return payload;
  const auto end = payload.find('"', at + key.size());
  if (end == std::string::npos) return payload;
  payload.erase(at, end + 1 - at);
  return payload;
}

// Every type, in the record and in its lines, optional fields among them,
// lines that may be absent.
constexpr std::string_view kEveryType = R"({
  "kind": "every_type", "topic": {"name": "every-type", "env": "MILLRACE_EVERY_TYPE_TOPIC",
  "partitions": 1}, "table": "every_type", "identity": "Id", "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "uuid", "required": true},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Name", "column": "name", "type": "text", "required": true, "min_bytes": 2, "max_bytes": 12},
    {"name": "Side", "column": "side", "type": "text", "values": ["buy", "sell"]},
    {"name": "Note", "column": "note", "type": "free_text"},
    {"name": "Ip", "column": "ip", "type": "ip"},
    {"name": "Count", "column": "count", "type": "integer", "min": -5, "max": 9223372036854775807},
    {"name": "Price", "column": "price", "type": "decimal", "required": true, "strings": true,
     "min": -1000, "max": 1000},
    {"name": "Flag", "column": "flag", "type": "boolean"}
  ],
  "lines": {"name": "Items", "table": "every_type_items", "number_column": "n",
    "min_items": 0, "max_items": 3, "generate_items": [0, 3],
    "fields": [
      {"name": "Sku", "column": "sku", "type": "integer", "required": true, "min": 1, "max": 99},
      {"name": "Amount", "column": "amount", "type": "decimal", "min": 0, "max": 10},
      {"name": "When", "column": "when_", "type": "timestamp"},
      {"name": "Label", "column": "label", "type": "text", "max_bytes": 4}
    ]}
})";

const Declaration& every_type() {
  static const Declaration d = parse_declaration(kEveryType, "test every_type");
  return d;
}

// Raw JSON values to put where a field's value goes.
const std::vector<std::string>& odd_values() {
  static const std::vector<std::string> values = {"null",
                                                  "true",
                                                  "false",
                                                  "0",
                                                  "-0",
                                                  "-1",
                                                  "7",
                                                  "1.5",
                                                  "1e3",
                                                  "-2.5E-3",
                                                  "1.0000001",
                                                  "9223372036854775807",
                                                  "9223372036854775808",
                                                  "-9223372036854775808",
                                                  "-9223372036854775809",
                                                  "99999999999999999999999",
                                                  "1000",
                                                  "1000.000001",
                                                  "-1000",
                                                  "1000000000",
                                                  "1000000000.000001",
                                                  "0.000001",
                                                  "0.0000001",
                                                  "100",
                                                  "100.000000",
                                                  R"("")",
                                                  R"("x")",
                                                  R"("ab")",
                                                  R"("buy")",
                                                  R"("sell")",
                                                  R"("sale_event")",
                                                  R"("inventory_event")",
                                                  R"("refund_event")",
                                                  R"("\u0000")",
                                                  R"("a\u0000b")",
                                                  R"("\udc00")",
                                                  R"("\ud800\udc00")",
                                                  R"("\u00e9t\u00e9")",
                                                  "\"\xc3\xa9t\xc3\xa9\"",
                                                  R"("a\"b\\c\/\b\f\n\r\t")",
                                                  R"("2019-10-29T14:24:49.0796527Z")",
                                                  R"("2019-10-29T14:24:49+02:00")",
                                                  R"("2019-10-29T14:24:49")",
                                                  R"("2019-13-29T14:24:49Z")",
                                                  R"("1969-12-31T23:59:59Z")",
                                                  R"("not a time")",
                                                  R"("192.168.0.1")",
                                                  R"("::1")",
                                                  R"("::ffff:1.2.3.4")",
                                                  R"("1.2.3")",
                                                  R"("256.1.1.1")",
                                                  R"("0F5C0BA4-4E1B-4F59-9B4E-5C1D1D5E2B1A")",
                                                  R"("0f5c0ba4-4e1b-4f59-9b4e-5c1d1d5e2b1a")",
                                                  R"("0f5c0ba44e1b4f599b4e5c1d1d5e2b1a")",
                                                  R"("12.5")",
                                                  R"("-0.5")",
                                                  R"("1e2")",
                                                  R"(".5")",
                                                  R"("12.")",
                                                  R"("0012")",
                                                  R"(" 12")",
                                                  "{}",
                                                  "[]",
                                                  R"([1,{"a":2}])",
                                                  R"({"a":[1,{}]})",
                                                  R"([{"Sku":1}])",
                                                  R"([{"Sku":1},{"Sku":2},{"Sku":3},{"Sku":4}])",
                                                  R"([{"Sku":"1"}])",
                                                  R"([{"Sku":1,"Sku":2}])",
                                                  R"([1])",
                                                  R"([{}, 2])",
                                                  R"([{"Sku":0}, {"Sku":100}])",
                                                  "\"" + std::string(300, 'y') + "\"",
                                                  "\"" + std::string(13, 'z') + "\"",
                                                  R"("example.com")",
                                                  R"("store-1.example.com")"};
  return values;
}

// A record as JSON with one of its members changed: `name` (a field's or
// the lines') given `raw` instead (nullopt: left out), or given twice.
struct Change {
  std::string name;
  std::optional<std::string> raw;
  bool twice = false;
};

void append_members(std::string& out, const std::vector<FieldDecl>& fields,
                    const std::vector<Value>& values, const Change* change) {
  bool first = true;
  const auto member = [&](const std::string& name, const std::string& raw) {
    out += first ? "" : ",";
    first = false;
    out += '"' + name + "\":" + raw;
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string raw;
    append_json(raw, values[i]);
    if (change != nullptr && change->name == fields[i].name) {
      if (change->twice) {
        member(fields[i].name, raw);
        member(fields[i].name, change->raw.value_or(raw));
      } else if (change->raw) {
        member(fields[i].name, *change->raw);
      }
      continue;
    }
    member(fields[i].name, raw);
  }
}

std::string to_json(const Declaration& d, const Record& r, const Change* change = nullptr,
                    std::optional<std::size_t> changed_line = {}) {
  std::string out = "{";
  const bool record_change = change != nullptr && !changed_line;
  append_members(out, d.fields, r.values, record_change ? change : nullptr);
  if (d.lines) {
    std::string lines = "[";
    for (std::size_t n = 0; n < r.lines.size(); ++n) {
      lines += n > 0 ? ",{" : "{";
      append_members(lines, d.lines->fields, r.lines[n], changed_line == n ? change : nullptr);
      lines += '}';
    }
    lines += ']';
    const bool lines_changed = record_change && change->name == d.lines->name;
    if (!lines_changed) {
      out += ",\"" + d.lines->name + "\":" + lines;
    } else if (change->twice) {
      out += ",\"" + d.lines->name + "\":" + lines;
      out += ",\"" + d.lines->name + "\":" + change->raw.value_or(lines);
    } else if (change->raw) {
      out += ",\"" + d.lines->name + "\":" + *change->raw;
    }
  }
  return out + "}";
}

std::string describe(const std::variant<Record, Rejection>& result) {
  if (const auto* r = std::get_if<Rejection>(&result)) {
    return std::string(core::reason_code(r->reason)) + " [" + r->field + "] " + r->detail;
  }
  return "accepted";
}

bool same(const std::variant<Record, Rejection>& a, const std::variant<Record, Rejection>& b) {
  if (a.index() != b.index()) return false;
  if (const auto* ra = std::get_if<Rejection>(&a)) {
    const auto& rb = std::get<Rejection>(b);
    return ra->reason == rb.reason && ra->field == rb.field && ra->detail == rb.detail;
  }
  const auto& ra = std::get<Record>(a);
  const auto& rb = std::get<Record>(b);
  return ra.values == rb.values && ra.lines == rb.lines;
}

// Runs both codecs over inputs and keeps what they disagree on.
class Differ {
 public:
  explicit Differ(const Declaration& d) : d_(d) {}

  // With a type header, under each header: none, each of the type's
  // values, and another.
  void run(const std::string& payload) {
    if (!d_.type_header) return run(payload, std::nullopt);
    run(payload, std::nullopt);
    run(payload, "bogus_event");
    for (const auto& v : d_.fields[*d_.type_header].values) run(payload, v);
  }

  void run(const std::string& payload, std::optional<std::string_view> header) {
    ++inputs_;
    const auto dom = parse_record_dom(d_, payload, header);
    const auto sax = parse_record_sax(d_, payload, header);
    if (std::holds_alternative<Record>(dom)) ++accepted_;
    if (!same(dom, sax) && disagreements_.size() < 10) {
      disagreements_.push_back(payload + "\n  header: " + std::string(header.value_or("none")) +
                               "\n  dom: " + describe(dom) + "\n  sax: " + describe(sax));
    }
  }

  std::size_t inputs() const { return inputs_; }
  std::size_t accepted() const { return accepted_; }
  const std::vector<std::string>& disagreements() const { return disagreements_; }

 private:
  const Declaration& d_;
  std::size_t inputs_ = 0, accepted_ = 0;
  std::vector<std::string> disagreements_;
};

// Byte-level damage to a message.
std::string mutate(std::string s, std::mt19937_64& rng) {
  const auto at = [&](std::size_t n) { return static_cast<std::size_t>(rng() % (n + 1)); };
  static const std::vector<std::string> inserts = {"\xff",
                                                   "\xc0\x80",
                                                   "\xed\xa0\x80",
                                                   "\xe2\x82",
                                                   "\xf4\x90\x80\x80",
                                                   std::string(1, '\0'),
                                                   "\\u0000",
                                                   "\\ud800",
                                                   "\\",
                                                   "\"",
                                                   ",",
                                                   ":",
                                                   "{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   " ",
                                                   "\t\n",
                                                   "\x01",
                                                   "1",
                                                   "-",
                                                   ".",
                                                   "e",
                                                   "null"};
  switch (rng() % 6) {
    case 0:
      s.resize(at(s.size()));
      break;
    case 1:
      if (!s.empty()) s[at(s.size() - 1)] = static_cast<char>(rng() % 256);
      break;
    case 2:
      if (!s.empty()) s[at(s.size() - 1)] = "\"{}[]:,\\0-.eE \x80"[rng() % 15];
      break;
    case 3:
      s.insert(at(s.size()), inserts[rng() % inserts.size()]);
      break;
    case 4:
      if (!s.empty()) s.erase(at(s.size() - 1), 1 + rng() % 3);
      break;
    default:
      // Something after the value: whitespace, garbage, or garbage behind a
      // NUL byte (where RapidJSON stops reading).
      s += std::vector<std::string>{" \n", "x", std::string("\0x", 2), "{}"}[rng() % 4];
      break;
  }
  return s;
}

// Every way of changing each member of a record: left out, given twice,
// given each odd value; the same for a member of each line.
void run_changes(Differ& differ, const Declaration& d, const Record& record) {
  std::vector<std::string> names;
  for (const auto& f : d.fields) names.push_back(f.name);
  if (d.lines) names.push_back(d.lines->name);
  for (const auto& name : names) {
    const Change gone{name, {}, false};
    differ.run(to_json(d, record, &gone));
    const Change twice{name, {}, true};
    differ.run(to_json(d, record, &twice));
    for (const auto& raw : odd_values()) {
      const Change c{name, raw, false};
      differ.run(to_json(d, record, &c));
      const Change again{name, raw, true};
      differ.run(to_json(d, record, &again));
    }
  }
  if (!d.lines) return;
  for (std::size_t n = 0; n < record.lines.size(); ++n) {
    for (const auto& f : d.lines->fields) {
      const Change gone{f.name, {}, false};
      differ.run(to_json(d, record, &gone, n));
      const Change twice{f.name, {}, true};
      differ.run(to_json(d, record, &twice, n));
      for (const auto& raw : odd_values()) {
        const Change c{f.name, raw, false};
        differ.run(to_json(d, record, &c, n));
      }
    }
  }
}

void differential(const Declaration& d, std::uint64_t seed) {
  Differ differ(d);
  RecordGenerator generator(d, {.seed = seed, .bad_ratio = 0.3, .base_ts = 1'700'000'000'000'000});
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 400; ++i) {
    const auto g = generator.next();
    differ.run(g.payload);
    for (int m = 0; m < 8; ++m) differ.run(mutate(g.payload, rng));
    // A store event's body may carry its type; a record read under the
    // header the body repeats, or any when it does not.
    std::optional<std::string_view> header;
    if (d.type_header) {
      header =
          g.payload.find("inventory_event") != std::string::npos ? "inventory_event" : "sale_event";
    }
    const auto parsed = parse_record_dom(d, g.payload, header);
    if (const auto* record = std::get_if<Record>(&parsed); record != nullptr && i < 12) {
      differ.run(to_json(d, *record));
      run_changes(differ, d, *record);
    }
  }
  // Not an object, empty, nested to the limit and past it.
  for (const std::string raw : {"", " ", "[]", "1", "\"x\"", "null", "true", "{", "{}", "{\"a\":}",
                                "\xef\xbb\xbf{}", "{}\x00x", "{\"a\":1}}"}) {
    differ.run(raw);
  }
  for (const int depth : {62, 63, 64, 65, 100}) {
    differ.run(std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']'));
    differ.run("{\"x\":" + std::string(static_cast<std::size_t>(depth - 1), '[') +
               std::string(static_cast<std::size_t>(depth - 1), ']') + "}");
  }
  INFO(d.kind << ": " << differ.inputs() << " inputs, " << differ.accepted() << " accepted");
  for (const auto& s : differ.disagreements()) UNSCOPED_INFO(s);
  CHECK(differ.disagreements().empty());
  CHECK(differ.inputs() > 2000);
  CHECK(differ.accepted() > 100);
}

}  // namespace

TEST_CASE("the sax codec gives the dom codec's record or rejection for every declaration") {
  differential(testing::store_event(), 1);
  differential(testing::order(), 2);
  differential(testing::trade(), 3);
  differential(every_type(), 4);
}

TEST_CASE("a declaration names its codec, and an unknown one is refused") {
  CHECK(every_type().codec == "sax");
  CHECK(find_codec("dom") == &parse_record_dom_into);
  CHECK(find_codec("sax") == &parse_record_sax_into);
  std::string json(kEveryType);
  json.insert(json.find("\"table\""), R"("codec": "dom", )");
  CHECK(parse_declaration(json, "test").codec == "dom");
  json.replace(json.find("\"dom\""), 5, "\"fast\"");
  CHECK_THROWS_WITH(parse_declaration(json, "test"), Catch::Contains("codec") &&
                                                         Catch::Contains("\"fast\"") &&
                                                         Catch::Contains("sax, dom"));
}

// The store event's declared contract against the compiled one, the
// event_type header included.
TEST_CASE("the store event's sax codec accepts and refuses what core::parse_event does") {
  const Declaration& d = testing::store_event();
  std::size_t inputs = 0, accepted = 0;
  std::vector<std::string> disagreements;
  const auto compare = [&](const std::string& payload, std::optional<std::string> header) {
    const auto core_result = core::parse_event(payload, header);
    const auto sax = parse_record_sax(d, payload, header);
    ++inputs;
    const auto* core_rejection = std::get_if<Rejection>(&core_result);
    const auto* sax_rejection = std::get_if<Rejection>(&sax);
    if (core_rejection == nullptr) ++accepted;
    const bool agree =
        (core_rejection == nullptr) == (sax_rejection == nullptr) &&
        (core_rejection == nullptr || (core_rejection->reason == sax_rejection->reason &&
                                       core_rejection->field == sax_rejection->field));
    if (!agree && disagreements.size() < 10) {
      disagreements.push_back(payload + "\n  core: " +
                              (core_rejection
                                   ? std::string(core::reason_code(core_rejection->reason)) + " [" +
                                         core_rejection->field + "] " + core_rejection->detail
                                   : "accepted") +
                              "\n  sax: " + describe(sax));
    }
  };
  std::mt19937_64 rng(7);
  for (const bool embed : {false, true}) {
    RecordGenerator generator(d, {.seed = 11, .bad_ratio = 0.3, .base_ts = 1'700'000'000'000'000});
    for (int i = 0; i < 2000; ++i) {
      auto g = generator.next();
      // The header as a producer sends it: the body's event_type (core's
      // lenient routing read); without `embed`, the body leaves it out.
      const auto header = core::routing_hint(g.payload).raw_event_type;
      if (!embed) g.payload = without_event_type(g.payload);
      compare(g.payload, header);
      for (const std::optional<std::string>& other :
           {std::optional<std::string>(), std::optional<std::string>("inventory_event"),
            std::optional<std::string>("refund_event")}) {
        compare(g.payload, other);
      }
      for (int m = 0; m < 4; ++m) compare(mutate(g.payload, rng), header);
      if (i < 6 && !g.expected) {
        const auto parsed = parse_record_dom(d, g.payload, header);
        const auto& record = std::get<Record>(parsed);
        for (const auto& f : d.fields) {
          for (const auto& raw : odd_values()) {
            const Change c{f.name, raw, false};
            compare(to_json(d, record, &c), header);
          }
          const Change twice{f.name, {}, true};
          compare(to_json(d, record, &twice), header);
        }
      }
    }
  }
  INFO(inputs << " inputs, " << accepted << " accepted by core");
  for (const auto& s : disagreements) UNSCOPED_INFO(s);
  CHECK(disagreements.empty());
  CHECK(inputs > 5000);
}

// The type read from the body (TypeFrom::kBody, as the HTTP ingest and the
// producers read a store event) against core::parse_event_into, whose
// body's event_type wins over the fallback header: every codec, into one
// record reused, accepts and refuses alike, and a record accepted routes
// as the compiled event does.
TEST_CASE("a type read from the body: every codec reads the store event as parse_event_into") {
  const Declaration& d = testing::store_event();
  const StoreEventFields& fields = StoreEventFields::built_in();
  std::size_t inputs = 0, accepted = 0;
  std::vector<std::string> disagreements;
  std::vector<Record> reused(codecs().size());
  core::StoreEvent event;
  const auto compare = [&](const std::string& payload, std::optional<std::string> fallback) {
    const auto core_rejection = core::parse_event_into(payload, fallback, event);
    ++inputs;
    if (!core_rejection) ++accepted;
    for (std::size_t c = 0; c < reused.size(); ++c) {
      const auto rejection = codecs()[c].parse(d, payload, fallback, TypeFrom::kBody, reused[c]);
      bool agree = core_rejection.has_value() == rejection.has_value();
      if (agree && core_rejection) {
        agree = core_rejection->reason == rejection->reason &&
                core_rejection->field == rejection->field;
      } else if (agree) {
        const Record& r = reused[c];
        agree = fields.event_type(r) == event.event_type && fields.id(r) == event.id &&
                fields.store_id(r) == event.store_id &&
                fields.priority_shipping(r) == event.priority_shipping &&
                fields.price(r) == event.price && fields.qty(r) == event.qty &&
                fields.discount(r) == event.discount && fields.is_return(r) == event.is_return;
      }
      if (!agree && disagreements.size() < 10) {
        disagreements.push_back(
            std::string(codecs()[c].name) + " " + payload + " (fallback " +
            fallback.value_or("none") + ")\n  core: " +
            (core_rejection ? std::string(core::reason_code(core_rejection->reason)) + " [" +
                                  core_rejection->field + "] " + core_rejection->detail
                            : "accepted") +
            "\n  codec: " +
            (rejection ? std::string(core::reason_code(rejection->reason)) + " [" +
                             rejection->field + "] " + rejection->detail
                       : "accepted"));
      }
    }
  };
  std::mt19937_64 rng(17);
  for (const bool embed : {false, true}) {
    RecordGenerator generator(d, {.seed = 13, .bad_ratio = 0.3, .base_ts = 1'700'000'000'000'000});
    for (int i = 0; i < 1500; ++i) {
      auto g = generator.next();
      if (!embed) g.payload = without_event_type(g.payload);
      for (const std::optional<std::string>& fallback :
           {std::optional<std::string>(), std::optional<std::string>("sale_event"),
            std::optional<std::string>("inventory_event"),
            std::optional<std::string>("refund_event")}) {
        compare(g.payload, fallback);
      }
      for (int m = 0; m < 4; ++m) compare(mutate(g.payload, rng), "inventory_event");
      if (i < 6 && !g.expected) {
        const auto parsed = parse_record_dom(d, g.payload, "sale_event", TypeFrom::kBody);
        const auto& record = std::get<Record>(parsed);
        for (const auto& f : d.fields) {
          for (const auto& raw : odd_values()) {
            const Change c{f.name, raw, false};
            compare(to_json(d, record, &c), std::nullopt);
            compare(to_json(d, record, &c), "sale_event");
          }
          const Change twice{f.name, {}, true};
          compare(to_json(d, record, &twice), std::nullopt);
          compare(to_json(d, record, &twice), "inventory_event");
        }
      }
    }
  }
  INFO(inputs << " inputs, " << accepted << " accepted by core");
  for (const auto& s : disagreements) UNSCOPED_INFO(s);
  CHECK(disagreements.empty());
  CHECK(inputs > 5000);
  CHECK(accepted > 1000);
}
