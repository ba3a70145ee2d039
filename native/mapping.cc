#include "mapping.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <uv.h>

#include "addon_data.h"
#include "errors.h"
#include "wait.h"

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
  // The environment that made the mapping: only its JS may reach it by id.
  napi_env env = nullptr;
  // True once an ArrayBuffer over the mapping exists (made at most once):
  // from then on only unmap(buffer), which detaches it, or its finalizer
  // may unmap. Read and written on the owning environment's thread only.
  bool has_buffer = false;
  // For resize(): the file's identity and where the mapping starts in it.
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t offset = 0;

  // Unmaps once; later calls do nothing. While a prefetch is paging the
  // mapping in on the thread pool, the munmap is deferred to its end: JS can
  // no longer reach the memory (its buffer is detached or collected), but
  // the worker still reads it. JS holds a lease during a prefetch, so this
  // only matters when the environment is torn down under it.
  void Unmap() {
    std::lock_guard<std::mutex> lock(mutex_);
    unmap_requested_ = true;
    if (busy_ == 0) UnmapLocked();
  }
  // A worker's claim on the memory; false once an unmap was asked for.
  bool Enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (unmap_requested_) return false;
    busy_++;
    return true;
  }
  void Leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0 && unmap_requested_) UnmapLocked();
  }

 private:
  void UnmapLocked() {
    if (unmapped_) return;
    unmapped_ = true;
    memoryview::Unmap(addr, length);
    live_mappings--;
  }
  std::mutex mutex_;
  int busy_ = 0;
  bool unmap_requested_ = false;
  bool unmapped_ = false;
};

// Live mappings by id, and by address once they have an ArrayBuffer.
// Process-wide (worker threads map too), so guarded by one mutex. Ids()
// holds every live mapping (an id is never reused); Table() indexes by
// address only the mappings that have (or are getting) their one
// ArrayBuffer, through which unmap(), flush() and the finalizer find them:
// a mapping opened and closed untouched (mmap(path).close()) is one insert
// and one erase of Ids(), not two of each. The tables are the mapping's only
// owner: whoever takes a state out of them (unmap(), unmapId(), the
// finalizer, the environment's cleanup hook, or the failure path of
// MakeBuffer) unmaps it, and nobody else can, so the mapping is unmapped
// exactly once whatever order they run in.
std::mutex table_mutex;
std::unordered_map<void*, std::shared_ptr<MapState>>& Table() {
  static auto* table = new std::unordered_map<void*, std::shared_ptr<MapState>>();
  return *table;
}
std::unordered_map<uintptr_t, std::shared_ptr<MapState>>& Ids() {
  static auto* ids = new std::unordered_map<uintptr_t, std::shared_ptr<MapState>>();
  return *ids;
}

// Removes and returns the live mapping with an ArrayBuffer at `addr`, if any
// (and, with `id`, only if it is that mapping).
std::shared_ptr<MapState> Take(void* addr, uintptr_t id = 0) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Table().find(addr);
  if (it == Table().end() || (id != 0 && it->second->id != id)) return nullptr;
  std::shared_ptr<MapState> state = std::move(it->second);
  Table().erase(it);
  Ids().erase(state->id);
  return state;
}

// The live mapping with this id, if any.
std::shared_ptr<MapState> FindId(uintptr_t id) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Ids().find(id);
  return it == Ids().end() ? nullptr : it->second;
}

// The live mapping whose ArrayBuffer's data is at `addr`, if any.
std::shared_ptr<MapState> Find(void* addr) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto it = Table().find(addr);
  return it == Table().end() ? nullptr : it->second;
}

constexpr char kCodeTooLarge[] = "ERR_MEMORYVIEW_TOO_LARGE";

// mapFileIo()'s `io`, in doubles: [id, length] out, then fd, access,
// offset, length, size and maxLength in.
constexpr size_t kIoLength = 8;

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

// The arguments of a call read once into an array on the stack, for the
// plain callbacks below. Reads like a CallbackInfo (Env(), operator[]; a
// missing argument is undefined), so the helpers below take either.
template <size_t N>
class StackArgs {
 public:
  StackArgs(napi_env env, napi_callback_info info) : env_(env) {
    size_t argc = N;
    // Fills the arguments not passed with undefined.
    if (napi_get_cb_info(env, info, &argc, argv_, nullptr, nullptr) !=
        napi_ok) {
      throw Napi::Error::New(env);
    }
  }
  Napi::Env Env() const { return Napi::Env(env_); }
  Napi::Value operator[](size_t index) const {
    return Napi::Value(env_, index < N ? argv_[index] : nullptr);
  }

 private:
  napi_env env_;
  napi_value argv_[N];
};

// A plain Node-API callback running `Body` on its first N arguments read
// into a StackArgs, for the calls made on every mmap() and close()
// (mapFileIo(), unmapId()): it skips
// node-addon-api's wrapper and CallbackInfo (which also asks for `this` and
// the callback data, and zeroes its inline arguments), and turns the addon's
// C++ exceptions into JS ones itself, as that wrapper does.
template <size_t N, Napi::Value (*Body)(const StackArgs<N>&)>
napi_value PlainCallback(napi_env env, napi_callback_info cbinfo) {
  try {
    StackArgs<N> info(env, cbinfo);
    return Body(info);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

// Whether `d` is a number argument native code takes: an integer in
// [-1, 2**53 - 1] (-1 standing for "none": no fd, no size).
inline bool IsIntegerArg(double d) {
  return d >= -1 && d <= 9007199254740991.0 &&
         d == static_cast<double>(static_cast<int64_t>(d));
}

// The integer JS validated; native code checks again because a wrong value
// here would reach mmap(). `name` is the argument's name, for the message.
int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index,
                   const char* name) {
  Napi::Value value = info[index];
  double d = 0;
  // One Node-API call on the way to mmap(): napi_get_value_double refuses
  // anything but a number itself.
  if (napi_get_value_double(info.Env(), value, &d) != napi_ok) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               std::string(name) + " (argument " + std::to_string(index) +
                   ") must be an integer number");
  }
  if (!IsIntegerArg(d)) {
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

// Checks the result of a platform call and puts the new mapping in the
// table; throws (having mapped nothing) when the call failed or refused.
std::shared_ptr<MapState> Register(Napi::Env env, int rc,
                                   const MapResult& result, const char* path,
                                   bool segment, int64_t max_length) {
  if (rc != 0) ThrowSystemError(env, rc, result.syscall, path);
  if (result.refusal != MapRefusal::kNone) {
    ThrowRefusal(env, result, segment, max_length);
  }
  auto state = std::make_shared<MapState>();
  state->addr = result.addr;
  state->length = result.length;
  state->id = next_id++;
  state->env = env;
  state->dev = result.dev;
  state->ino = result.ino;
  state->offset = result.offset;
  live_mappings++;
  std::lock_guard<std::mutex> lock(table_mutex);
  Ids().emplace(state->id, state);
  return state;
}

// Creates the one external ArrayBuffer over a registered mapping. On failure
// the mapping is unmapped (the finalizer may already have done it, during the
// failed creation) and the runtime's error replaced by ours.
Napi::ArrayBuffer MakeBuffer(Napi::Env env,
                             const std::shared_ptr<MapState>& state,
                             bool segment) {
  state->has_buffer = true;
  void* addr = state->addr;
  size_t length = state->length;
  uintptr_t id = state->id;
  {
    // Indexed by address before the buffer exists, so that a finalizer run
    // during its creation finds it (and unmaps it) instead of touching
    // freed memory.
    std::lock_guard<std::mutex> lock(table_mutex);
    Table()[addr] = state;
  }
  // Called directly rather than through Napi::ArrayBuffer::New, whose
  // failure path deletes its own finalizer data even when the runtime has
  // already run (and deleted) it: a double free.
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(
      env, addr, length, FinalizeMapping, reinterpret_cast<void*>(id),
      &buffer);
  if (status != napi_ok) {
    // Unmapped here unless the finalizer already did it; either way once.
    // `state` may be gone by now: only the copies above are used.
    std::shared_ptr<MapState> taken = Take(addr, id);
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
    ThrowTooLarge(env, segment, static_cast<int64_t>(length), -1);
  }
  return Napi::ArrayBuffer(env, buffer);
}

Napi::Value MapResultToJs(Napi::Env env, int rc, const MapResult& result,
                          const char* path, bool segment,
                          int64_t max_length) {
  std::shared_ptr<MapState> state =
      Register(env, rc, result, path, segment, max_length);
  return MakeBuffer(env, state, segment);
}

// The ABI 8 result of mapFileId()/openSharedMemoryId(): the mapping's id
// and length written into the caller's Float64Array(2) `out` (argument
// `index`), so that a mapping costs one call and no allocation. Nothing is
// mapped yet when `out` is wrong.
double* OutArg(const Napi::CallbackInfo& info, size_t index) {
  napi_env env = info.Env();
  napi_value value = info[index];
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;  // already at the array's byteOffset
  // napi_get_typedarray_info() itself refuses (napi_invalid_arg) anything
  // but a TypedArray: no separate napi_is_typedarray() call.
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr,
                               nullptr) == napi_ok &&
      type == napi_float64_array && length >= 2 && data != nullptr) {
    return static_cast<double*>(data);
  }
  ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
             "out (argument " + std::to_string(index) +
                 ") must be a Float64Array of at least 2 elements");
}

Napi::Value LazyResultToJs(Napi::Env env, int rc, const MapResult& result,
                           const char* path, bool segment,
                           int64_t max_length, void* out) {
  std::shared_ptr<MapState> state =
      Register(env, rc, result, path, segment, max_length);
  // Copied rather than assigned: mapFileIo()'s `out` is any ArrayBuffer's
  // data, which need not be aligned for a double.
  const double written[2] = {static_cast<double>(state->id),
                             static_cast<double>(state->length)};
  std::memcpy(out, written, sizeof(written));
  return env.Undefined();
}

// The id argument of the ABI 8 calls, checked to be a possible id.
template <typename Info>
uintptr_t IdValue(const Info& info) {
  double d = -1;
  if (napi_get_value_double(info.Env(), info[0], &d) != napi_ok) d = -1;
  if (!(d >= 1 && d <= 9007199254740991.0) ||
      d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowError(info.Env(), ErrorKind::kTypeError, kCodeInvalidArg,
               "expected the id of a mapping");
  }
  return static_cast<uintptr_t>(d);
}

// The id argument of the ABI 8 calls: a mapping made by this environment.
// Another environment (a worker guessing ids) finds nothing.
std::shared_ptr<MapState> IdArg(const Napi::CallbackInfo& info) {
  std::shared_ptr<MapState> state = FindId(IdValue(info));
  if (state != nullptr && state->env != static_cast<napi_env>(info.Env())) {
    return nullptr;
  }
  return state;
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
  // waitAsync() on this memory settles with "released" rather than sleeping
  // on a word nobody here can reach any more.
  CancelWaitsInRange(env, state->addr, state->length);
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

namespace {

// A path argument as UTF-8. A path that fits in `stack_` costs one Node-API
// call and no allocation (mmap() of a small file is dominated by its system
// calls, and this keeps the rest short); a longer one goes to `heap_`.
class PathArg {
 public:
  PathArg() = default;
  // data_ may point into this object's own stack_: never copied.
  PathArg(const PathArg&) = delete;
  PathArg& operator=(const PathArg&) = delete;

  // Reads `value` when it is a string (false, nothing read, when it is not:
  // the caller asked for no separate type check); throws
  // ERR_MEMORYVIEW_INVALID_ARG for a NUL in it, which open() would silently
  // take as the end of the path.
  bool Read(napi_env env, napi_value value) {
    size_t size = 0;
    if (napi_get_value_string_utf8(env, value, stack_, sizeof(stack_),
                                   &size) != napi_ok) {
      return false;
    }
    data_ = stack_;
    // Within 4 bytes of the end the copy may have been cut (even inside a
    // multi-byte character): read it whole instead.
    if (size + 4 >= sizeof(stack_)) {
      heap_ = Napi::String(env, value).Utf8Value();
      data_ = heap_.c_str();
      size = heap_.size();
    }
    size_ = size;
    const void* nul = std::memchr(data_, '\0', size_);
    if (nul != nullptr) {
      ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
                 "path must not contain null bytes (one is at index " +
                     std::to_string(static_cast<const char*>(nul) - data_) +
                     ")");
    }
    return true;
  }
  // The path, NUL-terminated; "" until Read() (a file descriptor was given).
  const char* c_str() const { return data_; }
  bool empty() const { return size_ == 0; }

 private:
  char stack_[1024];
  std::string heap_;
  const char* data_ = "";
  size_t size_ = 0;
};

// What mapFile(), mapFileId() and mapFileIo() share: checks the arguments
// and maps. The path is argument 0; `number(index, name)` reads numeric
// argument `index` (1 fd, 2 access, 3 offset, 4 length, 5 size, 6 maxLength)
// from wherever the call passes it.
template <typename Info, typename Number>
int MapFileArgs(const Info& info, const Number& number, MapResult* result,
                PathArg* path, int64_t* max_length) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!path->Read(env, info[0])) {
    // Checked here rather than cast: an fd over INT_MAX would wrap to another
    // open descriptor, and no path with no fd would reach open(NULL).
    int64_t fd_arg = number(1, "fd");
    if (fd_arg < 0) {
      ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
                 "a path or a file descriptor is needed");
    }
    if (fd_arg > INT_MAX) {
      ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
                 "fd must be a file descriptor, at most " +
                     std::to_string(INT_MAX) + ", got " +
                     std::to_string(fd_arg));
    }
    fd = static_cast<int>(fd_arg);
  } else if (path->empty()) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "path must be non-empty");
  }
  int64_t access = number(2, "access");
  if (access < 0 || access > 2) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "access must be 0 (read), 1 (write) or 2 (copy), got " +
                   std::to_string(access));
  }
  int64_t offset = number(3, "offset");
  int64_t length = number(4, "length");
  int64_t size = number(5, "size");
  *max_length = number(6, "maxLength");
  if (offset < 0 || length < 0 || offset % AllocationGranularity() != 0) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "offset must be a non-negative multiple of the allocation "
               "granularity (" +
                   std::to_string(AllocationGranularity()) + "), got offset " +
                   std::to_string(offset) + " and length " +
                   std::to_string(length));
  }
  return MapFile(fd >= 0 ? nullptr : path->c_str(), fd,
                 static_cast<Access>(access), offset, length, size,
                 *max_length, result);
}

// The numbers of mapFile() and mapFileId(): their arguments 1 to 6.
int MapFileArgs(const Napi::CallbackInfo& info, MapResult* result,
                PathArg* path, int64_t* max_length) {
  auto number = [&info](size_t index, const char* name) {
    return IntegerArg(info, index, name);
  };
  return MapFileArgs(info, number, result, path, max_length);
}

// A number of mapFileIo()'s `io` array, checked as IntegerArg() checks an
// argument (IsIntegerArg(): it is a double already).
[[noreturn]] void ThrowIoRange(Napi::Env env, double d, size_t index,
                               const char* name) {
  ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
             std::string(name) + " (io[" + std::to_string(index) +
                 "]) must be an integer in [-1, 2**53 - 1], got " +
                 Napi::Number::New(env, d).ToString().Utf8Value());
}

// The check inline, the message built out of line (five of these run on
// every mmap()).
inline int64_t IoInteger(Napi::Env env, const unsigned char* io, size_t index,
                         const char* name) {
  double d;
  std::memcpy(&d, io + index * sizeof(d), sizeof(d));  // `io` may be unaligned
  if (!IsIntegerArg(d)) ThrowIoRange(env, d, index, name);
  return static_cast<int64_t>(d);
}

// openSharedMemoryId()'s arguments, then the mapping.
int SharedMemoryArgs(const Napi::CallbackInfo& info, MapResult* result,
                     std::string* name, int64_t* max_length) {
  *name = SharedMemoryName(info);
  bool create = info[1].ToBoolean().Value();
  int64_t size = IntegerArg(info, 2, "size");
  *max_length = IntegerArg(info, 3, "maxLength");
  bool reserve = info[4].ToBoolean().Value();
  return MapSharedMemory(name->c_str(), create, size, reserve, *max_length,
                         result);
}

}  // namespace

Napi::Value MapFileJs(const Napi::CallbackInfo& info) {
  MapResult result;
  PathArg path;
  int64_t max_length = 0;
  int rc = MapFileArgs(info, &result, &path, &max_length);
  return MapResultToJs(info.Env(), rc, result, path.c_str(), false,
                       max_length);
}

Napi::Value MapFileIdJs(const Napi::CallbackInfo& info) {
  double* out = OutArg(info, 7);
  MapResult result;
  PathArg path;
  int64_t max_length = 0;
  int rc = MapFileArgs(info, &result, &path, &max_length);
  return LazyResultToJs(info.Env(), rc, result, path.c_str(), false,
                        max_length, out);
}

namespace {

Napi::Value MapFileIo(const StackArgs<2>& info) {
  Napi::Env env = info.Env();
  // `io` is an ArrayBuffer rather than a Float64Array: napi_get_arraybuffer_
  // info() is a fraction of napi_get_typedarray_info() (no element type, no
  // view offset, no buffer to materialise), and this runs on every mmap().
  void* data = nullptr;
  size_t byte_length = 0;
  if (napi_get_arraybuffer_info(env, info[1], &data, &byte_length) !=
          napi_ok ||
      data == nullptr || byte_length < kIoLength * sizeof(double)) {
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "io (argument 1) must be an ArrayBuffer of at least " +
                   std::to_string(kIoLength * sizeof(double)) + " bytes");
  }
  // Read and written through memcpy: an ArrayBuffer made by JS is 8-byte
  // aligned, but an external one (another addon's memory) need not be.
  unsigned char* io = static_cast<unsigned char*>(data);
  MapResult result;
  PathArg path;
  int64_t max_length = 0;
  auto number = [env, io](size_t index, const char* name) {
    return IoInteger(env, io, index + 1, name);
  };
  int rc = MapFileArgs(info, number, &result, &path, &max_length);
  return LazyResultToJs(env, rc, result, path.c_str(), false, max_length, io);
}

}  // namespace

napi_value MapFileIoJs(napi_env env, napi_callback_info info) {
  return PlainCallback<2, MapFileIo>(env, info);
}

Napi::Value OpenSharedMemoryIdJs(const Napi::CallbackInfo& info) {
  double* out = OutArg(info, 5);
  MapResult result;
  std::string name;
  int64_t max_length = 0;
  int rc = SharedMemoryArgs(info, &result, &name, &max_length);
  return LazyResultToJs(info.Env(), rc, result, name.c_str(), true,
                        max_length, out);
}

Napi::Value MappingBufferJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<MapState> state = IdArg(info);
  if (state == nullptr) {
    ThrowError(env, ErrorKind::kError, kCodeReleased,
               "the mapping is closed (or the id is not of a mapping made "
               "here)");
  }
  if (state->has_buffer) {
    // A second buffer would outlive the detach of the first: refused.
    ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
               "this mapping already has its ArrayBuffer");
  }
  bool segment = info[1].ToBoolean().Value();
  return MakeBuffer(env, state, segment);
}

namespace {

Napi::Value UnmapId(const StackArgs<1>& info) {
  Napi::Env env = info.Env();
  uintptr_t id = IdValue(info);
  std::shared_ptr<MapState> taken;
  {
    // Found and taken under one lock (close() of an untouched file is this
    // call and nothing else). Another environment's mapping is not found;
    // one with a buffer stays: unmap(buffer) (which detaches it) or its
    // finalizer unmaps it, since JS could still reach the memory through it.
    // has_buffer is only written on the owning environment's thread, which,
    // the env being ours, is this one.
    std::lock_guard<std::mutex> lock(table_mutex);
    auto it = Ids().find(id);
    if (it != Ids().end() && it->second->env == static_cast<napi_env>(env) &&
        !it->second->has_buffer) {
      // Bufferless, so not in Table().
      taken = std::move(it->second);
      Ids().erase(it);
    }
  }
  if (taken == nullptr) return Napi::Boolean::New(env, false);
  taken->Unmap();
  return Napi::Boolean::New(env, true);
}

}  // namespace

napi_value UnmapIdJs(napi_env env, napi_callback_info info) {
  return PlainCallback<1, UnmapId>(env, info);
}

namespace {

// At the environment's teardown (a worker exiting), its mappings that never
// got an ArrayBuffer are unmapped: no finalizer would ever do it, and no JS
// or native code can reach their memory.
void UnmapBufferlessOf(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::vector<std::shared_ptr<MapState>> taken;
  {
    std::lock_guard<std::mutex> lock(table_mutex);
    for (auto it = Ids().begin(); it != Ids().end();) {
      // Bufferless, so not in Table().
      if (it->second->env == env && !it->second->has_buffer) {
        taken.push_back(std::move(it->second));
        it = Ids().erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& state : taken) state->Unmap();
}

}  // namespace

void InitMappings(Napi::Env env) {
  napi_add_env_cleanup_hook(env, UnmapBufferlessOf, static_cast<napi_env>(env));
}

Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = SharedMemoryName(info);
  int rc = UnlinkSharedMemory(name.c_str());
  if (rc != 0) ThrowSystemError(env, rc, "shm_unlink", name);
  return env.Undefined();
}

namespace {

// The live mapping behind an ArrayBuffer argument, or ERR_MEMORYVIEW_RELEASED.
std::shared_ptr<MapState> LiveMapping(const Napi::CallbackInfo& info,
                                      const char* what) {
  void* addr = BufferData(info);
  std::shared_ptr<MapState> state = addr == nullptr ? nullptr : Find(addr);
  if (state == nullptr) {
    ThrowError(info.Env(), ErrorKind::kError, kCodeReleased,
               std::string(what) + " on a mapping that is closed (or a buffer "
               "that is not a mapping)");
  }
  return state;
}

// [offset, offset + length) from arguments 1 and 2, inside the mapping. JS
// has validated and clamped it; checked again because it reaches madvise,
// mincore or a read loop.
void RangeArgs(const Napi::CallbackInfo& info, const MapState& state,
               int64_t* offset, int64_t* length) {
  *offset = IntegerArg(info, 1, "offset");
  *length = IntegerArg(info, 2, "length");
  int64_t size = static_cast<int64_t>(state.length);
  if (*offset < 0 || *length < 0 || *offset > size ||
      size - *offset < *length) {
    ThrowError(info.Env(), ErrorKind::kRangeError, kCodeOutOfRange,
               "range outside the mapping");
  }
}

// What both prefetch workers share: a promise settled on the JS thread with
// the result of Prefetch() (0, or -errno as an errno-named Error).
class PrefetchPromiseWork : public Napi::AsyncWorker {
 public:
  explicit PrefetchPromiseWork(Napi::Env env)
      : Napi::AsyncWorker(env, "memoryview.prefetch"),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void OnOK() override {
    Napi::Env env = Env();
    if (rc_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error error =
        MakeError(env, ErrorKind::kError, uv_err_name(rc_),
                  std::string("madvise failed: ") + strerror(-rc_));
    deferred_.Reject(error.Value());
  }

 protected:
  int rc_ = 0;

 private:
  Napi::Promise::Deferred deferred_;
};

// Pages a range in on the libuv thread pool. Holds the mapping's state and
// a claim on it (MapState::Enter), so that an unmap meanwhile (close() is
// refused by the lease JS holds, but a teardown or a collection is not) is
// deferred until the pages have been read.
class PrefetchWork : public PrefetchPromiseWork {
 public:
  PrefetchWork(Napi::Env env, std::shared_ptr<MapState> state, int64_t offset,
               int64_t length)
      : PrefetchPromiseWork(env),
        state_(std::move(state)),
        offset_(offset),
        length_(length) {}

  void Execute() override {
    if (!state_->Enter()) return;  // already unmapped: nothing to page in
    rc_ = memoryview::Prefetch(state_->addr, offset_, length_);
    state_->Leave();
  }

 private:
  std::shared_ptr<MapState> state_;
  int64_t offset_;
  int64_t length_;
};

// Pages a range of a file in on the thread pool through a private read-only
// mapping made before queuing (so the file descriptor may be closed
// meanwhile) and unmapped by the worker. No JS object ever sees it.
class FilePrefetchWork : public PrefetchPromiseWork {
 public:
  FilePrefetchWork(Napi::Env env, void* addr, size_t mapped, int64_t delta,
                   int64_t length)
      : PrefetchPromiseWork(env),
        addr_(addr),
        mapped_(mapped),
        delta_(delta),
        length_(length) {}
  ~FilePrefetchWork() override {
    if (addr_ != nullptr) memoryview::Unmap(addr_, mapped_);
  }

  void Execute() override {
    rc_ = memoryview::Prefetch(addr_, delta_, length_);
    memoryview::Unmap(addr_, mapped_);
    addr_ = nullptr;
  }

 private:
  void* addr_;
  size_t mapped_;
  int64_t delta_;
  int64_t length_;
};

// The advice (argument 3) of advise() and fileAdvise(), numbered as Advice.
Advice AdviceArg(const Napi::CallbackInfo& info) {
  int64_t advice = IntegerArg(info, 3, "advice");
  if (advice < 0 || advice > static_cast<int64_t>(Advice::kDontNeed)) {
    ThrowError(info.Env(), ErrorKind::kRangeError, kCodeOutOfRange,
               "advice out of range");
  }
  return static_cast<Advice>(advice);
}

// fd, offset, length of the file-range calls (arguments 0 to 2).
void FileRangeArgs(const Napi::CallbackInfo& info, int* fd, int64_t* offset,
                   int64_t* length) {
  *fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  *offset = IntegerArg(info, 1, "offset");
  *length = IntegerArg(info, 2, "length");
  if (*fd < 0 || *offset < 0 || *length < 0) {
    ThrowError(info.Env(), ErrorKind::kRangeError, kCodeOutOfRange,
               "fd, offset and length must be non-negative");
  }
}

}  // namespace

Napi::Value FileAdviseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t offset, length;
  FileRangeArgs(info, &fd, &offset, &length);
  Advice advice = AdviceArg(info);
  int rc = FileAdvise(fd, offset, length, advice);
  if (rc != 0) ThrowSystemError(env, rc, "posix_fadvise", "");
  return env.Undefined();
}

Napi::Value FileResidentJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t offset, length;
  FileRangeArgs(info, &fd, &offset, &length);
  if (length == 0) return Napi::Number::New(env, 0);
  void* addr = nullptr;
  size_t mapped = 0;
  int64_t delta = 0;
  int rc = MapFileRange(fd, offset, length, &addr, &mapped, &delta);
  if (rc != 0) ThrowSystemError(env, rc, "mmap", "");
  int64_t resident = 0;
  rc = Resident(addr, delta, length, &resident);
  memoryview::Unmap(addr, mapped);
  if (rc != 0) ThrowSystemError(env, rc, "mincore", "");
  return Napi::Number::New(env, static_cast<double>(resident));
}

Napi::Value FilePrefetchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t offset, length;
  FileRangeArgs(info, &fd, &offset, &length);
  if (length == 0) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  void* addr = nullptr;
  size_t mapped = 0;
  int64_t delta = 0;
  int rc = MapFileRange(fd, offset, length, &addr, &mapped, &delta);
  if (rc != 0) ThrowSystemError(env, rc, "mmap", "");
  auto* work = new FilePrefetchWork(env, addr, mapped, delta, length);
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_mappings.load()));
}

Napi::Value ResizeMappingJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<MapState> state = LiveMapping(info, "resize()");
  PathArg path;
  int fd = -1;
  if (info[1].IsString()) {
    path.Read(env, info[1]);
    if (path.empty()) {
      ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
                 "path must be non-empty");
    }
  } else {
    fd = static_cast<int>(IntegerArg(info, 2, "fd"));
    if (fd < 0) {
      ThrowError(env, ErrorKind::kTypeError, kCodeInvalidArg,
                 "resize() needs the path or the fd of the mapped file");
    }
  }
  int64_t new_length = IntegerArg(info, 3, "newLength");
  int64_t max_length = IntegerArg(info, 4, "maxLength");
  if (new_length <= 0) {
    ThrowError(env, ErrorKind::kRangeError, kCodeOutOfRange,
               "new size out of range");
  }
  if (new_length > max_length) {
    ThrowTooLarge(env, false, new_length, max_length);
  }
  MapResult result;
  int rc = RemapFile(path.empty() ? nullptr : path.c_str(), fd, state->dev,
                     state->ino, state->offset, new_length, &result);
  if (rc != 0) ThrowSystemError(env, rc, result.syscall, path.c_str());
  // The new mapping gets its own ArrayBuffer (MapResultToJs unmaps it again
  // if that fails); only then is the old one detached and unmapped.
  Napi::Value fresh =
      MapResultToJs(env, 0, result, path.c_str(), false, max_length);
  std::shared_ptr<MapState> old = Take(state->addr, state->id);
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (!buffer.IsDetached()) buffer.Detach();
  if (old != nullptr) old->Unmap();
  return fresh;
}

Napi::Value AdviseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<MapState> state = LiveMapping(info, "advise()");
  int64_t offset, length;
  RangeArgs(info, *state, &offset, &length);
  Advice advice = AdviceArg(info);
  int rc = Advise(state->addr, offset, length, advice);
  if (rc != 0) ThrowSystemError(env, rc, "madvise", "");
  return env.Undefined();
}

Napi::Value ResidentJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<MapState> state = LiveMapping(info, "resident()");
  int64_t offset, length;
  RangeArgs(info, *state, &offset, &length);
  int64_t resident = 0;
  int rc = Resident(state->addr, offset, length, &resident);
  if (rc != 0) ThrowSystemError(env, rc, "mincore", "");
  return Napi::Number::New(env, static_cast<double>(resident));
}

Napi::Value PrefetchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<MapState> state = LiveMapping(info, "prefetch()");
  int64_t offset, length;
  RangeArgs(info, *state, &offset, &length);
  auto* work = new PrefetchWork(env, state, offset, length);
  Napi::Promise promise = work->Promise();
  work->Queue();
  return promise;
}

Napi::Value AllocationGranularityJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(AllocationGranularity()));
}

}  // namespace memoryview
