#include "shared/published_index.hpp"

#include <sqlite3.h>

namespace sqlrep {

void PublishedIndex::watch(sqlite3* writer) {
    sqlite3_commit_hook(
        writer,
        [](void* self) {
            static_cast<PublishedIndex*>(self)->hide();
            return 0;  // let the commit go on
        },
        this);
}

// Sequentially consistent stores: the odd count is visible to every reader before any
// byte of the commit is, and the index before the count turns even again.
void PublishedIndex::hide() {
    uint64_t count = count_.load();
    if (count % 2 == 0) count_.store(count + 1);
}

void PublishedIndex::publish(int64_t index) {
    hide();
    index_.store(index);
    count_.store(count_.load() + 1);
}

PublishedIndex::Ticket PublishedIndex::start() const {
    uint64_t count = count_.load();
    return {count, index_.load()};
}

std::optional<int64_t> PublishedIndex::index_if_unchanged(Ticket ticket) const {
    // Whatever the read saw of the database was read before this load.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ticket.count % 2 != 0 || count_.load() != ticket.count) return std::nullopt;
    return ticket.index;
}

}  // namespace sqlrep
