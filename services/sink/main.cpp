// millrace-sink: one worker of the sink consumer group. Wiring only; the
// logic lives in libs/sink.
#include "millrace/main/main.hpp"

#include "millrace/sink/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<sink::SinkConfig>(argc, argv, "sink", sink::make_sink);
}
