#pragma once

#include <memory>

#include "millrace/cache/config.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::cache {

// millrace-cache: keeps the catalog cache in Redis equal to PostgreSQL by
// following the change feed, whoever changed the rows and however. One
// instance invalidates a cache at a time; others stand by and take over
// when its lease ends. docs/cache.md says how it works.
//
// start() starts the invalidator's thread; everything it connects to may
// still be down (it waits for them); bad Kafka properties throw. stop()
// withdraws the cache (readers go to PostgreSQL at once), gives up the
// right to invalidate and closes the consumer. wait() is true once the
// invalidator failed fatally. `metrics` must outlive the service.
std::unique_ptr<runtime::Service> make_cache(CacheConfig config, metrics::Registry& metrics);

}  // namespace millrace::cache
