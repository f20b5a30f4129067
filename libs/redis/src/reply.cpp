#include <array>

#include "millrace/redis/client.hpp"

namespace millrace::redis {

Reply Reply::integer(std::int64_t value) {
  Reply r;
  r.type_ = Type::kInteger;
  r.integer_ = value;
  return r;
}

Reply Reply::string(std::string value) {
  Reply r;
  r.type_ = Type::kString;
  r.string_ = std::move(value);
  return r;
}

Reply Reply::status(std::string value) {
  Reply r;
  r.type_ = Type::kStatus;
  r.string_ = std::move(value);
  return r;
}

Reply Reply::error(std::string message) {
  Reply r;
  r.type_ = Type::kError;
  r.string_ = std::move(message);
  return r;
}

Reply Reply::array(std::vector<Reply> elements) {
  Reply r;
  r.type_ = Type::kArray;
  r.elements_ = std::move(elements);
  return r;
}

std::int64_t Reply::as_integer() const {
  if (type_ != Type::kInteger) mismatch("an integer");
  return integer_;
}

const std::string& Reply::as_string() const {
  if (type_ != Type::kString && type_ != Type::kStatus && type_ != Type::kError) {
    mismatch("a string");
  }
  return string_;
}

const std::vector<Reply>& Reply::elements() const {
  if (type_ != Type::kArray) mismatch("an array");
  return elements_;
}

std::string Reply::describe() const {
  switch (type_) {
    case Type::kNil:
      return "(nil)";
    case Type::kInteger:
      return std::to_string(integer_);
    case Type::kString:
      return "\"" + string_ + "\"";
    case Type::kStatus:
      return string_;
    case Type::kError:
      return "(error) " + string_;
    case Type::kArray: {
      std::string out = "[";
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        if (i > 0) out += ", ";
        out += elements_[i].describe();
      }
      return out + "]";
    }
  }
  return "?";
}

void Reply::mismatch(std::string_view expected) const {
  std::string shown = describe();
  // A value of megabytes has no place in an error message.
  constexpr std::size_t kShown = 200;
  if (shown.size() > kShown) shown = shown.substr(0, kShown) + "...";
  throw core::InfraError(core::FailureClass::kFatal,
                         "redis: expected " + std::string(expected) + " reply, got " + shown);
}

core::FailureClass classify_error_reply(std::string_view message) {
  // Redis' error codes for states that pass: a restarted server loading its
  // data, a long script running, maxmemory reached, a replica (read-only)
  // behind a failover, a cluster moving slots.
  static constexpr std::array<std::string_view, 8> kRetryable = {
      "LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"};
  const std::string_view code = message.substr(0, message.find(' '));
  for (const auto retryable : kRetryable) {
    if (code == retryable) return core::FailureClass::kRetryable;
  }
  return core::FailureClass::kFatal;
}

}  // namespace millrace::redis
