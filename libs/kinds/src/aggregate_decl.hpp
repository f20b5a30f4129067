#pragma once

// The reading of a declaration's "aggregate" member (proto/README.md,
// Aggregate). Private to the library.

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds::detail {

// `d`'s fields and lines are read already. Throws core::UsageError through
// `r`, naming the member ("aggregate.sums[0].of").
AggregateDecl parse_aggregate(const DocReader& r, const Json& a, const Declaration& d);

}  // namespace millrace::kinds::detail
