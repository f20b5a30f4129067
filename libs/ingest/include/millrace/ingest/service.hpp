#pragma once

#include <memory>

#include "millrace/ingest/config.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::ingest {

// millrace-producer: takes store events over HTTP (POST /v1/events),
// validates each, and produces the valid ones to Kafka with the routing of
// `millrace produce`. Also serves /healthz, /readyz and /metrics on the same
// port. docs/http.md describes the protocol.
//
// start() creates the Kafka producer (bad properties throw), reads the
// topic's partition count (it must be even), binds the HTTP port (a taken
// port throws) and starts serving. stop() stops accepting connections, lets
// in-flight requests finish (they still get their acknowledgements), then
// flushes the producer. The service fails by itself when the listener dies
// or the producer hits a fatal error. reload() (SIGHUP) reads the TLS
// certificate and key again for new connections; a failure is logged and
// the old ones stay. `metrics` must outlive the service.
std::unique_ptr<runtime::Service> make_producer(ProducerConfig config, metrics::Registry& metrics);

}  // namespace millrace::ingest
