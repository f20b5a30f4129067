// The translation unit each of cmake/precompiled_headers.cmake's holder
// targets compiles, so that CMake builds its precompiled header, which the
// other targets then reuse. It defines nothing.
