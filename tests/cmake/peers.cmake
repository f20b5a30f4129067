# Millrace against other systems' tools and clients (Debezium, kafka-python,
# Kafka Connect's JDBC sink, Flink SQL), and the dashboard in a real
# browser.

# millrace-changefeed --format debezium against Debezium itself: its
# PostgreSQL connector in Kafka Connect standalone (jars from Maven Central,
# tests/peers/connect/pom.xml) and the feed over the same changes, both
# JsonConverter schema settings, compared record by record.
add_test(NAME peers.debezium
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/peers/debezium_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(peers.debezium PROPERTIES LABELS peers FIXTURES_REQUIRED stack
  TIMEOUT 900 DEPENDS "millrace;millrace-changefeed")
# millrace-changefeed --format outbox against Debezium's outbox event router
# (the EventRouter SMT on its PostgreSQL connector, in the same Kafka Connect)
# over the same outbox transactions, four settings each, compared record by
# record (docs/outbox.md).
add_test(NAME peers.outbox
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/peers/outbox_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(peers.outbox PROPERTIES LABELS peers FIXTURES_REQUIRED stack
  TIMEOUT 900 DEPENDS "millrace;millrace-changefeed")
# Kafka's side of nemesis seed 12's repeated changes, with a client that is
# not librdkafka: a fenced transactional producer's late offset commit makes
# the live producer's transaction commit without its offset
# (tests/peers/zombie_offsets.py; unit.kafka's [zombie] checks the fence).
add_test(NAME peers.kafka-zombie-offsets
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/peers/zombie_offsets.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(peers.kafka-zombie-offsets PROPERTIES LABELS peers FIXTURES_REQUIRED stack
  TIMEOUT 300)
# Consumers built for Debezium mirror a table from the feed's Debezium
# format into a second database, the feed SIGKILLed once on the way:
# Debezium's JDBC sink in Kafka Connect, and Flink SQL's debezium-json with
# its Kafka and JDBC connectors (tests/peers/mirror_test.sh).
foreach(peer jdbc flink)
  set(name peers.jdbc-sink)
  if(peer STREQUAL "flink")
    set(name peers.flink-sql)
  endif()
  add_test(NAME ${name}
    COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/peers/mirror_test.sh ${peer}
      ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS peers FIXTURES_REQUIRED stack
    TIMEOUT 900 DEPENDS "millrace;millrace-changefeed")
endforeach()
# The live dashboard in a real browser: Debian's chromium driven headless by
# playwright-core (pinned in tests/browser/package-lock.json; scripts/bootstrap
# installs both), against millrace-api and a pipeline of its own.
add_test(NAME browser.dashboard
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/browser/dashboard_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(browser.dashboard PROPERTIES LABELS browser FIXTURES_REQUIRED stack
  TIMEOUT 900 DEPENDS "millrace;millrace-sink;millrace-aggregator;millrace-changefeed;millrace-api")
