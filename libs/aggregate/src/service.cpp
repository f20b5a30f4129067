#include "millrace/aggregate/service.hpp"

#include <utility>

#include "handler.hpp"
#include "millrace/kinds/view_decl.hpp"
#include "view_fill.hpp"

namespace millrace::aggregate {

std::unique_ptr<stream::ConsumerService> make_aggregator(AggregatorConfig aggregator_config,
                                                         metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("aggregator", metrics);
  const auto& config = service->keep(std::move(aggregator_config));
  // One handler for every kind (handler.hpp).
  auto& handler = service->add(std::make_unique<detail::AggregatorHandler>(config, metrics));
  service->consume(config.stream, handler);
  // Views made after records were folded fill beside the consumer.
  if (kinds::fills_any(config.kinds.declaration->views)) {
    service->add(std::make_unique<detail::ViewFiller>(config, handler.kind(), metrics));
  }
  return service;
}

}  // namespace millrace::aggregate
