#include "errors.h"

#include <cerrno>
#include <cstring>

#include <uv.h>

#include "addon_data.h"
#include "errno_compat.h"

namespace memoryview {

namespace {

Napi::Function ConstructorFor(Napi::Env env, ErrorKind kind) {
  AddonData* data = GetAddonData(env);
  switch (kind) {
    case ErrorKind::kTypeError:
      return data->type_error.Value();
    case ErrorKind::kRangeError:
      return data->range_error.Value();
    case ErrorKind::kBufferError:
      return data->buffer_error_set ? data->buffer_error.Value()
                                    : data->error.Value();
    case ErrorKind::kError:
      break;
  }
  return data->error.Value();
}

void ReplaceIfFunction(Napi::Object classes, const char* name,
                       Napi::FunctionReference* slot) {
  Napi::Value value = classes.Get(name);
  if (value.IsUndefined()) return;
  if (!value.IsFunction()) {
    ThrowError(classes.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               std::string("init(): ") + name + " must be a constructor");
  }
  *slot = Napi::Persistent(value.As<Napi::Function>());
}

// libuv's code for a (positive) errno value: what Node's own errors carry
// as `errno` (-2 for ENOENT on Unix, where libuv's codes are -errno, but
// -4058 on Windows), so that ours carry the same number as fs's. ESTALE has
// no libuv code and keeps -errno.
int UvCode(int err) {
  switch (err) {
    case ENOENT: return UV_ENOENT;
    case EACCES: return UV_EACCES;
    case EEXIST: return UV_EEXIST;
    case ENOSPC: return UV_ENOSPC;
    case ENOMEM: return UV_ENOMEM;
    case EINVAL: return UV_EINVAL;
    case EISDIR: return UV_EISDIR;
    case EBADF: return UV_EBADF;
    case EPERM: return UV_EPERM;
    case EBUSY: return UV_EBUSY;
    case EFBIG: return UV_EFBIG;
    case EAGAIN: return UV_EAGAIN;
    case EINTR: return UV_EINTR;
    case EIO: return UV_EIO;
    case ENAMETOOLONG: return UV_ENAMETOOLONG;
    case EMFILE: return UV_EMFILE;
    case ENFILE: return UV_ENFILE;
    case ENOTDIR: return UV_ENOTDIR;
    case ENXIO: return UV_ENXIO;
    case EROFS: return UV_EROFS;
    case ETXTBSY: return UV_ETXTBSY;
    case ENOSYS: return UV_ENOSYS;
    case EOVERFLOW: return UV_EOVERFLOW;
    case EFAULT: return UV_EFAULT;
    case ENODEV: return UV_ENODEV;
    case ENOTSUP: return UV_ENOTSUP;
    case ETIMEDOUT: return UV_ETIMEDOUT;
    case ELOOP: return UV_ELOOP;
    case ESPIPE: return UV_ESPIPE;
    case EXDEV: return UV_EXDEV;
    case ECANCELED: return UV_ECANCELED;
    default:
      return -err;
  }
}

}  // namespace

int UvErrno(int negative_errno) { return UvCode(-negative_errno); }

Napi::Error MakeError(Napi::Env env, ErrorKind kind, const char* code,
                      const std::string& message) {
  Napi::Function constructor = ConstructorFor(env, kind);
  Napi::Object error =
      constructor.New({Napi::String::New(env, "memoryview: " + message)});
  error.Set("code", Napi::String::New(env, code));
  return Napi::Error(env, error);
}

void ThrowError(Napi::Env env, ErrorKind kind, const char* code,
                const std::string& message) {
  throw MakeError(env, kind, code, message);
}

void ThrowIllegalInvocation(Napi::Env env) {
  // Node's own builtins use this wording and code for foreign receivers; the
  // message deliberately has no "memoryview: " prefix so it reads like V8's.
  Napi::Object error = GetAddonData(env)->type_error.Value().New(
      {Napi::String::New(env, "Illegal invocation")});
  error.Set("code", Napi::String::New(env, kCodeInvalidThis));
  throw Napi::Error(env, error);
}

Napi::Value InitErrors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "init() needs an object of error classes");
  }
  Napi::Object classes = info[0].As<Napi::Object>();
  AddonData* data = GetAddonData(env);
  ReplaceIfFunction(classes, "Error", &data->error);
  ReplaceIfFunction(classes, "TypeError", &data->type_error);
  ReplaceIfFunction(classes, "RangeError", &data->range_error);
  if (!classes.Get("BufferError").IsUndefined()) {
    ReplaceIfFunction(classes, "BufferError", &data->buffer_error);
    data->buffer_error_set = true;
  }
  return env.Undefined();
}

void ThrowSystemError(Napi::Env env, int negative_errno, const char* syscall,
                      const std::string& path) {
  std::string message = std::string(syscall) + " failed: " +
                        strerror(-negative_errno);
  if (!path.empty()) message += " '" + path + "'";
  // The platform layers return -errno with the C runtime's values. libuv's
  // uv_err_name() takes its own codes, which equal -errno only on Unix
  // (UV_ENOENT is -4058 on Windows) and has no name for ESTALE, which
  // resize() reports for a replaced file: so our own table first, libuv only
  // for a value outside it (which platform_win32.cc never returns).
  const char* name = ErrnoName(-negative_errno);
  if (name == nullptr) name = uv_err_name(negative_errno);
  Napi::Error error = MakeError(env, ErrorKind::kError, name, message);
  error.Value().Set("errno", Napi::Number::New(env, UvCode(-negative_errno)));
  error.Value().Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Value().Set("path", Napi::String::New(env, path));
  throw error;
}

}  // namespace memoryview
