#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/failure.hpp"

namespace millrace::redis {

// Where a Redis server is: what MILLRACE_REDIS_URL names.
struct Endpoint {
  std::string host;
  int port = 6379;
  int db = 0;  // selected after every (re)connect
};

// Parses "redis://host:port[/db]" (an IPv6 host in brackets; the port may be
// left out for 6379). Throws core::UsageError naming what is wrong: the
// value comes from a flag or an environment variable. Credentials, TLS
// (rediss://) and query parameters are refused rather than ignored, so a
// URL that needs them never connects without them in silence.
Endpoint parse_url(std::string_view url);

// "redis://host:port/db", the form parse_url reads (for logs and messages).
std::string to_url(const Endpoint& endpoint);

// One reply, owning its data (copied out of hiredis' redisReply). An error
// reply to a command is a value like any other: Redis answered, and the
// caller decides what the error means (see classify_error_reply).
class Reply {
 public:
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Reply() = default;  // nil
  static Reply nil() { return {}; }
  static Reply integer(std::int64_t value);
  static Reply string(std::string value);
  static Reply status(std::string value);
  static Reply error(std::string message);
  static Reply array(std::vector<Reply> elements);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_error() const { return type_ == Type::kError; }

  // The value of an integer reply.
  std::int64_t as_integer() const;
  // The bytes of a string reply, the text of a status reply ("OK") or the
  // message of an error reply ("NOSCRIPT No matching script...").
  const std::string& as_string() const;
  // The elements of an array reply.
  const std::vector<Reply>& elements() const;

  // For messages and test output: 42, "text", OK, (error) ERR ..., (nil),
  // [a, b].
  std::string describe() const;

  bool operator==(const Reply&) const = default;

 private:
  // The accessors above throw core::InfraError (fatal) naming the expected
  // type and the reply received: a caller reading an integer where Redis
  // sent an error has a bug, and the error's text is the message it needs.
  [[noreturn]] void mismatch(std::string_view expected) const;

  Type type_ = Type::kNil;
  std::int64_t integer_ = 0;
  std::string string_;
  std::vector<Reply> elements_;
};

// The class of a Redis error reply, by its first word: the server loading
// its data, busy with a script, out of memory, read-only (a replica after a
// failover) or a cluster reconfiguring -> retryable; anything else (wrong
// type, wrong arguments, a script's own error) -> fatal, because retrying the
// same command gets the same answer.
core::FailureClass classify_error_reply(std::string_view message);

// A Lua script and its SHA1, the name Redis caches it under (EVALSHA).
class Script {
 public:
  explicit Script(std::string text);
  const std::string& text() const { return text_; }
  const std::string& sha1() const { return sha1_; }  // 40 lowercase hex digits

 private:
  std::string text_;
  std::string sha1_;
};

// Both must be positive: hiredis takes a zero timeout as none at all, and a
// call must not wait for ever on a server that froze.
struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  // For each call's writes and for each reply it waits for.
  std::chrono::milliseconds command_timeout{2000};
};

// One connection to one Redis server, speaking blocking request/reply.
//
// Caller contract:
// - Not thread-safe: one Client per thread, or the caller's own lock.
// - Connects lazily: the constructor does no I/O, the first call (or
//   connect()) connects, so a service can start before Redis does.
// - Every failure to reach Redis (refused, reset, closed, a timeout) throws
//   core::InfraError, retryable, and drops the connection; the next call
//   connects again. (Fatal instead when the peer does not speak Redis, or
//   the URL's db does not exist.) Nothing is retried inside: after such an
//   error the command may or may not have run (for a pipeline: any prefix
//   of it), and only the caller knows whether running it again is safe.
// - Logs one line (component "redis") per connection made: "connected", or
//   "reconnected" with why the previous one was dropped.
// - hiredis writes with write(2), which raises SIGPIPE on a connection the
//   server closed; each call blocks SIGPIPE in its thread for the time of
//   its I/O and discards the one it caused, so the process needs no
//   SIG_IGN of its own.
class Client {
 public:
  explicit Client(Endpoint endpoint, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects now if not connected (and selects the endpoint's db).
  void connect();
  // Whether a connection is held. It may still have been closed by the
  // server since the last call: only the next call finds out.
  bool connected() const;
  const Endpoint& endpoint() const { return endpoint_; }

  // One command, e.g. {"SET", key, value}. Arguments are binary-safe.
  Reply command(const std::vector<std::string_view>& argv);

  // All commands sent at once, then all replies read: one round trip.
  // Replies are in command order; an error reply is one of them, and does
  // not stop the commands after it.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  // EVALSHA, and EVAL when the server does not have the script (after a
  // restart or SCRIPT FLUSH); EVAL caches it again for the next EVALSHA.
  // A script that fails throws core::InfraError with classify_error_reply's
  // class: fatal for an error in the script or its arguments (a bug),
  // retryable for a server that is loading, busy or out of memory.
  Reply eval(const Script& script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args);

  // A connection in Pub/Sub mode (after SUBSCRIBE), where the server sends
  // messages when it has them and a reply to a command arrives among them:
  // send() writes one command without reading anything, receive() reads
  // what the server sent, in order. Like every call, either connects again
  // after a lost connection, and the new one has no subscription: a
  // subscriber makes a new Client after a failure and subscribes again.
  void send(const std::vector<std::string_view>& argv);
  // The next reply or message, waiting up to `wait` for one to arrive;
  // nullopt when none did (the connection stays usable, unlike a command
  // that times out).
  std::optional<Reply> receive(std::chrono::milliseconds wait);

 private:
  struct Connection;  // hiredis' context, in src/

  Connection& ensure_connected();
  // Drops the connection and throws the InfraError its error calls for.
  [[noreturn]] void lost(std::string_view during);

  Endpoint endpoint_;
  ClientOptions options_;
  std::unique_ptr<Connection> connection_;
  // Why the last connection was dropped, for the one log line when a new
  // one is up; empty when none was lost.
  std::string lost_because_;
};

}  // namespace millrace::redis
