// TSan shim for an uninstrumented abseil (tsan preset only; linked into every executable by
// cmake/Sanitizers.cmake). Debian's libabsl is not compiled with -fsanitize=thread, so TSan
// cannot see that absl::Mutex::Lock orders memory: every member guarded by an absl::Mutex
// would be reported as a race. This file defines the few absl synchronization entry points
// tierwatch uses, forwards each to the real library function (dlsym RTLD_NEXT) and tells
// TSan the acquire/release it performed — exactly what abseil's own TSan build annotates.
// Races between our threads on data *not* under a lock stay visible.
//
//   cmake --preset tsan && cmake --build --preset tsan && ctest --preset tsan
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

#define TW_STR2(x) #x
#define TW_STR(x) TW_STR2(x)

// Itanium mangling of absl::<inline ns>::<cls>::<fn>; the inline namespace is Debian's.
std::string Mangled(const char* cls, const char* fn, const char* args, bool is_const) {
  const std::string ns = TW_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK4absl" : "_ZN4absl") + std::to_string(ns.size()) + ns +
         std::to_string(std::string(cls).size()) + cls + std::to_string(std::string(fn).size()) +
         fn + "E" + args;
}

void* Real(const char* cls, const char* fn, const char* args, bool is_const = false) {
  const std::string name = Mangled(cls, fn, args, is_const);
  void* p = dlsym(RTLD_NEXT, name.c_str());
  if (p == nullptr) {
    std::fprintf(stderr, "tsan_absl_mutex: cannot find %s\n", name.c_str());
    std::abort();
  }
  return p;
}

// Argument manglings, relative to the absl inline namespace (S0_ = absl, S1_ = absl::ns).
constexpr char kVoid[] = "v";
constexpr char kCondRef[] = "RKNS0_9ConditionE";
constexpr char kDuration[] = "NS0_8DurationE";
constexpr char kCondDuration[] = "RKNS0_9ConditionENS0_8DurationE";
constexpr char kMutexPtr[] = "PNS0_5MutexE";
constexpr char kMutexDuration[] = "PNS0_5MutexENS0_8DurationE";
constexpr char kMutexTime[] = "PNS0_5MutexENS0_4TimeE";

// absl evaluates a Condition while it holds the mutex inside its own (uninstrumented) code:
// in Await/LockWhen before the caller sleeps, and in another thread's Unlock when it decides
// whom to wake. To TSan that evaluation looks unlocked: the shim has already released (Await)
// or not yet acquired (LockWhen), and an Unlock has released before the real unlock runs.
// Abseil's own TSan build brackets each evaluation with lock/unlock annotations; here the
// caller's Condition is wrapped in one that acquires the mutex before it runs the caller's
// predicate and releases it after, which orders the predicate's reads with every write made
// under the lock, whichever thread evaluates it.
struct AnnotatedCondition {
  const absl::Condition* inner;
  absl::Mutex* mu;
  static bool Eval(void* arg) {
    auto* self = static_cast<AnnotatedCondition*>(arg);
    __tsan_acquire(self->mu);
    const bool result = self->inner->Eval();
    __tsan_release(self->mu);
    return result;
  }
};

}  // namespace

#define TW_REAL(type, cls, fn, args) \
  static const auto real = reinterpret_cast<type>(Real(cls, fn, args))
#define TW_REAL_CONST(type, cls, fn, args) \
  static const auto real = reinterpret_cast<type>(Real(cls, fn, args, true))

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  TW_REAL(void (*)(Mutex*), "Mutex", "Lock", kVoid);
  real(this);
  __tsan_acquire(this);
}
void Mutex::ReaderLock() {
  TW_REAL(void (*)(Mutex*), "Mutex", "ReaderLock", kVoid);
  real(this);
  __tsan_acquire(this);
}
bool Mutex::TryLock() {
  TW_REAL(bool (*)(Mutex*), "Mutex", "TryLock", kVoid);
  const bool ok = real(this);
  if (ok) __tsan_acquire(this);
  return ok;
}
void Mutex::Unlock() {
  TW_REAL(void (*)(Mutex*), "Mutex", "Unlock", kVoid);
  __tsan_release(this);
  real(this);
}
void Mutex::ReaderUnlock() {
  TW_REAL(void (*)(Mutex*), "Mutex", "ReaderUnlock", kVoid);
  __tsan_release(this);
  real(this);
}
void Mutex::LockWhen(const Condition& cond) {
  TW_REAL(void (*)(Mutex*, const Condition&), "Mutex", "LockWhen", kCondRef);
  AnnotatedCondition annotated{&cond, this};
  real(this, Condition(&AnnotatedCondition::Eval, &annotated));
  __tsan_acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  TW_REAL(bool (*)(Mutex*, const Condition&, absl::Duration), "Mutex", "LockWhenWithTimeout",
          kCondDuration);
  AnnotatedCondition annotated{&cond, this};
  const bool r = real(this, Condition(&AnnotatedCondition::Eval, &annotated), timeout);
  __tsan_acquire(this);
  return r;
}
void Mutex::Await(const Condition& cond) {
  TW_REAL(void (*)(Mutex*, const Condition&), "Mutex", "Await", kCondRef);
  AnnotatedCondition annotated{&cond, this};
  __tsan_release(this);
  real(this, Condition(&AnnotatedCondition::Eval, &annotated));
  __tsan_acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  TW_REAL(bool (*)(Mutex*, const Condition&, absl::Duration), "Mutex", "AwaitWithTimeout",
          kCondDuration);
  AnnotatedCondition annotated{&cond, this};
  __tsan_release(this);
  const bool r = real(this, Condition(&AnnotatedCondition::Eval, &annotated), timeout);
  __tsan_acquire(this);
  return r;
}
void CondVar::Wait(Mutex* mu) {
  TW_REAL(void (*)(CondVar*, Mutex*), "CondVar", "Wait", kMutexPtr);
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  TW_REAL(bool (*)(CondVar*, Mutex*, absl::Duration), "CondVar", "WaitWithTimeout", kMutexDuration);
  __tsan_release(mu);
  const bool r = real(this, mu, timeout);
  __tsan_acquire(mu);
  return r;
}
bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  TW_REAL(bool (*)(CondVar*, Mutex*, absl::Time), "CondVar", "WaitWithDeadline", kMutexTime);
  __tsan_release(mu);
  const bool r = real(this, mu, deadline);
  __tsan_acquire(mu);
  return r;
}
// Notification is {Mutex mutex_; std::atomic<bool> notified_yet_;}. Releasing on the flag's
// address is what the inlined (instrumented) HasBeenNotified() acquire load synchronizes with.
static_assert(sizeof(Notification) == sizeof(Mutex) + sizeof(void*), "absl::Notification layout");
static void* NotifiedFlag(const Notification* n) {
  return const_cast<char*>(reinterpret_cast<const char*>(n)) + sizeof(Mutex);
}
void Notification::Notify() {
  TW_REAL(void (*)(Notification*), "Notification", "Notify", kVoid);
  __tsan_release(NotifiedFlag(this));
  real(this);
}
void Notification::WaitForNotification() const {
  TW_REAL_CONST(void (*)(const Notification*), "Notification", "WaitForNotification", kVoid);
  real(this);
  __tsan_acquire(NotifiedFlag(this));
}
bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  TW_REAL_CONST(bool (*)(const Notification*, absl::Duration), "Notification",
                "WaitForNotificationWithTimeout", kDuration);
  const bool r = real(this, timeout);
  if (r) __tsan_acquire(NotifiedFlag(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl
