#include "shared/temp_files.hpp"

#include <filesystem>
#include <random>

namespace sqlrep {

std::string temp_prefix(const std::string& database_path) { return database_path + ".tmp-"; }

std::string unique_temp_path(const std::string& prefix, const std::string& kind,
                             const std::string& extension) {
    std::random_device random;
    return prefix + kind + "-" + std::to_string(random()) + std::to_string(random()) + extension;
}

int remove_temp_files(const std::string& prefix) {
    namespace fs = std::filesystem;
    fs::path where(prefix);
    std::string name_prefix = where.filename().string();
    int removed = 0;
    std::error_code ec;
    fs::path dir = where.has_parent_path() ? where.parent_path() : fs::path(".");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().rfind(name_prefix, 0) != 0) continue;
        std::error_code ignored;
        removed += fs::remove(entry.path(), ignored) ? 1 : 0;
    }
    return removed;
}

}  // namespace sqlrep
