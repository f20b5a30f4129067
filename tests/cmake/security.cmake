# Secrets, roles and encrypted connections: what the services print, what
# each may do, and TLS and SASL to PostgreSQL, Kafka and the HTTP services.

# Known secrets given to every service and CLI command never show in what
# they print or in their metrics.
add_test(NAME integration.secrets
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/security/secrets_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.secrets PROPERTIES LABELS integration FIXTURES_REQUIRED stack
  TIMEOUT 300)

# Each service with a role of its own (millrace grant, millrace api grant),
# and refused beyond it.
add_test(NAME integration.roles
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/security/roles_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.roles PROPERTIES LABELS integration FIXTURES_REQUIRED stack
  TIMEOUT 600)

# The sink over TLS to PostgreSQL, verify-full against the stack's own CA.
add_test(NAME integration.pg-tls
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/security/pg_tls_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.pg-tls PROPERTIES LABELS integration FIXTURES_REQUIRED stack
  TIMEOUT 300)

# The CLI, the sink and the aggregator over Kafka's SASL_SSL listener
# (SCRAM-SHA-512, TLS against the stack's own CA).
add_test(NAME integration.kafka-sasl
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/security/kafka_sasl_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.kafka-sasl PROPERTIES LABELS integration FIXTURES_REQUIRED stack
  TIMEOUT 300)

# millrace-producer and millrace-api over HTTPS with their bearer tokens; the
# API beyond loopback, its reads behind the read token or a session cookie.
add_test(NAME integration.http-tls
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/security/http_tls_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.http-tls PROPERTIES LABELS integration FIXTURES_REQUIRED stack
  TIMEOUT 300)
