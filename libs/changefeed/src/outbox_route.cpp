// The event's topic, as Kafka Connect's RegexRouter makes it behind the
// EventRouter: the route column's value matched whole against
// route.topic.regex, then route.topic.replacement with Java's replacement
// syntax ($n, ${name}, \ escaping the next character); a value the regex
// does not match is the topic as it is.
#include <cstddef>
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/changefeed/outbox.hpp"
#include "millrace/core/options.hpp"

namespace millrace::changefeed::outbox {

namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Java's named groups, (?<name>...), which ECMAScript's regex lacks: each
// becomes a plain group, its name kept with its number.
struct Translated {
  std::string pattern;
  std::map<std::string, std::size_t, std::less<>> names;
  std::size_t groups = 0;
};

Translated translate(const std::string& regex) {
  const auto bad = [&](const std::string& why) {
    return core::UsageError("--outbox-topic-regex: \"" + regex + "\" " + why);
  };
  Translated t;
  bool in_class = false;
  for (std::size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\') {
      if (i + 1 == regex.size()) throw bad("ends in a lone \\");
      t.pattern.append(regex, i, 2);
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      t.pattern += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      t.pattern += c;
      // A ] first in a class is the character itself.
      if (i + 1 < regex.size() && regex[i + 1] == '^') t.pattern += regex[++i];
      if (i + 1 < regex.size() && regex[i + 1] == ']') t.pattern += regex[++i];
      continue;
    }
    if (c != '(') {
      t.pattern += c;
      continue;
    }
    if (i + 1 < regex.size() && regex[i + 1] == '?') {
      if (i + 2 < regex.size() && regex[i + 2] == '<' && i + 3 < regex.size() &&
          name_start(regex[i + 3])) {
        std::size_t end = i + 3;
        while (end < regex.size() && name_char(regex[end])) ++end;
        if (end == regex.size() || regex[end] != '>') throw bad("has an unfinished group name");
        const std::string name = regex.substr(i + 3, end - i - 3);
        if (!t.names.emplace(name, ++t.groups).second) {
          throw bad("names two groups " + name);
        }
        t.pattern += '(';
        i = end;
        continue;
      }
      t.pattern += c;  // (?:, lookahead: no group; ECMAScript refuses the rest
      continue;
    }
    ++t.groups;
    t.pattern += c;
  }
  return t;
}

// One piece of the replacement: text, or a group by its number.
using Piece = std::variant<std::string, std::size_t>;

std::vector<Piece> parse_replacement(const std::string& replacement, const Translated& t) {
  const auto bad = [&](const std::string& why) {
    return core::UsageError("--outbox-topic: \"" + replacement + "\" " + why +
                            " (Java's replacement: $n, ${name}, \\ before a literal $ or \\)");
  };
  std::vector<Piece> pieces;
  std::string text;
  const auto flush = [&] {
    if (!text.empty()) pieces.emplace_back(std::move(text));
    text.clear();
  };
  for (std::size_t i = 0; i < replacement.size(); ++i) {
    const char c = replacement[i];
    if (c == '\\') {
      if (i + 1 == replacement.size()) throw bad("ends in a lone \\");
      text += replacement[++i];
      continue;
    }
    if (c != '$') {
      text += c;
      continue;
    }
    if (i + 1 == replacement.size()) throw bad("ends in a lone $");
    if (replacement[i + 1] == '{') {
      const auto end = replacement.find('}', i + 2);
      if (end == std::string::npos) throw bad("has an unfinished ${");
      const std::string name = replacement.substr(i + 2, end - i - 2);
      const auto at = t.names.find(name);
      if (at == t.names.end()) throw bad("names no group of the regex: " + name);
      flush();
      pieces.emplace_back(at->second);
      i = end;
      continue;
    }
    if (!digit(replacement[i + 1])) throw bad("has a $ before neither a number nor {name}");
    // As Java reads it: the first digit, then more while the number stays a
    // group of the regex.
    std::size_t group = static_cast<std::size_t>(replacement[++i] - '0');
    if (group > t.groups) throw bad("names group " + std::to_string(group) + ", past the last");
    while (i + 1 < replacement.size() && digit(replacement[i + 1])) {
      const std::size_t longer = group * 10 + static_cast<std::size_t>(replacement[i + 1] - '0');
      if (longer > t.groups) break;
      group = longer;
      ++i;
    }
    flush();
    pieces.emplace_back(group);
  }
  flush();
  return pieces;
}

}  // namespace

struct TopicRoute::Impl {
  std::regex regex;
  // The router's default regex, (?<routedByValue>.*): every value without a
  // line break matches whole, without running the regex.
  bool whole = false;
  std::vector<Piece> pieces;
};

TopicRoute::TopicRoute(const std::string& regex, const std::string& replacement)
    : impl_(std::make_unique<Impl>()) {
  const Translated t = translate(regex);
  try {
    impl_->regex = std::regex(t.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw core::UsageError("--outbox-topic-regex: \"" + regex +
                           "\" is not a regex this feed reads (ECMAScript's, with Java's "
                           "(?<name>...) groups): " +
                           e.what());
  }
  impl_->whole = regex == kDefaultTopicRegex;
  impl_->pieces = parse_replacement(replacement, t);
}

TopicRoute::~TopicRoute() = default;
TopicRoute::TopicRoute(TopicRoute&&) noexcept = default;
TopicRoute& TopicRoute::operator=(TopicRoute&&) noexcept = default;

std::string TopicRoute::topic(const std::string& value) const {
  std::smatch m;
  if (impl_->whole) {
    // Java's . takes no line break: such a value is not matched.
    if (value.find_first_of("\r\n") != std::string::npos) return value;
  } else if (!std::regex_match(value, m, impl_->regex)) {
    return value;
  }
  std::string out;
  for (const auto& piece : impl_->pieces) {
    if (const auto* text = std::get_if<std::string>(&piece)) {
      out += *text;
    } else if (impl_->whole) {
      out += value;  // group 0 and group 1 are both the whole value
    } else {
      out += m[static_cast<int>(std::get<std::size_t>(piece))].str();
    }
  }
  return out;
}

}  // namespace millrace::changefeed::outbox
