# Turns proto/kinds/<kind>.json into a C++ table at build time, so the
# binaries carry the built-in declarations and need no files on disk.
file(GLOB json_files "${KINDS_DIR}/*.json")
list(SORT json_files)
set(body "")
foreach(path IN LISTS json_files)
  get_filename_component(kind "${path}" NAME_WE)
  file(READ "${path}" json)
  string(APPEND body "    {\"${kind}\", R\"millrace_kind(${json})millrace_kind\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from proto/kinds by embed_kinds.cmake.\n#include \"millrace/kinds/registry.hpp\"\n\nnamespace millrace::kinds {\n\nstd::vector<BuiltIn> built_in_kinds() {\n  return {\n${body}  };\n}\n\n}  // namespace millrace::kinds\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
