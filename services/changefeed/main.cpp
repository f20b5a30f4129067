// millrace-changefeed: streams every committed change of the published tables
// to a Kafka topic, exactly once. Wiring only; the logic lives in
// libs/changefeed.
#include "millrace/main/main.hpp"

#include "millrace/changefeed/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<changefeed::ChangefeedConfig>(argc, argv, "changefeed",
                                                      changefeed::make_changefeed);
}
