#include "millrace/http/client.hpp"

namespace millrace::http {

using core::FailureClass;

std::string Response::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

FailureClass Response::failure_class() const {
  switch (cause) {
    case Cause::kNone:
      return status_class(status);
    case Cause::kNoAnswer:
      return FailureClass::kRetryable;
    case Cause::kTooLarge:
    case Cause::kRefused:
    case Cause::kUnusable:
      return FailureClass::kFatal;
  }
  return FailureClass::kFatal;
}

FailureClass status_class(long status) {
  return status >= 500 || status == 429 || status == 408 ? FailureClass::kRetryable
                                                         : FailureClass::kFatal;
}

}  // namespace millrace::http
