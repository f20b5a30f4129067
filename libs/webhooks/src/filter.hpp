#pragma once

// An endpoint's Azure Event Grid subscription filter, taken verbatim so a user
// can paste it, and evaluated as Event Grid evaluates it.
//
// Sources (what each rule below rests on):
//  [F] "Understand event filtering for Event Grid subscriptions",
//      https://learn.microsoft.com/azure/event-grid/event-filtering
//      (MicrosoftDocs/azure-docs articles/event-grid/event-filtering.md)
//  [S] "Event Grid subscription schema",
//      https://learn.microsoft.com/azure/event-grid/subscription-creation-schema
//  [A] the ARM REST spec, Azure/azure-rest-api-specs
//      specification/eventgrid/resource-manager/Microsoft.EventGrid/stable/2025-02-15/
//      EventGrid.json, definition EventSubscriptionFilter; the advanced filters' kinds and
//      value types as the SDKs generated from it give them:
//      https://learn.microsoft.com/dotnet/api/azure.resourcemanager.eventgrid.models.eventsubscriptionfilter.advancedfilters
//      https://learn.microsoft.com/powershell/module/az.eventgrid/new-azeventgridnumberinrangeadvancedfilterobject
//  [E] "Advanced filtering" (Event Grid on IoT Edge),
//      https://learn.microsoft.com/azure/event-grid/edge/advanced-filtering
//
// Verified rules:
//  - The filter's members, their types, isSubjectCaseSensitive defaulting to false and the 19
//    operatorTypes; a Number operator's value is a number (Double), NumberInRange's and
//    NumberNotInRange's "values" an array of [low, high] pairs (Double[][]) [A][F].
//  - includedEventTypes: the event's type must be "an exact match" of one of them [S], so
//    case counts; "All" takes every type [F]; null or absent takes every type [A].
//  - subjectBeginsWith / subjectEndsWith: prefix / suffix of the subject, "" matching all [S],
//    case-insensitive unless isSubjectCaseSensitive [A].
//  - Advanced filters are ANDed with each other and with the type and subject filters; a
//    filter's values are ORed; the Not operators match only when the key matches none of
//    them [F][E].
//  - All string comparisons are case-insensitive [F][E].
//  - A value of another type than the operator's is ignored: no conversion, so a Number
//    operator never matches a JSON string, nor StringIn a number [F] ("Any key values with
//    data types that don't match the filter's data type are ignored").
//  - A key the event lacks: NumberNotIn and StringNotIn match; every other comparing
//    operator, StringNotContains / StringNotBeginsWith / StringNotEndsWith included, does
//    not [F]. IsNullOrUndefined matches a missing or null key, IsNotNull any other [F].
//  - An array value: without enableAdvancedFilteringOnArrays the filter does not match [E];
//    with it, a positive operator matches when any element matches any value, a Not
//    operator when no element matches any value, elements of another type being ignored
//    (so an array of objects never matches a positive operator) [F].
//  - Numbers compare as decimals, not doubles ("Event Grid uses the decimal .NET type ...
//    aren't subject to floating point rounding behavior") [E]: a filter's number is kept
//    exactly as written; 0.1 equals 0.1.
//  - Limits: 25 advanced filters and 25 filter values across all of them, 512 characters
//    per string value [F]. Keys are split at every '.', with no escape [F].
//
// Choices (Event Grid documents no answer, or it does not apply to Millrace):
//  - Keys: id, source, type, subject, time (CloudEvents), eventType, eventTime and topic
//    (Event Grid schema names of type, time and source), data, and data.<a>.<b>...
//    Attribute names and the "data" prefix are case-insensitive ([F] spells them both
//    ways); the path inside data is case-sensitive. Any other key (specversion,
//    dataVersion, an extension attribute) is refused: a Millrace event has none to read, so
//    such a filter could only ever see a missing key. No nesting depth limit: [F] names
//    none (the 2018 version's two levels are gone).
//  - A null value counts as a missing key for every operator, not only IsNullOrUndefined.
//  - NumberNotInRange on a missing or null key matches, as NumberNotIn does ([F] lists it
//    on neither side; the Azure Event Grid Simulator chose the same).
//  - A present value of another type (or an array holding none of the operator's type) is
//    ignored, so a Not operator matches it and a positive one does not.
//  - IsNullOrUndefined / IsNotNull look only at presence, so an array counts as present
//    whether or not enableAdvancedFilteringOnArrays is set.
//  - Case-insensitive means simple upper-casing of ASCII, Latin-1, Latin Extended-A, Greek
//    and Cyrillic letters; other characters compare as they are.
//  - A string value's length is counted in UTF-16 code units, as .NET counts it.
//  - A range counts as one value towards the 25. Refused besides what Event Grid refuses:
//    an empty "values", an empty includedEventTypes, a range whose low is above its high,
//    a member given twice. Member names are case-insensitive (older versions of [F] write
//    "Key" and "Values"); operatorType values are not. A member that is null counts as absent (az
//    prints nulls).
//  - The event's attributes are strings that are always present (empty when unknown);
//    `data` must have been parsed with numbers as numbers (not kParseNumbersAsStringsFlag),
//    and a number the caller read as a double compares as the shortest decimal that reads
//    back as that double, so digits past a double's 17 are lost before the filter sees
//    them.

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/exact_decimal.hpp"

namespace millrace::webhooks::detail {

// What a filter sees of one event (CloudEvents attributes + data).
struct FilterEvent {
  std::string_view id, source, type, subject, time;
  const rapidjson::Value* data = nullptr;  // the event's data (a JSON object), may be null
};

class Filter {
 public:
  // Parses Event Grid's filter JSON: the filter object itself, or a document holding it as
  // "filter" ({"filter": {...}}, as `az eventgrid event-subscription show` prints it) or as
  // "properties"."filter" (ARM's resource shape). Throws std::invalid_argument naming the
  // JSON path of the problem, e.g. `advancedFilters[2].values: StringIn takes "values", an
  // array`, for anything Event Grid would refuse and for what the choices above refuse.
  static Filter parse(std::string_view json);

  bool matches(const FilterEvent& event) const;

  // The filter object itself (not a wrapper), compact, members in a fixed order and those
  // at their defaults left out, keys spelled as above (eventType as type, ...): equal
  // filters print equal, and parse(canonical_json()) == *this.
  std::string canonical_json() const;

  // Whether any advanced filter reads data (its key is data or data.*).
  bool reads_data() const;

  friend bool operator==(const Filter&, const Filter&) = default;

  // The parts of a parsed filter, public only so the helpers of filter_parse.cpp, filter_match.cpp
  // and filter_canonical.cpp (filter_rules.hpp) can name them.
  enum class Op : std::uint8_t {
    kNumberIn,
    kNumberNotIn,
    kNumberLessThan,
    kNumberGreaterThan,
    kNumberLessThanOrEquals,
    kNumberGreaterThanOrEquals,
    kNumberInRange,
    kNumberNotInRange,
    kBoolEquals,
    kStringIn,
    kStringNotIn,
    kStringBeginsWith,
    kStringNotBeginsWith,
    kStringEndsWith,
    kStringNotEndsWith,
    kStringContains,
    kStringNotContains,
    kIsNullOrUndefined,
    kIsNotNull,
  };
  enum class Attribute : std::uint8_t { kId, kSource, kType, kSubject, kTime, kData };

  // An exact decimal, a filter's number as written.
  using Decimal = core::ExactDecimal;

  struct Advanced {
    Op op = Op::kIsNotNull;
    Attribute attribute = Attribute::kData;
    std::vector<std::string> path;  // inside data
    std::vector<Decimal> numbers;   // the Number operators but the ranges
    std::vector<std::pair<Decimal, Decimal>> ranges;
    std::vector<std::string> strings;  // as written
    std::vector<std::string> folded;   // case-folded, for matching
    bool boolean = false;
    friend bool operator==(const Advanced&, const Advanced&) = default;
  };

 private:
  bool all_types_ = true;
  std::vector<std::string> types_;
  std::string begins_, ends_;                // as written
  std::string begins_folded_, ends_folded_;  // case-folded
  bool case_sensitive_ = false;
  bool arrays_ = false;
  std::vector<Advanced> advanced_;
};

}  // namespace millrace::webhooks::detail
