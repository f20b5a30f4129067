# The Catch2 binaries of the CLI's tests (unit.cli) and of the integration
# tests, with a ctest entry per integration test case (millrace_stack_test,
# cmake/stacks.cmake), and millrace-api checked against its OpenAPI
# description.

add_executable(millrace_cli_tests cli/cli_test.cpp)
target_link_libraries(millrace_cli_tests PRIVATE millrace_test_support Catch2::Catch2WithMain)
millrace_test_use_pch(millrace_cli_tests)
add_test(NAME unit.cli COMMAND millrace_cli_tests)
set_tests_properties(unit.cli PROPERTIES LABELS unit
  TIMEOUT ${MILLRACE_UNIT_TIMEOUT})

add_executable(millrace_integration_tests integration/pipeline_test.cpp integration/webhooks_test.cpp
  integration/store_test.cpp
  integration/aggregator_test.cpp integration/metrics_test.cpp integration/http_test.cpp
  integration/http_operations_test.cpp
  integration/spike_test.cpp integration/deploy_test.cpp integration/pg_copy_test.cpp
  integration/changefeed_decode_test.cpp integration/changefeed_stream_test.cpp
  integration/changefeed_waits_test.cpp integration/migrate_waits_test.cpp
  integration/transactions_test.cpp integration/changefeed_test.cpp
  integration/changefeed_backfill_test.cpp integration/catalog_test.cpp
  integration/outbox_test.cpp
  integration/redis_test.cpp integration/cache_test.cpp integration/cache_store_test.cpp
  integration/enrichment_test.cpp integration/cache_support.cpp integration/parse_differential_test.cpp)
# millrace-api's test (its own statement: the list above is often edited).
target_sources(millrace_integration_tests PRIVATE integration/api_test.cpp
  integration/api_declared_kind_test.cpp integration/api_support.cpp)
# A failed case prints its services' log tails (failure_logs.cpp says why it
# is compiled here, and without the precompiled header).
target_sources(millrace_integration_tests PRIVATE support/failure_logs.cpp)
# Orders, a declared kind (its own statement, like the API's).
target_sources(millrace_integration_tests PRIVATE integration/orders_test.cpp
  integration/orders_views_test.cpp integration/orders_support.cpp)
# A declared kind's partitions and retention, and the upgrade to them.
target_sources(millrace_integration_tests PRIVATE integration/kind_partitions_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/readiness_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/reload_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/webhooks_routing_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/webhooks_encoding_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/webhooks_direct_test.cpp)
target_sources(millrace_integration_tests PRIVATE integration/webhooks_workers_test.cpp)
target_link_libraries(millrace_integration_tests PRIVATE millrace_test_support
  millrace::changefeed millrace::redis millrace::catalog millrace::cache millrace::kinds
  Catch2::Catch2WithMain PkgConfig::HTTPLIB OpenSSL::Crypto)
target_include_directories(millrace_integration_tests SYSTEM PRIVATE ${RAPIDJSON_INCLUDE_DIRS})
millrace_test_use_pch(millrace_integration_tests)
add_dependencies(millrace_integration_tests millrace-producer millrace-changefeed
  millrace-webhooks millrace-cache)
add_dependencies(millrace_integration_tests millrace-api)
# Each consumer service with its own role from `stack env`, on a migrated
# schema and on one the owner migrates later (its own binary: it builds
# without the other integration tests).
add_executable(millrace_service_roles_tests integration/service_roles_test.cpp
  support/failure_logs.cpp)
target_link_libraries(millrace_service_roles_tests PRIVATE millrace_test_support
  millrace::kafka Catch2::Catch2WithMain)
add_dependencies(millrace_service_roles_tests millrace-archiver millrace-webhooks)
millrace_stack_test(millrace_service_roles_tests service-roles integration 600)
millrace_stack_test(millrace_service_roles_tests service-roles-unmigrated integration 600)
millrace_stack_test(millrace_integration_tests exactly-once integration 900)
millrace_stack_test(millrace_integration_tests file-input integration 300)
millrace_stack_test(millrace_integration_tests aggregates integration 900)
millrace_stack_test(millrace_integration_tests aggregates-prune integration 600)
millrace_stack_test(millrace_integration_tests aggregates-topics integration 600)
millrace_stack_test(millrace_integration_tests event-identity integration 600)
millrace_stack_test(millrace_integration_tests webhooks integration 900)
millrace_stack_test(millrace_integration_tests webhooks-notify integration 300)
millrace_stack_test(millrace_integration_tests webhooks-continue integration 300)
millrace_stack_test(millrace_integration_tests webhooks-order integration 600)
millrace_stack_test(millrace_integration_tests webhooks-idle integration 300)
millrace_stack_test(millrace_integration_tests webhooks-backfill integration 300)
millrace_stack_test(millrace_integration_tests webhooks-routing integration 600)
millrace_stack_test(millrace_integration_tests webhooks-encoding integration 300)
millrace_stack_test(millrace_integration_tests webhooks-direct integration 300)
millrace_stack_test(millrace_integration_tests store-retention integration 900)
millrace_stack_test(millrace_integration_tests store-convert integration 300)
millrace_stack_test(millrace_integration_tests group-guard integration 300)
millrace_stack_test(millrace_integration_tests metrics integration 600)
millrace_stack_test(millrace_integration_tests http integration 600)
millrace_stack_test(millrace_integration_tests create-topics integration 300)
millrace_stack_test(millrace_integration_tests pg-copy integration 300)
millrace_stack_test(millrace_integration_tests catalog integration 300)
millrace_stack_test(millrace_integration_tests redis integration 300 EXCLUSIVE)
millrace_stack_test(millrace_integration_tests cache-store integration 120)
millrace_stack_test(millrace_integration_tests cache-seed integration 600)
millrace_stack_test(millrace_integration_tests cache-near integration 600)
millrace_stack_test(millrace_integration_tests cache-kill integration 900)
millrace_stack_test(millrace_integration_tests cache-redis-restart integration 600 EXCLUSIVE)
millrace_stack_test(millrace_integration_tests enrich integration 900)
millrace_stack_test(millrace_integration_tests changefeed-decode integration 300)
millrace_stack_test(millrace_integration_tests changefeed-stream integration 300)
# glibc fills freed memory with a pattern (MALLOC_PERTURB_): a stream that
# used its connection's TLS state after libpq freed it crashes here, where
# otherwise it would read stale memory and pass.
set_tests_properties(integration.changefeed-stream PROPERTIES ENVIRONMENT "MALLOC_PERTURB_=165")
millrace_stack_test(millrace_integration_tests changefeed-waits integration 300)
millrace_stack_test(millrace_integration_tests migrate-waits integration 300)
millrace_stack_test(millrace_integration_tests transactions integration 300)
millrace_stack_test(millrace_integration_tests changefeed integration 600)
millrace_stack_test(millrace_integration_tests changefeed-snapshot integration 600)
millrace_stack_test(millrace_integration_tests outbox-dead-letters integration 300)
millrace_stack_test(millrace_integration_tests outbox-cleanup integration 300)
millrace_stack_test(millrace_integration_tests changefeed-backfill-cli integration 300)
millrace_stack_test(millrace_integration_tests changefeed-backfill-unserved integration 300)
millrace_stack_test(millrace_integration_tests api integration 600)
millrace_stack_test(millrace_integration_tests parse-differential integration 300)
millrace_stack_test(millrace_integration_tests orders integration 600)
millrace_stack_test(millrace_integration_tests orders-malformed integration 300)
millrace_stack_test(millrace_integration_tests orders-empty integration 300)
millrace_stack_test(millrace_integration_tests orders-views integration 600)
millrace_stack_test(millrace_integration_tests orders-upgrade integration 600)
millrace_stack_test(millrace_integration_tests orders-http integration 300)
millrace_stack_test(millrace_integration_tests orders-webhook integration 300)
millrace_stack_test(millrace_integration_tests orders-retention integration 600)
millrace_stack_test(millrace_integration_tests orders-convert integration 300)
millrace_stack_test(millrace_integration_tests readiness-topic integration 300)
millrace_stack_test(millrace_integration_tests readiness-pg integration 300)
millrace_stack_test(millrace_integration_tests readiness-kafka integration 300)
millrace_stack_test(millrace_integration_tests readiness-schema integration 300)
millrace_stack_test(millrace_integration_tests readiness-outbound integration 300)
millrace_stack_test(millrace_integration_tests reload integration 600)
millrace_stack_test(millrace_integration_tests reload-nofile integration 300)
millrace_stack_test(millrace_integration_tests reload-webhooks integration 300)
# millrace-api against proto/openapi.yaml: schemathesis (pinned; scripts/bootstrap
# installs it under .cache/venv) checks every response and that no input gets a 5xx.
add_test(NAME integration.api-schemathesis
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/api_schemathesis.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.api-schemathesis PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 900 DEPENDS "millrace;millrace-api")
