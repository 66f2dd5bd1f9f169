#include "shared/temp_files.hpp"

#include <filesystem>
#include <random>

namespace sqlrep {
namespace {
constexpr const char* kInfix = ".tmp-";
}  // namespace

std::string temp_path(const std::string& database_path, const std::string& name) {
    return database_path + kInfix + name;
}

std::string unique_temp_path(const std::string& database_path, const std::string& kind,
                             const std::string& extension) {
    std::random_device random;
    return temp_path(database_path,
                     kind + "-" + std::to_string(random()) + std::to_string(random()) + extension);
}

int remove_temp_files(const std::string& database_path) {
    namespace fs = std::filesystem;
    fs::path database(database_path);
    const std::string prefix = database.filename().string() + kInfix;
    fs::path dir = database.has_parent_path() ? database.parent_path() : fs::path(".");
    int removed = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().rfind(prefix, 0) != 0) continue;
        std::error_code ignored;
        removed += fs::remove(entry.path(), ignored) ? 1 : 0;
    }
    return removed;
}

}  // namespace sqlrep
