#include "shared/sqlrep_vfs.hpp"

#include <mutex>

#include <sqlite3.h>

#include "shared/error.hpp"
#include "shared/wal_file.hpp"

namespace sqlrep {
namespace {

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base_vfs = nullptr;

}  // namespace

const char* sqlrep_vfs_name() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_base_vfs = sqlite3_vfs_find(nullptr);
        if (g_base_vfs == nullptr || g_base_vfs->iVersion < 2)
            throw Error(ErrorKind::internal, "no usable default SQLite VFS");
        g_vfs = *g_base_vfs;  // same methods, same pAppData: files are the base VFS's files
        g_vfs.zName = "sqlrep";
        g_vfs.pNext = nullptr;
        wrap_vfs_files(g_vfs, g_base_vfs);  // WAL writes gathered, the WAL sync hook
        if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK)
            throw Error(ErrorKind::internal, "cannot register the sqlrep VFS");
    });
    return "sqlrep";
}

}  // namespace sqlrep
