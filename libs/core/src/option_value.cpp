// Reading and showing one option's value: the parsing behind parse() and
// the config file, and the text help(), describe() and changes() show.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/core/secrets.hpp"
#include "millrace/core/values.hpp"
#include "option_spec.hpp"

namespace millrace::core {

namespace {

std::string format_double(double value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string v = lowercase(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::string unit_name(std::int64_t unit_ms) {
  switch (unit_ms) {
    case 1:
      return "milliseconds";
    case 1000:
      return "seconds";
    case 60'000:
      return "minutes";
    case 3'600'000:
      return "hours";
    default:
      return "days";
  }
}

}  // namespace

namespace detail {

std::string raw(const OptionSpec& opt) {
  switch (opt.kind) {
    case OptionSpec::Kind::kString:
      return *opt.string_target;
    case OptionSpec::Kind::kInt:
      return std::to_string(*opt.int_target);
    case OptionSpec::Kind::kDouble:
      return format_double(*opt.double_target);
    case OptionSpec::Kind::kBool:
      return *opt.bool_target ? "true" : "false";
    case OptionSpec::Kind::kDuration:
      return format_duration(std::chrono::milliseconds(*opt.int_target * opt.unit_ms));
    case OptionSpec::Kind::kChoice:
      return opt.choices.at(opt.get_choice());
    case OptionSpec::Kind::kList:
      return join_list(*opt.list_target);
  }
  return "";
}

std::string choice_list(const std::vector<std::string>& choices) {
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    out += i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ");
    out += choices[i];
  }
  return out;
}

std::string shown(const OptionSpec& opt, const std::string& value) {
  if (value.empty()) return "\"\"";
  if (opt.kind != OptionSpec::Kind::kString) return value;
  switch (opt.shown) {
    case OptionSet::Shown::kSecret:
      return "***";
    case OptionSet::Shown::kPropertyList:
      return mask_property_list(value);
    case OptionSet::Shown::kMasked:
      return names_secret(opt.flag) ? "***" : mask_secrets(value);
  }
  return "***";
}

std::string display(const OptionSpec& opt) {
  return shown(opt, raw(opt));
}

void apply(OptionSpec& opt, std::string_view value, const std::string& origin) {
  switch (opt.kind) {
    case OptionSpec::Kind::kString:
      *opt.string_target = std::string(value);
      return;
    case OptionSpec::Kind::kInt: {
      std::int64_t v = 0;
      const auto* end = value.data() + value.size();
      const auto result = std::from_chars(value.data(), end, v);
      if (value.empty() || result.ec != std::errc() || result.ptr != end || v < opt.int_min ||
          v > opt.int_max) {
        throw UsageError(origin + ": expected an integer between " + std::to_string(opt.int_min) +
                         " and " + std::to_string(opt.int_max) + ", got " + quote(value));
      }
      *opt.int_target = v;
      return;
    }
    case OptionSpec::Kind::kDouble: {
      double v = 0;
      const auto* end = value.data() + value.size();
      const auto result = std::from_chars(value.data(), end, v);
      if (value.empty() || result.ec != std::errc() || result.ptr != end || !std::isfinite(v) ||
          v < opt.double_min || v > opt.double_max) {
        throw UsageError(origin + ": expected a number between " + format_double(opt.double_min) +
                         " and " + format_double(opt.double_max) + ", got " + quote(value));
      }
      *opt.double_target = v;
      return;
    }
    case OptionSpec::Kind::kBool: {
      const auto v = parse_bool(value);
      if (!v) throw UsageError(origin + ": expected true or false, got " + quote(value));
      *opt.bool_target = *v;
      return;
    }
    case OptionSpec::Kind::kDuration: {
      const std::chrono::milliseconds unit(opt.unit_ms);
      std::chrono::milliseconds d{0};
      try {
        d = parse_duration(value, unit);
      } catch (const std::invalid_argument& e) {
        throw UsageError(origin + ": " + e.what());
      }
      const auto range = [&] {
        return " between " + format_duration(unit * opt.int_min) + " and " +
               format_duration(unit * opt.int_max);
      };
      if (d.count() % opt.unit_ms != 0) {
        throw UsageError(origin + ": expected a whole number of " + unit_name(opt.unit_ms) +
                         range() + ", got " + quote(value));
      }
      const std::int64_t v = d.count() / opt.unit_ms;
      if (v < opt.int_min || v > opt.int_max) {
        throw UsageError(origin + ": expected a duration" + range() + ", got " + quote(value));
      }
      *opt.int_target = v;
      return;
    }
    case OptionSpec::Kind::kChoice:
      for (std::size_t i = 0; i < opt.choices.size(); ++i) {
        if (value == opt.choices[i]) {
          opt.set_choice(i);
          return;
        }
      }
      throw UsageError(origin + ": expected " + choice_list(opt.choices) + ", got " + quote(value));
    case OptionSpec::Kind::kList:
      *opt.list_target = split_list(value);
      return;
  }
}

}  // namespace detail

}  // namespace millrace::core
