#include "handles.hpp"

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace millrace::redis::detail {

Reply to_reply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      return Reply::integer(reply.integer);
    case REDIS_REPLY_STRING:
      return Reply::string(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(to_reply(*reply.element[i]));
      }
      return Reply::array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
      return Reply::nil();
    default:
      // RESP3 types (double, map, ...) need HELLO 3, which is never sent.
      throw core::InfraError(core::FailureClass::kFatal,
                             "redis: reply of unknown type " + std::to_string(reply.type));
  }
}

core::FailureClass classify_context_error(int err) {
  switch (err) {
    case REDIS_ERR_IO:
    case REDIS_ERR_EOF:
    // Name resolution failures land here: a server's name that does not
    // resolve yet (a container starting) is worth another try.
    case REDIS_ERR_OTHER:
      return core::FailureClass::kRetryable;
    default:
      return core::FailureClass::kFatal;
  }
}

std::string context_error(const redisContext& context) {
  // SO_RCVTIMEO/SO_SNDTIMEO expire as EAGAIN, and hiredis keeps only the
  // strerror text of it.
  static const std::string kTimedOut = std::strerror(EAGAIN);
  if (context.err == REDIS_ERR_IO && kTimedOut == context.errstr) {
    return "timed out (" + kTimedOut + ")";
  }
  return context.errstr[0] != '\0' ? std::string(context.errstr)
                                   : "hiredis error " + std::to_string(context.err);
}

namespace {

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

}  // namespace

SigpipeGuard::SigpipeGuard() {
  was_pending_ = sigpipe_pending();
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
}

SigpipeGuard::~SigpipeGuard() {
  if (!was_pending_ && sigpipe_pending()) {
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGPIPE);
    const timespec no_wait{0, 0};
    while (sigtimedwait(&only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace millrace::redis::detail
