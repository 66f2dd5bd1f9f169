#pragma once
// The environment entries that preload io_shim.cpp into a node ("NAME=value", for
// ClusterOptions::master_env); the shim's own knobs are added by the test using it.

#include <cstdlib>
#include <string>
#include <vector>

namespace sqlrep::test {

inline std::vector<std::string> io_shim_env() {
    // Under AddressSanitizer the shim is loaded before ASan's runtime: ASan must allow it.
    const char* asan = std::getenv("ASAN_OPTIONS");
    std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "";
    // Built by append: GCC 12 warns (wrongly, -Warray-bounds) on string("...") + macro.
    std::string preload = "LD_PRELOAD=";
    preload.append(SQLREP_IO_SHIM);
    return {preload, "ASAN_OPTIONS=" + asan_options + "verify_asan_link_order=0"};
}

}  // namespace sqlrep::test
