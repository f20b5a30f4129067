#include "millrace/core/outcome.hpp"

namespace millrace::core {

std::string_view outcome_code(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPersisted:
      return "persisted";
    case Outcome::kFiltered:
      return "filtered";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kLate:
      return "late";
    case Outcome::kLost:
      return "lost";
    case Outcome::kExpired:
      return "expired";
  }
  return "unknown";
}

}  // namespace millrace::core
