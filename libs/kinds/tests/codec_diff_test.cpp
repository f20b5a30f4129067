// The codecs against each other: for every shipped declaration and one
// with lines of every type, the "sax" codec must give what the "dom" codec
// gives (the same record, or the same rejection: reason, field, detail) for
// the generator's good and bad records and for thousands of mutations of
// them; and a declaration's choice of codec.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "codec_fixtures.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing;
using core::Rejection;

namespace {

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
