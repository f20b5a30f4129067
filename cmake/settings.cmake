# A component's settings, generated from their declaration, its
# settings.json (DEVELOPERS.md, Configuration): each setting's flag,
# variable, type, default, range and help are declared there once, and
# this writes, into the build tree, millrace/<component>/<header>: a struct
# holding the settings as members with their defaults, and, in a second
# header, a function template registering them, in the declared order, on
# a core::OptionSet.
# CMake reads the declaration at configure time and configures again when
# it changes.
#
# A declaration: {"namespace", "struct", "header" (the struct's),
# "function", "register_header" (the function's, for the config's source),
# "includes": [headers the struct needs], "register_includes": [headers
# the calls need], "settings": [...]}. A setting:
#   {"flag", "env", "type", "default", "help"; "member" (the flag with _
#    for -, when left out), "min"/"max" (int, double, duration), "unit"
#    (duration: ms, s, min, h, d), "choices" (choice), "cpp_type" and
#    "names" (enum: the type and its core::EnumNames table), "shown"
#    (string: "secret" or "property_list"), "env_fallbacks": [{"env",
#    "deprecation"}], "default_cpp" (string: a C++ constant naming the
#    default, where code uses it too)}
# Types: string, int, double, bool, duration, choice, enum, list.
# An entry {"call": "..."} is a nested component's or a shared
# declaration's registration, made at that place in the order (the help
# lists options in the order they are registered), on `o` and the config
# `c`; its members stay in the hand-written config.

# The C++ literal of a string.
function(_millrace_settings_literal out text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\n" "\\n" text "${text}")
  set(${out} "\"${text}\"" PARENT_SCOPE)
endfunction()

# Rewritten only when it changes (configure_file's way), so a configure
# rebuilds nothing else; the content is inserted as it is.
function(_millrace_settings_write path content)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/settings.hpp.in ${path} @ONLY)
endfunction()

# The C++ literals of the strings of the declaration's array at the path
# ARGN, comma-separated.
function(_millrace_settings_literals out text)
  set(literals "")
  string(JSON count LENGTH "${text}" ${ARGN})
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(k RANGE ${last})
      string(JSON item GET "${text}" ${ARGN} ${k})
      _millrace_settings_literal(item "${item}")
      if(k GREATER 0)
        string(APPEND literals ", ")
      endif()
      string(APPEND literals "${item}")
    endforeach()
  endif()
  set(${out} "${literals}" PARENT_SCOPE)
endfunction()

# The #include lines of the declaration's list `key`.
function(_millrace_settings_includes out text key)
  set(lines "")
  string(JSON count ERROR_VARIABLE missing LENGTH "${text}" ${key})
  if(NOT missing AND count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON include GET "${text}" ${key} ${i})
      string(APPEND lines "#include \"${include}\"\n")
    endforeach()
  endif()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

function(millrace_generate_settings target declaration)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${declaration})
  file(READ ${declaration} text)
  string(JSON ns GET "${text}" namespace)
  string(JSON struct_name GET "${text}" struct)
  string(JSON function GET "${text}" function)
  string(JSON header GET "${text}" header)
  string(JSON register_header GET "${text}" register_header)
  _millrace_settings_includes(includes "${text}" includes)
  _millrace_settings_includes(register_includes "${text}" register_includes)
  set(members "")
  set(calls "")
  string(JSON count LENGTH "${text}" settings)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON call ERROR_VARIABLE no_call GET "${text}" settings ${i} call)
    if(NOT no_call)
      string(APPEND calls "  ${call};\n")
      continue()
    endif()
    string(JSON flag GET "${text}" settings ${i} flag)
    string(JSON env GET "${text}" settings ${i} env)
    string(JSON type GET "${text}" settings ${i} type)
    string(JSON help GET "${text}" settings ${i} help)
    string(JSON member ERROR_VARIABLE no_member GET "${text}" settings ${i} member)
    if(no_member)
      string(REPLACE "-" "_" member "${flag}")
    endif()
    string(JSON min ERROR_VARIABLE no_min GET "${text}" settings ${i} min)
    string(JSON max ERROR_VARIABLE no_max GET "${text}" settings ${i} max)
    string(JSON default_type ERROR_VARIABLE no_default TYPE "${text}" settings ${i} default)
    if(NOT no_default)
      string(JSON default GET "${text}" settings ${i} default)
    endif()
    # A default a C++ constant defines (used elsewhere too): its name.
    string(JSON default_cpp ERROR_VARIABLE no_default_cpp GET "${text}" settings ${i} default_cpp)
    _millrace_settings_literal(flag_literal "${flag}")
    _millrace_settings_literal(env_literal "${env}")
    _millrace_settings_literal(help_literal "${help}")
    set(head "${flag_literal}, ${env_literal}, &c.${member}")
    if(type MATCHES "^(int|double|duration)$" AND (no_min OR no_max))
      message(FATAL_ERROR "${declaration}: ${flag}: a ${type} takes min and max")
    endif()
    if(type STREQUAL "string" OR type STREQUAL "choice")
      if(NOT no_default_cpp)
        set(initial " = std::string(${default_cpp})")
      elseif(no_default)
        set(initial "")
      else()
        _millrace_settings_literal(initial "${default}")
        set(initial " = ${initial}")
      endif()
      string(APPEND members "  std::string ${member}${initial};\n")
      if(type STREQUAL "choice")
        _millrace_settings_literals(choices "${text}" settings ${i} choices)
        string(APPEND calls "  o.add_choice(${head}, ${help_literal}, {${choices}});\n")
      else()
        string(JSON shown ERROR_VARIABLE no_shown GET "${text}" settings ${i} shown)
        set(shown_arg "")
        if(NOT no_shown)
          if(shown STREQUAL "secret")
            set(shown_arg ", core::OptionSet::Shown::kSecret")
          elseif(shown STREQUAL "property_list")
            set(shown_arg ", core::OptionSet::Shown::kPropertyList")
          else()
            message(FATAL_ERROR "${declaration}: ${flag}: shown is secret or property_list")
          endif()
        endif()
        string(APPEND calls "  o.add_string(${head}, ${help_literal}${shown_arg});\n")
      endif()
    elseif(type STREQUAL "int" OR type STREQUAL "duration")
      if(no_default)
        message(FATAL_ERROR "${declaration}: ${flag}: a ${type} takes a default")
      endif()
      string(APPEND members "  std::int64_t ${member} = ${default};\n")
      if(type STREQUAL "int")
        string(APPEND calls "  o.add_int(${head}, ${help_literal}, ${min}, ${max});\n")
      else()
        string(JSON unit GET "${text}" settings ${i} unit)
        set(units_ms "Milliseconds")
        set(units_s "Seconds")
        set(units_min "Minutes")
        set(units_h "Hours")
        set(units_d "Days")
        if(NOT DEFINED units_${unit})
          message(FATAL_ERROR "${declaration}: ${flag}: unit is ms, s, min, h or d")
        endif()
        string(APPEND calls "  o.add_duration(${head}, core::OptionSet::DurationUnit::k${units_${unit}}, "
          "${help_literal}, ${min}, ${max});\n")
      endif()
    elseif(type STREQUAL "double")
      string(APPEND members "  double ${member} = ${default};\n")
      string(APPEND calls "  o.add_double(${head}, ${help_literal}, ${min}, ${max});\n")
    elseif(type STREQUAL "bool")
      if(no_default OR NOT default_type STREQUAL "BOOLEAN")
        message(FATAL_ERROR "${declaration}: ${flag}: a bool's default is true or false")
      endif()
      if(default)
        set(default true)
      else()
        set(default false)
      endif()
      string(APPEND members "  bool ${member} = ${default};\n")
      string(APPEND calls "  o.add_bool(${head}, ${help_literal});\n")
    elseif(type STREQUAL "enum")
      string(JSON cpp_type GET "${text}" settings ${i} cpp_type)
      string(JSON names GET "${text}" settings ${i} names)
      string(APPEND members "  ${cpp_type} ${member} = ${default};\n")
      string(APPEND calls "  o.add_enum(${head}, ${names}, ${help_literal});\n")
    elseif(type STREQUAL "list")
      set(initial "")
      if(NOT no_default)
        _millrace_settings_literals(items "${text}" settings ${i} default)
        if(NOT items STREQUAL "")
          set(initial " = {${items}}")
        endif()
      endif()
      string(APPEND members "  std::vector<std::string> ${member}${initial};\n")
      string(APPEND calls "  o.add_list(${head}, ${help_literal});\n")
    else()
      message(FATAL_ERROR "${declaration}: ${flag}: unknown type ${type}")
    endif()
    string(JSON fallback_count ERROR_VARIABLE no_fallbacks LENGTH "${text}" settings ${i}
      env_fallbacks)
    if(NOT no_fallbacks AND fallback_count GREATER 0)
      math(EXPR fallback_last "${fallback_count} - 1")
      foreach(k RANGE ${fallback_last})
        string(JSON fallback GET "${text}" settings ${i} env_fallbacks ${k} env)
        string(JSON deprecation ERROR_VARIABLE no_deprecation GET "${text}" settings ${i}
          env_fallbacks ${k} deprecation)
        _millrace_settings_literal(fallback "${fallback}")
        if(no_deprecation)
          string(APPEND calls "  o.add_env_fallback(${flag_literal}, ${fallback});\n")
        else()
          _millrace_settings_literal(deprecation "${deprecation}")
          string(APPEND calls
            "  o.add_env_fallback(${flag_literal}, ${fallback}, ${deprecation});\n")
        endif()
      endforeach()
    endif()
  endforeach()
  file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${declaration})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/generated)
  _millrace_settings_write(${dir}/${header} "// Generated from ${source} by cmake/settings.cmake: edit that file, not this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include \"millrace/core/options.hpp\"
${includes}
namespace ${ns} {

// The settings ${source} declares, each with its default.
struct ${struct_name} {
${members}};

}  // namespace ${ns}
")
  # Apart, so that the calls it makes may name functions the config's
  # header declares after the struct it derives from.
  _millrace_settings_write(${dir}/${register_header} "// Generated from ${source} by cmake/settings.cmake: edit that file, not this.
#pragma once

#include \"millrace/core/options.hpp\"
#include \"${header}\"
${register_includes}
namespace ${ns} {

// Registers ${struct_name}'s settings on `o`, in the declared order, with
// the components the declaration names; `c` is the config holding them.
template <typename Config>
void ${function}(core::OptionSet& o, Config& c) {
${calls}}

}  // namespace ${ns}
")
  target_include_directories(${target} PUBLIC ${dir})
endfunction()
