#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace millrace::core {

// Every failure Millrace meets is one of these, and the class decides the
// reaction: retryable -> back off and try again without losing or skipping
// anything; poison -> one record can never succeed, set it aside with a reason;
// fatal -> stop the process with a clear message (configuration, programming
// error, or state only an operator can repair).
enum class FailureClass { kRetryable, kPoison, kFatal };

std::string_view to_string(FailureClass failure_class);

// An infrastructure failure (Kafka, PostgreSQL) carrying its class, thrown by
// the I/O libraries so that callers decide on one field, not on library types.
class InfraError : public std::runtime_error {
 public:
  InfraError(FailureClass failure_class, const std::string& what)
      : std::runtime_error(what), class_(failure_class) {}
  FailureClass failure_class() const { return class_; }
  bool retryable() const { return class_ == FailureClass::kRetryable; }

 private:
  FailureClass class_;
};

}  // namespace millrace::core
