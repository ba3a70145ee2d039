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
};

// The allocation granularity offsets must be multiples of.
int64_t AllocationGranularity();

// Maps `length` bytes (0: to the end of the file) at `offset` of the file at
// `path` (when `fd` < 0) or of `fd`. `size` >= 0 creates the file if missing
// and extends it to at least `size` bytes first (only with kWrite), with the
// blocks allocated (posix_fallocate): a full filesystem fails here with
// ENOSPC rather than with SIGBUS at the first write. Every refusal (the
// range is outside the file as it would be after growing, or the mapping
// would be longer than `max_length`, the largest buffer the JS runtime
// accepts) is decided before the file is grown: a refused call grows
// nothing, and a file it created is removed again. Access:
//   kRead  - MAP_PRIVATE, PROT_READ|PROT_WRITE on a read-only fd: a stray
//            write lands in a private copy-on-write page, never faults and
//            never reaches the file;
//   kCopy  - the same mapping, handed out writable;
//   kWrite - MAP_SHARED, PROT_READ|PROT_WRITE on a read-write fd.
int MapFile(const char* path, int fd, Access access, int64_t offset,
            int64_t length, int64_t size, int64_t max_length, MapResult* out);

// Creates (O_CREAT|O_EXCL, mode 0600, then fallocate to `size`) or opens the
// POSIX shared-memory object `name` (with its leading slash) and maps all of
// it shared and read-write. With `reserve` false a created segment is only
// extended with ftruncate (no blocks allocated up front: faster, but a full
// /dev/shm then raises SIGBUS at the first write to an unbacked page; the
// caller accepted that risk). A segment longer than `max_length` is refused
// (kTooLarge) before it is created, or after opening without mapping it.
int MapSharedMemory(const char* name, bool create, int64_t size, bool reserve,
                    int64_t max_length, MapResult* out);

// shm_unlink(name).
int UnlinkSharedMemory(const char* name);

// msync(MS_SYNC) of [offset, offset + length) of a mapping; the range is
// widened to whole pages.
int Flush(void* addr, size_t mapping_length, int64_t offset, int64_t length);

int Unmap(void* addr, size_t length);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PLATFORM_H_
