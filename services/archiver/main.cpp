// millrace-archiver: writes every record of a topic, as it was, to Event
// Hubs Capture files (Avro), each exactly once. Wiring only; the logic lives
// in libs/archive.
#include "millrace/main/main.hpp"

#include "millrace/archive/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<archive::ArchiverConfig>(argc, argv, "archiver", archive::make_archiver);
}
