#include "enrich_decl.hpp"

#include <initializer_list>
#include <string>

namespace millrace::kinds::detail {

namespace {

struct FieldAt {
  bool on_lines = false;
  std::size_t index = 0;
};

// The field `enrich.<member>` names, of the record or else of its lines,
// which must be of one of `types` (`what` says what the key is).
FieldAt field_of(const DocReader& r, const Json& e, const Declaration& d, const char* member,
                 std::initializer_list<ValueType> types, const std::string& what) {
  const std::string where = std::string("enrich.") + member;
  const auto name = r.string(*e.member(member), where);
  const auto check = [&](const FieldDecl& f) {
    for (const auto t : types) {
      if (f.type == t) return;
    }
    r.fail(where, "field \"" + name + "\" is " + std::string(type_name(f.type)) + "; " + what);
  };
  if (const auto i = d.find(name)) {
    check(d.fields[*i]);
    return {false, *i};
  }
  if (d.lines) {
    for (std::size_t i = 0; i < d.lines->fields.size(); ++i) {
      if (d.lines->fields[i].name != name) continue;
      check(d.lines->fields[i]);
      return {true, i};
    }
  }
  r.fail(where, "names no field of the record or its lines (\"" + name + "\")");
}

}  // namespace

void read_enrichment(const DocReader& r, const Json& e, Declaration& d) {
  r.only(e, "enrich", {"sku", "asset", "$comment"});
  if (e.member("sku") == nullptr && e.member("asset") == nullptr) {
    r.fail("enrich", "names neither \"sku\" (a catalog product) nor \"asset\" (an asset's symbol)");
  }
  if (e.member("sku") != nullptr) {
    const auto f = field_of(r, e, d, "sku", {ValueType::kInteger}, "a catalog sku is an integer");
    d.enrich = EnrichDecl{f.on_lines, f.index};
  }
  if (e.member("asset") != nullptr) {
    const auto f = field_of(r, e, d, "asset", {ValueType::kText}, "an asset's symbol is text");
    d.enrich_asset = AssetEnrichDecl{f.on_lines, f.index};
  }
}

}  // namespace millrace::kinds::detail
