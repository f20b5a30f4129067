#include "millrace/redis/client.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "handles.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis' argv form: pointers and lengths, so arguments are binary-safe.
// Never const: hiredis 0.14 takes const char**, not const char* const*.
template <typename Strings>
struct Argv {
  explicit Argv(const Strings& args) {
    pointers.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
};

}  // namespace

struct Client::Connection {
  detail::ContextPtr context;
};

Client::Client(Endpoint endpoint, ClientOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {
  if (options_.connect_timeout.count() <= 0 || options_.command_timeout.count() <= 0) {
    throw std::invalid_argument("redis: the connect and command timeouts must be positive");
  }
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::connect() {
  detail::SigpipeGuard guard;
  ensure_connected();
}

bool Client::connected() const {
  return connection_ != nullptr;
}

Client::Connection& Client::ensure_connected() {
  if (connection_) return *connection_;
  const std::string url = to_url(endpoint_);
  detail::ContextPtr context(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                                     to_timeval(options_.connect_timeout)));
  if (!context) {
    throw core::InfraError(core::FailureClass::kFatal, "redis " + url + ": out of memory");
  }
  const auto fail = [&](std::string_view during) {
    throw core::InfraError(
        detail::classify_context_error(context->err),
        "redis " + url + ": " + std::string(during) + ": " + detail::context_error(*context));
  };
  if (context->err != 0) fail("cannot connect");
  // The connect timeout bounds the connect only; every later read and write
  // gets the command timeout.
  if (redisSetTimeout(context.get(), to_timeval(options_.command_timeout)) != REDIS_OK) {
    fail("setting the command timeout");
  }
  if (endpoint_.db != 0) {
    const std::string db = std::to_string(endpoint_.db);
    const std::vector<std::string_view> select = {"SELECT", db};
    Argv argv(select);
    detail::ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(context.get(), argv.count(), argv.pointers.data(), argv.lengths.data())));
    if (!reply) fail("SELECT " + db);
    if (reply->type == REDIS_REPLY_ERROR) {
      // A database the server does not have: the URL is wrong.
      throw core::InfraError(core::FailureClass::kFatal, "redis " + url + ": SELECT " + db + ": " +
                                                             std::string(reply->str, reply->len));
    }
  }
  connection_ = std::make_unique<Connection>(Connection{std::move(context)});
  if (lost_because_.empty()) {
    runtime::log_info("redis", "connected to " + url);
  } else {
    runtime::log_info("redis", "reconnected to " + url + " (lost: " + lost_because_ + ")");
    lost_because_.clear();
  }
  return *connection_;
}

void Client::lost(std::string_view during) {
  const redisContext& context = *connection_->context;
  const auto failure_class = detail::classify_context_error(context.err);
  const std::string why = std::string(during) + ": " + detail::context_error(context);
  // hiredis never clears a context's error: this connection is done.
  connection_.reset();
  lost_because_ = why;
  throw core::InfraError(failure_class, "redis " + to_url(endpoint_) + ": " + why);
}

Reply Client::command(const std::vector<std::string_view>& argv) {
  if (argv.empty()) {
    throw core::InfraError(core::FailureClass::kFatal, "redis: a command needs at least its name");
  }
  detail::SigpipeGuard guard;
  Connection& connection = ensure_connected();
  Argv args(argv);
  detail::ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
      connection.context.get(), args.count(), args.pointers.data(), args.lengths.data())));
  if (!reply) lost(argv.front());
  return detail::to_reply(*reply);
}

std::vector<Reply> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return {};
  for (const auto& command : commands) {
    if (command.empty()) {
      throw core::InfraError(core::FailureClass::kFatal,
                             "redis: a pipelined command needs at least its name");
    }
  }
  detail::SigpipeGuard guard;
  Connection& connection = ensure_connected();
  redisContext* context = connection.context.get();
  for (const auto& command : commands) {
    Argv args(command);
    if (redisAppendCommandArgv(context, args.count(), args.pointers.data(), args.lengths.data()) !=
        REDIS_OK) {
      lost("pipeline");
    }
  }
  // Every reply is read before any is converted: a conversion that throws
  // must not leave replies unread on a connection the next call reuses.
  std::vector<detail::ReplyPtr> raw;
  raw.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    // The first call sends everything appended, then each reads one reply.
    if (redisGetReply(context, &reply) != REDIS_OK) {
      lost("pipeline, reply " + std::to_string(i + 1) + " of " + std::to_string(commands.size()));
    }
    raw.emplace_back(static_cast<redisReply*>(reply));
  }
  std::vector<Reply> replies;
  replies.reserve(raw.size());
  for (const auto& reply : raw) replies.push_back(detail::to_reply(*reply));
  return replies;
}

Reply Client::eval(const Script& script, const std::vector<std::string>& keys,
                   const std::vector<std::string>& args) {
  const std::string numkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv = {"EVALSHA", script.sha1(), numkeys};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  Reply reply = command(argv);
  if (reply.is_error() && reply.as_string().starts_with("NOSCRIPT")) {
    // The server lost its script cache (restart, SCRIPT FLUSH, failover):
    // EVAL runs the text and caches it for the next EVALSHA.
    argv[0] = "EVAL";
    argv[1] = script.text();
    reply = command(argv);
  }
  if (reply.is_error()) {
    throw core::InfraError(classify_error_reply(reply.as_string()),
                           "redis " + to_url(endpoint_) + ": script " + script.sha1() +
                               " failed: " + reply.as_string());
  }
  return reply;
}

void Client::send(const std::vector<std::string_view>& argv) {
  if (argv.empty()) {
    throw core::InfraError(core::FailureClass::kFatal, "redis: a command needs at least its name");
  }
  detail::SigpipeGuard guard;
  redisContext* context = ensure_connected().context.get();
  Argv args(argv);
  if (redisAppendCommandArgv(context, args.count(), args.pointers.data(), args.lengths.data()) !=
      REDIS_OK) {
    lost(argv.front());
  }
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context, &done) != REDIS_OK) lost(argv.front());
  }
}

std::optional<Reply> Client::receive(std::chrono::milliseconds wait) {
  detail::SigpipeGuard guard;
  redisContext* context = ensure_connected().context.get();
  const auto buffered = [&]() -> std::optional<Reply> {
    void* reply = nullptr;
    if (redisGetReplyFromReader(context, &reply) != REDIS_OK) lost("reading a message");
    if (reply == nullptr) return std::nullopt;
    const detail::ReplyPtr owned(static_cast<redisReply*>(reply));
    return detail::to_reply(*owned);
  };
  if (auto reply = buffered()) return reply;
  // Blocking reads would wait out the command timeout and leave the context
  // unusable; poll() waits instead, and a read follows only what arrived.
  pollfd fd{context->fd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&fd, 1, static_cast<int>(wait.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) {
    const std::string why = std::string("waiting for a message: ") + std::strerror(errno);
    connection_.reset();
    lost_because_ = why;
    throw core::InfraError(core::FailureClass::kRetryable,
                           "redis " + to_url(endpoint_) + ": " + why);
  }
  if (ready == 0) return std::nullopt;
  if (redisBufferRead(context) != REDIS_OK) lost("reading a message");
  return buffered();
}

}  // namespace millrace::redis
