# The compose files: docker-compose.yml and its profiles in containers, and
# all of them checked and rehearsed without an engine.

# docker-compose.yml for real, the test of record (docs/compose.md): every
# image of the default profile built (Docker's layer cache keeps them for
# the next run), the stack up in containers through scripts/compose, the
# cli container producing, the views through psql in the postgres container
# and the API's port, sink containers killed with SIGKILL and the postgres
# and kafka containers restarted mid-stream, down and up again, then every
# record checked with clients that are not Millrace's, and down -v.
# PROCESSORS 2: the image builds take both cores while they run. COST: the
# longest test, so ctest -j starts it first.
add_test(NAME integration.compose
  COMMAND ${PROJECT_SOURCE_DIR}/.cache/venv/bin/python ${CMAKE_CURRENT_SOURCE_DIR}/deploy/compose_up.py
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/compose-up)
set_tests_properties(integration.compose PROPERTIES LABELS integration TIMEOUT 2400
  PROCESSORS 2 COST 40000)

# The other compose files in containers, after integration.compose (whose
# image builds they reuse): the three-broker cluster, and the secure profile
# with the monitoring profile (SASL_SSL, TLS, HTTPS; Prometheus scraping
# every service, Alertmanager ready), each producing through the cli
# container and accounting for every record.
add_test(NAME integration.compose-profiles
  COMMAND ${PROJECT_SOURCE_DIR}/.cache/venv/bin/python
    ${CMAKE_CURRENT_SOURCE_DIR}/deploy/compose_profiles.py ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/compose-profiles)
set_tests_properties(integration.compose-profiles PROPERTIES LABELS integration TIMEOUT 1800
  PROCESSORS 2 DEPENDS integration.compose COST 20000)

# The same files checked without an engine, quickly: compose validates them
# (every profile), each service's binary checks its own configuration,
# Kafka 3.9.1 validates each broker's (the fixture's Maven classpath), and
# then the start is played against the test stack with the services' own
# commands and environment, as plain processes.
add_test(NAME integration.compose-rehearsal
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/deploy/compose_check.py ${PROJECT_SOURCE_DIR}
    ${CMAKE_BINARY_DIR}/bin ${stack_dir}/kafka.classpath --rehearse)
set_tests_properties(integration.compose-rehearsal PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600 ENVIRONMENT "MILLRACE_STATE_DIR=${stack_dir}"
  DEPENDS "millrace;millrace-sink;millrace-aggregator" COST 5000)
