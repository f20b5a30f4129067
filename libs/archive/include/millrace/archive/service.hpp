#pragma once

#include <memory>

#include "millrace/archive/config.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/service.hpp"

namespace millrace::archive {

// millrace-archiver: a consumer group member that writes every record of its
// topic, as it was, to Event Hubs Capture files, each recorded in the
// transaction that commits its offsets. docs/archive.md.
//
// Its start() creates the root and its staging directory (a root that
// cannot be written throws core::InfraError, fatal) and starts consuming;
// its stop() finishes, commits and publishes the open files, then leaves
// the group.
std::unique_ptr<stream::ConsumerService> make_archiver(ArchiverConfig config,
                                                       metrics::Registry& metrics);

}  // namespace millrace::archive
