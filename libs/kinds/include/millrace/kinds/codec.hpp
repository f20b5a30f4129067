#pragma once

// What a service needs to know of a kind's records to handle them without
// naming the kind: how a message becomes a record (or a rejection), the
// record's event time and identity, and the kind's keep rule, all from
// its Declaration (the store event's too), through the codec it names
// (proto/README.md, Codecs).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/core/filter.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

// The reason of the first condition of `keep` that `record` fails, or
// nullopt: keep it.
std::optional<std::string_view> not_kept(const std::vector<KeepCondition>& keep,
                                         const Record& record);

// The store event's keep rule as its compiled filter takes it: discount gt
// a number (reason discount_not_above_threshold) and event_type in a list
// (reason event_type_not_kept). The sink's --min-discount and --keep-types
// override them. Throws core::UsageError for a rule of another shape.
struct StoreEventKeep {
  std::string min_discount;             // "20"
  std::vector<std::string> keep_types;  // {"sale_event", "inventory_event"}
};
StoreEventKeep store_event_keep(const Declaration& store_event);
// The built-in store event declaration's.
const StoreEventKeep& built_in_store_event_keep();

class DeclaredCodec {
 public:
  using Record = kinds::Record;

  // `declaration` must outlive this. `type_from`: how a record's type is
  // read, when the declaration has one (type_header).
  explicit DeclaredCodec(const Declaration& declaration, TypeFrom type_from = TypeFrom::kHeader)
      : d_(declaration), parse_(find_codec(declaration.codec)), type_from_(type_from) {}

  std::variant<Record, core::Rejection> parse(
      std::string_view payload, std::optional<std::string_view> event_type = {}) const {
    Record record;
    if (auto r = parse_into(payload, event_type, record)) return *std::move(r);
    return record;
  }
  // Into `out`, reused from one message to the next (its strings keep
  // their capacity); a rejection leaves it partly written.
  std::optional<core::Rejection> parse_into(std::string_view payload,
                                            std::optional<std::string_view> event_type,
                                            Record& out) const {
    return parse_(d_, payload, event_type, type_from_, out);
  }
  std::int64_t time(const Record& record) const { return record.time(d_); }
  const std::string& identity(const Record& record) const { return record.identity(d_); }
  std::string_view time_field() const { return d_.time_field().name; }
  std::optional<std::string_view> not_kept(const Record& record) const {
    return kinds::not_kept(d_.keep, record);
  }
  const Declaration& declaration() const { return d_; }

 private:
  const Declaration& d_;
  ParseRecord parse_;  // the declaration's codec
  TypeFrom type_from_;
};

}  // namespace millrace::kinds
