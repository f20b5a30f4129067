#pragma once

// A kind of event, declared as data (proto/kinds/<kind>.json): its
// contract (fields, types, bounds, required), its topic and how records are
// keyed, its tables and columns, and the field that identifies a record, on
// which resends are deduplicated. Validation (record.hpp), the generator
// (generator.hpp) and the sink's COPY rows all walk a Declaration, so a new
// kind with flat fields needs a declaration and a table, and no code.
// proto/README.md documents the format; docs/kinds.md walks through adding
// a kind.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/kinds/view_decl.hpp"

namespace millrace::kinds {

enum class ValueType : std::uint8_t {
  kText,       // UTF-8, min_bytes..max_bytes bytes, no U+0000
  kFreeText,   // UTF-8 of any length, empty too, no U+0000 (an unbounded column)
  kIp,         // a textual IPv4 or IPv6 address
  kUuid,       // canonical 8-4-4-4-12 hex; stored lowercase
  kInteger,    // a JSON integer within [min, max]
  kDecimal,    // a JSON number within [min, max], kept exactly (six decimals)
  kBoolean,    // true or false
  kTimestamp,  // RFC 3339 text; UTC when it has no offset
};

// "text", "uuid", ...: the names the declarations use.
std::string_view type_name(ValueType type);

// How the generator makes a field's value (generator.hpp). By default from
// the type and bounds alone.
struct GenerateHint {
  enum class Rule : std::uint8_t {
    kDefault,
    kOneOf,       // one of `choices`
    kRange,       // a number within [low, high]
    kCatalogSku,  // a sku of the catalog the store-event generator uses
    kSumOfLines,  // sum over the lines of product(`of` fields): an order's Total
    kCopyOf,      // the parent record's field `of[0]`
    kEmail,       // name.surname<n>@example.com
    kChance,      // a boolean, true in `share` of the records
    // Made from other fields of the record once they are drawn:
    kPattern,          // choices[0] with {field} and {field:width} filled in from `of`
    kIpOf,             // 10.x.y.z from the low 24 bits of the integer field `of[0]`
    kCatalogCategory,  // the catalog's category of the sku in field `of[0]`
    kCatalogPrice,     // the catalog's price of the sku in field `of[0]`
  };
  Rule rule = Rule::kDefault;
  std::vector<std::string> choices;
  std::string low, high;        // decimal or integer text
  std::vector<std::string> of;  // field names
  double share = 0;             // kChance
  double absent = 0;            // an optional field's share of records without it
  std::string step;             // kRange: the values' spacing (empty: cents, or 1)
  double zero = 0;              // a number's share of records where it is 0
};

struct FieldDecl {
  std::string name;    // the JSON member
  std::string column;  // the table's column
  ValueType type = ValueType::kText;
  bool required = false;
  // Bounds (inclusive) of an integer, and of a decimal.
  std::int64_t int_min = 0, int_max = 0;
  std::optional<core::Decimal> min, max;
  // A text's shortest encoding. 0 by default: seed 003's orders send "" for
  // values they do not have, and required means present, not non-empty.
  std::size_t min_bytes = 0;
  std::size_t max_bytes = 255;      // a text's longest encoding
  std::vector<std::string> values;  // a text's allowed values; empty: any
  bool pii = false;                 // personal data: subject to MILLRACE_<KIND>_PII
  // A decimal may also come as a JSON string holding a plain decimal
  // literal ("0.001", as market-data feeds send prices to keep their
  // digits), read exactly like the number it spells.
  bool strings = false;
  GenerateHint generate;
};

// An array of objects in a record, stored one row per element in a table
// of its own, numbered from 1 in `number_column`.
struct LinesDecl {
  std::string name;  // the JSON member ("Details")
  std::string table;
  std::string number_column;
  std::size_t min_items = 1;
  std::size_t max_items = 1000;
  std::vector<FieldDecl> fields;
  std::size_t generate_min = 1, generate_max = 4;  // lines per generated record
};

// A sum the windows keep besides `amount` (aggregate_decl.cpp): of one
// field, or of the product of two (price × volume: a trade's notional),
// exact. A term's scale is the sum of its fields' (6 for a decimal, 0 for an
// integer).
struct SumDecl {
  std::string as;               // its column, in the tables and the views
  std::vector<std::size_t> of;  // 1 or 2 required decimal or integer fields
  int scale = 0;                // decimals of each term
};

// A ratio of two of a window's columns (VWAP: notional per volume),
// computed when the views are read, rounded half away from zero to `scale`
// decimals; NULL where `per` is 0.
struct RatioDecl {
  std::string as;       // its column in the views
  std::string of, per;  // view columns: records_as, amount_as, units or a sum's `as`
  int scale = 6;
};

// What millrace-aggregator --kind keeps of a kind, incrementally: records
// and an amount per hour and per day (per value of `group_by`, when given),
// the declared sums beside them, and, for a kind whose lines name catalog
// products, units and amount per product. Its tables are
// agg_<name>_hourly, agg_<name>_daily and agg_<name>_items; its views
// <name>_hourly, <name>_daily, <name>_this_hour, <name>_today,
// <name>_top_products and <name>_categories (docs/views.md).
struct AggregateDecl {
  std::string name;                    // "web_orders"
  std::string records_as = "records";  // the views' column counting records
  std::string amount_as = "amount";    // the views' column summing `amount`
  std::optional<std::size_t> amount;   // a decimal field of the record
  // Fields of the lines: the product (an integer, the catalog's sku), its
  // quantity (an integer) and its unit price (a decimal). All or none.
  std::optional<std::size_t> item, quantity, price;
  // Required text or integer fields of the record: each window
  // is kept per combination of their values (a symbol's hour).
  std::vector<std::size_t> group_by;
  std::vector<SumDecl> sums;
  std::vector<RatioDecl> ratios;
};

// How a kind's tables keep time ("storage" in a declaration): partitioned by
// range on the time field, each partition `partition_span` wide (a divisor
// of a day or whole days, aligned to UTC midnight), and dropped once it
// ends more than `retention` ago, its records then counted `expired`
// (nullopt: kept for ever). A sink's --<kind>-retention overrides the
// retention without editing the declaration.
struct StorageDecl {
  std::chrono::minutes partition_span{1440};
  std::optional<std::chrono::milliseconds> retention;
  // A record later than the partitions made ahead ("far_ahead"): by
  // default its partition is made when it comes ("partition"); with
  // "dead_letter" it is dead-lettered (reason ts_out_of_window), as a clock
  // far off most likely sent it.
  bool far_ahead_dead_letter = false;
};

// How the sink tells a record it stored already ("resends" in a
// declaration): by the kind's identities in kind_identities (kRegistry,
// the default), or by its table's own key, (time, identity), on a table
// the migrations make (kTableKey: the store event's, which predates
// kind_identities).
enum class Resends : std::uint8_t { kRegistry, kTableKey };

// One condition of a kind's keep rule ("keep" in a declaration): a record
// is stored only if every condition holds, else it is counted `filtered`
// with the condition's reason. A condition tests one field against
// constants: an integer, decimal or timestamp field is compared (gt, ge,
// lt, le), a text field is looked up in a list (in, not_in). A record
// whose field is null fails the condition. No OR, no arithmetic, no
// comparison of two fields (proto/README.md, "Keep rules").
struct KeepCondition {
  enum class Op : std::uint8_t { kGt, kGe, kLt, kLe, kIn, kNotIn };
  std::size_t field = 0;  // in the declaration's fields
  Op op = Op::kGt;
  // The constant: an integer field's, a timestamp's (microseconds since
  // the epoch), a decimal's, or a text's list.
  std::int64_t integer = 0;
  core::Decimal decimal{};
  std::vector<std::string> values;
  std::string reason;  // the filtered reason code: "<column>_not_kept" by default
};

// "gt", "in", ...: the names the declarations use.
std::string_view op_name(KeepCondition::Op op);

// Enrichment from the catalog ("enrich" in a declaration): the integer
// field holding the catalog's sku, of the record or of its lines; the
// table holding it gets nullable product_name, product_brand and
// product_category columns, which a sink with --enrich fills.
struct EnrichDecl {
  bool on_lines = false;  // the field is one of the lines'
  std::size_t sku = 0;    // in the record's, or the lines', fields
};

// Enrichment from the assets ("enrich": {"asset": "Symbol"}): the text
// field holding an asset's symbol (assets.symbol, migration 0020); the
// table holding it gets nullable asset_description, asset_type and
// asset_currency columns, which a sink with --enrich fills.
struct AssetEnrichDecl {
  bool on_lines = false;  // the field is one of the lines'
  std::size_t symbol = 0;
};

struct Declaration {
  std::string kind;  // "order": the --kind name
  std::string description;
  std::string topic;        // default topic
  std::string topic_env;    // the variable that overrides it
  std::int32_t partitions;  // the topic's, when Millrace creates it
  std::string table;        // one row per record
  // How its messages are parsed (kinds::codecs(), record.hpp): "sax" or
  // "dom". Every codec gives the same records and rejections; "sax" in
  // about half "dom"'s time (docs/benchmarks.md).
  std::string codec = "sax";
  std::vector<FieldDecl> fields;
  // The field that is the record's type ("type_header"): a text field with
  // values, sent in the Kafka header event_type (core::kHeaderEventType)
  // and repeated by the body at will. Without the header a message is
  // refused missing_event_type, with one not among the values
  // unknown_event_type, and with a body that says otherwise
  // event_type_mismatch; a body without it takes the header's.
  std::optional<std::size_t> type_header;
  std::optional<LinesDecl> lines;
  // The field whose value identifies a record: the Kafka key (so a
  // record's resends land in one partition) and the table's primary key.
  std::size_t identity = 0;
  std::size_t time = 0;  // the record's event time: a timestamp field
  std::optional<AggregateDecl> aggregate;
  std::vector<ViewDecl> views;  // declared views (view_decl.hpp), in their order
  StorageDecl storage;
  Resends resends = Resends::kRegistry;
  std::vector<KeepCondition> keep;  // empty: every valid record is kept
  std::optional<EnrichDecl> enrich;
  std::optional<AssetEnrichDecl> enrich_asset;

  const FieldDecl& identity_field() const { return fields[identity]; }
  const FieldDecl& time_field() const { return fields[time]; }
  // The index of the field named `name`, or nullopt.
  std::optional<std::size_t> find(std::string_view name) const;
};

// Reads a declaration. Throws core::UsageError naming `origin` (a file or
// "built-in order") and what is wrong: a missing member, an unknown type,
// bounds that do not parse, an identity that is not a required field, two
// fields with one column, a storage whose span or retention is not a
// duration it can take, a keep condition on an unknown field, with an
// operator its type cannot take or a value that does not parse as its
// type, an enrichment naming no integer sku or text asset field, a codec
// none has that name.
Declaration parse_declaration(std::string_view json, std::string_view origin);

// Adds the views of a views file to `d`, after its own: a kind's
// <kind>.views.json beside the declarations (registry.hpp), holding
// {"kind": "<kind>", "views": [...]} in the declaration's syntax, so that a
// retailer adds views to a kind, a built-in one too, without copying its
// declaration. Throws core::UsageError naming `origin` and what is wrong:
// not JSON, an unknown member, another kind's name, a view declared twice
// (in the file, or in the file and the declaration), a view refused as a
// declaration's would be, or views of the store event, whose aggregator
// keeps none yet.
void add_views(Declaration& d, std::string_view json, std::string_view origin);

}  // namespace millrace::kinds
