#include "millrace/kinds/generator.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/store_message.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/kinds/sample_catalog.hpp"
#include "millrace/reference/validation.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using core::Decimal;
using core::Rejection;
using core::RejectReason;

namespace {

constexpr core::TimestampUs kBase = 1'717'243'200'000'000;  // 2024-06-01T12:00:00Z
constexpr std::int64_t kDayUs = 24LL * 3600 * 1'000'000;

RecordGeneratorOptions options(std::uint64_t seed, double bad_ratio = 0.0) {
  RecordGeneratorOptions o;
  o.seed = seed;
  o.bad_ratio = bad_ratio;
  o.base_ts = kBase;
  o.time_spread_us = kDayUs;
  return o;
}

using millrace::kinds::testing::order;
using millrace::kinds::testing::store_event;

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

Record accept(const Declaration& d, const GeneratedRecord& g) {
  INFO("payload: " << g.payload);
  auto result = parse_record(d, g.payload, millrace::kinds::testing::type_header_of(d, g.payload));
  if (const auto* r = std::get_if<Rejection>(&result)) {
    FAIL("rejected: " << core::reason_code(r->reason) << " [" << r->field << "] " << r->detail);
  }
  return std::get<Record>(std::move(result));
}

// Checks that a bad record is refused exactly as the generator says it
// will be; returns the reason.
RejectReason check_bad(const Declaration& d, const GeneratedRecord& g) {
  INFO("payload: " << g.payload);
  REQUIRE(g.expected.has_value());
  const auto result =
      parse_record(d, g.payload, millrace::kinds::testing::produced_header_of(d, g.payload));
  REQUIRE(std::holds_alternative<Rejection>(result));
  const auto& r = std::get<Rejection>(result);
  INFO("detail: " << r.detail);
  CHECK(core::reason_code(r.reason) == core::reason_code(*g.expected));
  if (!g.bad_field.empty()) {
    CHECK(r.field == g.bad_field);
  } else {
    // Only JSON cut short and the type's header name no field.
    CHECK((*g.expected == RejectReason::kInvalidJson ||
           *g.expected == RejectReason::kMissingEventType ||
           *g.expected == RejectReason::kUnknownEventType));
    CHECK(r.field.empty());
  }
  return *g.expected;
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

const Value& at(const Declaration& d, const Record& r, std::string_view name) {
  const auto i = d.find(name);
  INFO("field: " << name);
  REQUIRE(i.has_value());
  return r.values[*i];
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

bool is_lower_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
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

TEST_CASE("good store events parse", "[kinds][generator]") {
  const auto& d = store_event();
  const auto& types = d.fields[*d.find("event_type")].values;
  std::set<std::string> seen_types;
  RecordGenerator g(d, options(42));
  for (int i = 0; i < 2'000; ++i) {
    const auto rec = g.next();
    REQUIRE_FALSE(rec.expected.has_value());
    const auto r = accept(d, rec);
    INFO("payload: " << rec.payload);
    CHECK(rec.key == r.identity(d));
    CHECK(is_lower_uuid(rec.key));
    CHECK(r.time(d) >= kBase - kDayUs);
    CHECK(r.time(d) <= kBase);
    const auto& type = std::get<std::string>(at(d, r, "event_type"));
    CHECK(std::find(types.begin(), types.end(), type) != types.end());
    seen_types.insert(type);
    CHECK(std::get<std::int64_t>(at(d, r, "qty")) >= 1);
    CHECK(std::get<Decimal>(at(d, r, "discount")) <= Decimal::from_integer(100));
  }
  CHECK(seen_types.size() == types.size());
}

TEST_CASE("good store events pass the compiled contract, from the catalog, at their stores",
          "[kinds][generator]") {
  // The hints of proto/kinds/store_event.json: a store's host and address
  // from its number, a sku's category and price from the catalog the
  // reference data is written from, and the shares of the flags.
  RecordGenerator g(store_event(), options(5));
  constexpr int kCount = 20'000;
  int gift = 0, priority = 0, returns = 0, contact = 0, full_price = 0, kept = 0;
  std::set<std::int32_t> stores;
  for (int i = 0; i < kCount; ++i) {
    const auto rec = g.next();
    INFO("payload: " << rec.payload);
    // The header a producer sends is the body's own event_type.
    const auto type =
        rec.payload.find("\"sale_event\"") != std::string::npos ? "sale_event" : "inventory_event";
    auto parsed = core::parse_event(rec.payload, std::string_view(type));
    REQUIRE(std::holds_alternative<core::StoreEvent>(parsed));
    const auto& e = std::get<core::StoreEvent>(parsed);
    stores.insert(e.store_id);
    CHECK(e.store_id >= 1);
    CHECK(e.store_id <= 50);
    char host[32];
    std::snprintf(host, sizeof host, "store-%03d.millrace.local", e.store_id);
    CHECK(e.store_fqdn == host);
    CHECK(e.store_ip == "10.0.0." + std::to_string(e.store_id));
    CHECK(e.price == generated_price(e.sku));
    const auto skus = generated_skus(static_cast<std::size_t>(
        std::find(generated_categories().begin(), generated_categories().end(), e.category) -
        generated_categories().begin()));
    CHECK(std::find(skus.begin(), skus.end(), e.sku) != skus.end());
    CHECK(e.discount <= Decimal::from_integer(50));
    CHECK(e.discount.units() % (Decimal::kOne / 10) == 0);  // in tenths
    full_price += e.discount == Decimal{} ? 1 : 0;
    kept += e.discount > Decimal::from_integer(20) ? 1 : 0;
    gift += e.gift_wrap ? 1 : 0;
    priority += e.priority_shipping ? 1 : 0;
    returns += e.is_return ? 1 : 0;
    if (e.contact_me) {
      ++contact;
      CHECK(*e.contact_me == "github.com/miztiik");
    }
  }
  CHECK(stores.size() == 50);
  const auto near = [](int n, double share) {
    return n > kCount * (share - 0.02) && n < kCount * (share + 0.02);
  };
  CHECK(near(gift, 0.25));
  CHECK(near(priority, 0.3));
  CHECK(near(returns, 0.1));
  CHECK(near(contact, 0.5));
  // 30% at full price, the rest over 0.0 .. 50.0: about 42% above the
  // filter's 20, as the benchmarks' figures assume.
  CHECK(near(full_price, 0.3 + 0.7 / 501));
  CHECK(near(kept, 0.7 * 300 / 501));
}

TEST_CASE("bad store events are refused exactly as the generator says", "[kinds][generator]") {
  const auto& d = store_event();
  std::set<RejectReason> reasons;
  RecordGenerator g(d, options(9, 1.0));
  for (int i = 0; i < 2'000; ++i) reasons.insert(check_bad(d, g.next()));
  // The four every kind gets, and its type's header left out or unknown.
  CHECK(reasons.size() == 6);
  CHECK(reasons.count(RejectReason::kMissingEventType) == 1);
  CHECK(reasons.count(RejectReason::kUnknownEventType) == 1);
}

TEST_CASE("bad store events are refused by the compiled contract as the generator says",
          "[kinds][generator]") {
  // What the sink checks them with: core::parse_event, the header being
  // the event_type a lenient read of the body finds (millrace produce's).
  RecordGenerator g(store_event(), options(1234, 0.3));
  std::set<RejectReason> reasons;
  int good = 0;
  for (int i = 0; i < 20'000; ++i) {
    const auto rec = g.next();
    INFO("record " << i << ": " << rec.payload);
    const auto hint = core::routing_hint(rec.payload);
    std::optional<std::string_view> header;
    if (hint.raw_event_type) header = *hint.raw_event_type;
    const auto result = core::parse_event(rec.payload, header);
    if (!rec.expected) {
      REQUIRE(std::holds_alternative<core::StoreEvent>(result));
      ++good;
      continue;
    }
    REQUIRE(std::holds_alternative<Rejection>(result));
    const auto& r = std::get<Rejection>(result);
    INFO("rejection: " << core::reason_code(r.reason) << " " << r.field << ": " << r.detail);
    REQUIRE(r.reason == *rec.expected);
    if (!rec.bad_field.empty()) CHECK(r.field == rec.bad_field);
    reasons.insert(r.reason);
  }
  CHECK(reasons.size() == 6);
  CHECK(good > 13'400);
  CHECK(good < 14'600);
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
