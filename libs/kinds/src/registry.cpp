#include "millrace/kinds/registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "millrace/core/options.hpp"

namespace millrace::kinds {

namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw core::UsageError("cannot read " + path.string());
  return text.str();
}

constexpr std::string_view kViewsSuffix = ".views";

Declaration checked(std::string_view kind, std::string_view json, const std::string& origin) {
  auto d = parse_declaration(json, origin);
  if (d.kind != kind) {
    throw core::UsageError("kind declaration " + origin + " declares kind \"" + d.kind +
                           "\"; its file must be named " + d.kind + ".json");
  }
  return d;
}

// `d` with the views of <kinds_dir>/<kind>.views.json, when there is one.
Declaration with_views_file(Declaration d, const std::string& kinds_dir) {
  if (kinds_dir.empty()) return d;
  const auto path =
      std::filesystem::path(kinds_dir) / (d.kind + std::string(kViewsSuffix) + ".json");
  if (const auto text = read_file(path)) add_views(d, *text, path.string());
  return d;
}

}  // namespace

Declaration find_kind(std::string_view kind, const std::string& kinds_dir) {
  const auto built = built_in_kinds();
  const auto it =
      std::find_if(built.begin(), built.end(), [&](const BuiltIn& b) { return b.kind == kind; });
  std::optional<std::string> own;
  std::filesystem::path path;
  if (!kinds_dir.empty()) {
    path = std::filesystem::path(kinds_dir) / (std::string(kind) + ".json");
    own = read_file(path);
  }
  if (it != built.end() && own) {
    throw core::UsageError("kind \"" + std::string(kind) + "\" is built in; " + path.string() +
                           " may not declare it again");
  }
  if (it != built.end()) {
    return with_views_file(checked(kind, it->json, "built-in " + std::string(kind)), kinds_dir);
  }
  if (own) return with_views_file(checked(kind, *own, path.string()), kinds_dir);
  std::string known;
  for (const auto& b : built) known += (known.empty() ? "" : ", ") + std::string(b.kind);
  throw core::UsageError("no kind \"" + std::string(kind) + "\": the built-in kinds are " + known +
                         (kinds_dir.empty() ? std::string(", and no MILLRACE_KINDS_DIR is set")
                                            : ", and " + path.string() + " does not exist"));
}

LoadedFeed load_feed(const std::string& feed, const std::string& kinds_dir) {
  std::optional<std::string> text;
  std::string origin = feed;
  if (feed.find('/') != std::string::npos || feed.ends_with(".json")) {
    text = read_file(feed);
    if (!text) throw core::UsageError("feed file " + feed + ": cannot be read");
  } else {
    std::string known;
    for (const auto& b : built_in_feeds()) {
      if (b.kind == feed) text = std::string(b.json);
      known += (known.empty() ? "" : ", ") + std::string(b.kind);
    }
    if (!text) {
      throw core::UsageError("no built-in feed \"" + feed + "\" (" + known +
                             "); a feed file of your own is named by its path");
    }
    origin = "built-in " + feed;
  }
  auto kind = find_kind(feed_kind(*text, origin), kinds_dir);
  auto parsed = parse_feed(*text, origin, kind);
  return LoadedFeed{std::move(kind), std::move(parsed)};
}

std::vector<Declaration> all_kinds(const std::string& kinds_dir) {
  std::vector<Declaration> out;
  for (const auto& b : built_in_kinds()) out.push_back(find_kind(b.kind, kinds_dir));
  if (kinds_dir.empty()) return out;
  std::vector<std::string> names, views_of;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kinds_dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto stem = entry.path().stem().string();
    if (stem.ends_with(kViewsSuffix)) {
      views_of.push_back(stem.substr(0, stem.size() - kViewsSuffix.size()));
    } else {
      names.push_back(std::move(stem));
    }
  }
  if (ec)
    throw core::UsageError("cannot list MILLRACE_KINDS_DIR " + kinds_dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  const auto known = [&](const std::string& name) {
    return std::any_of(out.begin(), out.end(),
                       [&](const Declaration& d) { return d.kind == name; });
  };
  for (const auto& name : names) {
    if (!known(name)) out.push_back(find_kind(name, kinds_dir));
  }
  // A views file's kind was read with it (find_kind); one that names no
  // kind would otherwise be ignored, and its views never made.
  for (const auto& name : views_of) {
    if (known(name)) continue;
    throw core::UsageError(
        "views file " +
        (std::filesystem::path(kinds_dir) / (name + std::string(kViewsSuffix) + ".json")).string() +
        ": no kind \"" + name + "\" (neither built in nor declared in " + kinds_dir +
        "): a views file is named after the kind whose views it adds");
  }
  return out;
}

}  // namespace millrace::kinds
