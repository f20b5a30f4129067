#pragma once

// Where declarations come from: those built in (proto/kinds/*.json,
// embedded when the binaries are built), and those an operator adds in a
// directory of their own (MILLRACE_KINDS_DIR), one <kind>.json each, and
// views added to any kind by a <kind>.views.json beside them. A
// kind found in both is refused: which of the two applied would otherwise
// depend on the flags.

#include <string>
#include <string_view>
#include <vector>

#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/feed.hpp"

namespace millrace::kinds {

// The kind that needs no declaration file: the store event, whose
// declaration is built in; the tests hold it to the compiled contract they
// use as their reference (tests/reference).
inline constexpr std::string_view kStoreEvent = "store_event";

// The built-in declarations' names and texts, in name order.
struct BuiltIn {
  std::string_view kind;
  std::string_view json;
};
std::vector<BuiltIn> built_in_kinds();

// The declaration of `kind`: built in, or <kinds_dir>/<kind>.json when
// `kinds_dir` is not empty, with the views of <kinds_dir>/<kind>.views.json
// added when there is one (add_views(): how a retailer adds views to a
// kind, a built-in one too, without copying its declaration). This is the
// one place declarations are resolved, so every service sees the same
// views. Throws core::UsageError if there is none, or it does not parse,
// or it is in both places, or its views file is refused.
Declaration find_kind(std::string_view kind, const std::string& kinds_dir);

// The built-in feed files (proto/feeds: finnhub, binance), in name order.
std::vector<BuiltIn> built_in_feeds();

// A feed file (feed.hpp) with the kind it names (built in, or in
// `kinds_dir`): `feed` is a built-in feed's name, or the path of a file (it
// holds a "/" or ends in .json). Throws core::UsageError naming the file.
struct LoadedFeed {
  Declaration kind;
  FeedDecl feed;
};
LoadedFeed load_feed(const std::string& feed, const std::string& kinds_dir);

// Every kind known: the built-in ones and those in `kinds_dir`. A views
// file there of a kind that is neither is refused (core::UsageError).
std::vector<Declaration> all_kinds(const std::string& kinds_dir);

}  // namespace millrace::kinds
