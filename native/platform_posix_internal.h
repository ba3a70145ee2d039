// The seam between native/platform_posix.cc (what every POSIX system shares:
// open, mmap, msync, munmap, shm_open, madvise) and the one file
// per system that supplies what differs: native/platform_linux.cc or
// native/platform_darwin.cc. Only those three files include this header; the
// rest of native/ sees platform.h alone.
//
// Ownership rules: nothing here opens, maps or frees anything the caller
// does not already own. `fd` stays open and stays the caller's.

#ifndef MEMORYVIEW_NATIVE_PLATFORM_POSIX_INTERNAL_H_
#define MEMORYVIEW_NATIVE_PLATFORM_POSIX_INTERNAL_H_

#include <cstddef>
#include <cstdint>

#include "platform.h"

namespace memoryview {
namespace posix {

// Grows the regular file `fd` from `old_size` to `size` bytes with its blocks
// allocated where the system can, so that a full disk refuses here (ENOSPC)
// instead of raising SIGBUS at the first write through a mapping. On failure
// the file is put back to `old_size`, errno says why, *syscall names the call
// to report, and -1 is returned; 0 on success.
int GrowFile(int fd, int64_t old_size, int64_t size, const char** syscall);

// Gives a shared-memory object that shm_open() has just created its size.
// `reserve` asks for the memory to be allocated up front (see
// MapSharedMemory() in platform.h for what each system can do). Same return
// convention as GrowFile().
int SizeNewSharedMemory(int fd, int64_t size, bool reserve,
                        const char** syscall);

// mincore() of [addr, addr + length) (addr page-aligned) into `vec`, one byte
// per page whose bit 0 says "resident". Returns 0 or -errno. (Linux declares
// the vector `unsigned char*`, macOS `char*`.)
int PageResidency(void* addr, size_t length, unsigned char* vec);

}  // namespace posix
}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PLATFORM_POSIX_INTERNAL_H_
