#pragma once

#include <string>

#include "millrace/stream/consumer.hpp"
#include "ports.hpp"

namespace millrace::stream::detail {

// kafka::Consumer (created by start(), with this configuration) and a
// BatchCommitter on the configured database.
Ports production_ports(const StreamConfig& config, Handler& handler, const std::string& component);

}  // namespace millrace::stream::detail
