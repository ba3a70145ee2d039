// The errno values the platform layers return, in one place for every OS.
//
// Ownership rules: none (constants and a pure lookup function).
//
// Assumptions:
// - Every platform layer (platform_posix.cc, platform_win32.cc, ...) returns
//   -errno with the C runtime's errno values. Those differ by OS (ENOENT is 2
//   everywhere, but ETIMEDOUT is 110 on Linux, 60 on macOS, 138 in the
//   Windows CRT), so a name is looked up here by the value <errno.h> gives on
//   the OS being compiled for, never by a number written down once.
// - The Windows C runtime has no ESTALE; it is defined below with Winsock's
//   value (WSAESTALE, 10070), which collides with no CRT errno.

#ifndef MEMORYVIEW_NATIVE_ERRNO_COMPAT_H_
#define MEMORYVIEW_NATIVE_ERRNO_COMPAT_H_

#include <cerrno>

#ifndef ESTALE
#define ESTALE 10070
#endif

namespace memoryview {

// One errno value the platform layers return, with its POSIX name.
struct ErrnoEntry {
  int value;
  const char* name;
};

// The table ErrnoName() looks names up in, and its length in *count (also
// for the check that it agrees with libuv: platform-unit --errno).
inline const ErrnoEntry* ErrnoTable(int* count) {
  static const ErrnoEntry kTable[] = {
      {ENOENT, "ENOENT"},
      {EACCES, "EACCES"},
      {EEXIST, "EEXIST"},
      {ENOSPC, "ENOSPC"},
      {ENOMEM, "ENOMEM"},
      {EINVAL, "EINVAL"},
      {EISDIR, "EISDIR"},
      {ESTALE, "ESTALE"},
      {EBADF, "EBADF"},
      {EPERM, "EPERM"},
      {EBUSY, "EBUSY"},
      {EFBIG, "EFBIG"},
      {EAGAIN, "EAGAIN"},
      {EINTR, "EINTR"},
      {EIO, "EIO"},
      {ENAMETOOLONG, "ENAMETOOLONG"},
      {EMFILE, "EMFILE"},
      {ENFILE, "ENFILE"},
      {ENOTDIR, "ENOTDIR"},
      {ENXIO, "ENXIO"},
      {EROFS, "EROFS"},
      {ETXTBSY, "ETXTBSY"},
      {ENOSYS, "ENOSYS"},
      {EOVERFLOW, "EOVERFLOW"},
      {EFAULT, "EFAULT"},
      {ENODEV, "ENODEV"},
      {ENOTSUP, "ENOTSUP"},
      {ETIMEDOUT, "ETIMEDOUT"},
      {ELOOP, "ELOOP"},
      {ESPIPE, "ESPIPE"},
      {EXDEV, "EXDEV"},
      {ECANCELED, "ECANCELED"},
  };
  *count = static_cast<int>(sizeof(kTable) / sizeof(kTable[0]));
  return kTable;
}

// The POSIX name of a (positive) errno value ("ENOENT"), or nullptr when it
// is not one the platform layers return. Agrees with libuv's uv_err_name()
// on Linux (checked by test/cross/windows.sh); unlike uv_err_name() it takes
// the C runtime's errno on Windows too, where libuv's own codes are not
// -errno (UV_ENOENT is -4058 there).
// Inline (not in a .cc of its own) so that binding.gyp's source list needs
// no change for it.
inline const char* ErrnoName(int err) {
  int count = 0;
  const ErrnoEntry* table = ErrnoTable(&count);
  for (int i = 0; i < count; i++) {
    if (table[i].value == err) return table[i].name;
  }
  return nullptr;
}

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_ERRNO_COMPAT_H_
