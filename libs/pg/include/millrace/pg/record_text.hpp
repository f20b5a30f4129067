#pragma once

// A record's row in PostgreSQL's COPY text, from its kind's declaration
// (kinds/declaration.hpp): each declared field's column in the
// declaration's order, written by its type, then where the record was read
// (kafka_topic, kafka_partition, kafka_offset), the columns
// pg::record_columns names. The one encoding of a record as a row: the
// sink's rows (libs/sink/src/kind_rows.cpp) and `millrace generate --format
// copy` both write through it.
//
// Defined here, in the header, so that the sink's loop inlines them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::pg {

class RecordText {
 public:
  // A personal-data value's hash under a key (the sink's HMAC): pg holds
  // no cryptography of its own.
  using PiiHash = std::string (*)(std::string_view key, std::string_view value);

  RecordText() = default;
  // Personal-data fields written as `pii` says (kinds::pii_mode); `hash`
  // is needed for kinds::PiiMode::kHash.
  RecordText(kinds::PiiMode pii, std::string pii_key, PiiHash hash)
      : pii_(pii), pii_key_(std::move(pii_key)), hash_(hash) {}

  // One field's column.
  template <typename V>
  void value(CopyText& out, const kinds::FieldDecl& field, const V& value) const;

  // The columns of `fields` (a record's or its lines') from their values.
  void fields(CopyText& out, const std::vector<kinds::FieldDecl>& fields,
              const std::vector<kinds::Value>& values) const {
    for (std::size_t i = 0; i < values.size(); ++i) value(out, fields[i], values[i]);
  }

  // A record's row, its source's columns included (the caller adds what
  // follows, the enrichment's, and ends the row).
  template <typename Values>
  void record(CopyText& out, const kinds::Declaration& d, const Values& values,
              std::string_view topic, std::int32_t partition, std::int64_t offset) const {
    fields(out, d.fields, values);
    out.text(topic).integer(partition).integer(offset);
  }

 private:
  kinds::PiiMode pii_ = kinds::PiiMode::kKeep;
  std::string pii_key_;
  PiiHash hash_ = nullptr;
};

// The enrichment's columns (kEnrichmentColumns, kind_tables.hpp): a
// catalog product's name, brand and category; each nullopt is a NULL.
inline void append_enrichment(CopyText& row, const std::optional<std::string>& name,
                              const std::optional<std::string>& brand,
                              const std::optional<std::string>& category) {
  for (const auto* v : {&name, &brand, &category}) {
    if (*v) {
      row.text(**v);
    } else {
      row.null();
    }
  }
}

template <typename V>
void RecordText::value(CopyText& out, const kinds::FieldDecl& field, const V& v) const {
  if constexpr (std::is_same_v<V, kinds::Value>) {
    std::visit([&](const auto& x) { value(out, field, x); }, v);
  } else if constexpr (std::is_same_v<V, std::monostate>) {
    out.null();
  } else if constexpr (std::is_same_v<V, std::string>) {
    // The declaration allows personal data in text fields only.
    if (!field.pii || pii_ == kinds::PiiMode::kKeep) {
      out.text(v);
    } else if (pii_ == kinds::PiiMode::kDrop) {
      out.null();
    } else if (v.empty()) {
      // No bytes hold nothing personal: '' stays '', so a query for empty
      // values reads the same in hash mode as in keep mode.
      out.text(v);
    } else {
      out.text(hash_(pii_key_, v));
    }
  } else if constexpr (std::is_same_v<V, std::int64_t>) {
    out.integer(v);
  } else if constexpr (std::is_same_v<V, core::Decimal>) {
    char text[core::Decimal::kTextMax];
    out.text({text, v.to_chars(text)});
  } else if constexpr (std::is_same_v<V, bool>) {
    out.boolean(v);
  } else {
    static_assert(std::is_same_v<V, kinds::Timestamp>, "a value of no declared type");
    char text[core::kTimestampTextMax];
    out.text({text, core::format_timestamp_to(text, v.us)});
  }
}

}  // namespace millrace::pg
