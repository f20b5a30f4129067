// millrace-aggregator: one worker of the aggregator consumer group. Wiring only; the
// logic lives in libs/aggregate.
#include "millrace/main/main.hpp"

#include "millrace/aggregate/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<aggregate::AggregatorConfig>(argc, argv, "aggregator",
                                                     aggregate::make_aggregator);
}
