# The leader-kill case runs on its own three-broker cluster (and PostgreSQL),
# started only for it.
set(cluster_dir ${CMAKE_BINARY_DIR}/test-cluster)
add_test(NAME cluster.up COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh up ${cluster_dir} 3)
add_test(NAME cluster.down COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh down ${cluster_dir})
set_tests_properties(cluster.up PROPERTIES FIXTURES_SETUP cluster LABELS fault TIMEOUT 600)
set_tests_properties(cluster.down PROPERTIES FIXTURES_CLEANUP cluster LABELS fault)
add_test(NAME fault.leader-kill COMMAND millrace_fault_tests "[leader-kill]" --warn NoTests)
set_tests_properties(fault.leader-kill PROPERTIES LABELS fault FIXTURES_REQUIRED cluster
  TIMEOUT 900 RUN_SERIAL TRUE ENVIRONMENT "MILLRACE_STATE_DIR=${cluster_dir}"
  DEPENDS "millrace;millrace-sink")
