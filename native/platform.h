// Operating-system calls behind memory-mapped files and POSIX shared memory.
//
// Ownership rules:
// - These functions know nothing of Node-API. Each returns 0 (or a
//   non-negative result) on success and -errno on failure, and leaves no
//   resource behind when it fails: an fd it opened is closed, a file or
//   shared-memory object it created is removed.
// - A successful OpenAndMap* hands the caller one mapping (addr, length) that
//   the caller must release with Unmap() exactly once. The file descriptor
//   used to make it is always closed before returning (or left to the caller
//   when the caller passed it in), so a mapping never holds an fd.
//   Windows (platform_win32.cc) is the exception where the OS forces it: a
//   shared-memory mapping keeps its section handle (a named section's name
//   lives only while a handle is open) and a kWrite file mapping keeps a
//   file handle (FlushFileBuffers, deferred truncation), both closed by
//   Unmap().

#ifndef MEMORYVIEW_NATIVE_PLATFORM_H_
#define MEMORYVIEW_NATIVE_PLATFORM_H_

#include <cstddef>
#include <cstdint>

namespace memoryview {

enum class Access { kRead = 0, kWrite = 1, kCopy = 2 };

// Why a request was refused before any system call failed.
enum class MapRefusal {
  kNone = 0,
  kEmptyFile,        // length 0 asked for a whole file that has no bytes
  kOffsetPastEnd,    // offset at or beyond the end of the file
  kLengthPastEnd,    // offset + length beyond the end of the file
  kNotMappable,      // a directory (EISDIR) is reported through errno instead
  kTooLarge,         // the mapping would be longer than the caller's max_length
};

struct MapResult {
  void* addr = nullptr;
  size_t length = 0;
  int64_t file_size = 0;
  // With kTooLarge: the length the mapping would have had.
  int64_t refused_length = 0;
  MapRefusal refusal = MapRefusal::kNone;
  const char* syscall = "";  // the call that failed, for error messages
  // The mapped file's identity (st_dev, st_ino), so that a later resize can
  // tell whether the path it reopens still names the same file.
  uint64_t dev = 0;
  uint64_t ino = 0;
  // Where the mapping starts in the file.
  int64_t offset = 0;
};

// The allocation granularity offsets must be multiples of. Asked of the
// system once (it is fixed for the process): every mmap() checks its offset.
int64_t AllocationGranularity();

// Maps `length` bytes (0: to the end of the file) at `offset` of the file at
// `path` (when `fd` < 0) or of `fd`. `size` >= 0 creates the file if missing
// and extends it to at least `size` bytes first (only with kWrite), with the
// blocks allocated (Linux: posix_fallocate; macOS: fcntl(F_PREALLOCATE) then
// ftruncate): a full filesystem fails here with ENOSPC rather than with
// SIGBUS at the first write. A filesystem that cannot preallocate gets a
// plain (sparse) extension. Every refusal (the
// range is outside the file as it would be after growing, or the mapping
// would be longer than `max_length`, the largest buffer the JS runtime
// accepts) is decided before the file is grown: a refused call grows
// nothing, and a file it created is removed again. Access:
//   kRead  - MAP_PRIVATE, PROT_READ|PROT_WRITE on a read-only fd: a stray
//            write lands in a private copy-on-write page, never faults and
//            never reaches the file; with MAP_NORESERVE where the system has
//            it (no swap is reserved for such copies);
//   kCopy  - the same mapping, handed out writable;
//   kWrite - MAP_SHARED, PROT_READ|PROT_WRITE on a read-write fd.
int MapFile(const char* path, int fd, Access access, int64_t offset,
            int64_t length, int64_t size, int64_t max_length, MapResult* out);

// Creates (O_CREAT|O_EXCL, mode 0600, then sized to `size`) or opens the
// POSIX shared-memory object `name` (with its leading slash) and maps all of
// it shared and read-write. Linux: with `reserve` the pages are allocated
// (posix_fallocate on /dev/shm); with `reserve` false a created segment is
// only extended with ftruncate (faster, but a full /dev/shm then raises
// SIGBUS at the first write to an unbacked page; the caller accepted that
// risk). macOS: a shared-memory object is sized by exactly one ftruncate and
// cannot be preallocated; it is backed by swappable anonymous memory, not by
// a fixed-size filesystem, so `reserve` changes nothing there. Name-length
// limits (macOS: 31 bytes with the slash) are checked by the caller. A segment longer than `max_length` is refused
// (kTooLarge) before it is created, or after opening without mapping it.
int MapSharedMemory(const char* name, bool create, int64_t size, bool reserve,
                    int64_t max_length, MapResult* out);

// shm_unlink(name).
int UnlinkSharedMemory(const char* name);

// msync(MS_SYNC) of [offset, offset + length) of a mapping; the range is
// widened to whole pages.
int Flush(void* addr, size_t mapping_length, int64_t offset, int64_t length);

int Unmap(void* addr, size_t length);

// Python's mmap.resize() for a kWrite mapping of [offset, offset + old
// length) of a file: sets the file's size to offset + new_length and maps
// [offset, offset + new_length) anew (out->addr, out->length); the caller
// unmaps the old mapping. The file is `fd` (>= 0, left open) or `path`
// reopened read-write, which must still be the file with identity
// (dev, ino): otherwise ESTALE and nothing changes. Growth allocates the
// blocks first as MapFile() does (ENOSPC here, not SIGBUS later). Any
// failure leaves the file at its old size and the old mapping untouched (a
// shrink truncates only after the new mapping exists).
int RemapFile(const char* path, int fd, uint64_t dev, uint64_t ino,
              int64_t offset, int64_t new_length, MapResult* out);

// Paging advice (madvise), in the order lib/mmap.ts numbers them.
enum class Advice { kNormal = 0, kRandom, kSequential, kWillNeed, kDontNeed };

// madvise() of the pages covering [offset, offset + length) of a mapping
// (offset a multiple of the page size, the range inside the mapping).
// kDontNeed differs: Linux drops the pages at once (a copy-on-write mapping
// loses its private changes), macOS only lets them be reclaimed first.
int Advise(void* addr, int64_t offset, int64_t length, Advice advice);

// How many bytes of [offset, offset + length) of a mapping lie in pages that
// are resident (mincore); the result through *resident.
int Resident(void* addr, int64_t offset, int64_t length, int64_t* resident);

// Pages [offset, offset + length) of a mapping in: MADV_WILLNEED, then one
// read per page so that each is faulted in by the time this returns. Meant
// for a worker thread; the caller keeps the mapping alive meanwhile.
int Prefetch(void* addr, int64_t offset, int64_t length);

// For a file too big to map whole (paging calls on it work on the file):
// advice for [offset, offset + length) of `fd` that acts on the page cache,
// not on any mapping. Linux: posix_fadvise() with POSIX_FADV_*. macOS has no
// posix_fadvise: kWillNeed is fcntl(F_RDADVISE) (read-ahead of the range),
// the others succeed without doing anything.
int FileAdvise(int fd, int64_t offset, int64_t length, Advice advice);

// Maps the pages of `fd` covering [offset, offset + length) read-only and
// shared, for Resident()/Prefetch() of a file range; nothing else sees this
// mapping. `*delta` is where `offset` lies in it; release it with
// Unmap(*addr, *mapped).
int MapFileRange(int fd, int64_t offset, int64_t length, void** addr,
                 size_t* mapped, int64_t* delta);

// Waiting on a 32-bit word of memory that other threads or processes share
// (Linux: futex without FUTEX_PRIVATE_FLAG, so that two processes mapping the
// same shared memory or file wait on the same word; macOS:
// os_sync_wait_on_address with OS_SYNC_WAIT_ON_ADDRESS_SHARED on 14.4 and
// later, __ulock_wait2 with UL_COMPARE_AND_WAIT_SHARED before; Windows:
// WaitOnAddress within the process, a changed word seen within a 10 ms slice
// across processes). Nothing here allocates.
// A wait without `cancel` needs `addr` mapped until it returns. A cancellable
// wait's memory may be unmapped right after WakeCancel() (close() does
// that): the wait then ends kCancelled and never faults (Linux and macOS:
// the kernel's EFAULT is read as the cancellation; Windows: Unmap() waits
// until the cancelled waiters of its range have left).
enum class WaitResult { kOk = 0, kNotEqual = 1, kTimedOut = 2, kCancelled = 3 };

// Sleeps while *addr == expected, until woken by WakeAddress(addr), the
// timeout (`timeout_ns` < 0: none) or, when `cancel` is not null, a
// WakeCancel(cancel) that set *cancel to non-zero. `cancel` is a
// process-private word. Returns 0 and sets *out, or -errno (EFAULT for an
// unmapped word, EINVAL for a misaligned one).
int WaitOnAddress(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                  uint32_t* cancel, WaitResult* out);

// Wakes up to `count` waiters of `addr` in every process (Windows: in this
// process; others see the changed word); returns how many woke, or -errno.
int WakeAddress(const uint32_t* addr, int count);

// Sets *cancel to 1 and wakes the one WaitOnAddress() that passed it (on
// macOS, and on Linux before 5.16, that waiter notices within 10 ms).
void WakeCancel(uint32_t* cancel);

// Errors of these three calls are reported with syscall 'futex' on every
// system (lib/wait.ts documents that name), whatever the call was.

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PLATFORM_H_
