#include "millrace/core/outcome.hpp"

#include "millrace/core/enum_names.hpp"

namespace millrace::core {

namespace {

constexpr EnumNames<Outcome, kOutcomeCount> kOutcomeCodes({
    {Outcome::kPersisted, "persisted"},
    {Outcome::kFiltered, "filtered"},
    {Outcome::kRejected, "rejected"},
    {Outcome::kDuplicate, "duplicate"},
    {Outcome::kLate, "late"},
    {Outcome::kLost, "lost"},
    {Outcome::kExpired, "expired"},
});

}  // namespace

std::string_view outcome_code(Outcome outcome) {
  return kOutcomeCodes.name(outcome);
}

}  // namespace millrace::core
