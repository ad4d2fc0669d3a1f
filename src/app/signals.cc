#include "app/signals.h"

#include <pthread.h>

#include "spdlog/spdlog.h"

namespace tw::app {

SignalThread::SignalThread(Callbacks callbacks) : callbacks_(std::move(callbacks)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  thread_ = std::thread([this] { Loop(); });
}

SignalThread::~SignalThread() {
  stopping_ = true;
  // Wakes sigwait with a signal directed at that thread only (it has them blocked, so it is
  // queued for it rather than acted upon); the flag tells it this one is ours.
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void SignalThread::Loop() {
  int stops = 0;
  for (;;) {
    int signo = 0;
    if (sigwait(&set_, &signo) != 0) continue;
    if (stopping_) return;
    if (signo == SIGHUP) {
      spdlog::info("signal=SIGHUP action=reload");
      if (callbacks_.on_reload) callbacks_.on_reload();
    } else {
      ++stops;
      spdlog::info("signal={} action=stop count={}", signo == SIGINT ? "SIGINT" : "SIGTERM", stops);
      if (callbacks_.on_stop) callbacks_.on_stop(signo, stops);
    }
  }
}

}  // namespace tw::app
