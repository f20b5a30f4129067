// millrace-webhooks: delivers the change feed to registered HTTP endpoints,
// signed (Standard Webhooks), in order per endpoint, with retries. Wiring
// only; the logic lives in libs/webhooks.
#include "millrace/main/main.hpp"

#include "millrace/webhooks/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<webhooks::WebhooksConfig>(argc, argv, "webhooks", webhooks::make_webhooks);
}
