#include "millrace/aggregate/service.hpp"

#include <utility>

#include "handler.hpp"

namespace millrace::aggregate {

std::unique_ptr<stream::ConsumerService> make_aggregator(AggregatorConfig aggregator_config,
                                                         metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("aggregator", metrics);
  const auto& config = service->keep(std::move(aggregator_config));
  auto& handler = service->add(std::make_unique<detail::AggregatorHandler>(config));
  service->consume(config.stream, handler);
  return service;
}

}  // namespace millrace::aggregate
