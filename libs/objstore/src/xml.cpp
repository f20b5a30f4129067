#include "xml.hpp"

#include <expat.h>

#include <memory>
#include <stdexcept>

namespace millrace::objstore::detail {

namespace {

struct ParserDelete {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

struct Builder {
  XmlNode root;
  bool has_root = false;
};

}  // namespace

const XmlNode* XmlNode::child(std::string_view wanted) const {
  for (const auto& c : children) {
    if (c.name == wanted) return &c;
  }
  return nullptr;
}

std::string XmlNode::text_of(std::string_view wanted) const {
  const auto* c = child(wanted);
  return c == nullptr ? std::string() : c->text;
}

XmlNode parse_xml(std::string_view document) {
  std::unique_ptr<XML_ParserStruct, ParserDelete> parser(XML_ParserCreate("UTF-8"));
  if (!parser) throw std::runtime_error("out of memory creating an XML parser");
  Builder b;
  // Children are appended to a vector, so pointers into it move: the path
  // is rebuilt from indexes instead of kept as pointers.
  struct Ctx {
    Builder* b;
    std::vector<std::size_t> path;
  } ctx{&b, {}};
  XML_SetUserData(parser.get(), &ctx);
  XML_SetElementHandler(
      parser.get(),
      [](void* user, const XML_Char* name, const XML_Char**) {
        auto& c = *static_cast<Ctx*>(user);
        if (!c.b->has_root) {
          c.b->root.name = name;
          c.b->has_root = true;
          return;
        }
        XmlNode* node = &c.b->root;
        for (const auto i : c.path) node = &node->children[i];
        node->children.push_back(XmlNode{name, {}, {}});
        c.path.push_back(node->children.size() - 1);
      },
      [](void* user, const XML_Char*) {
        auto& c = *static_cast<Ctx*>(user);
        if (!c.path.empty()) c.path.pop_back();
      });
  XML_SetCharacterDataHandler(parser.get(), [](void* user, const XML_Char* text, int length) {
    auto& c = *static_cast<Ctx*>(user);
    XmlNode* node = &c.b->root;
    for (const auto i : c.path) node = &node->children[i];
    node->text.append(text, static_cast<std::size_t>(length));
  });
  if (XML_Parse(parser.get(), document.data(), static_cast<int>(document.size()), 1) ==
      XML_STATUS_ERROR) {
    throw std::runtime_error(std::string("not well-formed XML: ") +
                             XML_ErrorString(XML_GetErrorCode(parser.get())) + " at line " +
                             std::to_string(XML_GetCurrentLineNumber(parser.get())));
  }
  if (!b.has_root) throw std::runtime_error("an XML answer with no element");
  return std::move(b.root);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace millrace::objstore::detail
