// How a response looks on the wire: status line, headers, Content-Length or chunked framing.
#include "wire.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <cstdint>

namespace millrace::httpd::detail {

namespace bhttp = boost::beast::http;

namespace {

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, end);
}

// The status line, Content-Type and the reply's own headers, each line
// ended but the last.
void append_head(std::string& out, const Reply& r) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(r.status));
  out += ' ';
  out += sv(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status)));
  out += "\r\nContent-Type: ";
  out += r.content_type;
  for (const auto& [name, value] : r.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
}

}  // namespace

void serialize(std::string& out, const Reply& r, bool keep_alive) {
  out.clear();
  out.reserve(160 + r.body.size());
  append_head(out, r);
  out += "\r\nContent-Length: ";
  append_number(out, r.body.size());
  if (!keep_alive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += r.body;
}

void serialize_stream_head(std::string& out, const Reply& r) {
  out.clear();
  append_head(out, r);
  out += "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

void append_chunk(std::string& out, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  char* end = digits + sizeof digits;
  char* p = end;
  for (std::size_t n = data.size(); n != 0; n >>= 4) *--p = kHex[n & 0xf];
  out.append(p, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

void append_last_chunk(std::string& out) {
  out += "0\r\n\r\n";
}

}  // namespace millrace::httpd::detail
