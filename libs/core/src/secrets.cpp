#include "millrace/core/secrets.hpp"

#include <array>

#include "millrace/core/property_list.hpp"

namespace millrace::core {

namespace {

constexpr std::string_view kMask = "***";

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Masks the password of the first "scheme://user:password@" in text.
std::string mask_uri_userinfo(std::string text) {
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  const std::size_t authority = scheme_end + 3;
  std::size_t authority_end = text.find_first_of("/?# \t", authority);
  if (authority_end == std::string::npos) authority_end = text.size();
  const std::size_t at = text.rfind('@', authority_end);
  if (at == std::string::npos || at < authority) return text;
  const std::size_t colon = text.find(':', authority);
  if (colon == std::string::npos || colon > at) return text;
  text.replace(colon + 1, at - colon - 1, kMask);
  return text;
}

}  // namespace

bool names_secret(std::string_view key) {
  static constexpr std::array<std::string_view, 6> kWords = {"password", "passwd", "secret",
                                                             "token",    "key",    "credential"};
  std::string folded(key.size(), '\0');
  for (std::size_t i = 0; i < key.size(); ++i) folded[i] = lower(key[i]);
  for (const auto word : kWords) {
    if (folded.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string mask_secrets(std::string_view text) {
  const bool uri = text.find("://") != std::string_view::npos;
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  std::size_t eq = text.find('=');
  while (eq != std::string_view::npos) {
    // The key: the run of key characters before '=' (blanks allowed
    // between, as libpq allows them).
    std::size_t key_end = eq;
    while (key_end > copied && (text[key_end - 1] == ' ' || text[key_end - 1] == '\t')) --key_end;
    std::size_t key_begin = key_end;
    while (key_begin > copied && is_key_char(text[key_begin - 1])) --key_begin;
    if (key_begin == key_end || !names_secret(text.substr(key_begin, key_end - key_begin))) {
      eq = text.find('=', eq + 1);
      continue;
    }
    std::size_t pos = eq + 1;
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::size_t end = pos;
    if (end < text.size() && text[end] == '\'') {
      // libpq quoting: '...' with backslash escapes.
      ++end;
      while (end < text.size() && text[end] != '\'') {
        if (text[end] == '\\' && end + 1 < text.size()) ++end;
        ++end;
      }
      if (end < text.size()) ++end;  // the closing quote
    } else {
      while (end < text.size() && !is_blank(text[end]) &&
             !(uri && (text[end] == '&' || text[end] == '#'))) {
        ++end;
      }
    }
    out.append(text.substr(copied, pos - copied));
    out += kMask;
    copied = end;
    eq = text.find('=', end);
  }
  out.append(text.substr(copied));
  return uri ? mask_uri_userinfo(std::move(out)) : out;
}

std::string mask_property_list(std::string_view list) {
  std::string out;
  out.reserve(list.size());
  // Whether the value the next item without a key continues is a secret's;
  // true before the first key: an item there may be a secret's part.
  bool secret = true;
  bool first = true;
  for (const auto item : property_items(list)) {
    if (!first) out += ',';
    first = false;
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      secret = names_secret(item.substr(0, eq));
      out.append(item.substr(0, secret ? eq + 1 : item.size()));
      if (secret) out += kMask;
    } else if (!item.empty()) {
      out += secret ? std::string(kMask) : std::string(item);
    }
  }
  return out;
}

std::string scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + kMask.size())) {
    text.replace(at, secret.size(), kMask);
  }
  return text;
}

}  // namespace millrace::core
