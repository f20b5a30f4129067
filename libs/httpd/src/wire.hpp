#pragma once

// How a response looks on the wire: status line, headers, Content-Length or chunked framing.
//
// Written by hand into one buffer, so that a response is one write.

#include <string>
#include <string_view>

#include "millrace/httpd/server.hpp"

namespace millrace::httpd::detail {

// Sent when the client asked for it (Expect: 100-continue), before its body.
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Status line, headers and body in one buffer: one write per response.
void serialize(std::string& out, const Reply& r, bool keep_alive);

// A stream's head: no Content-Length, the body chunked; the connection
// closes when the stream ends.
void serialize_stream_head(std::string& out, const Reply& r);

// `data` as one chunk; `data` must not be empty (that is the last chunk).
void append_chunk(std::string& out, std::string_view data);

// The chunk that ends a chunked body.
void append_last_chunk(std::string& out);

}  // namespace millrace::httpd::detail
