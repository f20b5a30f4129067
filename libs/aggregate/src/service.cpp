#include "millrace/aggregate/service.hpp"

#include <utility>

#include "handler.hpp"
#include "view_fill.hpp"

namespace millrace::aggregate {

std::unique_ptr<stream::ConsumerService> make_aggregator(AggregatorConfig aggregator_config,
                                                         metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("aggregator", metrics);
  const auto& config = service->keep(std::move(aggregator_config));
  // One handler for every kind, of the kind's type (handler.hpp).
  const auto consume = [&](auto handler) -> auto& {
    auto& added = service->add(std::move(handler));
    service->consume(config.stream, added);
    return added;
  };
  if (config.kinds.declaration) {
    const auto& handler =
        consume(std::make_unique<detail::AggregatorHandler<KindAggregates>>(config, metrics));
    // Views made after records were folded fill beside the consumer.
    if (!config.kinds.declaration->views.empty()) {
      service->add(std::make_unique<detail::ViewFiller>(config, handler.kind(), metrics));
    }
  } else {
    consume(std::make_unique<detail::AggregatorHandler<StoreEventAggregates>>(config, metrics));
  }
  return service;
}

}  // namespace millrace::aggregate
