# Checks of the repository itself, run as unit tests: the C++ formatting,
# the places generated from services/registry.json, the docs' tables and
# the alert rules.

# Every C++ file formatted as .clang-format says.
add_test(NAME unit.format COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-format)
set_tests_properties(unit.format PROPERTIES LABELS unit
  TIMEOUT ${MILLRACE_UNIT_TIMEOUT})

# services/registry.json: every place generated from it is current
# (scripts/services; docs/adding-a-service.md).
add_test(NAME unit.services-registry COMMAND ${PROJECT_SOURCE_DIR}/scripts/services check)
set_tests_properties(unit.services-registry PROPERTIES LABELS unit
  TIMEOUT ${MILLRACE_UNIT_TIMEOUT})

# docs/configuration.md's settings tables are what each built service
# registers (its --dump-options, which needs no network), the docs' generated
# metrics tables what each declares (its --dump-metrics, likewise); every
# metric still registered by name in libs/ has a row in the docs' metrics
# tables, and every row of the reference names one (scripts/docs-tables).
add_test(NAME unit.docs-tables
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/docs-tables check ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(unit.docs-tables PROPERTIES LABELS unit TIMEOUT ${MILLRACE_UNIT_TIMEOUT})

# Alert rules: promtool's config and rule checks and the rule unit tests.
add_test(NAME unit.promtool COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/promtool.sh check)
set_tests_properties(unit.promtool PROPERTIES LABELS unit
  TIMEOUT ${MILLRACE_UNIT_TIMEOUT})
