# The fault tests' Catch2 binary and a ctest entry per case, each alone on a
# fault lane's stack (millrace_stack_test, cmake/stacks.cmake); the
# sanitizer tree's run of some of them; and millrace-api's live stream
# against a commit PostgreSQL does not show yet.

add_executable(millrace_fault_tests fault/sink_fault_test.cpp fault/mock_cluster_test.cpp
  fault/http_fault_test.cpp fault/refusal_fault_test.cpp fault/frozen_fault_test.cpp
  fault/dead_letter_fault_test.cpp fault/matrix_fault_test.cpp fault/partition_fault_test.cpp
  fault/changefeed_fault_test.cpp fault/changefeed_backfill_test.cpp fault/outbox_fault_test.cpp
  fault/webhooks_fault_test.cpp support/failure_logs.cpp
  fault/main.cpp)
set_source_files_properties(support/failure_logs.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
# Its own main (--needs-netns), which defines Catch2's runner: the
# precompiled catch.hpp was parsed without CATCH_CONFIG_RUNNER.
set_source_files_properties(fault/main.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
target_link_libraries(millrace_fault_tests PRIVATE millrace_test_support millrace::sink millrace::changefeed
  millrace::runtime millrace::kafka_mock_cluster Catch2::Catch2)
millrace_test_use_pch(millrace_fault_tests)
add_dependencies(millrace_fault_tests millrace-producer millrace-changefeed millrace-webhooks)
millrace_stack_test(millrace_fault_tests sigkill fault 900)
millrace_stack_test(millrace_fault_tests pg-outage fault 900)
millrace_stack_test(millrace_fault_tests mock-cluster fault 600)
millrace_stack_test(millrace_fault_tests http-outage fault 300)
millrace_stack_test(millrace_fault_tests http-producer-renewal fault 120)
millrace_stack_test(millrace_fault_tests zombie fault 600)
millrace_stack_test(millrace_fault_tests aggregator-sigkill fault 900)
millrace_stack_test(millrace_fault_tests lag fault 600)
millrace_stack_test(millrace_fault_tests lag-restart fault 600)
millrace_stack_test(millrace_fault_tests pg-kill-commit fault 900)
millrace_stack_test(millrace_fault_tests aggregator-pg-kill fault 900)
millrace_stack_test(millrace_fault_tests db-refused fault 900)
millrace_stack_test(millrace_fault_tests db-refused-stop fault 300)
millrace_stack_test(millrace_fault_tests retention fault 600)
millrace_stack_test(millrace_fault_tests shutdown-paths fault 600)
millrace_stack_test(millrace_fault_tests frozen-member fault 600)
millrace_stack_test(millrace_fault_tests frozen-copy fault 600)
millrace_stack_test(millrace_fault_tests dlq-too-large fault 300)
millrace_stack_test(millrace_fault_tests dlq-refused fault 600)
millrace_stack_test(millrace_fault_tests dlq-producer-renewal fault 300)
millrace_stack_test(millrace_fault_tests sigkill-commit fault 900)
millrace_stack_test(millrace_fault_tests kafka-sigkill fault 900)
millrace_stack_test(millrace_fault_tests pg-immediate fault 900)
millrace_stack_test(millrace_fault_tests duplicate-sends fault 900)
millrace_stack_test(millrace_fault_tests mock-group-errors fault 600)
millrace_stack_test(millrace_fault_tests partition-kafka fault 600 NETNS)
millrace_stack_test(millrace_fault_tests partition-pg fault 600 NETNS)
millrace_stack_test(millrace_fault_tests changefeed-kill fault 900)
millrace_stack_test(millrace_fault_tests changefeed-slot-busy fault 300)
millrace_stack_test(millrace_fault_tests changefeed-pg-restart fault 900)
millrace_stack_test(millrace_fault_tests changefeed-stop-kafka-frozen fault 600)
millrace_stack_test(millrace_fault_tests changefeed-snapshot-kill fault 900)
millrace_stack_test(millrace_fault_tests changefeed-backfill-kill fault 900)
millrace_stack_test(millrace_fault_tests changefeed-backfill-where fault 900)
millrace_stack_test(millrace_fault_tests changefeed-slot-lost fault 600)
millrace_stack_test(millrace_fault_tests outbox-kill fault 900)
millrace_stack_test(millrace_fault_tests webhooks-kill fault 900)

# The sanitizer tree's turn (MILLRACE_SANITIZE_TREE, set by scripts/test):
# sanitize.built waits for scripts/test's background build of that tree, then
# its fuzz targets (fuzz.*, millrace_fuzz_target) and these fault tests, of
# every way a worker stops, run against the sink and aggregator built there
# (MILLRACE_TEST_BIN_DIR; the CLI that feeds them is this tree's), in the
# fault lanes, after the other tests. Leaks at exit are not what they look
# for (a dead letter whose report never came leaks its tracker by design);
# memory errors and undefined behaviour are.
if(MILLRACE_SANITIZE_TREE)
  add_test(NAME sanitize.built COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/sanitize_tree.sh
    ${MILLRACE_SANITIZE_TREE} ${CMAKE_BINARY_DIR}/sanitize-build.log)
  # DEPENDS: it starts after the tests that run alone (RUN_SERIAL), which
  # ctest leaves for the end. Started earlier, its wait would hold them back
  # until the tree is built, and they would then run alone after the
  # sanitizer tree's tests instead of while its build finishes.
  set_tests_properties(sanitize.built PROPERTIES FIXTURES_SETUP sanitize_tree
    LABELS "fuzz;fault" TIMEOUT 3600 DEPENDS "integration.spike;fault.leader-kill")
  foreach(case sigkill db-refused db-refused-stop retention shutdown-paths)
    set(name sanitize.fault.${case})
    add_test(NAME ${name} COMMAND ${in_fault_stack} $<TARGET_FILE:millrace_fault_tests> "[${case}]"
      --warn NoTests)
    millrace_on_fault_stack(${name})
    set_tests_properties(${name} PROPERTIES LABELS fault TIMEOUT 900
      FIXTURES_REQUIRED "${fault_fixtures};sanitize_tree"
      DEPENDS "millrace;millrace-sink;millrace-aggregator"
      ENVIRONMENT "MILLRACE_TEST_BIN_DIR=${MILLRACE_SANITIZE_TREE}/bin;ASAN_OPTIONS=detect_leaks=0;UBSAN_OPTIONS=print_stacktrace=1")
  endforeach()
endif()

# millrace-api's live stream and a commit the change feed publishes before
# PostgreSQL shows it to other sessions, held there by a synchronous-
# replication wait: the server's setting, so alone on a fault stack.
add_test(NAME fault.api-unshown-commit
  COMMAND ${in_fault_stack} ${CMAKE_CURRENT_SOURCE_DIR}/api/unshown_commit_test.sh
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(fault.api-unshown-commit PROPERTIES LABELS fault TIMEOUT 300
  DEPENDS "millrace;millrace-changefeed;millrace-api")
millrace_on_fault_stack(fault.api-unshown-commit)
