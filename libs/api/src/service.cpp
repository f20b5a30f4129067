#include "millrace/api/service.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "live_driver.hpp"
#include "live_hub.hpp"
#include "live_sources.hpp"
#include "millrace/cache/near.hpp"
#include "millrace/cache/read_probe.hpp"
#include "millrace/cache/reads.hpp"
#include "millrace/httpd/service.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
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
  s.views = serve_views(c.kinds);
  return s;
}

// Routing is the Router's (router.cpp), the database the workers'
// (pg_backend.cpp), every metric the probe's (probe.cpp), the listener's
// shell httpd::HttpService's; this is the plumbing between them.
class ApiService final : public httpd::HttpService {
 public:
  // The catalog is read through the Redis cache when config.cache names
  // one (its read metrics in `metrics`), from the database otherwise.
  ApiService(ApiConfig c, metrics::Registry& r)
      : HttpService(std::string(kComponent), r),
        config_(std::move(c)),
        probe_(r),
        router_(
            router_settings(config_), [this] { return readiness(); },
            [this] { return probe_.scrape(); }) {
    if (config_.cache.redis_url.empty()) {
      factory_ = database_reads();
      return;
    }
    cache_probe_ = std::make_unique<cache::ReadProbe>(r);
    if (config_.near_cache_entries > 0) {
      near_ = cache::make_near_cache(config_.cache, config_.pg.schema, *cache_probe_,
                                     static_cast<std::size_t>(config_.near_cache_entries));
    }
    factory_ = cache::reads_factory(config_.cache, config_.pg.schema, *cache_probe_, near_.get());
  }
  ~ApiService() override { stop(); }

 private:
  ApiConfig config_;
  ApiProbe probe_;
  std::unique_ptr<cache::ReadProbe> cache_probe_;  // with the cache's reads
  std::unique_ptr<cache::NearCache> near_;         // with them, unless turned off
  ReadsFactory factory_;
  Router router_;
  // GET /v1/stream: the hub holds the streams, the driver feeds it.
  LiveHub hub_{random_epoch()};
  std::unique_ptr<LiveDriver> live_;

  // The workers and what they wait on.
  std::vector<std::unique_ptr<PgBackend>> backends_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Task> queue_;
  bool workers_stop_ = false;

  // Readiness, kept by a thread of its own so /readyz never waits for the
  // database on an event loop.
  std::atomic<bool> ready_{false};
  mutable std::mutex reason_mutex_;
  std::string unready_reason_ = "the database has not answered yet";
  std::optional<Session> readiness_;
  bool checked_ = false;  // the first check (in open()) is done

  // The database workers, the readiness check and the live stream's
  // driver; the first failure of one is the service's.
  runtime::Worker background_{{.component = std::string(kComponent),
                               .on_stop = [this] { stop_workers(); },
                               .on_failure = [this](const std::string& what) { fail(what); }}};
  void stop_workers() {
    {
      std::lock_guard lock(queue_mutex_);
      workers_stop_ = true;
    }
    queue_cv_.notify_all();
  }

  std::vector<runtime::Problem> readiness() const override {
    if (stopping()) return {{"stopping", "the service is stopping", {}}};
    if (ready_.load()) return {};
    std::lock_guard lock(reason_mutex_);
    return {
        {"postgresql", unready_reason_, "check that PostgreSQL runs and " + config_.pg.url_env}};
  }
  // One readiness check; throws a fatal core::InfraError.
  void check_ready();
  void work(PgBackend& backend);

  // httpd::Handler
  std::optional<httpd::Reply> screen(const httpd::Request& req) override {
    return router_.screen(req);
  }
  void handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange) override;
  httpd::Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return problem_reply(Problem{status, code, std::string(detail), {}, {}});
  }
  void answered(std::string_view path, int status, Clock::duration took) noexcept override {
    probe_.answered(match(path).route, status, took);
  }

  // httpd::HttpService
  httpd::Listen listen() const override { return httpd::listen_of(config_); }
  void open() override;
  std::string describe() const override;
  milliseconds drain_grace() const override {
    // In-flight requests finish (their workers still run) or meet their
    // deadline, which this grace covers. Streams end (the last chunk) at
    // the server's next sweep.
    return milliseconds(config_.request_timeout_ms) + milliseconds(1000);
  }
  void close() override;
};

void ApiService::check_ready() {
  try {
    readiness_->with("readiness check", [](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      tx.exec("SELECT 1");
    });
    if (!ready_.exchange(true)) runtime::log_info(kComponent, "ready: the database answers");
  } catch (const core::InfraError& e) {
    {
      std::lock_guard lock(reason_mutex_);
      unready_reason_ = e.what();
    }
    if (ready_.exchange(false) || !checked_) {
      runtime::log_warn(kComponent, std::string("not ready: ") + e.what());
    }
    if (e.failure_class() == core::FailureClass::kFatal) throw;
  }
}

void ApiService::handle(const httpd::Request& req,
                        const std::shared_ptr<httpd::Exchange>& exchange) {
  if (req.method() == "GET" && match(req.path()).route == kRouteStream) {
    return hub_.subscribe(exchange, req.header("Last-Event-ID"));
  }
  auto routed = router_.route(req);
  if (auto* reply = std::get_if<httpd::Reply>(&routed)) return exchange->reply(std::move(*reply));
  if (const Job& job = std::get<Job>(routed); near_ && job.peek) {
    // Held in memory: answered here, on the event loop, with no hand-off.
    if (auto reply = job.peek(*near_)) return exchange->reply(std::move(*reply));
  }
  std::string instance(req.path());
  std::unique_lock lock(queue_mutex_);
  if (queue_.size() >= static_cast<std::size_t>(config_.queue_max)) {
    lock.unlock();
    probe_.shed();
    httpd::Reply r = problem_reply(
        Problem{503, "busy", "every database worker is busy; try again shortly", instance, {}});
    r.headers.emplace_back("Retry-After", "1");
    return exchange->reply(std::move(r));
  }
  auto slot = std::make_shared<Slot>();
  exchange->defer(milliseconds(config_.request_timeout_ms), [slot, instance] {
    std::lock_guard slot_lock(slot->mutex);
    if (slot->reply) return std::move(*slot->reply);
    slot->abandoned = true;
    httpd::Reply r = problem_reply(
        Problem{503, "timeout", "no answer within MILLRACE_API_REQUEST_TIMEOUT_MS", instance, {}});
    r.headers.emplace_back("Retry-After", "1");
    return r;
  });
  queue_.push_back(
      Task{std::get<Job>(std::move(routed)), std::move(slot), exchange, std::move(instance)});
  lock.unlock();
  queue_cv_.notify_one();
}

void ApiService::work(PgBackend& backend) {
  const auto failed_db = [this](core::FailureClass c, std::string_view what) {
    probe_.database_error(c);
    runtime::log_warn(kComponent, what);
  };
  for (;;) {
    Task task;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return workers_stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing is left to answer
      task = std::move(queue_.front());
      queue_.pop_front();
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

void ApiService::open() {
  const auto& c = config_;
  if (c.admin_token.empty() || c.admin_pg_dsn.empty()) {
    runtime::log_warn(kComponent,
                      "admin writes are off (they need both MILLRACE_API_ADMIN_TOKEN and "
                      "MILLRACE_API_ADMIN_PG): POST, PUT and DELETE answer 503");
  }
  if (near_) near_->start();
  readiness_.emplace(c.pg.url, c.pg.schema, "millrace-api-readiness", c.pg.limits);
  check_ready();  // a fatal failure (bad password, no schema) stops the start here
  checked_ = true;

  for (std::int64_t i = 0; i < c.workers; ++i) {
    auto backend = std::make_unique<PgBackend>(
        std::make_unique<Session>(c.pg.url, c.pg.schema, "millrace-api", c.pg.limits),
        c.admin_pg_dsn.empty() ? nullptr
                               : std::make_unique<Session>(c.admin_pg_dsn, c.pg.schema,
                                                           "millrace-api-admin", c.pg.limits),
        c.allow_private_webhooks);
    auto reads = factory_(std::make_unique<PgReads>(backend->reader()));
    if (!reads) throw std::logic_error("the ReadsFactory returned no catalog::Reads");
    backend->set_reads(std::move(reads));
    backends_.push_back(std::move(backend));
  }
  probe_.register_gauges(
      [this] {
        std::lock_guard queue_lock(queue_mutex_);
        return static_cast<double>(queue_.size());
      },
      [this] { return ready_.load(); });
  for (auto& backend : backends_) {
    background_.spawn_once([this, b = backend.get()] { work(*b); });
  }
  background_.spawn([this] {
    if (background_.pause(kReadyEvery)) return runtime::Worker::Next::done();
    try {
      check_ready();
    } catch (const core::InfraError&) {
      // Credentials revoked or the schema dropped under a running service:
      // /readyz says so; the operator decides.
    }
    return runtime::Worker::Next::again();
  });

  live_ = std::make_unique<LiveDriver>(
      hub_, std::make_unique<KafkaChanges>(c.kafka),
      std::make_unique<PgLiveSource>(
          std::make_unique<Session>(c.pg.url, c.pg.schema, "millrace-api-live", c.pg.limits),
          c.kafka, c.dead_letters, router_.views()),
      c.pg.schema, router_.views()->tables);
  background_.spawn([this] { return runtime::Worker::Next::after(live_->step(Clock::now())); });
}

std::string ApiService::describe() const {
  const auto& c = config_;
  return " for schema " + c.pg.schema + " (" + std::to_string(c.workers) +
         " database workers, admin writes " +
         (c.admin_token.empty() || c.admin_pg_dsn.empty() ? "off" : "on") + ", reads " +
         (c.read_token.empty() ? "open" : "need the read token") + ")";
}

void ApiService::close() {
  // The workers answer what is queued before they end.
  background_.stop();
  if (near_) near_->stop();
  runtime::log_info(kComponent, "stopped");
}

}  // namespace

ReadsFactory database_reads() {
  return [](std::unique_ptr<catalog::Reads> database) { return database; };
}

std::unique_ptr<runtime::Service> make_api(ApiConfig config, metrics::Registry& metrics) {
  return std::make_unique<ApiService>(std::move(config), metrics);
}

}  // namespace millrace::api
