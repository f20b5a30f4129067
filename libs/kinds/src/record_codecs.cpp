// The codecs a declaration may name, in one table: a new codec is one
// entry here and its parse function.
#include <array>
#include <string>
#include <utility>

#include "millrace/core/options.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

namespace {

constexpr std::array kCodecs{
    Codec{"sax", parse_record_sax_into},
    Codec{"dom", parse_record_dom_into},
};

}  // namespace

std::span<const Codec> codecs() {
  return kCodecs;
}

ParseRecord find_codec(std::string_view name) {
  std::string names;
  for (const auto& c : kCodecs) {
    if (c.name == name) return c.parse;
    names += (names.empty() ? "" : ", ") + std::string(c.name);
  }
  throw core::UsageError("unknown codec \"" + std::string(name) + "\" (codecs: " + names + ")");
}

std::variant<Record, core::Rejection> parse_record(const Declaration& d, std::string_view payload,
                                                   std::optional<std::string_view> type_header,
                                                   TypeFrom type_from) {
  Record record;
  // The declaration's name was checked when it was read.
  if (auto r = find_codec(d.codec)(d, payload, type_header, type_from, record))
    return *std::move(r);
  return record;
}

}  // namespace millrace::kinds
