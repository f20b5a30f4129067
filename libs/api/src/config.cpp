#include "millrace/api/config.hpp"

#include <utility>

#include "millrace/httpd/listen_address.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/views.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::api {

void register_options(core::OptionSet& o, ApiConfig& c) {
  o.add_string("http-addr", "MILLRACE_API_ADDR", &c.http_addr,
               "host:port to serve HTTP on ([v6]:port for IPv6; port 0 picks a free one)");
  pg::register_service_options(o, c.pg, "api", "MILLRACE_API_PG_DSN");
  // No fallback to MILLRACE_PG: the admin writes stay off until a role is
  // named for them.
  o.add_string("admin-pg", "MILLRACE_API_ADMIN_PG", &c.admin_pg_dsn,
               "PostgreSQL conninfo or URI of the admin writes' role, which /v1/webhooks uses "
               "too (empty: POST, PUT, DELETE and /v1/webhooks answer 503)");
  o.add_env_fallback("admin-pg", "MILLRACE_API_ADMIN_PG_DSN", "set MILLRACE_API_ADMIN_PG instead");
  o.add_string("admin-token", "MILLRACE_API_ADMIN_TOKEN", &c.admin_token,
               "Bearer token the admin writes and /v1/webhooks require (empty: they answer "
               "503)",
               core::OptionSet::Shown::kSecret);
  o.add_string("read-token", "MILLRACE_API_READ_TOKEN", &c.read_token,
               "Bearer token the reads require (the dashboard asks for it once and keeps a "
               "session cookie); required when --http-addr is beyond loopback (empty on "
               "loopback: reads open to local clients)",
               core::OptionSet::Shown::kSecret);
  o.add_bool("allow-open", "MILLRACE_API_ALLOW_OPEN", &c.allow_open,
             "Serve the reads without a token on an address beyond loopback (behind a proxy "
             "that authenticates)");
  webhooks::add_allow_private(o, &c.allow_private_webhooks, "allow-private-webhooks");
  httpd::register_tls_options(o, c.tls, "MILLRACE_API");
  o.add_int("http-threads", "MILLRACE_API_HTTP_THREADS", &c.http_threads,
            "HTTP event-loop threads; each serves any number of connections", 1, 256);
  o.add_int("workers", "MILLRACE_API_WORKERS", &c.workers,
            "Database workers, each with its own PostgreSQL sessions", 1, 256);
  o.add_int("queue-max", "MILLRACE_API_QUEUE_MAX", &c.queue_max,
            "Requests that may wait for a worker; beyond, 503 at once", 1, 1'000'000);
  o.add_duration("request-timeout-ms", "MILLRACE_API_REQUEST_TIMEOUT_MS", &c.request_timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "A request not answered within this gets 503 (keep it above "
                 "MILLRACE_PG_STATEMENT_TIMEOUT_MS)",
                 100, 600'000);
  o.add_int("max-connections", "MILLRACE_API_MAX_CONNECTIONS", &c.max_connections,
            "Connections served at once, live streams included; one more is answered 503 and "
            "closed (keep it below the open-file limit, ulimit -n)",
            1, 1'000'000);
  o.add_int("max-body-bytes", "MILLRACE_API_MAX_BODY_BYTES", &c.max_body_bytes,
            "Largest admin request body accepted (larger: 413)", 1, 16LL << 20);
  cache::register_options(o, c.cache);
  o.add_int("near-cache-entries", "MILLRACE_API_NEAR_CACHE_ENTRIES", &c.near_cache_entries,
            "Catalog entries held in memory besides Redis, kept equal to it by CLIENT TRACKING "
            "(0: ask Redis for every read)",
            0, 100'000'000);
  kafka::register_options(o, c.kafka, kafka::kChangesTopic);
  o.add_string("dead-letter-topics", "MILLRACE_API_DEAD_LETTER_TOPICS", &c.dead_letter_topics,
               "Dead-letter topics whose sizes the live stream's health shows, comma-separated");
  kinds::register_kinds_dir(o, &c.kinds_dir);
}

void validate(ApiConfig& c) {
  auto [host, port] =
      httpd::parse_listen_address(c.http_addr, "--http-addr / MILLRACE_API_ADDR", 8090);
  c.host = std::move(host);
  c.port = port;
  if (c.read_token.empty() && !c.allow_open && !httpd::is_loopback(c.host)) {
    throw core::UsageError("--http-addr / MILLRACE_API_ADDR is " + c.http_addr +
                           ", beyond loopback: set MILLRACE_API_READ_TOKEN (clients then send "
                           "Authorization: Bearer <token>; the dashboard asks for it), or "
                           "MILLRACE_API_ALLOW_OPEN=true to serve the data to anyone who can "
                           "connect");
  }
  httpd::validate_tls(c.tls, "MILLRACE_API");
  pg::validate(c.pg);
  cache::validate(c.cache);
  kafka::validate(c.kafka);
  kafka::refuse_consumer_overrides(c.kafka.extra);
  c.kinds = kinds::all_kinds(c.kinds_dir);
  // Refuses a kind whose views would take another's names.
  (void)pg::public_views(c.kinds);
  c.dead_letters.clear();
  std::size_t start = 0;
  const std::string& list = c.dead_letter_topics;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    auto topic = list.substr(start, end - start);
    const auto first = topic.find_first_not_of(' ');
    const auto last = topic.find_last_not_of(' ');
    if (first != std::string::npos) c.dead_letters.push_back(topic.substr(first, last - first + 1));
    start = end + 1;
  }
}

}  // namespace millrace::api
