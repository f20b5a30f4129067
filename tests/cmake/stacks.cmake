# The stacks the tests run on: their ctest fixtures, the fault lanes and the
# object stores, and the functions that put a test on one. Included first
# by tests/CMakeLists.txt: the variables (stack_dir, in_stack,
# in_fault_stack, ...) and functions set here serve the files after it.

# Three stacks, so that ctest -j can run tests side by side (scripts/test):
# - `stack` (build/test-stack): the integration tests, several at once.
#   Each uses names of its own (unique_name) and leaves the servers alone.
# - two fault stacks, the lanes `a` (build/test-stack-fault) and `b`
#   (build/test-stack-fault-b): the fault tests, and the few integration
#   tests that stop one of the stack's servers. Each runs alone on a fault
#   stack, beside the integration tests and the other lane's test. ctest hands
#   out the lanes as a resource (RESOURCE_GROUPS "fault_stack:1", from the
#   resource spec written below), and in_stack.sh reads which one a test got.
# in_stack.sh gives each test its state dir.
set(stack_dir ${CMAKE_BINARY_DIR}/test-stack)
set(fault_stack_dir ${CMAKE_BINARY_DIR}/test-stack-fault)
set(in_stack ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${stack_dir})
set(in_fault_stack ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${fault_stack_dir})
add_test(NAME stack.up COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh up)
add_test(NAME stack.down COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh down)
set_tests_properties(stack.up PROPERTIES FIXTURES_SETUP stack LABELS integration TIMEOUT 600
  COST 10000)
set_tests_properties(stack.down PROPERTIES FIXTURES_CLEANUP stack LABELS integration)
set(fault_lanes a b)
set(fault_fixtures "")
set(fault_lane_specs "")
foreach(lane ${fault_lanes})
  if(lane STREQUAL "a")
    set(dir ${fault_stack_dir})
    set(test_name fault-stack)
  else()
    set(dir ${fault_stack_dir}-${lane})
    set(test_name fault-stack-${lane})
  endif()
  add_test(NAME ${test_name}.up COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${dir}
    ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh up)
  add_test(NAME ${test_name}.down COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${dir}
    ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh down)
  set_tests_properties(${test_name}.up PROPERTIES FIXTURES_SETUP fault_stack_${lane}
    LABELS "integration;fault" TIMEOUT 600 COST 10000)
  set_tests_properties(${test_name}.down PROPERTIES FIXTURES_CLEANUP fault_stack_${lane}
    LABELS "integration;fault")
  list(APPEND fault_fixtures fault_stack_${lane})
  list(APPEND fault_lane_specs "{\"id\": \"${lane}\", \"slots\": 1}")
endforeach()

# The object stores (deploy/local/stack up objstore: SeaweedFS' S3 and
# Azurite), started in a stack's state dir only for the tests that need
# them, so that the others do not wait for them: `objstore` beside `stack`,
# and one beside each fault lane's stack (`objstore_fault_a`, ...).
# millrace_needs_objstore(test) gives a test the ones of the stacks it may
# run on. `stack env` then exports MILLRACE_S3_*, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY and MILLRACE_AZURE_* (docs/archive.md).
# Each cleanup requires its stack too, so that it runs before the stack's.
add_test(NAME objstore.up
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh up-objstore)
add_test(NAME objstore.down
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh down-objstore)
set_tests_properties(objstore.up PROPERTIES FIXTURES_SETUP objstore FIXTURES_REQUIRED stack
  LABELS integration TIMEOUT 300)
set_tests_properties(objstore.down PROPERTIES FIXTURES_CLEANUP objstore FIXTURES_REQUIRED stack
  LABELS integration)
set(fault_objstore_fixtures "")
foreach(lane ${fault_lanes})
  if(lane STREQUAL "a")
    set(dir ${fault_stack_dir})
    set(test_name fault-objstore)
  else()
    set(dir ${fault_stack_dir}-${lane})
    set(test_name fault-objstore-${lane})
  endif()
  add_test(NAME ${test_name}.up COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${dir}
    ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh up-objstore)
  add_test(NAME ${test_name}.down COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/in_stack.sh ${dir}
    ${CMAKE_CURRENT_SOURCE_DIR}/stack_fixture.sh down-objstore)
  set_tests_properties(${test_name}.up PROPERTIES FIXTURES_SETUP objstore_fault_${lane}
    FIXTURES_REQUIRED fault_stack_${lane} LABELS "integration;fault" TIMEOUT 300)
  set_tests_properties(${test_name}.down PROPERTIES FIXTURES_CLEANUP objstore_fault_${lane}
    FIXTURES_REQUIRED fault_stack_${lane} LABELS "integration;fault")
  list(APPEND fault_objstore_fixtures objstore_fault_${lane})
endforeach()

# The lanes as ctest resources. ctest reads the spec through
# CTEST_RESOURCE_SPEC_FILE, set in the top directory (CMakeLists.txt), so a
# plain `ctest -j` in the build tree shares them out too.
list(JOIN fault_lane_specs ", " fault_lane_specs)
file(WRITE ${MILLRACE_CTEST_RESOURCES}
  "{\"version\": {\"major\": 1, \"minor\": 0},\n"
  " \"local\": [{\"fault_stack\": [${fault_lane_specs}]}]}\n")

# Runs test `name` on a fault stack, alone there. The fault lanes take
# longest (their tests run one at a time), so ctest -j starts their tests
# first (COST orders them when a clean tree has no timings yet) and the
# integration tests fill the other slots beside them.
function(millrace_on_fault_stack name)
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${fault_fixtures}"
    RESOURCE_GROUPS "fault_stack:1" COST 1000)
endfunction()

# Test `name` needs the object stores: those beside the fault lanes' stacks
# when it runs on a fault stack (call millrace_on_fault_stack first), else
# the one beside `stack`.
function(millrace_needs_objstore name)
  get_test_property(${name} RESOURCE_GROUPS groups)
  if(groups MATCHES "fault_stack")
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED ${fault_objstore_fixtures})
  else()
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED objstore)
  endif()
endfunction()

# The exit status of millrace_fault_tests --needs-netns on a host that
# cannot make a network namespace (tests/fault/main.cpp): ctest reports the
# case as skipped, not passed.
set(millrace_fault_skip_code 77)

# One ctest entry per Catch2 test case, so labels, fixtures and timeouts
# apply per case. EXCLUSIVE: an integration test that stops one of the
# stack's servers, run where the fault tests run. NETNS: a case that needs
# network namespaces (tests/support/netns.hpp), skipped where there are none.
function(millrace_stack_test binary case label timeout)
  cmake_parse_arguments(PARSE_ARGV 4 arg "EXCLUSIVE;NETNS" "" "")
  set(on_fault_stack FALSE)
  if(label STREQUAL "fault" OR arg_EXCLUSIVE)
    set(on_fault_stack TRUE)
  endif()
  if(on_fault_stack)
    set(runner ${in_fault_stack})
  else()
    set(runner ${in_stack})
  endif()
  # --warn NoTests: a tag that names no test case fails instead of passing.
  set(needs "")
  if(arg_NETNS)
    set(needs --needs-netns)
  endif()
  add_test(NAME ${label}.${case} COMMAND ${runner} $<TARGET_FILE:${binary}> ${needs} "[${case}]"
    --warn NoTests)
  set_tests_properties(${label}.${case} PROPERTIES LABELS ${label} TIMEOUT ${timeout}
    DEPENDS "millrace;millrace-sink;millrace-aggregator")
  if(arg_NETNS)
    set_tests_properties(${label}.${case} PROPERTIES SKIP_RETURN_CODE ${millrace_fault_skip_code})
  endif()
  if(on_fault_stack)
    # Fault tests stop the servers of their stack: one at a time there.
    millrace_on_fault_stack(${label}.${case})
  else()
    set_tests_properties(${label}.${case} PROPERTIES FIXTURES_REQUIRED stack)
  endif()
endfunction()
