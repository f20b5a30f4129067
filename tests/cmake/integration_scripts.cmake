# Integration tests driven by scripts rather than by a Catch2 binary (the
# kinds walk-through, declared views and their fault variant, alerting,
# Kubernetes, WebSocket feeds, grants, catalog and asset loads), and the
# benchmark harness at tiny sizes.

# docs/kinds.md's walk-through, run as written: a third kind, by
# declaration alone.
add_test(NAME integration.kinds-walkthrough
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/kinds_walkthrough.sh ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.kinds-walkthrough PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300 DEPENDS "millrace;millrace-sink;millrace-aggregator")

# Views a retailer declares in a file (issue 80): folded by the aggregator,
# served by millrace views and millrace-api, each equal to DuckDB's
# recomputation from the produced sales; views added to the built-in order
# kind by a views file likewise; views added later filled from the archive
# for the sales Kafka deleted; the fault variant SIGKILLs the aggregator
# while it folds and restarts the broker.
add_test(NAME integration.declared-views
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/declared_views.sh plain
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.declared-views PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600
  DEPENDS "millrace;millrace-aggregator;millrace-api;millrace-archiver")
add_test(NAME fault.declared-views
  COMMAND ${in_fault_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/declared_views.sh faults
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(fault.declared-views PROPERTIES LABELS fault TIMEOUT 600
  DEPENDS "millrace;millrace-aggregator;millrace-api;millrace-archiver")
millrace_on_fault_stack(fault.declared-views)

# An alert reaches a person: Prometheus, Alertmanager and an SMTP server on
# loopback, MillraceIngestionBelowThreshold fired by stopping ingestion.
add_test(NAME integration.alert-delivery
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/alerting/alert_delivery.py ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.alert-delivery PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600 DEPENDS "millrace;millrace-sink")

# The local stack's alerting as an operator starts it: `deploy/local/stack up
# prometheus` with MILLRACE_ALERT_*, the shipped rules, MillraceServiceDown
# by email and webhook, firing and resolved (a state directory of its own).
add_test(NAME integration.alert-local-stack
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/alerting/local_stack_alerts.py ${PROJECT_SOURCE_DIR})
set_tests_properties(integration.alert-local-stack PROPERTIES LABELS integration TIMEOUT 600)

# deploy/kubernetes/: both overlays rendered by kustomize and validated
# against the Kubernetes OpenAPI schemas offline (kubernetes-validate), each
# service's Deployment, probes and Service, and every container's command
# and environment through its own --check-config (scripts/bootstrap pins
# and installs kustomize under .cache/bin, kubernetes-validate under
# .cache/venv).
add_test(NAME integration.kubernetes
  COMMAND ${in_stack} ${PROJECT_SOURCE_DIR}/.cache/venv/bin/python
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/kubernetes_check.py ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR}/.cache/bin/kustomize)
set_tests_properties(integration.kubernetes PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300
  DEPENDS "millrace;millrace-sink;millrace-aggregator;millrace-archiver;millrace-webhooks;millrace-cache;millrace-changefeed;millrace-api;millrace-producer;millrace-websocket")

# millrace-websocket against WebSocket feeds Millrace does not write
# (tests/websocket/feed_server.py, PyPI's websockets in .cache/venv), both
# shapes, through closes, resets, stalls, refused and slow upgrades and
# frames the kind refuses: every run's accounting, every trade once in the
# topic, every refusal a dead letter, every disconnection a gap; then the
# trade kind's sink and aggregator, and its views per symbol recomputed.
add_test(NAME integration.websocket
  COMMAND ${in_stack} ${PROJECT_SOURCE_DIR}/.cache/venv/bin/python
    ${CMAKE_CURRENT_SOURCE_DIR}/websocket/websocket_test.py ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.websocket PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600)

# Seed 002's ingestion-delta alert, by email: a short run of the source,
# the shipped rule, Alertmanager and a real SMTP server (aiosmtpd).
add_test(NAME integration.websocket-alert
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/websocket/run_alert_test.py ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.websocket-alert PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600)

# The grant steps docker-compose.yml starts together: each succeeds
# (pg::lock_grants).
add_test(NAME integration.concurrent-grants
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/concurrent_grants.sh ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.concurrent-grants PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300 DEPENDS "millrace")

# millrace catalog load from a URL, and --every, against a local HTTP server.
add_test(NAME integration.catalog-url
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/catalog_url.sh ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.catalog-url PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300 DEPENDS "millrace")

# Trades enriched from assets at a URL (Finnhub-shaped JSON arrays served by
# Python's http.server), loaded --every second, followed by the sink.
add_test(NAME integration.asset-enrichment
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/integration/asset_enrichment.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.asset-enrichment PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600 DEPENDS "millrace;millrace-sink;millrace-changefeed")

# The benchmark harness at tiny sizes: it runs and its report parses.
add_test(NAME integration.bench-smoke
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench_smoke.sh ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/bench-smoke)
# Its own stack, and no figure is judged: it may run beside other tests.
# The longest test (its stages run for fixed times): COST starts it first.
set_tests_properties(integration.bench-smoke PROPERTIES LABELS integration TIMEOUT 900
  COST 20000)
