#include "shared/io_threads.hpp"

#include <algorithm>
#include <thread>

namespace sqlrep {

IoThreads::IoThreads(int count) {
    for (int i = 0; i < std::max(count, 1); ++i)
        contexts_.push_back(std::make_unique<net::io_context>(1));  // one thread each
}

IoThreads::~IoThreads() = default;

net::io_context& IoThreads::session_context() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoThreads::run() {
    std::vector<net::executor_work_guard<net::io_context::executor_type>> idle_guards;
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        // A context with no connection yet must not return from run() at once.
        idle_guards.push_back(net::make_work_guard(*contexts_[i]));
        threads.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    main().run();
    for (std::size_t i = 1; i < contexts_.size(); ++i) contexts_[i]->stop();
    for (auto& thread : threads) thread.join();
}

}  // namespace sqlrep
