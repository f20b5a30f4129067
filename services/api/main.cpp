// millrace-api: the analytics views, the catalog and the accounting over
// HTTP, and the catalog's admin writes. Wiring only; the logic lives in
// libs/api.
#include "millrace/main/main.hpp"

#include "millrace/api/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<api::ApiConfig>(argc, argv, "api", api::make_api);
}
