// SignalThread: SIGINT, SIGTERM and SIGHUP handled on one dedicated thread with sigwait(),
// so there is no async-signal handler and no global mutable state; the callbacks run as
// ordinary code on that thread and may lock, log and allocate.
//
//   // First thing in the command, before any other thread exists: threads inherit the
//   // signal mask, so every thread created afterwards leaves these signals to sigwait.
//   tw::app::SignalThread signals({
//       .on_stop = [&](int signo, int count) { daemon.RequestStop(strsignal(signo)); },
//       .on_reload = [&] { daemon.Reload(); },
//   });
//   daemon.Start();
//   ...
//   // ~SignalThread stops the thread and restores the previous mask.
//
// A signal sent while the mask is in place but after the thread stopped stays pending and
// is delivered when the mask is restored (default action), which is what a late SIGTERM
// should do.
#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace tw::app {

class SignalThread {
 public:
  struct Callbacks {
    // SIGINT or SIGTERM; `count` is 1 for the first such signal, 2 for the next...
    std::function<void(int signo, int count)> on_stop;
    // SIGHUP.
    std::function<void()> on_reload;
  };

  explicit SignalThread(Callbacks callbacks);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  void Loop();

  Callbacks callbacks_;
  sigset_t set_;
  sigset_t old_mask_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tw::app
