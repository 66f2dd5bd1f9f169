#include "shared/cluster_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "shared/error.hpp"

namespace sqlrep {
namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t read_term_file(const std::string& path) {
    std::ifstream in(path);
    int64_t term = 0;
    if (in && !(in >> term)) throw Error(ErrorKind::internal, "cannot read the term from " + path);
    return term;
}

// Writes `text` to `path` durably: a temp file, fsynced, renamed over, and the directory
// fsynced, so a crash leaves either the old term or the new one.
void write_durably(const std::string& path, const std::string& text) {
    std::string temp = path + ".tmp";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(ErrorKind::internal, "cannot write " + temp);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0)
        throw Error(ErrorKind::internal, "cannot write " + path);
    std::string dir = std::filesystem::path(path).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

ClusterState::ClusterState(int self_id, std::string self_url, std::string term_file,
                           int64_t log_term)
    : self_id_(self_id), self_url_(std::move(self_url)), term_file_(std::move(term_file)) {
    int64_t stored = read_term_file(term_file_);
    term_ = std::max(stored, log_term);
    if (term_ != stored) write_term_file(term_);
    role_since_ms_ = now_ms();
}

void ClusterState::write_term_file(int64_t term) const {
    write_durably(term_file_, std::to_string(term) + "\n");
}

bool ClusterState::raise_term(int64_t term) {
    std::lock_guard lock(term_write_mutex_);
    if (term <= term_.load()) return false;
    write_term_file(term);  // durable before anyone acts on it
    term_ = term;
    spdlog::info("term {} begins here", term);
    return true;
}

ClusterState::Master ClusterState::master() const {
    std::lock_guard lock(mutex_);
    return master_;
}

void ClusterState::set_master(int id, std::string url, int64_t term) {
    std::lock_guard lock(mutex_);
    bool changed = master_.id != id || master_.term != term;
    if (changed && master_.term != 0 && term > master_.term) ++failovers_;
    if (changed)
        spdlog::info("master is node {} at {} (term {})", id, url.empty() ? "?" : url, term);
    master_ = Master{id, std::move(url), term};
}

void ClusterState::forget_master() {
    std::lock_guard lock(mutex_);
    master_.id = -1;
    master_.url.clear();
}

void ClusterState::set_role(std::string role) {
    std::lock_guard lock(mutex_);
    if (role == role_) return;
    role_ = std::move(role);
    role_since_ms_ = now_ms();
}

std::string ClusterState::role() const {
    std::lock_guard lock(mutex_);
    return role_;
}

void ClusterState::set_election(std::string state, bool etcd_reachable) {
    std::lock_guard lock(mutex_);
    election_ = std::move(state);
    etcd_reachable_ = etcd_reachable;
}

json::object ClusterState::status() const {
    std::lock_guard lock(mutex_);
    return json::object{
        {"term", term_.load()},           {"master", master_.url},
        {"master_id", master_.id},        {"role_since_ms", role_since_ms_},
        {"failovers", failovers_.load()}, {"snapshots_installed", snapshots_installed_.load()},
        {"election", election_},          {"etcd_reachable", etcd_reachable_}};
}

}  // namespace sqlrep
