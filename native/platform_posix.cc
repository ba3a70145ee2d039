// What every POSIX system shares: files and shared memory opened, mapped,
// flushed and unmapped, and madvise(). The rules deciding what to map are in
// platform_plan.h (shared with Windows). What differs (reserving blocks,
// file advice, mincore's signature, waiting on a word) is in
// platform_linux.cc / platform_darwin.cc behind platform_posix_internal.h.

#include "platform.h"
#include "platform_plan.h"
#include "platform_posix_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>
#include <vector>

namespace memoryview {

namespace {

int Fail(MapResult* out, const char* syscall) {
  int err = errno;
  out->syscall = syscall;
  return -err;
}

// Closes fd without disturbing errno (the error being reported is the
// earlier one).
void CloseQuietly(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

int OpenRetrying(const char* path, int flags, mode_t mode) {
  int fd;
  do {
    fd = open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Maps [offset, offset + length) of an open fd; length 0 means "to the end".
int MapOpenFd(int fd, Access access, int64_t offset, int64_t length,
              int64_t max_length, MapResult* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Fail(out, "fstat");
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return Fail(out, "mmap");
  }
  out->file_size = st.st_size;
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  int64_t planned = 0;
  MapRefusal refusal = PlanLength(S_ISREG(st.st_mode), st.st_size, offset,
                                  length, max_length, &planned);
  if (refusal != MapRefusal::kNone) return Refuse(out, refusal, planned);
  length = planned;
  if (static_cast<uint64_t>(length) > std::numeric_limits<size_t>::max()) {
    errno = ENOMEM;
    return Fail(out, "mmap");
  }
  int flags = access == Access::kWrite ? MAP_SHARED : MAP_PRIVATE;
#ifdef MAP_NORESERVE
  // A 'read' mapping is writable only so that a stray write through a raw
  // TypedArray lands in a private page instead of faulting; nothing is meant
  // to be written, so it reserves no swap for copies (Python's ACCESS_READ,
  // MAP_SHARED and PROT_READ, reserves none either). Linux would otherwise
  // charge the whole length to the commit limit: work on every open (about
  // 0.2 us of a 4 KiB file's open and close), and under the default
  // heuristic overcommit a file longer than RAM plus swap refused with
  // ENOMEM. 'copy' mappings keep the reservation: they are written to.
  if (access == Access::kRead) flags |= MAP_NORESERVE;
#endif
  void* addr = mmap(nullptr, static_cast<size_t>(length),
                    PROT_READ | PROT_WRITE, flags, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) return Fail(out, "mmap");
  out->addr = addr;
  out->length = static_cast<size_t>(length);
  out->offset = offset;
  return 0;
}

// Grows an open file to at least `size` bytes unless the mapping that would
// result is refused; the refusal is decided on the size the file would
// have, before anything changes.
int GrowUnlessRefused(int fd, const struct stat& st, int64_t offset,
                      int64_t length, int64_t size, int64_t max_length,
                      MapResult* out) {
  int64_t grown = st.st_size < size ? size : st.st_size;
  int64_t planned = 0;
  MapRefusal refusal = PlanLength(S_ISREG(st.st_mode), grown, offset, length,
                                  max_length, &planned);
  if (refusal != MapRefusal::kNone) {
    out->file_size = grown;
    return Refuse(out, refusal, planned);
  }
  const char* syscall = "";
  if (st.st_size < size && posix::GrowFile(fd, st.st_size, size, &syscall) != 0) {
    return Fail(out, syscall);
  }
  return 0;
}

}  // namespace

int64_t AllocationGranularity() {
  static const int64_t granularity = [] {
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? static_cast<int64_t>(page) : int64_t{4096};
  }();
  return granularity;
}

int MapFile(const char* path, int fd, Access access, int64_t offset,
            int64_t length, int64_t size, int64_t max_length, MapResult* out) {
  if (fd >= 0) {
    if (size >= 0) {
      struct stat st;
      if (fstat(fd, &st) != 0) return Fail(out, "fstat");
      int rc = GrowUnlessRefused(fd, st, offset, length, size, max_length, out);
      if (rc != 0 || out->refusal != MapRefusal::kNone) return rc;
    }
    return MapOpenFd(fd, access, offset, length, max_length, out);
  }

  bool created = false;
  int own_fd;
  if (access == Access::kWrite) {
    own_fd = OpenRetrying(path, O_RDWR, 0);
    if (own_fd < 0 && errno == ENOENT && size >= 0) {
      // Created here, so removed again if anything below fails.
      own_fd = OpenRetrying(path, O_RDWR | O_CREAT | O_EXCL, 0666);
      created = own_fd >= 0;
    }
  } else {
    own_fd = OpenRetrying(path, O_RDONLY, 0);
  }
  if (own_fd < 0) return Fail(out, "open");

  int rc = 0;
  if (size >= 0) {
    struct stat st;
    if (fstat(own_fd, &st) != 0) {
      rc = Fail(out, "fstat");
    } else if (S_ISDIR(st.st_mode)) {
      errno = EISDIR;
      rc = Fail(out, "open");
    } else {
      rc = GrowUnlessRefused(own_fd, st, offset, length, size, max_length,
                             out);
    }
  }
  if (rc == 0 && out->refusal == MapRefusal::kNone) {
    rc = MapOpenFd(own_fd, access, offset, length, max_length, out);
  }
  CloseQuietly(own_fd);
  if (created && (rc != 0 || out->refusal != MapRefusal::kNone)) {
    int saved = errno;
    unlink(path);
    errno = saved;
  }
  return rc;
}

int MapSharedMemory(const char* name, bool create, int64_t size,
                    bool reserve, int64_t max_length, MapResult* out) {
  if (create && size > max_length) {
    // Refused before the segment exists: nothing to create, reserve or undo.
    return Refuse(out, MapRefusal::kTooLarge, size);
  }
  int fd = create ? shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600)
                  : shm_open(name, O_RDWR, 0);
  if (fd < 0) return Fail(out, "shm_open");
  int rc = 0;
  const char* syscall = "";
  if (create && posix::SizeNewSharedMemory(fd, size, reserve, &syscall) != 0) {
    rc = Fail(out, syscall);
  }
  int64_t length = size;
  if (rc == 0 && !create) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      rc = Fail(out, "fstat");
    } else {
      length = st.st_size;
      out->file_size = st.st_size;
    }
  }
  if (rc == 0 && length == 0) out->refusal = MapRefusal::kEmptyFile;
  if (rc == 0 && length > max_length) Refuse(out, MapRefusal::kTooLarge, length);
  if (rc == 0 && out->refusal == MapRefusal::kNone) {
    out->file_size = length;
    void* addr = mmap(nullptr, static_cast<size_t>(length),
                      PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
      rc = Fail(out, "mmap");
    } else {
      out->addr = addr;
      out->length = static_cast<size_t>(length);
    }
  }
  CloseQuietly(fd);
  if (create && (rc != 0 || out->refusal != MapRefusal::kNone)) {
    int saved = errno;
    shm_unlink(name);
    errno = saved;
  }
  return rc;
}

int UnlinkSharedMemory(const char* name) {
  return shm_unlink(name) == 0 ? 0 : -errno;
}

int Flush(void* addr, size_t mapping_length, int64_t offset, int64_t length) {
  int64_t page = AllocationGranularity();
  int64_t start = offset - offset % page;
  int64_t end = offset + length;
  if (end > static_cast<int64_t>(mapping_length)) {
    end = static_cast<int64_t>(mapping_length);
  }
  if (end <= start) return 0;
  if (msync(static_cast<char*>(addr) + start, static_cast<size_t>(end - start),
            MS_SYNC) != 0) {
    return -errno;
  }
  return 0;
}

int Unmap(void* addr, size_t length) {
  return munmap(addr, length) == 0 ? 0 : -errno;
}

int RemapFile(const char* path, int fd, uint64_t dev, uint64_t ino,
              int64_t offset, int64_t new_length, MapResult* out) {
  int own_fd = fd >= 0 ? fd : OpenRetrying(path, O_RDWR, 0);
  if (own_fd < 0) return Fail(out, "open");
  int rc = 0;
  struct stat st;
  int64_t new_size = offset + new_length;
  bool grown = false;
  void* addr = MAP_FAILED;
  if (fstat(own_fd, &st) != 0) {
    rc = Fail(out, "fstat");
  } else if (static_cast<uint64_t>(st.st_dev) != dev ||
             static_cast<uint64_t>(st.st_ino) != ino) {
    // The path now names another file (renamed or replaced since mmap()).
    errno = ESTALE;
    rc = Fail(out, "open");
  } else if (st.st_size < new_size) {
    const char* syscall = "";
    if (posix::GrowFile(own_fd, st.st_size, new_size, &syscall) != 0) {
      rc = Fail(out, syscall);
    } else {
      grown = true;
    }
  }
  if (rc == 0) {
    addr = mmap(nullptr, static_cast<size_t>(new_length),
                PROT_READ | PROT_WRITE, MAP_SHARED, own_fd,
                static_cast<off_t>(offset));
    if (addr == MAP_FAILED) rc = Fail(out, "mmap");
  }
  if (rc == 0 && st.st_size > new_size &&
      ftruncate(own_fd, static_cast<off_t>(new_size)) != 0) {
    rc = Fail(out, "ftruncate");
    munmap(addr, static_cast<size_t>(new_length));
  }
  if (rc != 0 && grown) {
    int saved = errno;
    if (ftruncate(own_fd, static_cast<off_t>(st.st_size)) != 0) {
      // The first error is the one to report.
    }
    errno = saved;
  }
  if (rc == 0) {
    out->addr = addr;
    out->length = static_cast<size_t>(new_length);
    out->file_size = new_size;
    out->dev = dev;
    out->ino = ino;
    out->offset = offset;
  }
  if (fd < 0) CloseQuietly(own_fd);
  return rc;
}

int Advise(void* addr, int64_t offset, int64_t length, Advice advice) {
  int64_t start, end;
  PageSpan(AllocationGranularity(), offset, length, &start, &end);
  if (end <= start) return 0;
  // The same flags on Linux and macOS; what MADV_DONTNEED does differs (see
  // platform.h): Linux drops the pages at once (a private copy mapping loses
  // its changes), macOS keeps their contents and only reclaims them first.
  static const int kAdvice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
                                MADV_WILLNEED, MADV_DONTNEED};
  if (madvise(static_cast<char*>(addr) + start,
              static_cast<size_t>(end - start),
              kAdvice[static_cast<int>(advice)]) != 0) {
    return -errno;
  }
  return 0;
}

int Resident(void* addr, int64_t offset, int64_t length, int64_t* resident) {
  *resident = 0;
  int64_t start, end;
  PageSpan(AllocationGranularity(), offset, length, &start, &end);
  if (end <= start) return 0;
  int64_t page = AllocationGranularity();
  size_t pages = static_cast<size_t>((end - start + page - 1) / page);
  std::vector<unsigned char> in_core(pages);
  int rc = posix::PageResidency(static_cast<char*>(addr) + start,
                                static_cast<size_t>(end - start),
                                in_core.data());
  if (rc != 0) return rc;
  int64_t total = 0;
  for (size_t i = 0; i < pages; i++) {
    if ((in_core[i] & 1) == 0) continue;
    total += BytesInRange(start + static_cast<int64_t>(i) * page, page,
                          offset, end);
  }
  *resident = total;
  return 0;
}

int Prefetch(void* addr, int64_t offset, int64_t length) {
  return AdviseAndTouch(addr, offset, length, AllocationGranularity());
}

int MapFileRange(int fd, int64_t offset, int64_t length, void** addr,
                 size_t* mapped, int64_t* delta) {
  int64_t page = AllocationGranularity();
  int64_t start = offset - offset % page;
  *delta = offset - start;
  *mapped = static_cast<size_t>(length + *delta);
  if (*mapped == 0) *mapped = 1;
  void* p = mmap(nullptr, *mapped, PROT_READ, MAP_SHARED, fd,
                 static_cast<off_t>(start));
  if (p == MAP_FAILED) return -errno;
  *addr = p;
  return 0;
}

}  // namespace memoryview
