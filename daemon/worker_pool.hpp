#pragma once
// A fixed set of threads taking jobs from a queue.
//
// Fixed, so that no flood of calls can make the daemon start threads without
// end (nor leave more threads behind than it started with), and joined at
// shutdown, so that once stop() has returned no job touches the bus
// connection again: a detached worker destroying its sdbus::Result after
// main() freed the connection was a use after free.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unique_function.hpp"

namespace kexecd {

class WorkerPool {
  public:
    WorkerPool(std::string name, unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues `job`. Admission (how many a caller may queue) is the caller's
    // business; after stop() the job is destroyed unrun.
    void post(Job job);

    // Drops the jobs not started yet, waits at most `limit` for the running
    // ones and joins the threads. False if a job is still running: its thread
    // is then left alone and the caller must not free what the job uses.
    bool stop(std::chrono::milliseconds limit);

  private:
    void run();

    std::string name_;
    std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::deque<Job> queue_;
    unsigned running_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace kexecd
