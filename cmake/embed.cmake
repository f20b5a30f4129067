# Files built into a library as C++ (the dashboard's assets, the OpenAPI
# description, the SQL migrations, the built-in kinds): one build step, run
# again whenever an embedded file or its script changes.
#
#   millrace_embed(<var> OUTPUT <name>.cpp SCRIPT <script>.cmake
#                  SOURCE_VAR <VAR> SOURCE <file or folder> [GLOB <pattern>]
#                  COMMENT <text>)
#
# runs `cmake -D<VAR>=<SOURCE> -DOUTPUT=<the .cpp> -P <script>` (the script,
# in the calling folder, writes the C++), and sets <var> to the generated
# source, for add_library. With GLOB, SOURCE is a folder and the step depends
# on its files matching the pattern (found again at every build, so a file
# added is embedded); without it, on the file SOURCE.
function(millrace_embed out_var)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT;SCRIPT;SOURCE_VAR;SOURCE;GLOB;COMMENT" "")
  if(arg_GLOB)
    file(GLOB inputs CONFIGURE_DEPENDS "${arg_SOURCE}/${arg_GLOB}")
  else()
    set(inputs "${arg_SOURCE}")
  endif()
  set(output "${CMAKE_CURRENT_BINARY_DIR}/${arg_OUTPUT}")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${CMAKE_COMMAND}" -D${arg_SOURCE_VAR}=${arg_SOURCE} -DOUTPUT=${output}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/${arg_SCRIPT}
    DEPENDS ${inputs} ${CMAKE_CURRENT_SOURCE_DIR}/${arg_SCRIPT}
    COMMENT "${arg_COMMENT}")
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()
