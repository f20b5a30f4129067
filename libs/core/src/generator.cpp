#include "millrace/core/generator.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "event_json.hpp"
#include "millrace/core/contract.hpp"

namespace millrace::core {

namespace {

// Each kind of message the generator makes: its name, and the reason
// validation must refuse it with (none for a good one).
struct Defect {
  BadKind kind;
  std::string_view name;
  std::optional<RejectReason> reason;
};

constexpr std::array<Defect, kBadKindCount> kDefects{{
    {BadKind::kNone, "none", std::nullopt},
    {BadKind::kInvalidJson, "invalid_json", RejectReason::kInvalidJson},
    {BadKind::kMissingField, "missing_field", RejectReason::kMissingField},
    {BadKind::kWrongType, "wrong_type", RejectReason::kWrongType},
    {BadKind::kNegativeQty, "negative_qty", RejectReason::kOutOfRange},
    {BadKind::kUnknownEventType, "unknown_event_type", RejectReason::kUnknownEventType},
    {BadKind::kNoEventTypeHeader, "no_event_type_header", RejectReason::kMissingEventType},
}};

// In the enum's order, so that a kind indexes its entry, and no name twice.
static_assert([] {
  for (std::size_t i = 0; i < kDefects.size(); ++i) {
    if (static_cast<std::size_t>(kDefects[i].kind) != i) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (kDefects[j].name == kDefects[i].name) return false;
    }
  }
  return true;
}());

const Defect* defect(BadKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < kDefects.size() ? &kDefects[i] : nullptr;
}

constexpr std::array<std::string_view, 20> kCategories = {
    "Notebooks",   "Pens",          "Backpacks", "Pencils",      "Markers",
    "Binders",     "Folders",       "Staplers",  "Scissors",     "Calculators",
    "Erasers",     "Highlighters",  "Rulers",    "Sticky Notes", "Desk Lamps",
    "Lunch Boxes", "Water Bottles", "Envelopes", "Paper Clips",  "Art Supplies",
};
constexpr std::array<std::string_view, 8> kVariants = {
    "red", "blue", "green", "black", "white", "yellow", "purple", "orange",
};
// Required fields a kMissingField message may lack (contact_me is optional).
constexpr auto kRequiredFields = required_names();
// 9999-12-31T23:59:59.999999Z
constexpr TimestampUs kMaxTimestamp = 253'402'300'799'999'999;
constexpr std::string_view kContact = "github.com/miztiik";
constexpr std::string_view kUnknownType = "refund_event";

// Each category owns a band of the sku space, holding this many skus.
constexpr std::int64_t kSkuBase = 100'000;
constexpr std::int64_t kSkuBand = 45'000;
constexpr std::int64_t kSkusPerCategory = 300;
constexpr std::int64_t kSkuStep = kSkuBand / kSkusPerCategory;
static_assert(kSkuBase + static_cast<std::int64_t>(kCategories.size()) * kSkuBand - 1 == 999'999);

// Own range mapping on top of mt19937_64, whose output the standard fixes;
// the std distributions are implementation-defined and would make a seed's
// messages differ between standard libraries.
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) {
  // Rejection sampling removes modulo bias.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

std::int64_t between(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == std::numeric_limits<std::uint64_t>::max()) return static_cast<std::int64_t>(rng());
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(rng, span + 1));
}

bool chance(std::mt19937_64& rng, double p) {
  // 53 random bits make an exactly representable double in [0, 1).
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return u < p;
}

std::string uuid_v4(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t hi = rng();
  std::uint64_t lo = rng();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // RFC 4122 variant
  std::string out(36, '-');
  std::size_t pos = 0;
  auto put = [&](std::uint64_t bits, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(bits >> (4 * i)) & 0xF];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

// A sku's price is a property of the sku, not of the event: derived from it
// by a fixed mix (splitmix64's finaliser), 0.50 .. 500.00.
Decimal price_of_sku(std::int64_t sku) {
  auto z = static_cast<std::uint64_t>(sku) + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const auto cents = static_cast<std::int64_t>(50 + z % (50'000 - 50 + 1));
  return Decimal::from_units(cents * (Decimal::kOne / 100));
}

}  // namespace

std::string_view to_string(BadKind kind) {
  const Defect* d = defect(kind);
  return d != nullptr ? d->name : std::string_view("unknown");
}

std::optional<RejectReason> expected_reason(BadKind kind) {
  const Defect* d = defect(kind);
  return d != nullptr ? d->reason : std::nullopt;
}

std::span<const std::string_view> generated_categories() {
  return kCategories;
}

std::vector<std::int64_t> generated_skus(std::size_t category_index) {
  std::vector<std::int64_t> out;
  if (category_index >= kCategories.size()) return out;
  for (std::int64_t k = 0; k < kSkusPerCategory; ++k) {
    out.push_back(kSkuBase + static_cast<std::int64_t>(category_index) * kSkuBand + k * kSkuStep);
  }
  return out;
}

Decimal generated_price(std::int64_t sku) {
  return price_of_sku(sku);
}

namespace {

std::string store_fqdn(std::int32_t store_id) {
  char buf[16];
  char* p = buf;
  // Zero-pad to three digits: "store-007".
  if (store_id < 100) *p++ = '0';
  if (store_id < 10) *p++ = '0';
  p = std::to_chars(p, buf + sizeof buf, store_id).ptr;
  std::string out = "store-";
  out.append(buf, p);
  out += ".millrace.local";
  return out;
}

std::string store_ip(std::int32_t store_id) {
  const auto v = static_cast<std::uint32_t>(store_id);
  std::string out = "10";
  for (const int shift : {16, 8, 0}) {
    out.push_back('.');
    out += std::to_string((v >> shift) & 0xFF);
  }
  return out;
}

}  // namespace

EventGenerator::EventGenerator(GeneratorOptions options) : options_(options), rng_(options.seed) {
  if (!(options_.bad_ratio >= 0.0 && options_.bad_ratio <= 1.0)) {
    throw std::invalid_argument("generator bad_ratio must be between 0 and 1");
  }
  if (options_.store_count < 1) {
    throw std::invalid_argument("generator store_count must be >= 1");
  }
  if (options_.time_spread_us < 0) {
    throw std::invalid_argument("generator time_spread_us must be >= 0");
  }
  // Validation accepts years 1970..9999 only; a window outside them would
  // make "good" messages that the sink rejects.
  if (options_.time_spread_us > options_.base_ts || options_.base_ts > kMaxTimestamp) {
    throw std::invalid_argument("generator time window must lie within years 1970..9999");
  }
}

void EventGenerator::set_base_ts(TimestampUs base_ts) {
  if (options_.time_spread_us > base_ts || base_ts > kMaxTimestamp) {
    throw std::invalid_argument("generator time window must lie within years 1970..9999");
  }
  options_.base_ts = base_ts;
}

StoreEvent EventGenerator::make_event() {
  // The draw order is part of the output: changing it changes every seed's
  // messages, which tests and benchmarks may have pinned.
  StoreEvent e;
  e.id = uuid_v4(rng_);
  e.request_id = uuid_v4(rng_);
  e.store_id = static_cast<std::int32_t>(between(rng_, 1, options_.store_count));
  e.store_fqdn = store_fqdn(e.store_id);
  e.store_ip = store_ip(e.store_id);
  e.cust_id = between(rng_, 1, 100'000);
  const auto category = static_cast<std::size_t>(below(rng_, kCategories.size()));
  e.category = std::string(kCategories[category]);
  e.sku = kSkuBase + static_cast<std::int64_t>(category) * kSkuBand +
          between(rng_, 0, kSkusPerCategory - 1) * kSkuStep;
  e.price = price_of_sku(e.sku);
  e.qty = static_cast<std::int32_t>(between(rng_, 1, 50));
  // Most items sell at full price; the rest are spread over 0.0 .. 50.0 in
  // tenths, so that about 58% land at or below the default 20% threshold.
  const bool full_price = chance(rng_, 0.3);
  const std::int64_t tenths = between(rng_, 0, 500);
  e.discount = Decimal::from_units(full_price ? 0 : tenths * (Decimal::kOne / 10));
  e.gift_wrap = chance(rng_, 0.25);
  e.variant = std::string(kVariants[below(rng_, kVariants.size())]);
  e.priority_shipping = chance(rng_, 0.3);
  e.ts = options_.base_ts - between(rng_, 0, options_.time_spread_us);
  if (chance(rng_, 0.5)) e.contact_me = std::string(kContact);
  e.is_return = chance(rng_, 0.1);
  e.event_type = chance(rng_, 0.5) ? EventType::kSale : EventType::kInventory;
  fill_undrawn(e);
  return e;
}

namespace {

// The fields make_event() draws with realistic values. Any other field of
// the contract gets a valid value from its type and bounds (fill_undrawn), so
// a field added to the contract needs nothing here to be generated.
constexpr Field kDrawn[] = {
    kId,  kRequestId, kStoreId,  kStoreFqdn, kStoreIp,  kCustId,  kCategory,
    kSku, kPrice,     kQty,      kDiscount,  kGiftWrap, kVariant, kPriorityShipping,
    kTs,  kContactMe, kIsReturn, kEventType};

constexpr bool drawn(Field f) {
  for (const Field d : kDrawn) {
    if (d == f) return true;
  }
  return false;
}

}  // namespace

void EventGenerator::fill_undrawn(StoreEvent& e) {
  for (int i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    if (drawn(f)) continue;
    const FieldSpec& field = spec(f);
    const std::string name(field.name);
    switch (field.type) {
      case FieldType::kUuid:
        member_of<std::string>(e, field) = uuid_v4(rng_);
        break;
      case FieldType::kText:
        member_of<std::string>(e, field) = name + "-" + std::to_string(between(rng_, 1, 100));
        break;
      case FieldType::kIp:
        member_of<std::string>(e, field) = "10.1.0." + std::to_string(between(rng_, 1, 254));
        break;
      case FieldType::kFreeText: {
        auto& value = member_of<std::optional<std::string>>(e, field);
        if (chance(rng_, 0.5)) {
          value = name + " " + std::to_string(between(rng_, 1, 100));
        } else {
          value.reset();
        }
        break;
      }
      case FieldType::kInteger: {
        const std::int64_t v = between(rng_, field.min, std::min(field.max, field.min + 1000));
        visit_field(e, f,
                    Overloaded{[&](std::int32_t& m) { m = static_cast<std::int32_t>(v); },
                               [&](std::int64_t& m) { m = v; }, [](auto&) {}});
        break;
      }
      case FieldType::kDecimal:
        member_of<Decimal>(e, field) =
            Decimal::from_integer(between(rng_, field.min, std::min(field.max, field.min + 100)));
        break;
      case FieldType::kBoolean:
        member_of<bool>(e, field) = chance(rng_, 0.5);
        break;
      case FieldType::kTimestamp:
        member_of<TimestampUs>(e, field) =
            options_.base_ts - between(rng_, 0, options_.time_spread_us);
        break;
      case FieldType::kEventType:
        break;  // from the header, drawn above
    }
  }
}

GeneratedMessage EventGenerator::next() {
  StoreEvent event = make_event();
  GeneratedMessage msg;
  msg.intended_type = event.event_type;
  msg.store_id = event.store_id;
  msg.priority_shipping = event.priority_shipping;
  msg.event_type_header = std::string(to_string(event.event_type));
  // Drawn every time, bad or not, so that a message's content does not
  // depend on bad_ratio beyond the bad messages themselves.
  const bool bad = chance(rng_, options_.bad_ratio);
  const auto kind_draw = static_cast<std::uint8_t>(1 + below(rng_, kBadKindCount - 1));
  msg.bad = bad ? static_cast<BadKind>(kind_draw) : BadKind::kNone;

  std::optional<std::string_view> body_type;
  if (options_.embed_event_type) body_type = to_string(event.event_type);
  detail::JsonTweak tweak;
  std::string raw;  // backs tweak.replace_raw

  switch (msg.bad) {
    case BadKind::kNone:
      break;
    case BadKind::kInvalidJson:
      break;  // truncated below
    case BadKind::kMissingField:
      tweak.omit_field = kRequiredFields[below(rng_, kRequiredFields.size())];
      break;
    case BadKind::kWrongType: {
      // Numbers and booleans sent as strings, as a careless producer does.
      static constexpr std::string_view kQuoted[] = {"qty", "price", "store_id", "discount",
                                                     "gift_wrap"};
      tweak.quote_field = kQuoted[below(rng_, std::size(kQuoted))];
      break;
    }
    case BadKind::kNegativeQty:
      tweak.replace_field = "qty";
      raw = std::to_string(-between(rng_, 1, 50));
      break;
    case BadKind::kUnknownEventType:
      msg.event_type_header = std::string(kUnknownType);
      if (body_type) body_type = kUnknownType;
      break;
    case BadKind::kNoEventTypeHeader:
      msg.event_type_header.reset();
      body_type.reset();
      break;
  }
  tweak.replace_raw = raw;
  detail::write_event_json(msg.payload, event, body_type, tweak);

  if (msg.bad == BadKind::kInvalidJson) {
    // Any proper prefix of an object is invalid JSON (its '}' is missing);
    // cutting in the middle half looks like a torn write.
    const std::size_t size = msg.payload.size();
    const auto cut = static_cast<std::size_t>(between(rng_, static_cast<std::int64_t>(size / 4),
                                                      static_cast<std::int64_t>(3 * size / 4)));
    msg.payload.resize(cut);
  }
  if (msg.bad == BadKind::kNone) msg.event = std::move(event);
  return msg;
}

}  // namespace millrace::core
