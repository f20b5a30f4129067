#pragma once

// A declaration's "enrich" member: which field of the record, or of its
// lines, holds the key of a reference table the sink copies facts from.
// Private to the library (declaration.cpp reads the rest).

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds::detail {

// Reads `e` into `d.enrich` (a catalog product's sku) and `d.enrich_asset`
// (an asset's symbol), each optional but not both absent. Fails through
// `r` for an unknown member, a field no record or line has, or one of a
// type the key cannot be.
void read_enrichment(const DocReader& r, const Json& e, Declaration& d);

}  // namespace millrace::kinds::detail
