#include "millrace/aggregate/service.hpp"

#include <utility>

#include "handler.hpp"
#include "kind_handler.hpp"

namespace millrace::aggregate {

std::unique_ptr<stream::ConsumerService> make_aggregator(AggregatorConfig aggregator_config,
                                                         metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("aggregator", metrics);
  const auto& config = service->keep(std::move(aggregator_config));
  if (config.kinds.declaration) {
    auto& handler = service->add(std::make_unique<detail::KindAggregatorHandler>(config));
    service->consume(config.stream, handler);
    return service;
  }
  auto& handler = service->add(std::make_unique<detail::AggregatorHandler>(config));
  service->consume(config.stream, handler);
  return service;
}

}  // namespace millrace::aggregate
