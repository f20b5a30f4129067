#pragma once

#include <string_view>

#include "millrace/core/decimal.hpp"

namespace millrace::core::detail {

// Decimal::parse folds every failure into nullopt; validation needs to tell
// the sender *why* its number was refused.
enum class DecimalStatus { kOk, kNotANumber, kTooPrecise, kOverflow };

DecimalStatus parse_decimal(std::string_view literal, Decimal& out);

}  // namespace millrace::core::detail
