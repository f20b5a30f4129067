#include "millrace/core/failure.hpp"

namespace millrace::core {

std::string_view to_string(FailureClass failure_class) {
  switch (failure_class) {
    case FailureClass::kRetryable:
      return "retryable";
    case FailureClass::kPoison:
      return "poison";
    case FailureClass::kFatal:
      return "fatal";
  }
  return "unknown";
}

}  // namespace millrace::core
