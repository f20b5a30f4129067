// millrace-websocket: a WebSocket feed (seed 002's trades) into a declared
// kind's topic, in runs. Wiring only; the logic lives in libs/websocket.
#include "millrace/main/main.hpp"

#include "millrace/websocket/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  return main::run_main<websocket::WebsocketConfig>(argc, argv, "websocket",
                                                    websocket::make_websocket);
}
