// Errors thrown by native code.
//
// Ownership rules:
// - The constructors used here are held by AddonData (strong references,
//   freed with the environment). init() from lib/binding.ts hands in the
//   package's own classes once, so native code throws exactly the classes JS
//   code throws (BufferError included) and every error carries a `code`.
// - Errors are thrown as C++ Napi::Error exceptions (the addon's one
//   exception mode); node-addon-api turns them into JS exceptions when the
//   callback returns. The error object itself lives on the JS heap.

#ifndef MEMORYVIEW_NATIVE_ERRORS_H_
#define MEMORYVIEW_NATIVE_ERRORS_H_

#include <napi.h>

#include <string>

namespace memoryview {

enum class ErrorKind { kError, kTypeError, kRangeError, kBufferError };

// Stable error codes used by native code (public API: never rename).
inline constexpr char kCodeInvalidArg[] = "ERR_MEMORYVIEW_INVALID_ARG";
inline constexpr char kCodeInvalidDescriptor[] =
    "ERR_MEMORYVIEW_INVALID_DESCRIPTOR";
inline constexpr char kCodeOutOfRange[] = "ERR_MEMORYVIEW_OUT_OF_RANGE";
inline constexpr char kCodeOutOfBounds[] = "ERR_MEMORYVIEW_OUT_OF_BOUNDS";
inline constexpr char kCodeReleased[] = "ERR_MEMORYVIEW_RELEASED";
inline constexpr char kCodeInvalidThis[] = "ERR_INVALID_THIS";

// Builds an error of `kind` whose message is "memoryview: " + `message` and
// whose `code` property is `code`.
Napi::Error MakeError(Napi::Env env, ErrorKind kind, const char* code,
                      const std::string& message);

// Throws MakeError(...) as a C++ exception.
[[noreturn]] void ThrowError(Napi::Env env, ErrorKind kind, const char* code,
                             const std::string& message);

// A system error: Error with code = the errno name (ENOENT, EACCES, ...),
// errno (negative, as Node's own errors), syscall and, when known, path.
[[noreturn]] void ThrowSystemError(Napi::Env env, int negative_errno,
                                   const char* syscall,
                                   const std::string& path = "");

// libuv's code for a platform layer's -errno: what Node's own errors carry
// as `errno` and what util.getSystemErrorName() names. The same number on
// Unix; on Windows the platform layer returns the C runtime's errno
// (-ENOENT is -2) and libuv's code differs (UV_ENOENT is -4058). For a
// number reported to JS without ThrowSystemError() (waitAsync's result).
int UvErrno(int negative_errno);

// Throws TypeError "Illegal invocation" (code ERR_INVALID_THIS), what V8
// throws for a builtin method called on a foreign receiver.
[[noreturn]] void ThrowIllegalInvocation(Napi::Env env);

// JS: init({ BufferError, Error?, TypeError?, RangeError? }) -> undefined.
// Replaces the classes native errors are made from; may be called again.
Napi::Value InitErrors(const Napi::CallbackInfo& info);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_ERRORS_H_
