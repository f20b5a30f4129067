# A component's metric families, generated from their declaration, its
# metrics.json: each family's name, type and help are declared there once.
#
#   millrace_generate_metrics(<target> <metrics.json> <namespace> <struct> <header>)
#
# writes, into the build tree, <header>: in <namespace>, a struct <struct>
# holding a handle of each family as a member, registered on a
# metrics::Registry in the declared order (the order a scrape lists the
# families of a type in). CMake reads the declaration at configure time and
# configures again when it changes; scripts/docs-tables reads the names
# from it.
#
# A declaration: {"families": [...]}. A family: {"member", "type"
# (counter, gauge or histogram), "name", "help"; "buckets" (a histogram's:
# latency, fine_latency or size: metrics::latency_buckets() ...)}. Families
# with labels, or computed at scrape, stay in the probe's code.
# Included after cmake/settings.cmake, whose C++ literal of a string
# (_millrace_settings_literal) it writes the names and help with.

function(millrace_generate_metrics target declaration ns struct_name header)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${declaration})
  file(READ ${declaration} text)
  set(members "")
  set(inits "")
  set(separator "")
  string(JSON count LENGTH "${text}" families)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON family GET "${text}" families ${i})
    string(JSON member GET "${family}" member)
    string(JSON type GET "${family}" type)
    string(JSON name GET "${family}" name)
    string(JSON help GET "${family}" help)
    _millrace_settings_literal(name_literal "${name}")
    _millrace_settings_literal(help_literal "${help}")
    set(arguments "${name_literal}, ${help_literal}")
    if(NOT type MATCHES "^(counter|gauge|histogram)$")
      message(FATAL_ERROR "${declaration}: ${name}: no type '${type}'")
    endif()
    if(type STREQUAL "histogram")
      string(JSON buckets GET "${family}" buckets)
      if(NOT buckets MATCHES "^(latency|fine_latency|size)$")
        message(FATAL_ERROR "${declaration}: ${name}: buckets are latency, fine_latency or size")
      endif()
      string(APPEND arguments ", metrics::${buckets}_buckets()")
    endif()
    # metrics::Counter, Gauge or Histogram, made by Registry::counter() ...
    string(SUBSTRING "${type}" 0 1 initial)
    string(TOUPPER "${initial}" initial)
    string(SUBSTRING "${type}" 1 -1 rest)
    string(APPEND members "  metrics::${initial}${rest} ${member};\n")
    # (A list would split a help text at its semicolons.)
    string(APPEND inits "${separator}${member}(registry.${type}(${arguments}))")
    set(separator ",\n        ")
  endforeach()
  file(RELATIVE_PATH source ${PROJECT_SOURCE_DIR} ${declaration})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/generated_metrics)
  file(CONFIGURE OUTPUT ${dir}/${header} CONTENT "// Generated from ${source} by cmake/metrics.cmake: edit that file, not this.
#pragma once

#include \"millrace/metrics/metrics.hpp\"

namespace ${ns} {

struct ${struct_name} {
  explicit ${struct_name}(metrics::Registry& registry)
      : ${inits} {}

${members}};

}  // namespace ${ns}
" @ONLY)
  target_include_directories(${target} PRIVATE ${dir})
endfunction()
