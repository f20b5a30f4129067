#pragma once

// What a handler sees of the request a connection has read: Request over the parser's Fields.

#include <optional>
#include <string_view>

#include "millrace/httpd/server.hpp"
#include "request_parser.hpp"

namespace millrace::httpd {

// The session reads into fields() (a RequestParser fills them) and reuses
// them from one request to the next.
class ParsedRequest final : public Request {
 public:
  ParsedRequest() = default;
  ParsedRequest(const ParsedRequest&) = delete;
  ParsedRequest& operator=(const ParsedRequest&) = delete;

  detail::Fields& fields() { return fields_; }
  // Whether fields() hold a request's headers: until then the path is empty.
  bool parsed() const { return parsed_; }
  void set_parsed(bool parsed) { parsed_ = parsed; }
  bool expects_continue() const;  // Expect: 100-continue

  std::string_view method() const override { return fields_.method; }
  std::string_view path() const override;
  std::string_view query() const override;
  std::optional<std::string_view> header(std::string_view name) const override;
  std::string_view body() const override { return fields_.body; }

 private:
  std::string_view target() const { return parsed_ ? std::string_view(fields_.target) : ""; }

  detail::Fields fields_;
  bool parsed_ = false;
};

}  // namespace millrace::httpd
