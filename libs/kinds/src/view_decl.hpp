#pragma once

// The reading of a declaration's "views" member (proto/README.md, Declared
// views). Private to the library.

#include <vector>

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds::detail {

// `d`'s fields and lines are read already. Throws core::UsageError through
// `r`, naming the member ("views[1].window.size").
std::vector<ViewDecl> parse_views(const DocReader& r, const Json& views, const Declaration& d);

}  // namespace millrace::kinds::detail
