// What macOS does differently from the POSIX layer it shares with Linux
// (platform_posix.cc): reserving file blocks (no posix_fallocate), sizing a
// shared-memory object (one ftruncate, no preallocation), mincore's `char*`
// vector, file advice (no posix_fadvise), and waiting on a shared word (no
// futex).
//
// Ownership rules: as in platform.h. Nothing here allocates except the
// function pointers resolved once with dlsym(), which live for the process.
//
// Assumptions: macOS 10.15 or later (binding.gyp's MACOSX_DEPLOYMENT_TARGET,
// the oldest macOS Node 20 supports). This file is compile-checked with zig's clang for
// x86_64-macos and aarch64-macos (test/cross/macos.sh); it has not run on a
// Mac.

#include "platform.h"
#include "platform_posix_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace memoryview {
namespace posix {

int GrowFile(int fd, int64_t old_size, int64_t size, const char** syscall) {
  // F_PREALLOCATE allocates blocks past the file's physical end without
  // changing its length; the ftruncate that follows then extends the length
  // over blocks that exist, so a full disk says ENOSPC here rather than as
  // SIGBUS at a write through the mapping. (On APFS, which copies on write,
  // this is best effort: snapshots and clones can still make a later write
  // need new blocks.)
  fstore_t store = {};
  store.fst_flags = F_ALLOCATEALL;
  store.fst_posmode = F_PEOFPOSMODE;
  store.fst_offset = 0;
  store.fst_length = static_cast<off_t>(size - old_size);
  int rc;
  do {
    rc = fcntl(fd, F_PREALLOCATE, &store);
  } while (rc == -1 && errno == EINTR);
  if (rc == -1 && errno != ENOTSUP && errno != EINVAL && errno != ENOTTY) {
    // Nothing was allocated and the length is unchanged.
    *syscall = "fcntl";
    return -1;
  }
  // ENOTSUP/EINVAL/ENOTTY: a filesystem that cannot preallocate (SMB, NFS,
  // FAT): plain (sparse) extension, as Linux does without fallocate.
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int saved = errno;
    if (ftruncate(fd, static_cast<off_t>(old_size)) != 0) {
      // The first error is the one to report.
    }
    errno = saved;
    *syscall = "ftruncate";
    return -1;
  }
  return 0;
}

int SizeNewSharedMemory(int fd, int64_t size, bool /*reserve*/,
                        const char** syscall) {
  // macOS sizes a shared-memory object with exactly one ftruncate (a second
  // one fails with EINVAL) and has no way to preallocate it: the object is
  // swappable anonymous memory, not a file on a fixed-size tmpfs as on Linux,
  // so the SIGBUS that `reserve` guards against on a full /dev/shm does not
  // arise. `reserve` therefore changes nothing here.
  *syscall = "ftruncate";
  return ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : -1;
}

int PageResidency(void* addr, size_t length, unsigned char* vec) {
  // macOS declares the vector as char*; bit 0 (MINCORE_INCORE) is the same.
  return mincore(addr, length, reinterpret_cast<char*>(vec)) == 0 ? 0
                                                                   : -errno;
}

}  // namespace posix

int FileAdvise(int fd, int64_t offset, int64_t length, Advice advice) {
  // No posix_fadvise on macOS. WillNeed has an equivalent, F_RDADVISE (start
  // reading the range into the cache); Normal, Random, Sequential and
  // DontNeed have none for a range of a file and succeed doing nothing.
  if (advice != Advice::kWillNeed) return 0;
  struct radvisory ra = {};
  ra.ra_offset = static_cast<off_t>(offset);
  // ra_count is an int: a longer range is advised in pieces.
  while (length > 0) {
    int chunk = length > INT_MAX ? INT_MAX : static_cast<int>(length);
    ra.ra_count = chunk;
    if (fcntl(fd, F_RDADVISE, &ra) == -1) {
      // Advice past the end of the file, or on something that is not a
      // regular file, is not an error for posix_fadvise either.
      if (errno == EINVAL || errno == ENOTSUP) return 0;
      return -errno;
    }
    ra.ra_offset += chunk;
    length -= chunk;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Waiting on shared words.
//
// macOS has no futex. Two families of calls compare a word and sleep, keyed
// by the physical page when asked to be shared, so that processes mapping the
// same shared memory or file meet on the same word:
//   - os_sync_wait_on_address() / os_sync_wake_by_address_any() with
//     OS_SYNC_WAIT_ON_ADDRESS_SHARED: public API since macOS 14.4
//     (<os/os_sync_wait_on_address.h>);
//   - __ulock_wait2() / __ulock_wake() with UL_COMPARE_AND_WAIT_SHARED:
//     the private interface the former wraps, present since macOS 11
//     (xnu bsd/sys/ulock.h; libc++ uses the same family for std::atomic
//     wait), and on macOS 10.15 __ulock_wait(), whose timeout is a 32-bit
//     count of microseconds (a longer wait is done in pieces).
// All are looked up once with dlsym(), so that the addon loads on every
// macOS from 10.15 on and a build against an older SDK still finds the
// newer call at run time. The declarations are written out here because older
// SDKs (and zig's) have neither header; the signatures are those of the
// headers named above.
//
// None of them reports "value differed" as an error (they return >= 0
// then); see WaitOnAddress() for how "not-equal" is told apart. None waits on
// two words at once (Linux's futex_waitv), and os_sync cannot wake one chosen
// thread (ulock's ULF_WAKE_THREAD can, but needs the waiter's thread port and
// loses a wake sent just before the waiter sleeps). So a cancellable wait
// (waitAsync) sleeps in slices of 10 ms and reads its private cancel word
// between them: WakeCancel() takes effect within 10 ms and never wakes
// another waiter of the shared word.

namespace {

constexpr uint32_t kOsSyncShared = 1;            // OS_SYNC_*_SHARED
constexpr uint32_t kOsClockMachAbsolute = 32;    // OS_CLOCK_MACH_ABSOLUTE_TIME
constexpr uint32_t kUlCompareAndWaitShared = 3;  // UL_COMPARE_AND_WAIT_SHARED
constexpr int64_t kCancelSliceNs = 10000000;

using OsSyncWaitTimeout = int (*)(void* addr, uint64_t value, size_t size,
                                  uint32_t flags, uint32_t clockid,
                                  uint64_t timeout_ns);
using OsSyncWait = int (*)(void* addr, uint64_t value, size_t size,
                           uint32_t flags);
using OsSyncWake = int (*)(void* addr, size_t size, uint32_t flags);
using UlockWait2 = int (*)(uint32_t operation, void* addr, uint64_t value,
                           uint64_t timeout_ns, uint64_t value2);
using UlockWait = int (*)(uint32_t operation, void* addr, uint64_t value,
                          uint32_t timeout_us);
using UlockWake = int (*)(uint32_t operation, void* addr, uint64_t wake_value);

struct WaitCalls {
  OsSyncWait wait = nullptr;
  OsSyncWaitTimeout wait_timeout = nullptr;
  OsSyncWake wake_any = nullptr;
  UlockWait2 ulock_wait2 = nullptr;
  UlockWait ulock_wait = nullptr;
  UlockWake ulock_wake = nullptr;
  bool os_sync = false;
  bool ulock = false;
};

const WaitCalls& Calls() {
  // A function-local static: initialised once, thread-safely, on first use.
  static const WaitCalls calls = [] {
    WaitCalls c;
    c.wait = reinterpret_cast<OsSyncWait>(
        dlsym(RTLD_DEFAULT, "os_sync_wait_on_address"));
    c.wait_timeout = reinterpret_cast<OsSyncWaitTimeout>(
        dlsym(RTLD_DEFAULT, "os_sync_wait_on_address_with_timeout"));
    c.wake_any = reinterpret_cast<OsSyncWake>(
        dlsym(RTLD_DEFAULT, "os_sync_wake_by_address_any"));
    c.os_sync = c.wait && c.wait_timeout && c.wake_any;
    c.ulock_wait2 =
        reinterpret_cast<UlockWait2>(dlsym(RTLD_DEFAULT, "__ulock_wait2"));
    c.ulock_wake =
        reinterpret_cast<UlockWake>(dlsym(RTLD_DEFAULT, "__ulock_wake"));
    c.ulock_wait =
        reinterpret_cast<UlockWait>(dlsym(RTLD_DEFAULT, "__ulock_wait"));
    c.ulock = (c.ulock_wait2 || c.ulock_wait) && c.ulock_wake;
    return c;
  }();
  return calls;
}

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One kernel wait of at most `rel_ns` (< 0: none) while *addr == expected.
// Returns >= 0 when woken (or the word differed), -1 with errno otherwise
// (ETIMEDOUT, EINTR, EFAULT, ...).
int WaitOnce(const WaitCalls& c, const uint32_t* addr, uint32_t expected,
             int64_t rel_ns) {
  void* word = const_cast<uint32_t*>(addr);
  if (c.os_sync) {
    // The timed variant refuses a timeout of 0 (EINVAL): treated as expired.
    if (rel_ns == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    return rel_ns < 0
               ? c.wait(word, expected, sizeof(uint32_t), kOsSyncShared)
               : c.wait_timeout(word, expected, sizeof(uint32_t),
                                kOsSyncShared, kOsClockMachAbsolute,
                                static_cast<uint64_t>(rel_ns));
  }
  if (rel_ns == 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  if (c.ulock_wait2 != nullptr) {
    // __ulock_wait2's timeout is in nanoseconds, 0 meaning none.
    return c.ulock_wait2(kUlCompareAndWaitShared, word, expected,
                         rel_ns < 0 ? 0 : static_cast<uint64_t>(rel_ns), 0);
  }
  // __ulock_wait's is in microseconds (0: none) and 32 bits wide: a longer
  // or sub-microsecond wait is cut to what fits, and the caller, which
  // keeps the deadline, waits again after the ETIMEDOUT of a piece.
  uint64_t us = rel_ns < 0 ? 0 : (static_cast<uint64_t>(rel_ns) + 999) / 1000;
  if (us > UINT32_MAX) us = UINT32_MAX;
  int rc = c.ulock_wait(kUlCompareAndWaitShared, word, expected,
                        static_cast<uint32_t>(us));
  if (rc == -1 && errno == ETIMEDOUT && us == UINT32_MAX) errno = EINTR;
  return rc;
}

// Wakes one waiter of `addr`; 1 if one woke, 0 if none waited, or -errno.
int WakeOne(const WaitCalls& c, const uint32_t* addr) {
  void* word = const_cast<uint32_t*>(addr);
  int rc;
  do {
    rc = c.os_sync ? c.wake_any(word, sizeof(uint32_t), kOsSyncShared)
                   : c.ulock_wake(kUlCompareAndWaitShared, word, 0);
  } while (rc == -1 && errno == EINTR);
  if (rc >= 0) return 1;
  return errno == ENOENT ? 0 : -errno;
}

}  // namespace

int WaitOnAddress(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                  uint32_t* cancel, WaitResult* out) {
  const WaitCalls& c = Calls();
  if (!c.os_sync && !c.ulock) return -ENOSYS;
  // Neither kernel call reports a differing word as such, so the word is
  // compared here first. Only for a wait on the calling JS thread, though,
  // which cannot unmap the memory meanwhile: a waitAsync() thread (`cancel`
  // set) may find its memory unmapped right after a close() cancelled it,
  // and a read here would fault where the kernel just says EFAULT. Its
  // caller (lib/wait.ts) compared the word before starting it; a change
  // since then reads as "ok".
  if (cancel == nullptr && __atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected) {
    *out = WaitResult::kNotEqual;
    return 0;
  }
  const int64_t deadline = timeout_ns < 0 ? -1 : MonotonicNs() + timeout_ns;
  for (;;) {
    if (cancel != nullptr && __atomic_load_n(cancel, __ATOMIC_SEQ_CST) != 0) {
      *out = WaitResult::kCancelled;
      return 0;
    }
    int64_t remaining = deadline < 0 ? -1 : deadline - MonotonicNs();
    if (deadline >= 0 && remaining <= 0) {
      *out = WaitResult::kTimedOut;
      return 0;
    }
    int64_t slice = remaining;
    bool sliced = false;
    if (cancel != nullptr && (slice < 0 || slice > kCancelSliceNs)) {
      slice = kCancelSliceNs;
      sliced = true;
    }
    if (WaitOnce(c, addr, expected, slice) >= 0) {
      *out = WaitResult::kOk;
      return 0;
    }
    // A slice that ran out, or a signal: wait on (the deadline is absolute).
    // Cancelled meanwhile (EFAULT when close() already unmapped the word):
    // the top of the loop says so.
    if (errno == EINTR || (errno == ETIMEDOUT && sliced)) continue;
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
  const WaitCalls& c = Calls();
  if (!c.os_sync && !c.ulock) return -ENOSYS;
  // The wake-all calls do not say how many woke, and Atomics.notify()
  // returns that number: wake one at a time until `count` woke or nobody is
  // left waiting.
  int woken = 0;
  while (woken < count) {
    int rc = WakeOne(c, addr);
    if (rc < 0) return woken > 0 ? woken : rc;
    if (rc == 0) break;
    woken++;
  }
  return woken;
}

void WakeCancel(uint32_t* cancel) {
  // The waiter reads this within one slice (see above).
  __atomic_store_n(cancel, 1, __ATOMIC_SEQ_CST);
}

}  // namespace memoryview
