#include "millrace/core/rejection.hpp"

#include "millrace/core/enum_names.hpp"

namespace millrace::core {

namespace {

constexpr EnumNames<RejectReason, kRejectReasonCount> kReasonCodes({
    {RejectReason::kInvalidJson, "invalid_json"},
    {RejectReason::kNotAnObject, "not_an_object"},
    {RejectReason::kMissingField, "missing_field"},
    {RejectReason::kWrongType, "wrong_type"},
    {RejectReason::kOutOfRange, "out_of_range"},
    {RejectReason::kInvalidFormat, "invalid_format"},
    {RejectReason::kMissingEventType, "missing_event_type"},
    {RejectReason::kUnknownEventType, "unknown_event_type"},
    {RejectReason::kEventTypeMismatch, "event_type_mismatch"},
});

}  // namespace

std::string_view reason_code(RejectReason reason) {
  return kReasonCodes.name(reason);
}

}  // namespace millrace::core
