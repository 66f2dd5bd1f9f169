#include "replica/applier.hpp"

#include <algorithm>
#include <optional>

#include "shared/effects.hpp"
#include "shared/error.hpp"
#include "shared/snapshot.hpp"
#include "shared/write_transaction.hpp"

namespace sqlrep::replica {

namespace {
// The replica trims its own log in steps of this many entries.
constexpr int64_t kTrimStep = 1000;
}  // namespace

Applier::Applier(std::unique_ptr<Connection> writer, int64_t log_retain, PublishedIndex& published)
    : writer_(std::move(writer)),
      log_retain_(log_retain),
      effects_(std::make_unique<EffectApplier>(*writer_)),
      published_(published) {
    ensure_log_schema(*writer_);
    position_ = last_log_position(*writer_);
    first_index_ = first_log_index(*writer_);
    term_ = position_.term;
    published_.watch(writer_->handle());
    published_.publish(position_.index);
}

void Applier::close() {
    effects_.reset();
    writer_.reset();
}

void Applier::install_snapshot(const std::string& path) {
    published_.hide();  // the backup API's copy does not pass the commit hook
    sqlrep::install_snapshot(*writer_, path);
    ensure_log_schema(*writer_);  // a snapshot of an older master's file
    effects_->forget_tables();
    position_ = last_log_position(*writer_);
    first_index_ = first_log_index(*writer_);
    term_ = position_.term;
    published_.publish(position_.index);
}

void Applier::check(const LogPosition& previous, const Entry& entry) const {
    if (entry.index != previous.index + 1)
        throw Error(ErrorKind::conflict, "expected entry " + std::to_string(previous.index + 1) +
                                             ", got " + std::to_string(entry.index));
    if (entry.term < previous.term)
        throw Error(ErrorKind::diverged, "entry " + std::to_string(entry.index) +
                                             " has an older term than the replica's log");
    if (chain_hash(previous.hash, entry) != entry.hash)
        throw Error(ErrorKind::diverged,
                    "entry " + std::to_string(entry.index) +
                        " does not chain from this replica's log: the histories differ");
}

void Applier::apply(const std::vector<Entry>& entries) {
    LogPosition next = position_;
    std::optional<std::size_t> restore;  // the first restore entry, which ends the batch
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& entry = entries[i];
        check(next, entry);
        if (is_restore_body(entry.body)) {
            restore = i;
            break;
        }
        next = {entry.index, entry.term, entry.hash};
    }
    if (restore) {
        if (*restore > 0)
            apply(std::vector<Entry>(entries.begin(),
                                     entries.begin() + static_cast<std::ptrdiff_t>(*restore)));
        throw SnapshotNeeded(entries[*restore].index);
    }

    WriteTransaction transaction(*writer_);
    for (const Entry& entry : entries) {
        effects_->apply(entry.index, entry.body);
        append_log_entry(*writer_, entry);
    }
    int64_t trim_to = next.index - log_retain_;
    bool trim = trim_to >= first_index_ + kTrimStep;
    if (trim) {
        // Entries a change sink has not delivered stay here too (up to kSinkMaxHold), so
        // that this node, once master, carries on from the sink's position.
        if (auto sink = lowest_sink_position(*writer_))
            trim_to = std::min(trim_to, std::max(*sink, next.index - kSinkMaxHold));
        trim = trim_to >= first_index_ + kTrimStep;
    }
    if (trim) trim_log(*writer_, trim_to);
    transaction.commit();
    if (trim) first_index_ = trim_to + 1;
    position_ = next;
    term_ = next.term;
    published_.publish(position_.index);
}

}  // namespace sqlrep::replica
