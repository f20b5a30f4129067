#pragma once

// The stores' XML answers (listings, upload ids, errors) read into a small
// tree with expat. Names are as written, without namespace processing.

#include <string>
#include <string_view>
#include <vector>

namespace millrace::objstore::detail {

struct XmlNode {
  std::string name;
  std::string text;  // the character data directly inside it
  std::vector<XmlNode> children;

  // The first child named `name`; nullptr when there is none.
  const XmlNode* child(std::string_view name) const;
  // The text of the first child named `name`; empty when there is none.
  std::string text_of(std::string_view name) const;
};

// The document's root element. Throws std::runtime_error on XML that is not
// well-formed.
XmlNode parse_xml(std::string_view document);

// "<" "&" ">" "\"" "'" escaped, for text and attribute values we write.
std::string xml_escape(std::string_view text);

}  // namespace millrace::objstore::detail
