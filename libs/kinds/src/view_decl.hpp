#pragma once

// The reading of a declaration's "views" member (proto/README.md, Declared
// views). Private to the library.

#include <string_view>
#include <vector>

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds::detail {

// `d`'s fields and lines are read already. Throws core::UsageError through
// `r`, naming the member ("views[1].window.size").
std::vector<ViewDecl> parse_views(const DocReader& r, const Json& views, const Declaration& d);

// Why the store event takes no declared views: millrace-aggregator folds it
// on its compiled path (libs/aggregate's tables.cpp), not through its
// declaration, and would silently leave them empty.
inline constexpr std::string_view kNoStoreEventViews =
    "the store event takes no declared views yet: millrace-aggregator folds it on its compiled "
    "path, which keeps none (issue 79), so they would stay empty; declare them on another kind";

}  // namespace millrace::kinds::detail
