#pragma once
// The index of the writer's last commit, published for the read connections. Every read
// answers with the log index its snapshot holds, and asking the log for it cost a query
// per read (7% of a replica's CPU per point read). A sequence count (a seqlock) tells a
// reader instead whether any commit could have happened while it read; only then does
// it ask the log, inside its own snapshot, as before.
//
// Writer side (the one thread that owns the writer connection): watch() the connection
// once. Its commit hook makes the count odd before every commit, whatever the commit
// is; publish(index) after it stores the index the database now holds and makes the
// count even again. A commit nobody publishes after only sends readers to the log until
// the next publish(). hide() covers a change the commit hook does not see (the backup
// API's copy of a snapshot into the writer).
//
// Reader side (any thread): start() before the read's statements, then
// index_if_unchanged() after them, inside the same read transaction.

#include <atomic>
#include <cstdint>
#include <optional>

struct sqlite3;

namespace sqlrep {

class PublishedIndex {
  public:
    PublishedIndex() = default;
    PublishedIndex(const PublishedIndex&) = delete;
    PublishedIndex& operator=(const PublishedIndex&) = delete;

    // Installs the commit hook on `writer` (it replaces any other commit hook).
    void watch(sqlite3* writer);
    // The database is about to change: readers go to the log until the next publish().
    void hide();
    // The database now holds the log up to `index`.
    void publish(int64_t index);

    struct Ticket {
        uint64_t count;
        int64_t index;
    };
    Ticket start() const;
    // The published index, if no commit can have happened since `ticket` was taken.
    std::optional<int64_t> index_if_unchanged(Ticket ticket) const;

  private:
    // Odd while the database may hold something other than index_ (from the start, until
    // the first publish()). One writer thread changes both.
    std::atomic<uint64_t> count_{1};
    std::atomic<int64_t> index_{0};
};

}  // namespace sqlrep
