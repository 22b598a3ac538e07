#include "worker_pool.hpp"

#include <malloc.h>

#include "log.hpp"

namespace kexecd {

WorkerPool::WorkerPool(std::string name, unsigned threads) : name_(std::move(name)) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
    stop(std::chrono::milliseconds(0));
}

void WorkerPool::post(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;  // `job` (and the reply it owns) goes unsent
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

bool WorkerPool::stop(std::chrono::milliseconds limit) {
    std::deque<Job> dropped;
    bool idle;
    {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        dropped.swap(queue_);
        wake_.notify_all();
        idle = idle_.wait_for(lock, limit, [this] { return running_ == 0; });
    }
    dropped.clear();  // outside the lock: a job's destructor may log
    for (auto& t : threads_) {
        if (!t.joinable()) continue;
        if (idle)
            t.join();
        else
            t.detach();  // stuck in a job; the caller exits without freeing
    }
    threads_.clear();
    if (!idle) log::warn("{}: a call is still running at exit", name_);
    return idle;
}

void WorkerPool::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
            ++running_;
        }
        try {
            job();
        } catch (const std::exception& e) {
            log::error("{}: unexpected error: {}", name_, e.what());
        } catch (...) {
            log::error("{}: unexpected error", name_);
        }
        // The job, and with it the reply it owns, goes before the pool says
        // it is idle: stop() returning must mean nothing touches the bus.
        job = Job();
        bool nothingLeft;
        {
            std::lock_guard lock(mutex_);
            --running_;
            nothingLeft = running_ == 0 && queue_.empty();
        }
        idle_.notify_all();
        // After a burst, give what the calls freed back to the system:
        // glibc keeps it in each thread's arena otherwise, and an idle
        // daemon should cost no more than it did before the burst.
        if (nothingLeft) ::malloc_trim(0);
    }
}

}  // namespace kexecd
