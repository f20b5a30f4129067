#include "debezium_types.hpp"

#include <memory>
#include <utility>

#include "millrace/core/json_string.hpp"

// A column's codec by its PostgreSQL type (codec_for), and its Kafka Connect
// schema (append_schema). Its values: debezium_values.cpp.

namespace millrace::changefeed::debezium {

namespace {

using Kind = ColumnCodec::Kind;

// Built-in type OIDs (pg_type.dat).
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kOid = 26;
constexpr Oid kJson = 114;
constexpr Oid kXml = 142;
constexpr Oid kFloat4 = 700;
constexpr Oid kFloat8 = 701;
constexpr Oid kMoney = 790;
constexpr Oid kDate = 1082;
constexpr Oid kTime = 1083;
constexpr Oid kTimestamp = 1114;
constexpr Oid kTimestamptz = 1184;
constexpr Oid kInterval = 1186;
constexpr Oid kTimetz = 1266;
constexpr Oid kBit = 1560;
constexpr Oid kVarbit = 1562;
constexpr Oid kNumeric = 1700;
constexpr Oid kUuid = 2950;
constexpr Oid kJsonb = 3802;
// Element types only: their columns are encoded as text.
constexpr Oid kName = 19;
constexpr Oid kText = 25;
constexpr Oid kCidr = 650;
constexpr Oid kMacaddr = 829;
constexpr Oid kInet = 869;
constexpr Oid kBpchar = 1042;
constexpr Oid kVarchar = 1043;

// One-dimensional array types and their element types (pg_type.dat).
constexpr std::pair<Oid, Oid> kArrayElements[] = {
    {1000, kBool}, {1001, kBytea},     {1005, kInt2},        {1007, kInt4},     {1016, kInt8},
    {1028, kOid},  {1021, kFloat4},    {1022, kFloat8},      {1231, kNumeric},  {791, kMoney},
    {1009, kText}, {1014, kBpchar},    {1015, kVarchar},     {1003, kName},     {1182, kDate},
    {1183, kTime}, {1115, kTimestamp}, {1185, kTimestamptz}, {1187, kInterval}, {1270, kTimetz},
    {2951, kUuid}, {199, kJson},       {3807, kJsonb},       {143, kXml},       {1041, kInet},
    {651, kCidr},  {1040, kMacaddr},
};

// A one-dimensional array type's element type; 0 for any other type.
Oid element_of(Oid array) {
  for (const auto& [a, element] : kArrayElements) {
    if (a == array) return element;
  }
  return 0;
}

ColumnCodec make(Kind kind, std::string type, std::string name = {}, int version = 0) {
  ColumnCodec c;
  c.kind = kind;
  c.type = std::move(type);
  c.name = std::move(name);
  c.version = version;
  return c;
}

// The precision of a time type's modifier; 6 when the column has none.
int time_precision(std::int32_t typmod) {
  return typmod < 0 ? 6 : static_cast<int>(typmod);
}

ColumnCodec decimal_codec(DecimalMode mode, std::int32_t typmod) {
  if (mode == DecimalMode::kString) return make(Kind::kDecimalString, "string");
  if (mode == DecimalMode::kDouble) return make(Kind::kDecimalDouble, "double");
  if (typmod < 4) {
    ColumnCodec c =
        make(Kind::kVariableDecimal, "struct", "io.debezium.data.VariableScaleDecimal", 1);
    c.doc = "Variable scaled decimal";
    return c;
  }
  const int precision = ((typmod - 4) >> 16) & 0xFFFF;
  const int scale = (typmod - 4) & 0xFFFF;
  ColumnCodec c = make(Kind::kDecimal, "bytes", "org.apache.kafka.connect.data.Decimal", 1);
  c.scale = scale;
  c.parameters = {{"scale", std::to_string(scale)},
                  {"connect.decimal.precision", std::to_string(precision)}};
  return c;
}

}  // namespace

ColumnCodec codec_for(Oid type, std::int32_t typmod, DecimalMode decimal,
                      const std::vector<std::string>* enum_labels) {
  switch (type) {
    case kBool:
      return make(Kind::kBool, "boolean");
    case kInt2:
      return make(Kind::kInteger, "int16");
    case kInt4:
      return make(Kind::kInteger, "int32");
    case kInt8:
    case kOid:
      return make(Kind::kInteger, "int64");
    case kFloat4:
      return make(Kind::kFloat, "float");
    case kFloat8:
      return make(Kind::kFloat, "double");
    case kNumeric:
      return decimal_codec(decimal, typmod);
    case kMoney: {
      if (decimal == DecimalMode::kString) return make(Kind::kMoneyString, "string");
      if (decimal == DecimalMode::kDouble) return make(Kind::kMoneyDouble, "double");
      ColumnCodec c = make(Kind::kMoney, "bytes", "org.apache.kafka.connect.data.Decimal", 1);
      c.scale = 2;
      c.parameters = {{"scale", "2"}};
      return c;
    }
    case kDate:
      return make(Kind::kDate, "int32", "io.debezium.time.Date", 1);
    case kTime:
      return time_precision(typmod) <= 3
                 ? make(Kind::kTimeMillis, "int32", "io.debezium.time.Time", 1)
                 : make(Kind::kTimeMicros, "int64", "io.debezium.time.MicroTime", 1);
    case kTimestamp:
      return time_precision(typmod) <= 3
                 ? make(Kind::kTimestampMillis, "int64", "io.debezium.time.Timestamp", 1)
                 : make(Kind::kTimestampMicros, "int64", "io.debezium.time.MicroTimestamp", 1);
    case kTimestamptz: {
      ColumnCodec c = make(Kind::kZonedTimestamp, "string", "io.debezium.time.ZonedTimestamp", 1);
      c.fraction_digits = time_precision(typmod);
      return c;
    }
    case kTimetz:
      return make(Kind::kZonedTime, "string", "io.debezium.time.ZonedTime", 1);
    case kInterval:
      return make(Kind::kInterval, "int64", "io.debezium.time.MicroDuration", 1);
    case kUuid:
      return make(Kind::kString, "string", "io.debezium.data.Uuid", 1);
    case kJson:
    case kJsonb:
      return make(Kind::kString, "string", "io.debezium.data.Json", 1);
    case kXml:
      return make(Kind::kString, "string", "io.debezium.data.Xml", 1);
    case kBytea:
      return make(Kind::kBytes, "bytes");
    case kBit:
    case kVarbit: {
      if (type == kBit && typmod == 1) return make(Kind::kBitBool, "boolean");
      ColumnCodec c = make(Kind::kBits, "bytes", "io.debezium.data.Bits", 1);
      c.parameters = {{"length", std::to_string(typmod < 0 ? 2147483647 : typmod)}};
      return c;
    }
    default:
      break;
  }
  if (const Oid element = element_of(type); element != 0) {
    ColumnCodec c = make(Kind::kArray, "array");
    c.items = std::make_shared<const ColumnCodec>(codec_for(element, typmod, decimal));
    return c;
  }
  if (enum_labels != nullptr && !enum_labels->empty()) {
    ColumnCodec c = make(Kind::kString, "string", "io.debezium.data.Enum", 1);
    std::string allowed;
    for (const auto& label : *enum_labels) {
      if (!allowed.empty()) allowed += ',';
      allowed += label;
    }
    c.parameters = {{"allowed", allowed}};
    return c;
  }
  return make(Kind::kString, "string");
}

void append_schema(std::string& out, const ColumnCodec& codec, bool optional) {
  out += "{\"type\":\"";
  out += codec.type;
  out += '"';
  if (codec.kind == Kind::kVariableDecimal) {
    out +=
        ",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
        "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]";
  }
  if (codec.items) {
    out += ",\"items\":";
    append_schema(out, *codec.items, true);
  }
  out += optional ? ",\"optional\":true" : ",\"optional\":false";
  if (!codec.name.empty()) {
    out += ",\"name\":";
    core::append_json_string(out, codec.name);
    out += ",\"version\":" + std::to_string(codec.version);
  }
  if (!codec.doc.empty()) {
    out += ",\"doc\":";
    core::append_json_string(out, codec.doc);
  }
  if (!codec.parameters.empty()) {
    out += ",\"parameters\":{";
    bool first = true;
    for (const auto& [k, v] : codec.parameters) {
      if (!first) out += ',';
      first = false;
      core::append_json_string(out, k);
      out += ':';
      core::append_json_string(out, v);
    }
    out += '}';
  }
  out += '}';
}

void append_field_schema(std::string& out, const ColumnCodec& codec, std::string_view field,
                         bool optional, const std::string* default_value) {
  append_schema(out, codec, optional);
  out.pop_back();  // the closing brace
  if (default_value != nullptr) {
    out += ",\"default\":";
    out += *default_value;
  }
  out += ",\"field\":";
  core::append_json_string(out, field);
  out += '}';
}

}  // namespace millrace::changefeed::debezium
