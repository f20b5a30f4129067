// The fault tests' main: Catch2's, behind one check of our own. Catch2 v2
// cannot report a test case as skipped, and a case that returns early when
// the host lacks what it needs would pass without testing anything. So ctest
// runs the cases that need network namespaces with --needs-netns first, and
// when the host cannot make one this exits with kSkipExitCode, which
// tests/cmake/stacks.cmake gives ctest as their SKIP_RETURN_CODE: the run's
// summary lists them as skipped, with the reason in their output.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <string_view>

#include "netns.hpp"

namespace {

// tests/cmake/stacks.cmake: millrace_fault_skip_code.
constexpr int kSkipExitCode = 77;

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--needs-netns") {
    if (const auto why = millrace::testing::NetNs::unavailable()) {
      std::printf("skipped: no network namespaces: %s\n", why->c_str());
      return kSkipExitCode;
    }
    // Catch2 sees the arguments after it.
    argv[1] = argv[0];
    return Catch::Session().run(argc - 1, argv + 1);
  }
  return Catch::Session().run(argc, argv);
}
