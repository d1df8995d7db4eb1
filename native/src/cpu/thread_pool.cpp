// Thread pool: workers sleep on a condition variable between jobs and claim task indices
// from an atomic counter, so uneven tasks (ragged KV heads) balance themselves.
#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace kvp {
namespace {

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int threads() const { return int(workers_.size()) + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> run(runMu_);
    stop();
    start(threads);
  }

  void run(int tasks, const std::function<void(int)> &fn) {
    if (tasks <= 0) return;
    std::lock_guard<std::mutex> run(runMu_);
    if (tasks == 1 || workers_.empty()) {
      for (int i = 0; i < tasks; i++) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      active_ = int(workers_.size());
      generation_++;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, [&] { return active_ == 0; });
    fn_ = nullptr;
  }

 private:
  void work() {
    for (int i = next_.fetch_add(1); i < tasks_; i = next_.fetch_add(1)) (*fn_)(i);
  }

  void loop() {
    unsigned seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
      }
      work();
      std::lock_guard<std::mutex> lk(mu_);
      if (--active_ == 0) done_.notify_one();
    }
  }

  void start(int threads) {
    quit_ = false;
    for (int i = 1; i < threads; i++) workers_.emplace_back([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto &t : workers_) t.join();
    workers_.clear();
  }

  std::mutex runMu_, mu_;
  std::condition_variable cv_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)> *fn_ = nullptr;
  std::atomic<int> next_{0};
  int tasks_ = 0, active_ = 0;
  unsigned generation_ = 0;
  bool quit_ = false;
};

int default_threads() {
  if (const char *env = std::getenv("KVPRISM_THREADS")) {
    int t = std::atoi(env);
    if (t >= 1 && t <= 1024) return t;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? int(hc) : 1;
}

Pool &pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

void parallel_for(int tasks, const std::function<void(int)> &fn, double work) {
  if (work < kMinParallelWork) {
    for (int i = 0; i < tasks; i++) fn(i);
    return;
  }
  pool().run(tasks, fn);
}
int pool_threads() { return pool().threads(); }
void set_pool_threads(int threads) { pool().resize(threads < 1 ? 1 : threads); }

}  // namespace kvp
