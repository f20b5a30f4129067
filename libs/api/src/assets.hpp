#pragma once

// The live dashboard's files (libs/api/dashboard), built into the binary by
// embed_assets.cmake.

#include <string_view>

namespace millrace::api {

struct Asset {
  std::string_view name;  // the file name: "index.html", "app.js"
  std::string_view content_type;
  std::string_view body;
};

// The asset of that file name; nullptr for any other.
const Asset* find_asset(std::string_view name);

}  // namespace millrace::api
