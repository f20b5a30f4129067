# millrace-archiver: its fault tests (SIGKILL; the archive in S3 and Azure
# object storage) and its integration tests (the object stores'
# credentials, rebuilding from the archive, verifying it).

# millrace-archiver, driven by a script: fastavro (in .cache/venv, from
# scripts/bootstrap) reads its files, kcat reads the topic.
add_test(NAME fault.archive-sigkill
  COMMAND ${in_fault_stack} ${CMAKE_CURRENT_SOURCE_DIR}/archive/archive_test.sh sigkill
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(fault.archive-sigkill PROPERTIES LABELS fault TIMEOUT 600
  DEPENDS "millrace;millrace-archiver")
millrace_on_fault_stack(fault.archive-sigkill)
# The archive in object storage (tests/archive/objstore_test.sh): SeaweedFS's
# S3 and Azurite beside the stack, read back with boto3 and the Azure SDK.
foreach(store s3 azure)
  add_test(NAME fault.archive-${store}
    COMMAND ${in_fault_stack} ${CMAKE_CURRENT_SOURCE_DIR}/archive/objstore_test.sh ${store}
      ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(fault.archive-${store} PROPERTIES LABELS fault TIMEOUT 600
    DEPENDS "millrace;millrace-archiver")
  millrace_on_fault_stack(fault.archive-${store})
  millrace_needs_objstore(fault.archive-${store})
endforeach()
add_test(NAME integration.archive-store-credentials
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/archive/objstore_test.sh credentials
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.archive-store-credentials PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300 DEPENDS "millrace;millrace-archiver")
millrace_needs_objstore(integration.archive-store-credentials)
add_test(NAME integration.archive-rebuild
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/archive/archive_test.sh rebuild
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.archive-rebuild PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 600 DEPENDS "millrace;millrace-archiver;millrace-aggregator")
add_test(NAME integration.archive-verify
  COMMAND ${in_stack} ${CMAKE_CURRENT_SOURCE_DIR}/archive/archive_test.sh verify
    ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(integration.archive-verify PROPERTIES LABELS integration
  FIXTURES_REQUIRED stack TIMEOUT 300 DEPENDS "millrace;millrace-archiver")
