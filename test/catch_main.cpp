// Catch2's implementation and main(), compiled once and linked into both test binaries.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
