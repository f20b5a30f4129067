# Turns proto/<dir>/<name>.json into a C++ table at build time, so the
# binaries carry the built-in declarations (proto/kinds) and feed files
# (proto/feeds) and need no files on disk. The table's function is named
# after OUTPUT: built_in_kinds.cpp defines built_in_kinds(), returning
# {name, text} pairs (BuiltIn, registry.hpp) in name order.
get_filename_component(function "${OUTPUT}" NAME_WE)
file(GLOB json_files "${JSON_DIR}/*.json")
list(SORT json_files)
set(body "")
foreach(path IN LISTS json_files)
  get_filename_component(name "${path}" NAME_WE)
  file(READ "${path}" json)
  string(APPEND body "    {\"${name}\", R\"millrace_json(${json})millrace_json\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${JSON_DIR} by embed_json.cmake.\n#include \"millrace/kinds/registry.hpp\"\n\nnamespace millrace::kinds {\n\nstd::vector<BuiltIn> ${function}() {\n  return {\n${body}  };\n}\n\n}  // namespace millrace::kinds\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
