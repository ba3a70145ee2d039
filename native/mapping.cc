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

// Ids of mappings, handed to the ArrayBuffer's finalizer as its hint. An id
// is never reused, so a finalizer cannot mistake a later mapping at the same
// address for its own.
std::atomic<uintptr_t> next_id{1};

struct MapState {
  void* addr = nullptr;
  size_t length = 0;
  uintptr_t id = 0;
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
// guarded by a mutex; an address is unique while it is mapped. The table is
// the mapping's only owner: whoever takes a state out of it (unmap(), the
// finalizer, or the failure path of MapResultToJs) unmaps it, and nobody
// else can, so the mapping is unmapped exactly once whatever order they run
// in.
std::mutex table_mutex;
std::unordered_map<void*, std::shared_ptr<MapState>>& Table() {
  static auto* table = new std::unordered_map<void*, std::shared_ptr<MapState>>();
  return *table;
}

// Removes and returns the live mapping at `addr`, if any (and, with `id`,
// only if it is that mapping).
std::shared_ptr<MapState> Take(void* addr, uintptr_t id = 0) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Table().find(addr);
  if (it == Table().end() || (id != 0 && it->second->id != id)) return nullptr;
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

constexpr char kCodeTooLarge[] = "ERR_MEMORYVIEW_TOO_LARGE";

// Why a mapping longer than the runtime's largest buffer is refused, and the
// way out: a file can be mapped a window at a time, a segment cannot.
// `max_length` < 0: the runtime refused a length the caller's limit allowed.
[[noreturn]] void ThrowTooLarge(Napi::Env env, bool segment, int64_t length,
                                int64_t max_length) {
  std::string message =
      std::string("cannot map ") + (segment ? "a shared memory segment of " : "") +
      std::to_string(length) + " bytes: " +
      (max_length >= 0 ? "this runtime's largest buffer is " +
                             std::to_string(max_length) +
                             " bytes (buffer.constants.MAX_LENGTH); "
                       : std::string("this runtime refused a buffer that large "
                                     "(see buffer.constants.MAX_LENGTH); ")) +
      (segment ? "use segments of at most that size"
               : "map a window with { offset, length }");
  ThrowError(env, ErrorKind::kRangeError, kCodeTooLarge, message);
}

[[noreturn]] void ThrowRefusal(Napi::Env env, const MapResult& result,
                               bool segment, int64_t max_length) {
  switch (result.refusal) {
    case MapRefusal::kEmptyFile:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_EMPTY_FILE",
                 "cannot mmap an empty file");
    case MapRefusal::kOffsetPastEnd:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_PAST_EOF",
                 "mmap offset is greater than file size (" +
                     std::to_string(result.file_size) +
                     " bytes): pass an offset below the file size, or "
                     "size to extend the file (access 'write')");
    case MapRefusal::kTooLarge:
      ThrowTooLarge(env, segment, result.refused_length, max_length);
    default:
      ThrowError(env, ErrorKind::kRangeError, "ERR_MEMORYVIEW_PAST_EOF",
                 "mmap length is greater than file size (" +
                     std::to_string(result.file_size) +
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

// The external ArrayBuffer's finalizer: the buffer is unreachable, so
// unmapping cannot pull memory from under JS. The hint is the mapping's id,
// not a pointer: the runtime may run this finalizer while the buffer is
// still being created (Node 20 does, for a length over
// buffer.constants.MAX_LENGTH), and then it must not free anything the
// failure path frees too.
void FinalizeMapping(napi_env /*env*/, void* data, void* hint) {
  std::shared_ptr<MapState> state =
      Take(data, reinterpret_cast<uintptr_t>(hint));
  if (state != nullptr) state->Unmap();
}

Napi::Value MapResultToJs(Napi::Env env, int rc, const MapResult& result,
                          const std::string& path, bool segment,
                          int64_t max_length) {
  if (rc != 0) ThrowSystemError(env, rc, result.syscall, path);
  if (result.refusal != MapRefusal::kNone) {
    ThrowRefusal(env, result, segment, max_length);
  }
  auto state = std::make_shared<MapState>();
  state->addr = result.addr;
  state->length = result.length;
  state->id = next_id++;
  live_mappings++;
  {
    // In the table before the buffer exists, so that a finalizer run during
    // creation finds it (and unmaps it) instead of touching freed memory.
    std::lock_guard<std::mutex> lock(table_mutex);
    Table()[result.addr] = state;
  }
  // Called directly rather than through Napi::ArrayBuffer::New, whose
  // failure path deletes its own finalizer data even when the runtime has
  // already run (and deleted) it: a double free.
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(
      env, result.addr, result.length, FinalizeMapping,
      reinterpret_cast<void*>(state->id), &buffer);
  if (status != napi_ok) {
    // Unmapped here unless the finalizer already did it; either way once.
    std::shared_ptr<MapState> taken = Take(result.addr, state->id);
    if (taken != nullptr) taken->Unmap();
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      // The runtime's own error (ERR_BUFFER_TOO_LARGE) is replaced by ours.
      napi_value ignored = nullptr;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    if (status == napi_no_external_buffers_allowed) {
      // Electron's memory cage: no external memory at all (the same code
      // include/memoryview.h throws for it).
      ThrowError(env, ErrorKind::kError, "ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED",
                 "this runtime does not allow external ArrayBuffers; "
                 "nothing was mapped");
    }
    // What Node 20 refuses: a length over buffer.constants.MAX_LENGTH (the
    // check before mapping makes this a last line of defence).
    ThrowTooLarge(env, segment, static_cast<int64_t>(result.length), -1);
  }
  return Napi::ArrayBuffer(env, buffer);
}

// The data pointer of an ArrayBuffer argument (nullptr when detached).
void* BufferData(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "expected the ArrayBuffer of a mapping");
  }
  return info[0].As<Napi::ArrayBuffer>().Data();
}

// The shared-memory name argument. JS refuses NUL already; checked again
// because shm_open() would silently use the name up to the first NUL.
std::string SharedMemoryName(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "the shared memory name must be a string");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.find('\0') != std::string::npos) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "name must not contain null bytes");
  }
  return name;
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
  int64_t max_length = IntegerArg(info, 6, "maxLength");
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
                   static_cast<Access>(access), offset, length, size,
                   max_length, &result);
  return MapResultToJs(env, rc, result, path, false, max_length);
}

Napi::Value OpenSharedMemoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = SharedMemoryName(info);
  bool create = info[1].ToBoolean().Value();
  int64_t size = IntegerArg(info, 2, "size");
  int64_t max_length = IntegerArg(info, 3, "maxLength");
  // Absent (callers written for ABI 4) means the safe default: reserve.
  bool reserve = info.Length() < 5 || info[4].ToBoolean().Value();
  MapResult result;
  int rc = MapSharedMemory(name.c_str(), create, size, reserve, max_length,
                           &result);
  return MapResultToJs(env, rc, result, name, true, max_length);
}

Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = SharedMemoryName(info);
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
