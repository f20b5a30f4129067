// RecordGenerator: a seed's records, good and bad orders and their share,
// each type's default values, and records without a time spread.
#include "millrace/kinds/generator.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "generator_fixtures.hpp"
#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/sample_catalog.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing;
using core::Decimal;
using core::RejectReason;

namespace {

// A kind whose fields take the default rules of every type, and whose
// lines may be empty.
const Declaration& sample() {
  static const Declaration d = parse_declaration(R"({
    "kind": "sample",
    "topic": {"name": "samples", "env": "MILLRACE_SAMPLES_TOPIC", "partitions": 1},
    "table": "samples",
    "identity": "Key",
    "time": "At",
    "fields": [
      {"name": "Key", "column": "key", "type": "text", "required": true, "max_bytes": 36},
      {"name": "At", "column": "at", "type": "timestamp", "required": true},
      {"name": "Id", "column": "id", "type": "uuid", "required": true},
      {"name": "Addr", "column": "addr", "type": "ip", "required": true},
      {"name": "Note", "column": "note", "type": "free_text"},
      {"name": "Name", "column": "name", "type": "text"},
      {"name": "Code", "column": "code", "type": "text", "required": true, "values": ["ab", "cd"]},
      {"name": "Small", "column": "small", "type": "integer", "required": true, "min": -3, "max": 3},
      {"name": "Big", "column": "big", "type": "integer", "min": -1000000, "max": 9000000},
      {"name": "Price", "column": "price", "type": "decimal", "required": true,
       "min": 0.5, "max": 2.25},
      {"name": "Neg", "column": "neg", "type": "decimal", "min": -5000, "max": -4000},
      {"name": "Flag", "column": "flag", "type": "boolean", "required": true},
      {"name": "Tiny", "column": "tiny", "type": "text", "required": true, "max_bytes": 2},
      {"name": "Wide", "column": "wide", "type": "integer", "required": true,
       "min": -9223372036854775808, "max": 9223372036854775807},
      {"name": "Level", "column": "level", "type": "integer", "required": true, "min": 0,
       "max": 100, "generate": {"one_of": ["10", "20", "30"]}}
    ],
    "lines": {"name": "Items", "table": "sample_items", "number_column": "item_no",
              "min_items": 0, "max_items": 3, "generate_items": [0, 3],
              "fields": [
                {"name": "Label", "column": "label", "type": "text", "required": true},
                {"name": "Count", "column": "count", "type": "integer", "required": true,
                 "min": 1, "max": 2}
              ]}
  })",
                                                 "test sample");
  return d;
}

bool same(const GeneratedRecord& a, const GeneratedRecord& b) {
  return a.payload == b.payload && a.key == b.key && a.expected == b.expected &&
         a.bad_field == b.bad_field;
}

std::size_t line_index(const Declaration& d, std::string_view name) {
  const auto& fields = d.lines->fields;
  const auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const FieldDecl& f) { return f.name == name; });
  REQUIRE(it != fields.end());
  return static_cast<std::size_t>(it - fields.begin());
}

// Every sku the catalog generator makes, and its category's index.
std::map<std::int64_t, std::size_t> all_skus() {
  std::map<std::int64_t, std::size_t> skus;
  for (std::size_t c = 0; c < generated_categories().size(); ++c) {
    for (const auto sku : generated_skus(c)) skus.emplace(sku, c);
  }
  return skus;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("the same seed gives the same records", "[kinds][generator]") {
  for (const auto* d : {&order(), &store_event(), &sample()}) {
    INFO("kind: " << d->kind);
    RecordGenerator a(*d, options(7, 0.3));
    RecordGenerator b(*d, options(7, 0.3));
    RecordGenerator other(*d, options(8, 0.3));
    int differ = 0;
    for (int i = 0; i < 2'000; ++i) {
      const auto x = a.next();
      REQUIRE(same(x, b.next()));
      if (!same(x, other.next())) ++differ;
    }
    CHECK(differ > 1'900);
  }
  // Good records too, and a generator started again gives them again.
  std::vector<std::string> first;
  RecordGenerator g(order(), options(11));
  for (int i = 0; i < 100; ++i) first.push_back(g.next().payload);
  RecordGenerator again(order(), options(11));
  for (int i = 0; i < 100; ++i) CHECK(again.next().payload == first[static_cast<std::size_t>(i)]);
}

TEST_CASE("good orders parse and hold together", "[kinds][generator]") {
  const auto& d = order();
  const auto skus = all_skus();
  const auto qty = line_index(d, "Quantity");
  const auto price = line_index(d, "UnitPrice");
  const auto product = line_index(d, "ProductId");
  const auto email = line_index(d, "Email");
  const auto& regions = d.fields[*d.find("Region")].generate.choices;
  std::set<std::string> keys;
  std::set<std::size_t> line_counts;
  std::set<std::size_t> categories_seen;
  std::set<std::int64_t> quantities;
  for (const std::uint64_t seed : {1ULL, 42ULL, 20240601ULL}) {
    RecordGenerator g(d, options(seed));
    for (int i = 0; i < 1'000; ++i) {
      const auto rec = g.next();
      INFO("payload: " << rec.payload);
      REQUIRE_FALSE(rec.expected.has_value());
      CHECK(rec.bad_field.empty());
      const auto r = accept(d, rec);
      CHECK(rec.key == r.identity(d));
      CHECK_FALSE(rec.key.empty());
      keys.insert(rec.key);

      CHECK(r.time(d) >= kBase - kDayUs);
      CHECK(r.time(d) <= kBase);

      // Every optional field is generated too.
      for (std::size_t f = 0; f < d.fields.size(); ++f) {
        INFO("field: " << d.fields[f].name);
        CHECK_FALSE(std::holds_alternative<std::monostate>(r.values[f]));
      }
      const auto& region = std::get<std::string>(at(d, r, "Region"));
      CHECK(std::find(regions.begin(), regions.end(), region) != regions.end());

      // Email is first.last<n>@example.com, and each line repeats it.
      const auto& mail = std::get<std::string>(at(d, r, "Email"));
      const auto prefix = lower(std::get<std::string>(at(d, r, "FirstName"))) + "." +
                          lower(std::get<std::string>(at(d, r, "LastName")));
      CHECK(mail.rfind(prefix, 0) == 0);
      CHECK(mail.size() > prefix.size() + 12);
      CHECK(mail.substr(mail.size() - 12) == "@example.com");

      REQUIRE(r.lines.size() >= 1);
      REQUIRE(r.lines.size() <= 4);
      line_counts.insert(r.lines.size());
      core::Int128 sum = 0;
      for (const auto& l : r.lines) {
        CHECK(std::get<std::string>(l[email]) == mail);
        const auto sku = std::get<std::int64_t>(l[product]);
        const auto category = skus.find(sku);
        CHECK(category != skus.end());
        if (category != skus.end()) categories_seen.insert(category->second);
        const auto q = std::get<std::int64_t>(l[qty]);
        CHECK(q >= 1);
        CHECK(q <= 5);
        quantities.insert(q);
        const auto p = std::get<Decimal>(l[price]);
        CHECK(p >= *Decimal::parse("1.99"));
        CHECK(p <= *Decimal::parse("49.99"));
        CHECK(p.units() % 10'000 == 0);  // whole cents
        sum += static_cast<core::Int128>(q) * p.units();
      }
      CHECK(std::get<Decimal>(at(d, r, "Total")) ==
            Decimal::from_units(static_cast<std::int64_t>(sum)));
    }
  }
  CHECK(keys.size() == 3'000);  // identities are unique
  CHECK(line_counts == std::set<std::size_t>{1, 2, 3, 4});
  CHECK(quantities == std::set<std::int64_t>{1, 2, 3, 4, 5});
  CHECK(categories_seen.size() == generated_categories().size());
}

TEST_CASE("bad orders are refused exactly as the generator says", "[kinds][generator]") {
  const auto& d = order();
  std::map<RejectReason, int> reasons;
  std::set<std::string> fields;
  int line_defects = 0, record_defects = 0;
  RecordGenerator g(d, options(3, 1.0));
  for (int i = 0; i < 2'000; ++i) {
    const auto rec = g.next();
    INFO("record " << i << ": " << rec.payload);
    const auto reason = check_bad(d, rec);
    ++reasons[reason];
    if (!rec.bad_field.empty()) fields.insert(rec.bad_field);
    if (rec.bad_field.rfind("Details[", 0) == 0) {
      ++line_defects;
    } else if (!rec.bad_field.empty()) {
      ++record_defects;
    }
    // The key is the identity, unless the identity is what is missing.
    const bool no_identity =
        rec.bad_field == "PaymentTransactionId" && reason == RejectReason::kMissingField;
    CHECK(rec.key.empty() == no_identity);
  }
  CHECK(reasons.size() == 4);
  CHECK(reasons[RejectReason::kMissingField] > 0);
  CHECK(reasons[RejectReason::kWrongType] > 0);
  CHECK(reasons[RejectReason::kOutOfRange] > 0);
  CHECK(reasons[RejectReason::kInvalidJson] > 0);
  CHECK(line_defects > 0);
  CHECK(record_defects > 0);
  // Every required field is left out somewhere, and lines beyond the first are hit.
  for (const auto* name :
       {"PaymentTransactionId", "OrderDate", "Total", "Details[1].Email", "Details[1].ProductId",
        "Details[1].Quantity", "Details[1].UnitPrice", "Details[2].Quantity"}) {
    INFO("field: " << name);
    CHECK(fields.count(name) == 1);
  }
}

TEST_CASE("bad_ratio sets the share of bad records", "[kinds][generator]") {
  RecordGenerator g(order(), options(5, 0.25));
  int bad = 0;
  constexpr int kCount = 4'000;
  for (int i = 0; i < kCount; ++i) {
    const auto rec = g.next();
    if (rec.expected) {
      ++bad;
      check_bad(order(), rec);
    } else {
      CHECK(rec.bad_field.empty());
      accept(order(), rec);
    }
  }
  CHECK(bad > kCount / 5);
  CHECK(bad < kCount * 3 / 10);
}

TEST_CASE("every type's default values are valid", "[kinds][generator]") {
  const auto& d = sample();
  std::set<std::size_t> line_counts;
  std::set<std::int64_t> levels, smalls, wides;
  RecordGenerator g(d, options(17));
  for (int i = 0; i < 2'000; ++i) {
    const auto rec = g.next();
    const auto r = accept(d, rec);
    INFO("payload: " << rec.payload);
    CHECK(rec.key == r.identity(d));
    CHECK(is_lower_uuid(std::get<std::string>(at(d, r, "Id"))));
    line_counts.insert(r.lines.size());
    levels.insert(std::get<std::int64_t>(at(d, r, "Level")));
    smalls.insert(std::get<std::int64_t>(at(d, r, "Small")));
    wides.insert(std::get<std::int64_t>(at(d, r, "Wide")));
    CHECK(std::get<std::string>(at(d, r, "Tiny")).size() <= 2);
    const auto price = std::get<Decimal>(at(d, r, "Price"));
    CHECK(price >= *Decimal::parse("0.5"));
    CHECK(price <= *Decimal::parse("2.25"));
  }
  CHECK(line_counts == std::set<std::size_t>{0, 1, 2, 3});
  CHECK(levels == std::set<std::int64_t>{10, 20, 30});
  CHECK(smalls == std::set<std::int64_t>{-3, -2, -1, 0, 1, 2, 3});
  // A wide range is drawn from near its minimum, but drawn.
  CHECK(wides.size() > 100);
  CHECK(*wides.rbegin() <= std::numeric_limits<std::int64_t>::min() + 1000);
}

TEST_CASE("default texts reach min_bytes, so good records stay good", "[kinds][generator]") {
  // "Pad <n>" is at most 8 bytes, a uuid 36: both must be padded.
  const auto d = parse_declaration(R"({
    "kind": "padded",
    "topic": {"name": "padded", "env": "MILLRACE_PADDED_TOPIC", "partitions": 1},
    "table": "padded",
    "identity": "Key",
    "time": "At",
    "fields": [
      {"name": "Key", "column": "key", "type": "text", "required": true,
       "min_bytes": 40, "max_bytes": 48},
      {"name": "At", "column": "at", "type": "timestamp", "required": true},
      {"name": "Pad", "column": "pad", "type": "text", "min_bytes": 12, "max_bytes": 12}
    ]
  })",
                                   "test padded");
  RecordGenerator g(d, options(5));
  for (int i = 0; i < 200; ++i) {
    const auto rec = g.next();
    const auto r = accept(d, rec);
    CHECK(rec.key.size() == 40);
    CHECK(std::get<std::string>(at(d, r, "Pad")).size() == 12);
  }
}

TEST_CASE("bad records of a kind whose lines may be empty", "[kinds][generator]") {
  const auto& d = sample();
  std::set<RejectReason> reasons;
  int line_defects = 0;
  RecordGenerator g(d, options(23, 1.0));
  for (int i = 0; i < 2'000; ++i) {
    const auto rec = g.next();
    reasons.insert(check_bad(d, rec));
    if (rec.bad_field.rfind("Items[", 0) == 0) ++line_defects;
  }
  CHECK(reasons.size() == 4);
  CHECK(line_defects > 0);
}

TEST_CASE("records without a time spread are at the base time", "[kinds][generator]") {
  auto o = options(1);
  o.time_spread_us = 0;
  RecordGenerator g(order(), o);
  for (int i = 0; i < 50; ++i) CHECK(accept(order(), g.next()).time(order()) == kBase);
}
