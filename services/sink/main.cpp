// millrace-sink: one worker of the sink consumer group. Wiring only; the
// logic lives in libs/sink.
#include "millrace/runtime/main.hpp"

#include "millrace/sink/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return runtime::run_main<sink::SinkConfig>(argc, argv, "sink", sink::make_sink);
}
