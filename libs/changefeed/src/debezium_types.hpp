#pragma once

// How Debezium's PostgreSQL connector writes one column, by its type: the
// Kafka Connect schema of the field (JsonConverter's JSON form of it) and
// the value, both with Debezium's defaults (decimal.handling.mode=precise,
// time.precision.mode=adaptive, interval.handling.mode=numeric,
// binary.handling.mode=bytes) and decimal.handling.mode's string and double
// as choices. A type it has no special form for (an extension's, a
// geometric one) is written as PostgreSQL's text, a string.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed::debezium {

// What Debezium writes in place of a TOASTed value an update left alone
// (unavailable.value.placeholder's default).
inline constexpr std::string_view kUnavailable = "__debezium_unavailable_value";

struct ColumnCodec {
  enum class Kind {
    kBool,
    kInteger,          // JSON number as PostgreSQL writes it
    kFloat,            // the same; NaN and infinities as strings
    kDecimal,          // Connect Decimal: base64 of the unscaled value
    kVariableDecimal,  // io.debezium.data.VariableScaleDecimal {scale, value}
    kDecimalString,
    kDecimalDouble,
    kMoney,  // money: as kDecimal with scale 2 (or string/double)
    kMoneyString,
    kMoneyDouble,
    kString,  // text and everything written as its text
    kDate,    // days since the epoch
    kTimeMillis,
    kTimeMicros,
    kTimestampMillis,
    kTimestampMicros,
    kZonedTimestamp,  // ISO 8601 in UTC, the column's fraction digits
    kZonedTime,       // HH:MM:SS[.f]Z in UTC
    kInterval,        // io.debezium.time.MicroDuration
    kBytes,           // bytea
    kBits,            // bit(n > 1), varbit: little-endian bytes of the bits
    kBitBool,         // bit(1)
    kArray,
  };
  Kind kind = Kind::kString;
  std::string type = "string";  // the Connect type
  std::string name;             // the logical type's name, if any
  int version = 0;
  std::string doc;
  std::vector<std::pair<std::string, std::string>> parameters;
  int scale = 0;                             // kDecimal, kMoney
  int fraction_digits = 6;                   // kZonedTimestamp
  std::shared_ptr<const ColumnCodec> items;  // kArray
};

// The codec of a column of type `type` with modifier `typmod`. `enum_labels`
// (in sort order) for an enum type, which Debezium writes as a string named
// io.debezium.data.Enum listing them.
ColumnCodec codec_for(Oid type, std::int32_t typmod, DecimalMode decimal,
                      const std::vector<std::string>* enum_labels = nullptr);

// The field's schema: {"type":...,"optional":...,...,"default":...,"field":"name"}.
// `default_value` is already the JSON of the value (append_value's output).
void append_field_schema(std::string& out, const ColumnCodec& codec, std::string_view field,
                         bool optional, const std::string* default_value);
// A schema without "field" (an array's items).
void append_schema(std::string& out, const ColumnCodec& codec, bool optional);

// The JSON value of PostgreSQL's text `text` for this column. Throws
// DecodeError for text the type never has.
void append_value(std::string& out, const ColumnCodec& codec, std::string_view text);
// The placeholder of a TOASTed value left out of an update.
void append_unavailable(std::string& out, const ColumnCodec& codec);
// What Debezium gives a NOT NULL column that a row image lacks (a delete's
// old key carries only the key): the type's zero.
void append_fallback(std::string& out, const ColumnCodec& codec);

}  // namespace millrace::changefeed::debezium
