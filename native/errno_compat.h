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

// The POSIX name of a (positive) errno value ("ENOENT"), or nullptr when it
// is not one the platform layers return. Agrees with libuv's uv_err_name()
// on Linux (checked by test/cross/windows.sh); unlike uv_err_name() it takes
// the C runtime's errno on Windows too, where libuv's own codes are not
// -errno (UV_ENOENT is -4058 there).
// Inline (not in a .cc of its own) so that binding.gyp's source list needs
// no change for it.
inline const char* ErrnoName(int err) {
  struct Entry {
    int value;
    const char* name;
  };
  static const Entry kNames[] = {
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
  for (const Entry& entry : kNames) {
    if (entry.value == err) return entry.name;
  }
  return nullptr;
}

// Every entry of the table, for the check that it agrees with libuv.
inline const int* ErrnoNameValues(int* count) {
  static const int kValues[] = {ENOENT, EACCES, EEXIST, ENOSPC, ENOMEM, EINVAL, EISDIR, ESTALE, EBADF, EPERM, EBUSY, EFBIG, EAGAIN, EINTR, EIO, ENAMETOOLONG, EMFILE, ENFILE, ENOTDIR, ENXIO, EROFS, ETXTBSY, ENOSYS, EOVERFLOW, EFAULT, ENODEV, ENOTSUP, ETIMEDOUT, ELOOP, ESPIPE, EXDEV, ECANCELED};
  *count = static_cast<int>(sizeof(kValues) / sizeof(kValues[0]));
  return kValues;
}

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_ERRNO_COMPAT_H_
