#pragma once

// The only place hiredis' C objects are owned. Quirks that bite:
// - A redisContext whose err is set (after any failed call) is unusable for
//   good: hiredis never clears it, so it must be freed, never reused.
// - redisConnect*() returns a context with err set when the connection
//   fails; only a failed allocation returns NULL.
// - Replies from redisCommandArgv and redisGetReply are ours and freed with
//   freeReplyObject (which frees an array's elements too); elements of an
//   array belong to the array.
// - hiredis 0.14 writes with write(2): see SigpipeGuard.

#include <hiredis/hiredis.h>
#include <signal.h>

#include <memory>
#include <string>

#include "millrace/core/failure.hpp"
#include "millrace/redis/client.hpp"

namespace millrace::redis::detail {

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// A copy of hiredis' reply tree.
Reply to_reply(const redisReply& reply);

// The class of a redisContext's err (REDIS_ERR_*): lost or refused
// connections, timeouts and unresolvable names are retryable; a protocol
// error (the port is not a Redis server) or out of memory is fatal.
core::FailureClass classify_context_error(int err);

// The context's error as a message; a read timeout, which hiredis reports
// as EAGAIN's strerror, is named as what it is.
std::string context_error(const redisContext& context);

// Blocks SIGPIPE in the calling thread while it lives, and discards a
// SIGPIPE that arrived meanwhile unless one was already pending before (that
// one is someone else's). What libpq does around its own sends: a write to
// a connection the server closed must be an error hiredis returns, not a
// signal that kills the process.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

}  // namespace millrace::redis::detail
