// SignalThread: SIGHUP reaches on_reload, SIGTERM/SIGINT reach on_stop with a running count,
// and the previous signal mask comes back when it is destroyed. Each case runs in its own
// process (a death test re-executing this binary), where no other thread could take the
// signals instead.
#include "app/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tw::app {
namespace {

class SignalThreadDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

bool Blocked(int signo) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, nullptr, &cur);
  return sigismember(&cur, signo) == 1;
}

void ReloadThenStopTwice() {
  absl::Notification reloaded, first_stop, second_stop;
  {
    SignalThread t({.on_stop =
                        [&](int signo, int count) {
                          if (count == 1 && signo == SIGTERM) first_stop.Notify();
                          if (count == 2 && signo == SIGINT) second_stop.Notify();
                        },
                    .on_reload = [&] { reloaded.Notify(); }});
    if (!Blocked(SIGTERM) || !Blocked(SIGHUP) || !Blocked(SIGINT)) _exit(2);
    kill(getpid(), SIGHUP);
    if (!reloaded.WaitForNotificationWithTimeout(absl::Seconds(30))) _exit(3);
    kill(getpid(), SIGTERM);
    if (!first_stop.WaitForNotificationWithTimeout(absl::Seconds(30))) _exit(4);
    kill(getpid(), SIGINT);
    if (!second_stop.WaitForNotificationWithTimeout(absl::Seconds(30))) _exit(5);
  }
  if (Blocked(SIGTERM) || Blocked(SIGHUP)) _exit(6);  // the mask was restored
  _exit(0);
}

TEST_F(SignalThreadDeathTest, ReloadAndStopCallbacksRunOnTheSignalThread) {
  EXPECT_EXIT(ReloadThenStopTwice(), ::testing::ExitedWithCode(0), "");
}

void SigtermAfterDestructionKills() {
  { SignalThread t({}); }
  kill(getpid(), SIGTERM);  // default action again: the process dies of it
  absl::SleepFor(absl::Seconds(30));
  _exit(0);
}

TEST_F(SignalThreadDeathTest, DefaultActionsComeBackAfterwards) {
  EXPECT_EXIT(SigtermAfterDestructionKills(), ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace tw::app
