// millrace-cache: keeps the catalog cache in Redis equal to PostgreSQL by
// following the change feed. Wiring only; the logic lives in libs/cache.
#include "millrace/main/main.hpp"

#include "millrace/cache/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<cache::CacheConfig>(argc, argv, "cache", cache::make_cache);
}
