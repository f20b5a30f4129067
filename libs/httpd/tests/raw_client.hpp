#pragma once
// The httpd tests' client: raw bytes over one blocking socket, so a test can
// send what no well-behaved client would (a lying Content-Length, headers
// one byte at a time) and read exactly what the server answered.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace millrace::httpd::testing {

// A keep-alive HTTP/1.1 client on one blocking socket, enough for
// Content-Length responses.
class Client {
 public:
  explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{5, 0};  // a missing response fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& path) {
    REQUIRE(send_raw("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").empty());
  }

  // Blocking sends of all of `bytes`: "" when all went out, else the error.
  std::string send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) return std::strerror(errno);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return "";
  }

  void finish_sending() { ::shutdown(fd_, SHUT_WR); }

  // True when the server has closed its side (recv sees EOF).
  bool at_eof() {
    char byte;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

  // One whole response (status line to the end of its body), or "" if none
  // came within the socket's timeout.
  std::string receive() {
    for (;;) {
      if (const auto end = complete(); end != std::string::npos) {
        std::string response = buffer_.substr(0, end);
        buffer_.erase(0, end);
        return response;
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Bytes that arrived without being asked for, waiting up to `wait`.
  std::string unsolicited(std::chrono::milliseconds wait) {
    timeval tv{0, static_cast<suseconds_t>(wait.count() * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    timeval back{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &back, sizeof back);
    return n > 0 ? buffer_ + std::string(chunk, static_cast<std::size_t>(n)) : buffer_;
  }

 private:
  std::size_t complete() const {
    const auto head = buffer_.find("\r\n\r\n");
    if (head == std::string::npos) return std::string::npos;
    const auto at = buffer_.find("Content-Length: ");
    if (at == std::string::npos || at > head) return std::string::npos;
    const auto length = std::stoul(buffer_.substr(at + 16));
    const auto end = head + 4 + length;
    return buffer_.size() >= end ? end : std::string::npos;
  }

  int fd_;
  std::string buffer_;
};

}  // namespace millrace::httpd::testing
