#include "mapping.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <uv.h>

#include "addon_data.h"
#include "errors.h"

namespace memoryview {

namespace {

std::atomic<int64_t> live_mappings{0};

struct MapState {
  void* addr = nullptr;
  size_t length = 0;
  bool unmapped = false;
  // Unmaps once; later calls do nothing.
  void Unmap() {
    if (unmapped) return;
    unmapped = true;
    memoryview::Unmap(addr, length);
    live_mappings--;
  }
};

// Live mappings by address. Process-wide (worker threads map too), so
// guarded by a mutex; an address is unique while it is mapped.
std::mutex table_mutex;
std::unordered_map<void*, std::shared_ptr<MapState>>& Table() {
  static auto* table = new std::unordered_map<void*, std::shared_ptr<MapState>>();
  return *table;
}

// Removes and returns the live mapping at `addr`, if any.
std::shared_ptr<MapState> Take(void* addr) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Table().find(addr);
  if (it == Table().end()) return nullptr;
  std::shared_ptr<MapState> state = std::move(it->second);
  Table().erase(it);
  return state;
}

std::shared_ptr<MapState> Find(void* addr) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Table().find(addr);
  return it == Table().end() ? nullptr : it->second;
}

// A system error: Error with code = the errno name (ENOENT, EACCES, ...),
// errno (negative, as Node's own errors), syscall and, when known, path.
[[noreturn]] void ThrowSystemError(Napi::Env env, int negative_errno,
                                   const char* syscall,
                                   const std::string& path) {
  std::string message = std::string(syscall) + " failed: " +
                        strerror(-negative_errno);
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = MakeError(env, ErrorKind::kError,
                                uv_err_name(negative_errno), message);
  error.Value().Set("errno", Napi::Number::New(env, negative_errno));
  error.Value().Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Value().Set("path", Napi::String::New(env, path));
  throw error;
}

[[noreturn]] void ThrowRefusal(Napi::Env env, MapRefusal refusal,
                               int64_t file_size) {
  switch (refusal) {
    case MapRefusal::kEmptyFile:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_EMPTY_FILE",
                 "cannot mmap an empty file");
    case MapRefusal::kOffsetPastEnd:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_PAST_EOF",
                 "mmap offset is greater than file size (" +
                     std::to_string(file_size) +
                     " bytes): pass an offset below the file size, or "
                     "size to extend the file (access 'write')");
    default:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_PAST_EOF",
                 "mmap length is greater than file size (" +
                     std::to_string(file_size) +
                     " bytes): pass a smaller length, or size to extend the "
                     "file (access 'write')");
  }
}

// The integer JS validated; native code checks again because a wrong value
// here would reach mmap(). `name` is the argument's name, for the message.
int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index,
                   const char* name) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               std::string(name) + " (argument " + std::to_string(index) +
                   ") must be an integer number");
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= -1 && d <= 9007199254740991.0) || d != static_cast<int64_t>(d)) {
    ThrowError(info.Env(), ErrorKind::kRangeError, kCodeOutOfRange,
               std::string(name) + " (argument " + std::to_string(index) +
                   ") must be an integer in [-1, 2**53 - 1], got " +
                   value.ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

void FinalizeBuffer(Napi::Env /*env*/, void* /*data*/,
                    std::shared_ptr<MapState>* hint) {
  // The buffer is unreachable: unmapping cannot pull memory from under JS.
  {
    std::lock_guard<std::mutex> lock(table_mutex);
    auto it = Table().find((*hint)->addr);
    if (it != Table().end() && it->second == *hint) Table().erase(it);
  }
  (*hint)->Unmap();
  delete hint;
}

Napi::Value MapResultToJs(Napi::Env env, int rc, const MapResult& result,
                          const std::string& path) {
  if (rc != 0) ThrowSystemError(env, rc, result.syscall, path);
  if (result.refusal != MapRefusal::kNone) {
    ThrowRefusal(env, result.refusal, result.file_size);
  }
  auto state = std::make_shared<MapState>();
  state->addr = result.addr;
  state->length = result.length;
  live_mappings++;
  auto* hint = new std::shared_ptr<MapState>(state);
  Napi::ArrayBuffer buffer;
  try {
    buffer = Napi::ArrayBuffer::New(env, result.addr, result.length,
                                    FinalizeBuffer, hint);
  } catch (...) {
    // No buffer, so no finalizer: this was the mapping's only owner.
    state->Unmap();
    delete hint;
    throw;
  }
  std::lock_guard<std::mutex> lock(table_mutex);
  Table()[result.addr] = std::move(state);
  return buffer;
}

// The data pointer of an ArrayBuffer argument (nullptr when detached).
void* BufferData(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "expected the ArrayBuffer of a mapping");
  }
  return info[0].As<Napi::ArrayBuffer>().Data();
}

}  // namespace

Napi::Value UnmapJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* addr = BufferData(info);
  std::shared_ptr<MapState> state = addr == nullptr ? nullptr : Take(addr);
  if (state == nullptr) return Napi::Boolean::New(env, false);
  // Detach first: from here on no JS can reach the memory, then unmap.
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (!buffer.IsDetached()) buffer.Detach();
  state->Unmap();
  return Napi::Boolean::New(env, true);
}

Napi::Value FlushJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* addr = BufferData(info);
  std::shared_ptr<MapState> state = addr == nullptr ? nullptr : Find(addr);
  if (state == nullptr) {
    ThrowError(env, ErrorKind::kError, kCodeReleased,
               "flush() on a mapping that is closed (or a buffer that is not "
               "a mapping)");
  }
  int64_t offset = IntegerArg(info, 1, "offset");
  int64_t length = IntegerArg(info, 2, "length");
  int rc = memoryview::Flush(state->addr, state->length, offset, length);
  if (rc != 0) ThrowSystemError(env, rc, "msync", "");
  return env.Undefined();
}

Napi::Value MapFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int fd = -1;
  if (info[0].IsString()) {
    path = info[0].As<Napi::String>().Utf8Value();
    if (path.find('\0') != std::string::npos) {
      ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
                 "path must not contain null bytes (one is at index " +
                     std::to_string(path.find('\0')) + ")");
    }
  } else {
    fd = static_cast<int>(IntegerArg(info, 1, "fd"));
  }
  int64_t access = IntegerArg(info, 2, "access");
  if (access < 0 || access > 2) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "access must be 0 (read), 1 (write) or 2 (copy), got " +
                   std::to_string(access));
  }
  int64_t offset = IntegerArg(info, 3, "offset");
  int64_t length = IntegerArg(info, 4, "length");
  int64_t size = IntegerArg(info, 5, "size");
  if (offset < 0 || length < 0 || offset % AllocationGranularity() != 0) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "offset must be a non-negative multiple of the allocation "
               "granularity (" +
                   std::to_string(AllocationGranularity()) + "), got offset " +
                   std::to_string(offset) + " and length " +
                   std::to_string(length));
  }
  MapResult result;
  int rc = MapFile(path.empty() ? nullptr : path.c_str(), fd,
                   static_cast<Access>(access), offset, length, size, &result);
  return MapResultToJs(env, rc, result, path);
}

Napi::Value OpenSharedMemoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "the shared memory name must be a string");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool create = info[1].ToBoolean().Value();
  int64_t size = IntegerArg(info, 2, "size");
  MapResult result;
  int rc = MapSharedMemory(name.c_str(), create, size, &result);
  return MapResultToJs(env, rc, result, name);
}

Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "the shared memory name must be a string");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int rc = UnlinkSharedMemory(name.c_str());
  if (rc != 0) ThrowSystemError(env, rc, "shm_unlink", name);
  return env.Undefined();
}

Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_mappings.load()));
}

Napi::Value AllocationGranularityJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(AllocationGranularity()));
}

}  // namespace memoryview
