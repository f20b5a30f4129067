// millrace-producer: takes store events over HTTP and produces them to Kafka.
// Wiring only; the logic lives in libs/ingest.
#include "millrace/main/main.hpp"

#include "millrace/ingest/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<ingest::ProducerConfig>(argc, argv, "producer", ingest::make_producer);
}
