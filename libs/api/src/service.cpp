#include "millrace/api/service.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "live_driver.hpp"
#include "live_hub.hpp"
#include "live_sources.hpp"
#include "millrace/cache/read_probe.hpp"
#include "millrace/cache/reads.hpp"
#include "millrace/httpd/probe.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/runtime/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "pg_backend.hpp"
#include "probe.hpp"
#include "problem.hpp"
#include "router.hpp"

namespace millrace::api {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyEvery{1000};

// A deferred request's answer, handed from its worker to the event loop.
struct Slot {
  std::mutex mutex;
  std::optional<httpd::Reply> reply;
  bool abandoned = false;  // timed out: the worker need not run it
};

struct Task {
  Job job;
  std::shared_ptr<Slot> slot;
  std::shared_ptr<httpd::Exchange> exchange;
  std::string instance;
};

// Tells this process's stream ids from an earlier one's.
std::string random_epoch() {
  std::random_device device;
  const std::uint64_t n = (static_cast<std::uint64_t>(device()) << 32) | device();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(n));
  return text;
}

RouterSettings router_settings(const ApiConfig& c) {
  RouterSettings s;
  s.admin_token = c.admin_token;
  s.admin_database = !c.admin_pg_dsn.empty();
  s.read_token = c.read_token;
  s.secure = c.tls.enabled();
  return s;
}

}  // namespace

ReadsFactory database_reads() {
  return [](std::unique_ptr<catalog::Reads> database) { return database; };
}

// Routing is the Router's (router.cpp), the database the workers'
// (pg_backend.cpp), every metric the probe's (probe.cpp); this is the
// plumbing between them and the life cycle.
struct ApiService::State final : httpd::Handler {
  State(ApiConfig c, metrics::Registry& r, ReadsFactory f)
      : config(std::move(c)),
        probe(r),
        server_probe(r, "MILLRACE_API_MAX_CONNECTIONS"),
        factory(std::move(f)),
        router(
            router_settings(config), [this] { return not_ready(); },
            [this] { return probe.scrape(); }) {}

  ApiConfig config;
  ApiProbe probe;
  httpd::ServerProbe server_probe;
  std::unique_ptr<cache::ReadProbe> cache_probe;  // with the cache's reads
  ReadsFactory factory;
  Router router;
  // GET /v1/stream: the hub holds the streams, the driver feeds it.
  LiveHub hub{random_epoch()};
  std::unique_ptr<LiveDriver> live;

  std::optional<httpd::Server> server;
  std::atomic<int> bound_port{0};
  std::atomic<bool> stopping{false};

  // The workers and what they wait on.
  std::vector<std::unique_ptr<PgBackend>> backends;
  std::vector<std::thread> workers;
  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<Task> queue;
  bool workers_stop = false;

  // Readiness, kept by a thread of its own so /readyz never waits for the
  // database on an event loop.
  std::thread checker;
  std::mutex checker_mutex;
  std::condition_variable checker_cv;
  bool checker_stop = false;
  std::atomic<bool> ready{false};
  std::mutex reason_mutex;
  std::string unready_reason = "the database has not answered yet";
  std::optional<Session> readiness;

  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;

  runtime::FailureLatch failure;

  std::optional<std::string> not_ready() {
    if (stopping.load()) return "stopping";
    if (ready.load()) return std::nullopt;
    std::lock_guard lock(reason_mutex);
    return unready_reason;
  }
  void fail(std::string what);
  // One readiness check; throws a fatal core::InfraError.
  void check_ready();
  void work(PgBackend& backend);

  // httpd::Handler
  std::optional<httpd::Reply> screen(const httpd::Request& req) override {
    return router.screen(req);
  }
  void handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange) override;
  httpd::Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return problem_reply(Problem{status, code, std::string(detail), {}, {}});
  }
  void answered(std::string_view path, int status, Clock::duration took) noexcept override {
    probe.answered(match(path).route, status, took);
  }
  void connection_refused() noexcept override { server_probe.connection_refused(); }
  void tls_failed(std::string_view) noexcept override { server_probe.tls_failed(); }
};

void ApiService::State::fail(std::string what) {
  if (failure.fail(what)) runtime::log_error(kComponent, what);
}

void ApiService::State::check_ready() {
  try {
    readiness->with("readiness check", [](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT 1");
    });
    if (!ready.exchange(true)) runtime::log_info(kComponent, "ready: the database answers");
  } catch (const core::InfraError& e) {
    {
      std::lock_guard lock(reason_mutex);
      unready_reason = e.what();
    }
    if (ready.exchange(false) || !started) {
      runtime::log_warn(kComponent, std::string("not ready: ") + e.what());
    }
    if (e.failure_class() == core::FailureClass::kFatal) throw;
  }
}

void ApiService::State::handle(const httpd::Request& req,
                               const std::shared_ptr<httpd::Exchange>& exchange) {
  if (req.method() == "GET" && match(req.path()).route == kRouteStream) {
    return hub.subscribe(exchange, req.header("Last-Event-ID"));
  }
  auto routed = router.route(req);
  if (auto* reply = std::get_if<httpd::Reply>(&routed)) return exchange->reply(std::move(*reply));
  std::string instance(req.path());
  std::unique_lock lock(queue_mutex);
  if (queue.size() >= static_cast<std::size_t>(config.queue_max)) {
    lock.unlock();
    probe.shed();
    httpd::Reply r = problem_reply(
        Problem{503, "busy", "every database worker is busy; try again shortly", instance, {}});
    r.headers.emplace_back("Retry-After", "1");
    return exchange->reply(std::move(r));
  }
  auto slot = std::make_shared<Slot>();
  exchange->defer(milliseconds(config.request_timeout_ms), [slot, instance] {
    std::lock_guard slot_lock(slot->mutex);
    if (slot->reply) return std::move(*slot->reply);
    slot->abandoned = true;
    httpd::Reply r = problem_reply(
        Problem{503, "timeout", "no answer within MILLRACE_API_REQUEST_TIMEOUT_MS", instance, {}});
    r.headers.emplace_back("Retry-After", "1");
    return r;
  });
  queue.push_back(
      Task{std::get<Job>(std::move(routed)), std::move(slot), exchange, std::move(instance)});
  lock.unlock();
  queue_cv.notify_one();
}

void ApiService::State::work(PgBackend& backend) {
  const auto failed_db = [this](core::FailureClass c, std::string_view what) {
    probe.database_error(c);
    runtime::log_warn(kComponent, what);
  };
  for (;;) {
    Task task;
    {
      std::unique_lock lock(queue_mutex);
      queue_cv.wait(lock, [&] { return workers_stop || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and nothing is left to answer
      task = std::move(queue.front());
      queue.pop_front();
    }
    {
      std::lock_guard lock(task.slot->mutex);
      if (task.slot->abandoned) continue;
    }
    httpd::Reply reply;
    try {
      reply = Router::run(task.job, backend, task.instance, failed_db);
    } catch (const std::exception& e) {
      // A bug in one request (a row this build cannot render): that request
      // gets a 500, the worker goes on with the next.
      runtime::log_error(kComponent, task.instance + ": " + e.what());
      reply =
          problem_reply(Problem{500, "internal_error", "see the service's log", task.instance, {}});
    }
    {
      std::lock_guard lock(task.slot->mutex);
      task.slot->reply = std::move(reply);
    }
    task.exchange->finish();
  }
}

ApiService::ApiService(ApiConfig config, metrics::Registry& metrics, ReadsFactory reads)
    : state_(std::make_unique<State>(std::move(config), metrics, std::move(reads))) {}

ApiService::ApiService(ApiConfig config, metrics::Registry& metrics)
    : ApiService(std::move(config), metrics, database_reads()) {
  State& s = *state_;
  if (s.config.cache.redis_url.empty()) return;
  s.cache_probe = std::make_unique<cache::ReadProbe>(metrics);
  s.factory = cache::reads_factory(s.config.cache, s.config.pg.schema, *s.cache_probe);
}

ApiService::~ApiService() {
  stop();
}

void ApiService::start() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.started) return;

  const auto& c = s.config;
  if (c.admin_token.empty() || c.admin_pg_dsn.empty()) {
    runtime::log_warn(kComponent,
                      "admin writes are off (they need both MILLRACE_API_ADMIN_TOKEN and "
                      "MILLRACE_API_ADMIN_PG): POST, PUT and DELETE answer 503");
  }
  s.readiness.emplace(c.pg.url, c.pg.schema, "millrace-api-readiness", c.pg.limits);
  s.check_ready();  // a fatal failure (bad password, no schema) stops the start here
  s.started = true;

  for (std::int64_t i = 0; i < c.workers; ++i) {
    auto backend = std::make_unique<PgBackend>(
        std::make_unique<Session>(c.pg.url, c.pg.schema, "millrace-api", c.pg.limits),
        c.admin_pg_dsn.empty() ? nullptr
                               : std::make_unique<Session>(c.admin_pg_dsn, c.pg.schema,
                                                           "millrace-api-admin", c.pg.limits));
    auto reads = s.factory(std::make_unique<PgReads>(backend->reader()));
    if (!reads) throw std::logic_error("the ReadsFactory returned no catalog::Reads");
    backend->set_reads(std::move(reads));
    s.backends.push_back(std::move(backend));
  }
  s.probe.register_gauges(
      [&s] {
        std::lock_guard queue_lock(s.queue_mutex);
        return static_cast<double>(s.queue.size());
      },
      [&s] { return s.ready.load(); });
  for (auto& backend : s.backends) {
    s.workers.emplace_back([&s, b = backend.get()] { s.work(*b); });
  }
  s.checker = std::thread([&s] {
    std::unique_lock checker_lock(s.checker_mutex);
    while (!s.checker_cv.wait_for(checker_lock, kReadyEvery, [&] { return s.checker_stop; })) {
      checker_lock.unlock();
      try {
        s.check_ready();
      } catch (const core::InfraError&) {
        // Credentials revoked or the schema dropped under a running service:
        // /readyz says so; the operator decides.
      }
      checker_lock.lock();
    }
  });

  s.live = std::make_unique<LiveDriver>(
      s.hub, std::make_unique<KafkaChanges>(c.kafka),
      std::make_unique<PgLiveSource>(
          std::make_unique<Session>(c.pg.url, c.pg.schema, "millrace-api-live", c.pg.limits),
          c.kafka, c.dead_letters),
      c.pg.schema);
  s.live->start();

  httpd::ServerOptions options;
  options.host = c.host;
  options.port = c.port;
  options.threads = static_cast<int>(c.http_threads);
  options.max_body_bytes = static_cast<std::uint64_t>(c.max_body_bytes);
  options.max_connections = static_cast<std::size_t>(c.max_connections);
  options.tls_cert_file = c.tls.cert_file;
  options.tls_key_file = c.tls.key_file;
  s.server.emplace(options, s);
  s.server_probe.watch(*s.server);
  s.server->on_failure([&s](std::string what) { s.fail(std::move(what)); });
  s.bound_port = s.server->port();
  s.server->start();
  runtime::log_info(kComponent,
                    std::string("serving ") + (s.server->secure() ? "https" : "http") + "://" +
                        c.host + ":" + std::to_string(s.bound_port.load()) + " for schema " +
                        c.pg.schema + " (" + std::to_string(c.workers) +
                        " database workers, admin writes " +
                        (c.admin_token.empty() || c.admin_pg_dsn.empty() ? "off" : "on") +
                        ", reads " + (c.read_token.empty() ? "open" : "need the read token") + ")");
}

void ApiService::stop() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.stopped || !s.started) return;
  s.stopped = true;
  s.stopping = true;
  // In-flight requests finish (their workers still run) or meet their
  // deadline, which this grace covers.
  // Streams end (the last chunk) at the server's next sweep.
  if (s.server) s.server->stop(milliseconds(s.config.request_timeout_ms) + milliseconds(1000));
  if (s.live) s.live->stop();
  {
    std::lock_guard queue_lock(s.queue_mutex);
    s.workers_stop = true;
  }
  s.queue_cv.notify_all();
  for (auto& w : s.workers) w.join();
  {
    std::lock_guard checker_lock(s.checker_mutex);
    s.checker_stop = true;
  }
  s.checker_cv.notify_all();
  if (s.checker.joinable()) s.checker.join();
  runtime::log_info(kComponent, "stopped");
}

void ApiService::reload() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.server && !s.stopped)
    httpd::reload_certificate(*s.server, s.config.tls, std::string(kComponent));
}

bool ApiService::wait(std::chrono::milliseconds timeout) {
  return state_->failure.wait(timeout);
}

void ApiService::rethrow_failure() {
  state_->failure.rethrow();
}

int ApiService::port() const {
  return state_->bound_port.load();
}

}  // namespace millrace::api
