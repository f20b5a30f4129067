#include <signal.h>

#include <catch2/catch.hpp>

#include "handles.hpp"

using millrace::redis::detail::SigpipeGuard;

namespace {

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

}  // namespace

// SIGPIPE keeps its default action here: a guard that let one through would
// kill this test binary, which is the failure it guards against.
TEST_CASE("a SIGPIPE raised under the guard is discarded, and the mask restored") {
  REQUIRE_FALSE(sigpipe_blocked());
  {
    SigpipeGuard guard;
    CHECK(sigpipe_blocked());
    raise(SIGPIPE);
    CHECK(sigpipe_pending());
  }
  CHECK_FALSE(sigpipe_pending());
  CHECK_FALSE(sigpipe_blocked());
}

TEST_CASE("a SIGPIPE pending before the guard is left for its owner") {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  raise(SIGPIPE);
  {
    SigpipeGuard guard;
    raise(SIGPIPE);  // not queued: the same signal is pending already
  }
  CHECK(sigpipe_pending());
  CHECK(sigpipe_blocked());  // the caller's mask, as it was
  const timespec no_wait{0, 0};
  CHECK(sigtimedwait(&block, nullptr, &no_wait) == SIGPIPE);
  pthread_sigmask(SIG_UNBLOCK, &block, nullptr);
}
