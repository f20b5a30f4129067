# Builds proto/openapi.yaml into millrace-api, the static part of the
# OpenAPI description it serves (src/openapi.hpp).
file(READ "${INPUT}" text)
string(FIND "${text}" ")millrace_openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} holds the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from proto/openapi.yaml by embed_openapi.cmake.\n#include \"openapi.hpp\"\n\nnamespace millrace::api {\n\nstd::string_view static_openapi() {\n  return R\"millrace_openapi(${text})millrace_openapi\";\n}\n\n}  // namespace millrace::api\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
