// What only Linux does: blocks reserved with posix_fallocate, posix_fadvise
// flags, mincore's `unsigned char*` vector, and waiting on a
// shared word with futex (futex_waitv for a cancellable wait). Everything
// POSIX systems share is in platform_posix.cc.

#include "platform.h"
#include "platform_posix_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>

namespace memoryview {
namespace posix {

int GrowFile(int fd, int64_t old_size, int64_t size, const char** syscall) {
  *syscall = "fallocate";
  int rc;
  do {
    rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  if (rc == EOPNOTSUPP || rc == EINVAL) {
    // A filesystem without fallocate: plain extension (sparse, as before).
    rc = ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : errno;
  }
  if (rc != 0) {
    int saved = rc;
    if (ftruncate(fd, static_cast<off_t>(old_size)) != 0) {
      // Nothing more can be done; the first error is the one to report.
    }
    errno = saved;
    return -1;
  }
  return 0;
}

int SizeNewSharedMemory(int fd, int64_t size, bool reserve,
                        const char** syscall) {
  // /dev/shm is a tmpfs of fixed size: reserving allocates its pages now, so
  // that a full /dev/shm fails here with ENOSPC.
  if (reserve) return GrowFile(fd, 0, size, syscall);
  // Without reserving, the segment is only extended (sparse): creation is
  // fast, and a full /dev/shm shows up later as SIGBUS on the first write to
  // a page it cannot back.
  *syscall = "ftruncate";
  return ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : -1;
}

int PageResidency(void* addr, size_t length, unsigned char* vec) {
  return mincore(addr, length, vec) == 0 ? 0 : -errno;
}

}  // namespace posix

int FileAdvise(int fd, int64_t offset, int64_t length, Advice advice) {
  static const int kFileAdvice[] = {POSIX_FADV_NORMAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_SEQUENTIAL, POSIX_FADV_WILLNEED,
                                    POSIX_FADV_DONTNEED};
  int rc = posix_fadvise(fd, static_cast<off_t>(offset),
                         static_cast<off_t>(length),
                         kFileAdvice[static_cast<int>(advice)]);
  return -rc;
}

}  // namespace memoryview

// ---------------------------------------------------------------------------
// Waiting on shared words.

namespace memoryview {

namespace {

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

// FUTEX_WAIT on a shared word (no FUTEX_PRIVATE_FLAG: the key is the backing
// page, so waiters in other processes mapping it meet here). Relative timeout.
long FutexWait(const uint32_t* addr, uint32_t expected, int64_t rel_ns) {
  struct timespec ts = ToTimespec(rel_ns < 0 ? 0 : rel_ns);
  return syscall(SYS_futex, addr, FUTEX_WAIT, expected,
                 rel_ns < 0 ? nullptr : &ts, nullptr, 0);
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

struct WaitVEntry {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};

std::atomic<bool> waitv_unsupported{false};

}  // namespace

int WaitOnAddress(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                  uint32_t* cancel, WaitResult* out) {
  const int64_t deadline = timeout_ns < 0 ? -1 : MonotonicNs() + timeout_ns;
  // Set once a kernel wait has begun and we wait again (a slice ran out, or
  // EINTR): from then on a word that differs changed while we waited, which
  // is a wake ("ok", as on macOS and Windows), not "not-equal".
  bool slept = false;
  for (;;) {
    if (cancel != nullptr &&
        __atomic_load_n(cancel, __ATOMIC_SEQ_CST) != 0) {
      *out = WaitResult::kCancelled;
      return 0;
    }
    int64_t remaining = deadline < 0 ? -1 : deadline - MonotonicNs();
    if (deadline >= 0 && remaining <= 0) {
      *out = WaitResult::kTimedOut;
      return 0;
    }
    long rc;
    bool sliced = false;
    if (cancel != nullptr && !waitv_unsupported.load()) {
      // Two words at once: the user's shared word and our private cancel
      // word, so that cancelling never wakes anybody else's waiter.
      WaitVEntry entries[2] = {
          {expected, reinterpret_cast<uint64_t>(addr), FUTEX_32, 0},
          {0, reinterpret_cast<uint64_t>(cancel),
           FUTEX_32 | FUTEX_PRIVATE_FLAG, 0}};
      struct timespec abs = ToTimespec(deadline);
      rc = syscall(SYS_futex_waitv, entries, 2, 0,
                   deadline < 0 ? nullptr : &abs, CLOCK_MONOTONIC);
      if (rc < 0 && errno == ENOSYS) {
        waitv_unsupported = true;
        continue;
      }
      if (rc == 1) continue;  // the cancel word: re-checked at the top
    } else {
      // Without futex_waitv (Linux < 5.16) a cancellable wait sleeps in
      // slices of 10 ms and checks the cancel word between them.
      int64_t slice = remaining;
      if (cancel != nullptr && (slice < 0 || slice > 10000000)) {
        slice = 10000000;
        sliced = true;
      }
      rc = FutexWait(addr, expected, slice);
    }
    if (rc >= 0) {
      *out = WaitResult::kOk;
      return 0;
    }
    if (errno == EAGAIN) {
      // futex_waitv also refuses when the cancel word is already set.
      *out = cancel != nullptr && __atomic_load_n(cancel, __ATOMIC_SEQ_CST)
                 ? WaitResult::kCancelled
                 : slept ? WaitResult::kOk : WaitResult::kNotEqual;
      return 0;
    }
    if (errno == EINTR || (errno == ETIMEDOUT && sliced)) {
      slept = true;
      continue;
    }
    // Cancelled meanwhile: close() cancels a waitAsync() and unmaps its
    // memory at once, so the kernel may have found the word unmapped
    // (EFAULT). The top of the loop reports the cancellation.
    if (cancel != nullptr && __atomic_load_n(cancel, __ATOMIC_SEQ_CST) != 0) {
      continue;
    }
    if (errno == ETIMEDOUT) {
      *out = WaitResult::kTimedOut;
      return 0;
    }
    return -errno;
  }
}

int WakeAddress(const uint32_t* addr, int count) {
  long rc = syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0);
  return rc < 0 ? -errno : static_cast<int>(rc);
}

void WakeCancel(uint32_t* cancel) {
  __atomic_store_n(cancel, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, cancel, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
          nullptr, nullptr, 0);
}

}  // namespace memoryview

