#pragma once

// A field's "generate" member: how the generator (generator.hpp) makes its
// values. Private to the library (declaration.cpp reads the rest).

#include <string>

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds::detail {

// Reads `j` (null: the default rule). Fails through `r` for an unknown
// rule, or an object holding more or less than one.
GenerateHint read_generate(const DocReader& r, const Json* j, const std::string& where);

// A rule must make values of its field's type within its bounds, or the
// generator's good records would be refused.
void check_generate(const DocReader& r, const FieldDecl& f, const std::string& where);

// A rule made from other fields of the record, drawn after the rest.
bool made_from_fields(GenerateHint::Rule rule);

// The rules made from other fields of the record (pattern, ip_of,
// catalog_category_of, catalog_price_of) name fields it has, of a type
// they read, drawn by a rule of their own.
void check_generate_sources(const DocReader& r, const Declaration& d);

}  // namespace millrace::kinds::detail
