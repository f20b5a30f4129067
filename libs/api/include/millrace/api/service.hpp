#pragma once

#include <functional>
#include <memory>

#include "millrace/api/config.hpp"
#include "millrace/catalog/reads.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::api {

// The seam where a cache plugs into the catalog's reads. Each database
// worker calls it once, in the service's start() on the calling thread, with
// the reads it made on its own reader session; the worker then reads the
// catalog only through what it returns, from its own thread alone
// (catalog::Reads' caller contract). A cache returns an object that wraps
// `database` and reads through it on a miss; it must not share the
// database object with another worker. Exceptions stop start().
using ReadsFactory =
    std::function<std::unique_ptr<catalog::Reads>(std::unique_ptr<catalog::Reads> database)>;

// The default: the database's reads, unchanged.
ReadsFactory database_reads();

// millrace-api: the analytics views, the catalog and the accounting over
// HTTP (JSON or CSV), and the catalog's admin writes. Database work runs on
// a pool of worker threads, each with its own sessions, never on the HTTP
// event loops. Also serves /healthz, /readyz and /metrics on the same port.
// docs/api.md describes the protocol, proto/openapi.yaml its schema.
//
// The catalog is read through the Redis cache when config.cache names one
// (its read metrics in `metrics`), from the database when not. start() checks that the reader can
// connect (fatal failures, such as a bad password or a missing schema, throw core::InfraError; an
// unreachable server only leaves /readyz at 503 until it answers), makes each worker's reads
// through the factory, binds the HTTP port (a taken port throws) and starts serving. stop() stops
// accepting connections, lets in-flight requests finish (up to the request
// timeout), then stops the workers. The service fails by itself when the
// listener dies. reload() (SIGHUP) reads the TLS certificate and key again
// for new connections; a failure is logged and the old ones stay.
// `metrics` must outlive the service.
std::unique_ptr<runtime::Service> make_api(ApiConfig config, metrics::Registry& metrics);

}  // namespace millrace::api
