// millrace-producer: takes store events over HTTP and produces them to Kafka.
// Wiring only; the logic lives in libs/http.
#include "millrace/httpd/main.hpp"

#include "millrace/http/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return httpd::run_main<http::HttpConfig>(argc, argv, "producer", http::make_producer);
}
