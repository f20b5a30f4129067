#include "millrace/core/failure.hpp"

#include "millrace/core/enum_names.hpp"

namespace millrace::core {

namespace {

constexpr EnumNames<FailureClass, 3> kFailureNames({{FailureClass::kRetryable, "retryable"},
                                                    {FailureClass::kPoison, "poison"},
                                                    {FailureClass::kFatal, "fatal"}});

}  // namespace

std::string_view to_string(FailureClass failure_class) {
  return kFailureNames.name(failure_class);
}

}  // namespace millrace::core
