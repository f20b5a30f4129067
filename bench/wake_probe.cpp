// The machine's own latency floor for bench/run: how late a thread that asks
// to wake at fixed times actually runs. Every acknowledged request passes
// through several threads in turn (the client, the service's event loop,
// librdkafka's broker thread, the broker's network and request threads, the
// delivery-report thread), and each must be put on a core when its turn
// comes. On a virtual machine the hypervisor takes the cores away now and
// then (Linux counts it as steal): even a real-time thread can wake
// milliseconds late, idle machine or not.
//
//   millrace-bench-wake-probe [--period-us 1000] [--seconds 0]
//   millrace-bench-wake-probe --chain N --rate R --seconds S
//
// The probe runs until SIGTERM or SIGINT (or for --seconds when nonzero),
// then prints one JSON line. It asks for SCHED_FIFO, so the lateness it sees
// is not the queue of ordinary threads on a busy core but the time no core
// ran it; without the privilege it runs as an ordinary thread and says so
// ("realtime": false). It costs one wake-up per period and almost no CPU.
//
// With --chain, it measures instead what a request that is handed from
// thread to thread costs on this machine when the threads do nothing else:
// a pacer wakes on a fixed schedule, R times a second, and hands a token
// through N ordinary threads in turn (each blocked reading a pipe, as a
// thread waiting on a socket is) to a last one that times it from its slot.
// Each token thus needs N + 2 wake-ups, as many as the hand-offs it stands
// for. It prints the latency percentiles as one JSON line.
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tool.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

struct Options {
  int period_us = 1000;
  int seconds = 0;  // 0: until a signal
  int chain = 0;    // threads between pacer and timer; 0: the probe
  int rate = 0;     // tokens per second through the chain
};

constexpr const char* kUsage =
    "usage: millrace-bench-wake-probe [--period-us N] [--seconds N]\n"
    "       millrace-bench-wake-probe --chain N --rate R --seconds S\n";

Options parse(int argc, char** argv) {
  Options o;
  millrace::bench::for_each_flag(argc, argv, kUsage,
                                 [&](const std::string& flag, const std::string& value) {
                                   if (flag == "--period-us") {
                                     o.period_us = millrace::bench::whole_number(flag, value, 100);
                                   } else if (flag == "--seconds") {
                                     o.seconds = millrace::bench::whole_number(flag, value, 0);
                                   } else if (flag == "--chain") {
                                     o.chain = millrace::bench::whole_number(flag, value, 1);
                                   } else if (flag == "--rate") {
                                     o.rate = millrace::bench::whole_number(flag, value, 1);
                                   } else {
                                     return false;
                                   }
                                   return true;
                                 });
  if ((o.chain > 0) != (o.rate > 0) || (o.chain > 0 && o.seconds == 0)) {
    throw std::invalid_argument(std::string("--chain needs --rate and nonzero --seconds\n") +
                                kUsage);
  }
  return o;
}

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

timespec to_timespec(std::int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

bool become_realtime() {
  sched_param param{};
  param.sched_priority = 1;  // above every ordinary thread; nothing else here runs real-time
  if (sched_setscheduler(0, SCHED_FIFO, &param) == 0) return true;
  std::fprintf(stderr,
               "millrace-bench-wake-probe: SCHED_FIFO refused (%s); measuring as an ordinary "
               "thread, so the queue of other threads on a busy core counts too\n",
               std::strerror(errno));
  return false;
}

int probe(const Options& o) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: the sleep returns at once
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const bool realtime = become_realtime();

  const std::int64_t period = static_cast<std::int64_t>(o.period_us) * 1000;
  const std::int64_t start = now_ns();
  const std::int64_t end = o.seconds > 0 ? start + o.seconds * 1'000'000'000LL : INT64_MAX;
  std::vector<std::int64_t> late_us;
  late_us.reserve(static_cast<std::size_t>(o.seconds > 0 ? o.seconds : 120) * 1'000'000 /
                  static_cast<std::size_t>(o.period_us));
  // Time during which a thread made runnable at that instant would have
  // waited longer than 1, 2 and 5 ms: a stall of s ms holds such a thread
  // for its remaining s - t ms whenever it arrives in the first s - t ms.
  constexpr std::int64_t kOver[] = {1'000'000, 2'000'000, 5'000'000};
  std::int64_t over_ns[3] = {0, 0, 0};

  std::int64_t due = start + period;
  while (g_stop == 0 && due < end) {
    const timespec ts = to_timespec(due);
    if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) continue;
    const std::int64_t woke = now_ns();
    const std::int64_t late = woke - due;
    late_us.push_back(late / 1000);
    for (int i = 0; i < 3; ++i) {
      if (late > kOver[i]) over_ns[i] += late - kOver[i];
    }
    // A stall that spans several periods is one stall: count it once, with
    // its whole length, and restart the schedule after it.
    due = late > period ? woke + period : due + period;
  }
  const double elapsed = static_cast<double>(now_ns() - start) / 1e9;
  const auto share = [&](int i) { return static_cast<double>(over_ns[i]) / 1e9 / elapsed; };
  std::printf(R"({"period_us":%d,"realtime":%s,"seconds":%.3f,"late_ms":%s,)"
              R"("stalled_share":{"over_1ms":%.5f,"over_2ms":%.5f,"over_5ms":%.5f}})"
              "\n",
              o.period_us, realtime ? "true" : "false", elapsed,
              millrace::bench::percentiles_json(std::move(late_us)).c_str(), share(0), share(1),
              share(2));
  return 0;
}

// One pipe; closes both ends.
class Pipe {
 public:
  Pipe() {
    if (pipe(fds_) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  ~Pipe() {
    close(fds_[0]);
    close(fds_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // A token is its slot's index; -1 ends the run. Eight bytes are below
  // PIPE_BUF, so each write and read moves one whole token.
  void put(std::int64_t token) const {
    if (write(fds_[1], &token, sizeof token) != sizeof token) {
      throw std::runtime_error(std::string("pipe write: ") + std::strerror(errno));
    }
  }
  std::int64_t take() const {
    std::int64_t token = -1;
    if (read(fds_[0], &token, sizeof token) != sizeof token) return -1;
    return token;
  }

 private:
  int fds_[2] = {-1, -1};
};

int chain(const Options& o) {
  const auto total = static_cast<std::size_t>(o.rate) * static_cast<std::size_t>(o.seconds);
  std::vector<std::int64_t> due(total);
  std::vector<std::int64_t> latency_us(total, -1);
  std::vector<Pipe> pipes(static_cast<std::size_t>(o.chain) + 1);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    threads.emplace_back([&, i] {
      for (;;) {
        const std::int64_t token = pipes[i].take();
        if (i + 1 < pipes.size()) {
          pipes[i + 1].put(token);
        } else if (token >= 0) {
          latency_us[static_cast<std::size_t>(token)] =
              (now_ns() - due[static_cast<std::size_t>(token)]) / 1000;
        }
        if (token < 0) return;
      }
    });
  }
  const std::int64_t period = 1'000'000'000LL / o.rate;
  const std::int64_t start = now_ns() + 100'000'000;
  for (std::size_t k = 0; k < total; ++k) {
    due[k] = start + period * static_cast<std::int64_t>(k);
    const timespec ts = to_timespec(due[k]);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    pipes.front().put(static_cast<std::int64_t>(k));
  }
  pipes.front().put(-1);
  for (auto& t : threads) t.join();
  std::printf(R"({"chain":%d,"wakeups_per_token":%d,"rate":%d,"seconds":%d,"from_schedule_ms":%s})"
              "\n",
              o.chain, o.chain + 2, o.rate, o.seconds,
              millrace::bench::percentiles_json(std::move(latency_us)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    return o.chain > 0 ? chain(o) : probe(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-bench-wake-probe: %s\n", e.what());
    return 2;
  }
}
