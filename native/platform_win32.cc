// native/platform.h for Windows: mapped files, named shared memory and
// waiting on shared words, with the same contract as platform_posix.cc.
//
// Ownership rules:
// - Unlike on POSIX, some mappings hold handles while they are mapped, kept
//   in a process-wide table keyed by the view's base address and closed by
//   Unmap():
//   - shared memory: the section handle. A named section's name lives only
//     while some process has a handle to it (a mapped view alone keeps the
//     memory but not the name), so closing the handle would make the segment
//     impossible to open by name while we still use it. Python's mmap keeps
//     its handle open for the same reason.
//   - kWrite file mappings: the file handle (our own, or a duplicate of the
//     caller's fd), for FlushFileBuffers() in Flush() and for the deferred
//     truncation of RemapFile() below.
//   Everything else is closed before returning, as on POSIX.
// - Every failure closes what it opened and deletes a file it created.
//
// Assumptions:
// - `int fd` arguments are Node's fs descriptors. On Windows those are C
//   runtime descriptors of node.exe's own CRT (libuv makes them with
//   _open_osfhandle). The addon may be linked with another CRT, whose
//   descriptor table is a different one, so _get_osfhandle() here would look
//   the number up in the wrong table. uv_get_osfhandle(), exported by
//   node.exe, asks libuv's (node's) CRT. Declared here rather than through
//   <uv.h> so that the platform layer builds without Node's headers (the
//   unit test in test/cross supplies a stand-in).
// - System calls keep the POSIX names in MapResult::syscall ("open",
//   "mmap", "fallocate", "shm_open", ...), so that errors read the same on
//   every OS; the code is the errno name either way.
// - Error values are the C runtime's errno values (ErrnoFromWin32 below), so
//   that errors.cc names them the same way on every OS.

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
// PrefetchVirtualMemory needs Windows 8 declarations (headers default to
// older targets on some toolchains).
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0602
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0602
#endif
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2  // QueryWorkingSetEx from kernel32 (K32...), no psapi.dll
#endif
#include <windows.h>
#include <psapi.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "errno_compat.h"
#include "platform.h"
#include "platform_plan.h"

extern "C" HANDLE uv_get_osfhandle(int fd);

namespace memoryview {

namespace {

// GetLastError() values to C runtime errno values. Anything not listed
// becomes EIO: an unexpected failure, reported with the call that failed.
int ErrnoFromWin32(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
      return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_WRITE_PROTECT:
    case ERROR_NETWORK_ACCESS_DENIED:
      return EACCES;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
      return EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NOT_ENOUGH_QUOTA:
      return ENOMEM;
    case ERROR_INVALID_HANDLE:
      return EBADF;
    case ERROR_FILENAME_EXCED_RANGE:
    case ERROR_BUFFER_OVERFLOW:
      return ENAMETOOLONG;
    case ERROR_TOO_MANY_OPEN_FILES:
      return EMFILE;
    case ERROR_DIRECTORY:
      return ENOTDIR;
    case ERROR_USER_MAPPED_FILE:
    case ERROR_BUSY:
      return EBUSY;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION:
    case ERROR_CALL_NOT_IMPLEMENTED:
      return ENOTSUP;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_MAPPED_ALIGNMENT:
      return EINVAL;
    case ERROR_FILE_INVALID:
      return ENODEV;
    case ERROR_NOACCESS:
    case ERROR_INVALID_ADDRESS:
      return EFAULT;
    case ERROR_TIMEOUT:
      return ETIMEDOUT;
    case ERROR_CANT_RESOLVE_FILENAME:
      return ELOOP;
    default:
      return EIO;
  }
}

int LastErrno() { return -ErrnoFromWin32(GetLastError()); }

int Fail(MapResult* out, const char* syscall) {
  out->syscall = syscall;
  return LastErrno();
}

int FailWith(MapResult* out, const char* syscall, int err) {
  out->syscall = syscall;
  return -err;
}

// UTF-8 (what JS strings arrive as) to UTF-16 (what the *W calls take).
bool Widen(const char* utf8, std::wstring* wide) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1,
                              nullptr, 0);
  if (n <= 0) return false;
  wide->resize(static_cast<size_t>(n));
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, &(*wide)[0], n);
  wide->resize(static_cast<size_t>(n - 1));
  return true;
}

HANDLE HandleOfFd(int fd) {
  HANDLE h = uv_get_osfhandle(fd);
  return h == nullptr ? INVALID_HANDLE_VALUE : h;
}

// Closes a handle without disturbing GetLastError() (the error being
// reported is the earlier one).
void CloseQuietly(HANDLE h) {
  if (h == nullptr || h == INVALID_HANDLE_VALUE) return;
  DWORD saved = GetLastError();
  CloseHandle(h);
  SetLastError(saved);
}

int64_t PageSize() {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize;
}

// ---------------------------------------------------------------------------
// Handles held by live views (see "Ownership rules").

struct ViewHandles {
  HANDLE section = nullptr;  // shared memory: keeps the name alive
  HANDLE file = nullptr;     // kWrite files: FlushFileBuffers, truncation
  // >= 0: shorten the file to this size when the view is unmapped (a file
  // with a mapped view cannot be shortened on Windows; see RemapFile).
  int64_t truncate_to = -1;
  // The file's identity, so that a pending truncation waits for the last of
  // this process's views of that file.
  uint64_t dev = 0;
  uint64_t ino = 0;
};

std::mutex views_mutex;
std::unordered_map<void*, ViewHandles>& Views() {
  static auto* views = new std::unordered_map<void*, ViewHandles>();
  return *views;
}

void Remember(void* addr, const ViewHandles& handles) {
  std::lock_guard<std::mutex> lock(views_mutex);
  Views()[addr] = handles;
}

HANDLE FileOfView(void* addr) {
  std::lock_guard<std::mutex> lock(views_mutex);
  auto it = Views().find(addr);
  return it == Views().end() ? nullptr : it->second.file;
}

// A handle of our own to the file behind `file`, which the caller may close.
HANDLE Duplicate(HANDLE file) {
  HANDLE dup = nullptr;
  if (!DuplicateHandle(GetCurrentProcess(), file, GetCurrentProcess(), &dup,
                       0, FALSE, DUPLICATE_SAME_ACCESS)) {
    return nullptr;
  }
  return dup;
}

bool SetSize(HANDLE file, int64_t size) {
  FILE_END_OF_FILE_INFO eof;
  eof.EndOfFile.QuadPart = size;
  return SetFileInformationByHandle(file, FileEndOfFileInfo, &eof,
                                    sizeof(eof)) != 0;
}

// Grows the file to `size` bytes with its clusters reserved, so that a full
// disk refuses here (ENOSPC) instead of failing a page-in later, which on
// Windows is an in-page exception that kills the process. FileAllocationInfo
// reserves the clusters; setting the end of file on NTFS allocates them too
// (files are not sparse unless marked so), so the allocation step is skipped
// where a filesystem (FAT, some network redirectors, Wine) does not support
// it. On failure the file is put back to its old size.
bool Grow(HANDLE file, int64_t old_size, int64_t size) {
  FILE_ALLOCATION_INFO alloc;
  alloc.AllocationSize.QuadPart = size;
  if (!SetFileInformationByHandle(file, FileAllocationInfo, &alloc,
                                  sizeof(alloc))) {
    DWORD error = GetLastError();
    if (error != ERROR_INVALID_PARAMETER && error != ERROR_NOT_SUPPORTED &&
        error != ERROR_INVALID_FUNCTION &&
        error != ERROR_CALL_NOT_IMPLEMENTED) {
      SetSize(file, old_size);
      SetLastError(error);
      return false;
    }
  }
  if (!SetSize(file, size)) {
    DWORD error = GetLastError();
    SetSize(file, old_size);
    alloc.AllocationSize.QuadPart = old_size;
    SetFileInformationByHandle(file, FileAllocationInfo, &alloc, sizeof(alloc));
    SetLastError(error);
    return false;
  }
  return true;
}

struct FileFacts {
  int64_t size = 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool directory = false;
  bool regular = false;
};

bool Describe(HANDLE file, FileFacts* facts) {
  facts->regular = GetFileType(file) == FILE_TYPE_DISK;
  if (!facts->regular) return true;
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(file, &info)) return false;
  facts->size = (static_cast<int64_t>(info.nFileSizeHigh) << 32) |
                info.nFileSizeLow;
  // The volume serial number and file index identify a file as (st_dev,
  // st_ino) do on POSIX; RemapFile compares them.
  facts->dev = info.dwVolumeSerialNumber;
  facts->ino = (static_cast<uint64_t>(info.nFileIndexHigh) << 32) |
               info.nFileIndexLow;
  facts->directory = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  return true;
}

// Maps [offset, offset + length) of `file`. kWrite: a shared read-write
// view. kRead and kCopy: a copy-on-write view (FILE_MAP_COPY), so that a
// stray write lands in a private page and never reaches the file, as
// MAP_PRIVATE does on POSIX.
void* MapView(HANDLE file, Access access, int64_t offset, int64_t length,
              const char** failed) {
  DWORD protect = access == Access::kWrite ? PAGE_READWRITE : PAGE_WRITECOPY;
  // Maximum size 0: the section is the file as it is (already grown).
  HANDLE section = CreateFileMappingW(file, nullptr, protect, 0, 0, nullptr);
  if (section == nullptr) {
    *failed = "mmap";
    return nullptr;
  }
  DWORD desired = access == Access::kWrite ? FILE_MAP_WRITE : FILE_MAP_COPY;
  void* addr = MapViewOfFile(section, desired,
                             static_cast<DWORD>(static_cast<uint64_t>(offset) >> 32),
                             static_cast<DWORD>(offset & 0xFFFFFFFF),
                             static_cast<SIZE_T>(length));
  if (addr == nullptr) *failed = "mmap";
  // The view keeps the section (and the file) alive by itself.
  CloseQuietly(section);
  return addr;
}

// Plans, grows (size >= 0) and maps an open file; on success remembers the
// handle a kWrite view keeps (`file` itself when `file_is_ours`, which the
// caller then must not close; else a duplicate), and on failure closes
// nothing of the caller's.
int MapOpenFile(HANDLE file, bool file_is_ours, Access access, int64_t offset,
                int64_t length, int64_t size, int64_t max_length,
                MapResult* out) {
  FileFacts facts;
  if (!Describe(file, &facts)) return Fail(out, "fstat");
  if (facts.directory) return FailWith(out, "mmap", EISDIR);
  out->dev = facts.dev;
  out->ino = facts.ino;
  int64_t grown = facts.size;
  if (size >= 0 && size > grown) grown = size;
  out->file_size = grown;
  int64_t planned = 0;
  MapRefusal refusal =
      PlanLength(facts.regular, grown, offset, length, max_length, &planned);
  if (refusal != MapRefusal::kNone) return Refuse(out, refusal, planned);
  if (grown > facts.size && !Grow(file, facts.size, grown)) {
    return Fail(out, "fallocate");
  }
  const char* failed = "";
  void* addr = MapView(file, access, offset, planned, &failed);
  if (addr == nullptr) {
    int rc = Fail(out, failed);
    if (grown > facts.size) SetSize(file, facts.size);
    return rc;
  }
  if (access == Access::kWrite) {
    ViewHandles handles;
    handles.file = file_is_ours ? file : Duplicate(file);
    handles.dev = facts.dev;
    handles.ino = facts.ino;
    Remember(addr, handles);
  }
  out->addr = addr;
  out->length = static_cast<size_t>(planned);
  out->offset = offset;
  return 0;
}

HANDLE OpenPath(const std::wstring& path, bool write, DWORD disposition) {
  DWORD desired = write ? GENERIC_READ | GENERIC_WRITE : GENERIC_READ;
  // Others may read, write, rename and delete the file meanwhile, as POSIX
  // allows: this is a mapping, not a lock.
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  return CreateFileW(path.c_str(), desired, share, nullptr, disposition,
                     FILE_ATTRIBUTE_NORMAL, nullptr);
}

// CreateFileW refuses a directory with ERROR_ACCESS_DENIED; POSIX callers
// expect EISDIR for it.
int OpenFailure(const std::wstring& path, MapResult* out) {
  DWORD error = GetLastError();
  if (error == ERROR_ACCESS_DENIED) {
    DWORD attributes = GetFileAttributesW(path.c_str());
    if (attributes != INVALID_FILE_ATTRIBUTES &&
        (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      return FailWith(out, "open", EISDIR);
    }
  }
  SetLastError(error);
  return Fail(out, "open");
}

}  // namespace

int64_t AllocationGranularity() {
  static const int64_t granularity = [] {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    // 64 KiB on every Windows so far.
    return static_cast<int64_t>(info.dwAllocationGranularity);
  }();
  return granularity;
}

int MapFile(const char* path, int fd, Access access, int64_t offset,
            int64_t length, int64_t size, int64_t max_length, MapResult* out) {
  if (fd >= 0) {
    HANDLE file = HandleOfFd(fd);
    if (file == INVALID_HANDLE_VALUE) return FailWith(out, "fstat", EBADF);
    return MapOpenFile(file, false, access, offset, length, size, max_length,
                       out);
  }
  std::wstring wide;
  if (!Widen(path, &wide)) return FailWith(out, "open", EINVAL);
  bool write = access == Access::kWrite;
  bool created = false;
  HANDLE file = OpenPath(wide, write, OPEN_EXISTING);
  if (file == INVALID_HANDLE_VALUE && write && size >= 0 &&
      (GetLastError() == ERROR_FILE_NOT_FOUND)) {
    // Created here, so deleted again if anything below fails.
    file = OpenPath(wide, true, CREATE_NEW);
    created = file != INVALID_HANDLE_VALUE;
  }
  if (file == INVALID_HANDLE_VALUE) return OpenFailure(wide, out);
  // A kWrite view keeps `file` itself (no duplicate needed).
  int rc = MapOpenFile(file, true, access, offset, length, size, max_length,
                       out);
  bool kept = rc == 0 && out->refusal == MapRefusal::kNone && write;
  if (!kept) CloseQuietly(file);
  if (created && (rc != 0 || out->refusal != MapRefusal::kNone)) {
    DWORD saved = GetLastError();
    DeleteFileW(wide.c_str());
    SetLastError(saved);
  }
  return rc;
}

// Named file mappings backed by the paging file, exactly as Python's
// multiprocessing.shared_memory makes them on Windows (CreateFileMapping of
// INVALID_HANDLE_VALUE, PAGE_READWRITE, the name as given: no leading slash,
// generated ones are 'wnsm_' + 8 hex digits), so both see the same bytes.
//
// `reserve` is ignored: a section is always created SEC_COMMIT (Python's
// choice too). SEC_COMMIT charges the whole size against the system's commit
// limit at creation, so an impossible size fails here with ENOMEM, while the
// pages themselves are only materialised (zeroed) on first touch, so
// creation is fast anyway. SEC_RESERVE would need every view to commit pages
// with VirtualAlloc before touching them; a write to an uncommitted page is
// an access violation that kills the process, and a Python process opening
// the segment would never commit them.
int MapSharedMemory(const char* name, bool create, int64_t size,
                    bool /*reserve*/, int64_t max_length, MapResult* out) {
  if (create && size > max_length) {
    return Refuse(out, MapRefusal::kTooLarge, size);
  }
  std::wstring wide;
  if (!Widen(name, &wide)) return FailWith(out, "shm_open", EINVAL);
  HANDLE section;
  if (create) {
    // Cleared first, so that ERROR_ALREADY_EXISTS below can only be this
    // call's answer.
    SetLastError(ERROR_SUCCESS);
    section = CreateFileMappingW(
        INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE | SEC_COMMIT,
        static_cast<DWORD>(static_cast<uint64_t>(size) >> 32),
        static_cast<DWORD>(size & 0xFFFFFFFF), wide.c_str());
    if (section == nullptr) return Fail(out, "shm_open");
    // CreateFileMapping opens an existing section of that name instead of
    // failing; O_EXCL semantics are ours to add. The other owner's section
    // is only closed, never changed.
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      CloseHandle(section);
      return FailWith(out, "shm_open", EEXIST);
    }
  } else {
    section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE,
                               wide.c_str());
    if (section == nullptr) return Fail(out, "shm_open");
  }
  // Opening maps the whole section and asks its size (Python does the same,
  // with VirtualQuery): a section's size is not otherwise queryable, and it
  // is the size rounded up to whole pages.
  void* addr = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0,
                             create ? static_cast<SIZE_T>(size) : 0);
  if (addr == nullptr) {
    int rc = Fail(out, "mmap");
    CloseQuietly(section);
    return rc;
  }
  int64_t length = size;
  if (!create) {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(addr, &info, sizeof(info)) == 0) {
      int rc = Fail(out, "fstat");
      UnmapViewOfFile(addr);
      CloseQuietly(section);
      return rc;
    }
    length = static_cast<int64_t>(info.RegionSize);
  }
  out->file_size = length;
  if (length > max_length) {
    UnmapViewOfFile(addr);
    CloseHandle(section);
    return Refuse(out, MapRefusal::kTooLarge, length);
  }
  ViewHandles handles;
  handles.section = section;
  Remember(addr, handles);
  out->addr = addr;
  out->length = static_cast<size_t>(length);
  return 0;
}

// Windows has no unlink for named sections: the segment (and its name)
// lives exactly while some process holds a handle to it, and every mapping
// here holds one until it is closed. So this succeeds and does nothing,
// as Python's SharedMemory.unlink() does on Windows.
int UnlinkSharedMemory(const char* /*name*/) { return 0; }

// FlushViewOfFile writes the dirty pages to the file but returns before
// they reach the disk; FlushFileBuffers on the file then waits for that, as
// msync(MS_SYNC) does. Copy-on-write and shared-memory views have no file:
// only the view is flushed (a no-op for them, as msync is on POSIX).
int Flush(void* addr, size_t mapping_length, int64_t offset, int64_t length) {
  int64_t page = PageSize();
  int64_t start = offset - offset % page;
  int64_t end = offset + length;
  if (end > static_cast<int64_t>(mapping_length)) {
    end = static_cast<int64_t>(mapping_length);
  }
  if (end <= start) return 0;
  if (!FlushViewOfFile(static_cast<char*>(addr) + start,
                       static_cast<SIZE_T>(end - start))) {
    return LastErrno();
  }
  HANDLE file = FileOfView(addr);
  if (file != nullptr && !FlushFileBuffers(file)) return LastErrno();
  return 0;
}

namespace {
void LeaveBeforeUnmap(const void* addr, size_t length);
}  // namespace

int Unmap(void* addr, size_t length) {
  LeaveBeforeUnmap(addr, length);
  // A view is unmapped whole, by its base address.
  int rc = UnmapViewOfFile(addr) ? 0 : LastErrno();
  ViewHandles handles;
  bool found = false;
  bool last_view = true;
  {
    std::lock_guard<std::mutex> lock(views_mutex);
    auto it = Views().find(addr);
    if (it != Views().end()) {
      handles = it->second;
      Views().erase(it);
      found = true;
    }
    if (found && handles.truncate_to >= 0) {
      for (const auto& entry : Views()) {
        if (entry.second.file != nullptr && entry.second.dev == handles.dev &&
            entry.second.ino == handles.ino) {
          last_view = false;  // its own truncation (if any) comes later
        }
      }
    }
  }
  if (found) {
    if (handles.truncate_to >= 0 && handles.file != nullptr && last_view) {
      // Best effort: a view of the file in another process still prevents
      // it, and the file then keeps its longer size.
      SetSize(handles.file, handles.truncate_to);
    }
    if (handles.section != nullptr) CloseHandle(handles.section);
    if (handles.file != nullptr) CloseHandle(handles.file);
  }
  return rc;
}

// The file's length as this process's callers know it: the smallest
// pending shrink of a view of the file (dev, ino), else `physical`.
int64_t PendingSize(uint64_t dev, uint64_t ino, int64_t physical) {
  std::lock_guard<std::mutex> lock(views_mutex);
  int64_t size = physical;
  for (const auto& entry : Views()) {
    const ViewHandles& view = entry.second;
    if (view.file != nullptr && view.dev == dev && view.ino == ino &&
        view.truncate_to >= 0 && view.truncate_to < size) {
      size = view.truncate_to;
    }
  }
  return size;
}

// Python's mmap.resize() on Windows unmaps first and maps again; here the
// new view is made while the old one still exists, so any failure leaves the
// old mapping untouched (as on POSIX). Growth reserves the clusters first
// (Grow). Shrinking differs: Windows refuses to shorten a file while any
// view of it is mapped (ERROR_USER_MAPPED_FILE), and the old view is mapped
// until the caller unmaps it after this returns; so the new, shorter view is
// mapped at once and the file is shortened when the new view is unmapped
// (close() or collection), if no other view of the file is left then.
int RemapFile(const char* path, int fd, uint64_t dev, uint64_t ino,
              int64_t offset, int64_t new_length, MapResult* out) {
  HANDLE file;
  std::wstring wide;
  if (fd >= 0) {
    HANDLE theirs = HandleOfFd(fd);
    if (theirs == INVALID_HANDLE_VALUE) return FailWith(out, "open", EBADF);
    file = Duplicate(theirs);
    if (file == nullptr) return Fail(out, "open");
  } else {
    if (!Widen(path, &wide)) return FailWith(out, "open", EINVAL);
    file = OpenPath(wide, true, OPEN_EXISTING);
    if (file == INVALID_HANDLE_VALUE) return OpenFailure(wide, out);
  }
  int rc = 0;
  FileFacts facts;
  int64_t new_size = offset + new_length;
  bool grown = false;
  int64_t logical = -1;
  if (!Describe(file, &facts)) {
    rc = Fail(out, "fstat");
  } else if (facts.dev != dev || facts.ino != ino) {
    // The path now names another file (renamed or replaced since mmap()).
    rc = FailWith(out, "open", ESTALE);
  } else {
    logical = PendingSize(dev, ino, facts.size);
    if (facts.size < new_size) {
      if (!Grow(file, facts.size, new_size)) {
        rc = Fail(out, "fallocate");
      } else {
        grown = true;
      }
    }
  }
  void* addr = nullptr;
  if (rc == 0) {
    const char* failed = "";
    addr = MapView(file, Access::kWrite, offset, new_length, &failed);
    if (addr == nullptr) rc = Fail(out, failed);
  }
  if (rc != 0) {
    if (grown) SetSize(file, facts.size);
    CloseQuietly(file);
    return rc;
  }
  // Growing back over a pending shrink: the bytes past the shrunk length
  // are still in the file, but must read as zeros, as after a truncation.
  int64_t zero_from = logical > offset ? logical : offset;
  int64_t zero_to = new_size < facts.size ? new_size : facts.size;
  if (zero_from < zero_to) {
    std::memset(static_cast<char*>(addr) + (zero_from - offset), 0,
                static_cast<size_t>(zero_to - zero_from));
  }
  ViewHandles handles;
  handles.file = file;
  handles.dev = dev;
  handles.ino = ino;
  if (facts.size > new_size) handles.truncate_to = new_size;
  Remember(addr, handles);
  out->addr = addr;
  out->length = static_cast<size_t>(new_length);
  out->file_size = new_size;
  out->dev = dev;
  out->ino = ino;
  out->offset = offset;
  return 0;
}


// kWillNeed: PrefetchVirtualMemory (Windows 8+) reads the range in with
// large I/Os, what MADV_WILLNEED asks for. kDontNeed: VirtualUnlock on
// memory that is not locked, which Windows documents as removing the pages
// from the working set; that is what MADV_DONTNEED does for a shared file
// mapping (the pages can be dropped, dirty ones are written back first) but
// without its data loss for private copy-on-write pages (Windows pages them
// out instead of discarding them). DiscardVirtualMemory was not used: it
// makes the contents undefined, which a file mapping must never be.
// kNormal, kRandom, kSequential: Windows has no access-pattern advice for
// mapped memory, so they do nothing and succeed.
int Advise(void* addr, int64_t offset, int64_t length, Advice advice) {
  int64_t start, end;
  PageSpan(PageSize(), offset, length, &start, &end);
  if (end <= start) return 0;
  char* base = static_cast<char*>(addr) + start;
  SIZE_T span = static_cast<SIZE_T>(end - start);
  if (advice == Advice::kWillNeed) {
    WIN32_MEMORY_RANGE_ENTRY range;
    range.VirtualAddress = base;
    range.NumberOfBytes = span;
    // Advisory: a system without it (or refusing it) still pages in on
    // access, so a failure is not reported, as madvise's would not matter.
    PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0);
  } else if (advice == Advice::kDontNeed) {
    if (!VirtualUnlock(base, span) && GetLastError() != ERROR_NOT_LOCKED) {
      return LastErrno();
    }
  }
  return 0;
}

int Resident(void* addr, int64_t offset, int64_t length, int64_t* resident) {
  *resident = 0;
  int64_t start, end;
  PageSpan(PageSize(), offset, length, &start, &end);
  if (end <= start) return 0;
  int64_t page = PageSize();
  int64_t pages = (end - start + page - 1) / page;
  // Asked in batches, so that a 4 GiB range needs 1 MiB here, not 16 MiB.
  constexpr int64_t kBatch = 65536;
  std::vector<PSAPI_WORKING_SET_EX_INFORMATION> info(
      static_cast<size_t>(pages < kBatch ? pages : kBatch));
  int64_t total = 0;
  for (int64_t first = 0; first < pages; first += kBatch) {
    int64_t n = pages - first < kBatch ? pages - first : kBatch;
    for (int64_t i = 0; i < n; i++) {
      info[static_cast<size_t>(i)].VirtualAddress =
          static_cast<char*>(addr) + start + (first + i) * page;
    }
    if (!QueryWorkingSetEx(GetCurrentProcess(), info.data(),
                           static_cast<DWORD>(n * sizeof(info[0])))) {
      return LastErrno();
    }
    for (int64_t i = 0; i < n; i++) {
      // Valid: the page is in this process's working set (mincore's "in
      // core" asks about the page cache; a page only in the standby list
      // counts there but not here).
      if (!info[static_cast<size_t>(i)].VirtualAttributes.Valid) continue;
      total += BytesInRange(start + (first + i) * page, page, offset, end);
    }
  }
  *resident = total;
  return 0;
}

int Prefetch(void* addr, int64_t offset, int64_t length) {
  return AdviseAndTouch(addr, offset, length, PageSize());
}

// Windows has no advice for a file's cache pages apart from flags fixed at
// CreateFile time (FILE_FLAG_SEQUENTIAL_SCAN / RANDOM_ACCESS), which cannot
// be changed on an open handle: a no-op that succeeds.
int FileAdvise(int /*fd*/, int64_t /*offset*/, int64_t /*length*/,
               Advice /*advice*/) {
  return 0;
}

int MapFileRange(int fd, int64_t offset, int64_t length, void** addr,
                 size_t* mapped, int64_t* delta) {
  HANDLE file = HandleOfFd(fd);
  if (file == INVALID_HANDLE_VALUE) return -EBADF;
  int64_t granularity = AllocationGranularity();
  int64_t start = offset - offset % granularity;
  *delta = offset - start;
  *mapped = static_cast<size_t>(length + *delta);
  if (*mapped == 0) *mapped = 1;
  HANDLE section = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0,
                                      nullptr);
  if (section == nullptr) return LastErrno();
  void* p = MapViewOfFile(section, FILE_MAP_READ,
                          static_cast<DWORD>(static_cast<uint64_t>(start) >> 32),
                          static_cast<DWORD>(start & 0xFFFFFFFF), *mapped);
  int rc = p == nullptr ? LastErrno() : 0;
  CloseHandle(section);
  if (rc == 0) *addr = p;
  return rc;
}

// ---------------------------------------------------------------------------
// Waiting on shared words.
//
// WaitOnAddress/WakeByAddress* only work between threads of one process
// (the kernel keys waiters by virtual address, not by the backing section).
// So a wait sleeps in slices of kSliceMs and re-reads the word between
// them: a notify() from this process wakes the waiter at once; a change of
// the word made by another process (whose notify() cannot reach us) is seen
// at the end of the current slice. The worst-case cross-process wake
// latency is one slice as Windows rounds it: 10 ms asked, up to about 16 ms
// with the default 15.6 ms timer resolution, plus any scheduling delay on a
// loaded machine. A notify() from another process
// that does not change the word is not seen at all; the channel and the
// usual wait/notify protocols always change the word before notifying.
// Cancellation (WakeCancel) wakes the waiter at once: the cancel word is
// registered with the address its waiter sleeps on.
//
// Within the process, wakes are counted, not inferred: WaitOnAddress may
// return early for no reason, and a waiter between two slices is not asleep
// when WakeByAddressAll runs. So WakeAddress() hands out wake tokens (at
// most `count`, at most one per waiter of that address in this process) and
// wakes every sleeper of the address; a waiter returns "ok" only with a
// token (or a changed word) and otherwise sleeps on. Then notify(count)
// wakes exactly that many of this process's waiters and returns how many.

namespace {

constexpr int64_t kSliceMs = 10;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t LoadWord(const uint32_t* addr) {
  return reinterpret_cast<const std::atomic<uint32_t>*>(addr)->load(
      std::memory_order_seq_cst);
}

struct AddressWaiters {
  int waiting = 0;  // waiters of this address in this process
  int tokens = 0;   // wakes handed out and not yet taken
};

std::mutex waiters_mutex;
std::unordered_map<const void*, AddressWaiters>& Waiters() {
  static auto* waiters = new std::unordered_map<const void*, AddressWaiters>();
  return *waiters;
}
// The address each cancellable waiter sleeps on, by its cancel word.
std::unordered_map<const uint32_t*, const void*>& Cancels() {
  static auto* cancels = new std::unordered_map<const uint32_t*, const void*>();
  return *cancels;
}

// Registers a waiter of `addr` until it leaves. Leaving and taking a token
// happen under the lock WakeAddress() counts under, in one step: a waiter
// that has decided to return (timed out, cancelled, saw the word change, or
// took its token) is no longer counted, so notify() never counts a waiter
// that is already on its way out, and never leaves behind a token that a
// later waiter would take as a wake nobody sent.
class WaiterEntry {
 public:
  WaiterEntry(const void* addr, const uint32_t* cancel)
      : addr_(addr), cancel_(cancel) {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    Waiters()[addr_].waiting++;
    if (cancel_ != nullptr) Cancels()[cancel_] = addr_;
  }
  ~WaiterEntry() {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    LeaveLocked();
  }
  // Takes a wake token if one is there, and then leaves.
  bool TakeToken() {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    AddressWaiters& entry = Waiters()[addr_];
    if (entry.tokens == 0) return false;
    entry.tokens--;
    LeaveLocked();
    return true;
  }
  // Leaves, unless a token is there: then takes it (and leaves) and returns
  // true, and the wait ends "ok", since notify() counted it.
  bool Leave() {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    if (left_) return false;
    auto it = Waiters().find(addr_);
    bool took = it->second.tokens > 0;
    if (took) it->second.tokens--;
    LeaveLocked();
    return took;
  }

 private:
  void LeaveLocked() {
    if (left_) return;
    left_ = true;
    if (cancel_ != nullptr) Cancels().erase(cancel_);
    auto it = Waiters().find(addr_);
    // The last waiter leaves: no token can be left (see above).
    if (--it->second.waiting == 0) Waiters().erase(it);
  }

  const void* addr_;
  const uint32_t* cancel_;
  bool left_ = false;
};

// Cancels every cancellable waiter (waitAsync) of a word in [addr, addr +
// length) and waits until each has left, so that none reads the word after
// Unmap() unmaps it. Its caller has normally cancelled them already
// (CancelWaitsInRange in native/wait.cc); a waiter it did not (a mapping
// collected while a wait is pending) ends kCancelled here rather than
// touching freed memory. The cancel words are written under the lock that a
// waiter leaves under, so each belongs to a live waiter. Waiters leave at
// once when woken, so this spins for microseconds, not a slice.
void LeaveBeforeUnmap(const void* addr, size_t length) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(addr);
  for (;;) {
    std::vector<const void*> words;
    {
      std::lock_guard<std::mutex> lock(waiters_mutex);
      for (const auto& entry : Cancels()) {
        uintptr_t word = reinterpret_cast<uintptr_t>(entry.second);
        if (word < begin || word - begin >= length) continue;
        reinterpret_cast<std::atomic<uint32_t>*>(
            const_cast<uint32_t*>(entry.first))
            ->store(1, std::memory_order_seq_cst);
        words.push_back(entry.second);
      }
    }
    if (words.empty()) return;
    for (const void* word : words) WakeByAddressAll(const_cast<void*>(word));
    SwitchToThread();
  }
}

}  // namespace

int WaitOnAddress(const uint32_t* addr, uint32_t expected, int64_t timeout_ns,
                  uint32_t* cancel, WaitResult* out) {
  if (reinterpret_cast<uintptr_t>(addr) % alignof(uint32_t) != 0) {
    return -EINVAL;
  }
  const int64_t deadline = timeout_ns < 0 ? -1 : NowNs() + timeout_ns;
  // Registered before the word is first read, and the cancel word read
  // before it each time: Unmap() waits for registered cancellable waiters of
  // its range to leave, so a waiter reads the word only while it is mapped
  // (a read of an unmapped word is an access violation that kills the
  // process; POSIX reports EFAULT instead).
  WaiterEntry entry(addr, cancel);
  if (cancel != nullptr && LoadWord(cancel) != 0) {
    *out = entry.Leave() ? WaitResult::kOk : WaitResult::kCancelled;
    return 0;
  }
  if (LoadWord(addr) != expected) {
    *out = entry.Leave() ? WaitResult::kOk : WaitResult::kNotEqual;
    return 0;
  }
  for (;;) {
    if (entry.TakeToken()) {
      *out = WaitResult::kOk;  // notify() from this process
      return 0;
    }
    // Each way out below leaves through Leave(), which takes a token that
    // arrived meanwhile instead (see WaiterEntry).
    if (cancel != nullptr && LoadWord(cancel) != 0) {
      *out = entry.Leave() ? WaitResult::kOk : WaitResult::kCancelled;
      return 0;
    }
    if (LoadWord(addr) != expected) {
      // Changed while we slept: how another process's notify() reaches us.
      entry.Leave();
      *out = WaitResult::kOk;
      return 0;
    }
    int64_t remaining = deadline < 0 ? -1 : deadline - NowNs();
    if (deadline >= 0 && remaining <= 0) {
      *out = entry.Leave() ? WaitResult::kOk : WaitResult::kTimedOut;
      return 0;
    }
    int64_t slice = kSliceMs;
    if (remaining >= 0) {
      int64_t remaining_ms = (remaining + 999999) / 1000000;
      if (remaining_ms < slice) slice = remaining_ms;
    }
    uint32_t compare = expected;
    if (!::WaitOnAddress(const_cast<uint32_t*>(addr), &compare,
                         sizeof(compare), static_cast<DWORD>(slice)) &&
        GetLastError() != ERROR_TIMEOUT) {
      int rc = LastErrno();
      if (entry.Leave()) {
        *out = WaitResult::kOk;
        return 0;
      }
      return rc;
    }
    // Woken, timed out or returned early: the top of the loop decides.
  }
}

// Returns how many of this process's waiters of `addr` were woken (at most
// `count`). Waiters in other processes are neither woken nor counted: they
// notice the changed word at the end of their current slice.
int WakeAddress(const uint32_t* addr, int count) {
  int woken = 0;
  {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    auto it = Waiters().find(addr);
    if (it != Waiters().end()) {
      AddressWaiters& entry = it->second;
      int untaken = entry.waiting - entry.tokens;
      woken = count < untaken ? count : untaken;
      if (woken < 0) woken = 0;
      entry.tokens += woken;
    }
  }
  // All of them: which sleeper gets a token is decided by who takes it
  // first; the others sleep on.
  if (woken > 0) WakeByAddressAll(const_cast<uint32_t*>(addr));
  return woken;
}

void WakeCancel(uint32_t* cancel) {
  reinterpret_cast<std::atomic<uint32_t>*>(cancel)->store(
      1, std::memory_order_seq_cst);
  // The waiter sleeps on its word, not on this one: wake the sleepers of that
  // word (the others find no token and sleep on). One that was not asleep
  // yet sees the flag at the end of its first slice.
  const void* addr = nullptr;
  {
    std::lock_guard<std::mutex> lock(waiters_mutex);
    auto it = Cancels().find(cancel);
    if (it != Cancels().end()) addr = it->second;
  }
  if (addr != nullptr) WakeByAddressAll(const_cast<void*>(addr));
}

}  // namespace memoryview
