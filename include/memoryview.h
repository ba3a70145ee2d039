// memoryview.h: Python's buffer protocol (PEP 3118) for Node-API addons.
//
// Header-only, on top of node-addon-api; nothing to link. Find it with
//   "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")",
//                    "<!(node -p \"require('memoryview').include\")"]
// It talks to the `memoryview` npm package through the function table the
// package installs on `globalThis[Symbol.for('memoryview.native')]` when it is
// loaded, so `require('memoryview')` must have run in the realm (any
// MemoryView, MappedFile or SharedMemory implies it).
//
// Ownership rules:
// - memoryview::Buffer::Acquire() takes one *export* of a JS value (CPython's
//   PyObject_GetBuffer). While the returned Buffer is held, the memory stays
//   alive and mapped: view.release() and MappedFile/SharedMemory close() throw
//   BufferError (code ERR_MEMORYVIEW_EXPORTED). The export ends with
//   Buffer::Release() or the Buffer's destructor (PyBuffer_Release).
// - Buffer is move-only. Acquire, Release, the destructor of a held Buffer
//   and move-assignment onto a held Buffer call JS and must run on the JS
//   thread of the environment that acquired it. Everything else is plain
//   C++: the accessors and the memory they describe may be used from any
//   thread (e.g. in Napi::AsyncWorker::Execute), a Buffer may be moved to
//   another thread, but one Buffer object must not be used by two threads at
//   once. Releasing on the wrong thread aborts the process with a message,
//   unless that environment was torn down already (a worker that ended):
//   then the export is gone and Release just forgets it, on any thread.
// - Each addon has its own napi_env; the JS table is cached per environment
//   and thread, so several addons built with this header work side by side.
// - A Buffer cannot stop JS from *transferring* a plain ArrayBuffer
//   (postMessage/structuredClone with transfer) that it points into; memory
//   that our package can close (mapped files, shared memory) is protected.
// - memoryview::Wrap() hands memory owned by native code to JS as a
//   MemoryView without copying. From a successful Wrap on, the ArrayBuffer
//   under the view owns the memory: `finalize(env, data, hint)` runs exactly
//   once, on the JS thread, either when JS closes the owner
//   (`view.obj.close()`, refused with BufferError while an export is held;
//   the ArrayBuffer is detached first, so every view over it reads as
//   released) or after the ArrayBuffer was garbage collected — never while
//   an export of a view is alive. If Wrap fails (a
//   JS exception), the finalizer is never called and the caller still owns
//   the memory.
//
// Assumptions: every descriptor is validated twice, in TypeScript and here
// with CheckLayout (memoryview_layout.h, the same code the package's addon
// uses): the extent lies inside the buffer, shape x strides does not
// overflow, ndim <= 64, itemsize > 0.
//
// Plain Node-API C: the contract is usable without this header. Get
// `api = globalThis[Symbol.for('memoryview.native')]`; `api.acquire(value,
// flags)` returns an ArrayBufferView `region` and writes into the
// Float64Array `api.scratch`: [0] id, [1] byte offset of element [0,...,0]
// from the region's data pointer, [2] readonly, [3] itemsize, [4] ndim, [5]
// nbytes, [6] format length (-1 = no FORMAT requested), [7] contiguity bits
// (1 = C, 2 = Fortran), [16..80) shape, [80..144) strides, [144..400) format
// char codes. Read it before any other JS runs; end the export with
// `api.release(id)`. `api.wrap(arrayBuffer, byteOffset, format, itemsize,
// shape, strides, readonly, close?)` makes a view of an external ArrayBuffer;
// `close`, when given, is called (once) by NativeMemory.close() to detach the
// buffer and free the memory now. `api.maxByteLength` is the largest
// external ArrayBuffer the runtime accepts (buffer.constants.MAX_LENGTH).

#ifndef MEMORYVIEW_INCLUDE_MEMORYVIEW_H_
#define MEMORYVIEW_INCLUDE_MEMORYVIEW_H_

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "memoryview_layout.h"

namespace memoryview {

/// Version of the JS contract this header speaks (lib/native-api.ts).
inline constexpr int kApiVersion = 1;

/// Request flags, PEP 3118's PyBUF_* values. Combine with `|`.
enum BufferFlags : int {
  /// Read-only, C-contiguous bytes are fine (PyBUF_SIMPLE).
  kSimple = 0,
  /// The consumer writes: refused on read-only views (PyBUF_WRITABLE).
  kWritable = 0x1,
  /// The consumer reads format(); without it format() is nullptr and the
  /// memory is to be treated as unsigned bytes (PyBUF_FORMAT).
  kFormat = 0x4,
  /// The consumer reads ndim()/shape(); without it a view looks 1-D
  /// (PyBUF_ND).
  kND = 0x8,
  /// The consumer follows strides(); without it only C-contiguous views are
  /// accepted (PyBUF_STRIDES).
  kStrides = 0x18,
  /// Only C-contiguous views (PyBUF_C_CONTIGUOUS).
  kCContiguous = 0x38,
  /// Only Fortran-contiguous views (PyBUF_F_CONTIGUOUS).
  kFContiguous = 0x58,
  /// Only C- or Fortran-contiguous views (PyBUF_ANY_CONTIGUOUS).
  kAnyContiguous = 0x98,
  /// Accepted for compatibility; views never have suboffsets (PyBUF_INDIRECT).
  kIndirect = 0x118,
  /// PyBUF_CONTIG: writable, C-contiguous with shape.
  kContig = kND | kWritable,
  /// PyBUF_CONTIG_RO.
  kContigRo = kND,
  /// PyBUF_STRIDED: writable, any strides.
  kStrided = kStrides | kWritable,
  /// PyBUF_STRIDED_RO.
  kStridedRo = kStrides,
  /// PyBUF_RECORDS: writable, any strides, with format.
  kRecords = kStrides | kWritable | kFormat,
  /// PyBUF_RECORDS_RO: any strides, with format (Acquire's default).
  kRecordsRo = kStrides | kFormat,
  /// PyBUF_FULL.
  kFull = kIndirect | kWritable | kFormat,
  /// PyBUF_FULL_RO.
  kFullRo = kIndirect | kFormat,
};

/// Called once with the memory a Wrap()ped view owned (napi_finalize).
using Finalizer = void (*)(napi_env env, void* data, void* hint);

/// Implementation details; not part of the API.
namespace detail {

/// Slots of the JS side's scratch Float64Array.
enum Slot : int {
  kSlotId = 0,
  kSlotOffset = 1,
  kSlotReadonly = 2,
  kSlotItemsize = 3,
  kSlotNdim = 4,
  kSlotNbytes = 5,
  kSlotFormatLength = 6,
  kSlotContiguity = 7,
  kSlotShape = 16,
  kSlotStrides = 16 + kMaxNdim,
  kSlotFormat = 16 + 2 * kMaxNdim,
  kSlotEnd = kSlotFormat + 256,
};

/// The JS function table of one environment. Each addon has its own
/// napi_env, even on one thread, so the cache is a per-thread list keyed by
/// env: two addons built with this header never share (or steal) entries,
/// also when the dynamic linker merged their copies of these inline
/// functions into one.
struct Api {
  /// The environment the references belong to.
  napi_env env = nullptr;
  /// Strong references to api.acquire, api.release and api.wrap.
  napi_ref acquire = nullptr;
  napi_ref release = nullptr;
  napi_ref wrap = nullptr;
  /// api.scratch's data; kept alive by api, which JS never replaces.
  double* scratch = nullptr;
  /// api.maxByteLength (buffer.constants.MAX_LENGTH); 0 when the package
  /// loaded in the realm is older and does not publish it.
  double max_byte_length = 0;
  /// False from the moment `env` is torn down; shared with every Buffer
  /// acquired in `env`, which may read it on any thread.
  std::shared_ptr<std::atomic<bool>> alive;
  /// The next entry of this thread's list.
  Api* next = nullptr;
};

/// Head of this thread's list. A plain pointer, so the thread_local needs no
/// destructor: the entries are freed by their environment's cleanup hook.
inline Api*& ThreadApis() {
  static thread_local Api* head = nullptr;
  return head;
}

/// This thread's entry for `env`, or nullptr. The entry found moves to the
/// front: the next call most likely comes from the same addon.
inline Api* FindApi(napi_env env) {
  Api*& head = ThreadApis();
  for (Api** link = &head; *link != nullptr; link = &(*link)->next) {
    Api* api = *link;
    if (api->env != env) continue;
    if (link != &head) {
      *link = api->next;
      api->next = head;
      head = api;
    }
    return api;
  }
  return nullptr;
}

/// Frees the entry when its environment is torn down (on its thread).
/// Node-API deletes the references itself then.
inline void OnEnvCleanup(void* arg) {
  Api* api = static_cast<Api*>(arg);
  api->alive->store(false, std::memory_order_release);
  for (Api** link = &ThreadApis(); *link != nullptr; link = &(*link)->next) {
    if (*link == api) {
      *link = api->next;
      break;
    }
  }
  delete api;
}

/// Makes an error of class `kind` (0 Error, 1 TypeError, 2 RangeError) with
/// a `code`, the way the package's own errors look.
inline Napi::Error MakeError(napi_env env, int kind, const char* code,
                             const std::string& message) {
  napi_value code_value = nullptr;
  napi_value message_value = nullptr;
  napi_value error = nullptr;
  std::string text = "memoryview: " + message;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, text.c_str(), text.size(), &message_value);
  if (kind == 1) {
    napi_create_type_error(env, code_value, message_value, &error);
  } else if (kind == 2) {
    napi_create_range_error(env, code_value, message_value, &error);
  } else {
    napi_create_error(env, code_value, message_value, &error);
  }
  return Napi::Error(env, error);
}

/// Reads property `name` of `object` as a function reference.
inline bool RefFunction(napi_env env, napi_value object, const char* name,
                        napi_ref* out) {
  napi_value value = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_get_named_property(env, object, name, &value) != napi_ok ||
      napi_typeof(env, value, &type) != napi_ok || type != napi_function) {
    return false;
  }
  return napi_create_reference(env, value, 1, out) == napi_ok;
}

/// Looks the API up (first call per environment) or returns the cache.
/// Returns nullptr with `*error` set when the package is not loaded or
/// speaks another version.
inline Api* GetApi(napi_env env, Napi::Error* error) {
  Api* cached = FindApi(env);
  if (cached != nullptr) return cached;
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  Napi::Object global = e.Global();
  napi_value symbol_class = nullptr;
  napi_value symbol_for = nullptr;
  napi_value key = nullptr;
  napi_value name = nullptr;
  napi_value table = nullptr;
  napi_valuetype type = napi_undefined;
  napi_create_string_utf8(env, "memoryview.native", NAPI_AUTO_LENGTH, &name);
  if (napi_get_named_property(env, global, "Symbol", &symbol_class) !=
          napi_ok ||
      napi_get_named_property(env, symbol_class, "for", &symbol_for) !=
          napi_ok ||
      napi_call_function(env, symbol_class, symbol_for, 1, &name, &key) !=
          napi_ok ||
      napi_get_property(env, global, key, &table) != napi_ok ||
      napi_typeof(env, table, &type) != napi_ok || type != napi_object) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored = nullptr;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    *error = MakeError(env, 0, "ERR_MEMORYVIEW_NOT_LOADED",
                       "the memoryview package is not loaded in this realm: "
                       "require('memoryview') before using its native API");
    return nullptr;
  }
  napi_value version = nullptr;
  int32_t version_number = 0;
  napi_get_named_property(env, table, "version", &version);
  if (napi_get_value_int32(env, version, &version_number) != napi_ok ||
      version_number != kApiVersion) {
    *error = MakeError(
        env, 0, "ERR_MEMORYVIEW_NATIVE_API_VERSION",
        "this addon was built against native API version " +
            std::to_string(kApiVersion) + ", the loaded memoryview package "
            "speaks version " + std::to_string(version_number));
    return nullptr;
  }
  auto fresh = std::make_unique<Api>();
  napi_value scratch = nullptr;
  napi_typedarray_type scratch_type = napi_uint8_array;
  size_t scratch_length = 0;
  void* scratch_data = nullptr;
  if (!RefFunction(env, table, "acquire", &fresh->acquire) ||
      !RefFunction(env, table, "release", &fresh->release) ||
      !RefFunction(env, table, "wrap", &fresh->wrap) ||
      napi_get_named_property(env, table, "scratch", &scratch) != napi_ok ||
      napi_get_typedarray_info(env, scratch, &scratch_type, &scratch_length,
                               &scratch_data, nullptr, nullptr) != napi_ok ||
      scratch_type != napi_float64_array || scratch_length < kSlotEnd) {
    for (napi_ref ref : {fresh->acquire, fresh->release, fresh->wrap}) {
      if (ref != nullptr) napi_delete_reference(env, ref);
    }
    *error = MakeError(env, 0, "ERR_MEMORYVIEW_NATIVE_API_VERSION",
                       "the native API table of the memoryview package is "
                       "malformed");
    return nullptr;
  }
  napi_value max_length = nullptr;
  if (napi_get_named_property(env, table, "maxByteLength", &max_length) !=
          napi_ok ||
      napi_get_value_double(env, max_length, &fresh->max_byte_length) !=
          napi_ok) {
    fresh->max_byte_length = 0;
  }
  fresh->scratch = static_cast<double*>(scratch_data);
  fresh->env = env;
  fresh->alive = std::make_shared<std::atomic<bool>>(true);
  if (napi_add_env_cleanup_hook(env, OnEnvCleanup, fresh.get()) != napi_ok) {
    for (napi_ref ref : {fresh->acquire, fresh->release, fresh->wrap}) {
      napi_delete_reference(env, ref);
    }
    *error = MakeError(env, 0, "ERR_MEMORYVIEW_NOT_LOADED",
                       "could not register an environment cleanup hook");
    return nullptr;
  }
  Api*& head = ThreadApis();
  fresh->next = head;
  head = fresh.release();
  return head;
}

/// Byte size of one element of a Node-API TypedArray type; 0 if unknown.
inline int64_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 0;
  }
}

/// What Wrap() shares between the external ArrayBuffer's finalizer, the
/// owner's close function (NativeMemory.close() in JS) and Wrap() itself
/// while it runs. All run on the JS thread; the last holder to go deletes
/// it. Wrap() holds it too because a runtime that refuses the ArrayBuffer
/// (Node's size limit) runs the finalizer before
/// napi_create_external_arraybuffer returns: Wrap must not free it again.
struct WrapState {
  Finalizer finalize = nullptr;
  void* hint = nullptr;
  void* data = nullptr;
  /// False until Wrap succeeded: a failed Wrap leaves the memory to its
  /// caller, so the orphan ArrayBuffer's finalizer must not free it.
  bool armed = false;
  /// True once the ArrayBuffer's finalizer ran (also for a refused one).
  bool buffer_finalized = false;
  /// Weak: the ArrayBuffer to detach when the owner closes.
  napi_ref buffer = nullptr;
  /// Wrap() and the ArrayBuffer's finalizer; +1 for the close function.
  int holders = 2;
};

inline void DropWrapState(napi_env env, WrapState* state) {
  if (--state->holders > 0) return;
  if (state->buffer != nullptr) napi_delete_reference(env, state->buffer);
  delete state;
}

/// Runs the finalizer at most once: the first of close() and garbage
/// collection wins.
inline void RunFinalizer(napi_env env, WrapState* state) {
  Finalizer finalize = state->finalize;
  state->finalize = nullptr;
  if (state->armed && finalize != nullptr) finalize(env, state->data, state->hint);
}

/// The external ArrayBuffer's finalizer.
inline void OnWrappedFinalize(napi_env env, void* /*data*/, void* hint) {
  WrapState* state = static_cast<WrapState*>(hint);
  state->buffer_finalized = true;
  RunFinalizer(env, state);
  DropWrapState(env, state);
}

/// JS: close() -> undefined. Called by NativeMemory.close() after it checked
/// that no export is held: detaches the ArrayBuffer (every view over it is
/// then empty), then runs the finalizer now instead of after GC.
inline napi_value OnOwnerClose(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data);
  WrapState* state = static_cast<WrapState*>(data);
  if (state->finalize != nullptr && state->armed) {
    napi_value buffer = nullptr;
    if (state->buffer != nullptr &&
        napi_get_reference_value(env, state->buffer, &buffer) == napi_ok &&
        buffer != nullptr) {
      napi_detach_arraybuffer(env, buffer);
    }
    RunFinalizer(env, state);
  }
  return nullptr;
}

inline void OnOwnerCloseCollected(napi_env env, void* data, void* /*hint*/) {
  DropWrapState(env, static_cast<WrapState*>(data));
}

}  // namespace detail

/// One acquired buffer: an export of a JS value, held until Release() or
/// destruction. Move-only; see "Ownership rules" for threads.
class Buffer {
 public:
  /// Acquires `value`: a MemoryView, Buffer, any TypedArray, DataView,
  /// ArrayBuffer, SharedArrayBuffer, buffer-protocol object, MappedFile or
  /// SharedMemory (everything memoryview() accepts), checked against
  /// `flags`. Throws (C++ exceptions) or returns an empty Buffer with a
  /// pending JS exception (NAPI_DISABLE_CPP_EXCEPTIONS) on failure:
  /// TypeError ERR_MEMORYVIEW_READONLY (kWritable on a read-only view),
  /// TypeError ERR_MEMORYVIEW_NOT_CONTIGUOUS (contiguity requested or no
  /// kStrides, on a view without it), TypeError ERR_MEMORYVIEW_INVALID_SOURCE
  /// (not a bytes-like value, or a resizable ArrayBuffer), Error
  /// ERR_MEMORYVIEW_RELEASED (released view, closed mapping), Error
  /// ERR_MEMORYVIEW_OUT_OF_BOUNDS (a detached, e.g. transferred, buffer),
  /// TypeError ERR_MEMORYVIEW_INVALID_ARG (unknown flag bits), Error
  /// ERR_MEMORYVIEW_NOT_LOADED (the package was never required), Error
  /// ERR_MEMORYVIEW_NATIVE_API_VERSION (the loaded package speaks another
  /// version of the native API than this header). JS thread only.
  static Buffer Acquire(Napi::Value value, int flags = kRecordsRo);

  /// An empty Buffer (held() is false).
  Buffer() noexcept = default;
  /// Takes `other`'s export; `other` becomes empty. Any thread.
  Buffer(Buffer&& other) noexcept { MoveFrom(other); }
  /// Releases this Buffer's export (JS thread if held), then takes
  /// `other`'s.
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      Release();
      MoveFrom(other);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  /// Releases the export if still held (JS thread then).
  ~Buffer() { Release(); }

  /// Ends the export (PyBuffer_Release); idempotent. JS thread only when
  /// held; after the environment was torn down it just forgets the export,
  /// on any thread.
  void Release() noexcept;

  /// True between a successful Acquire and Release.
  bool held() const noexcept { return env_ != nullptr; }
  /// Same as held().
  explicit operator bool() const noexcept { return held(); }

  /// Address of element [0, ..., 0] (with negative strides the memory
  /// reaches below it); nullptr when empty.
  void* data() const noexcept { return data_; }
  /// itemsize * product(shape): PEP 3118's `len`.
  int64_t byte_length() const noexcept { return byte_length_; }
  /// True when the memory must not be written.
  bool readonly() const noexcept { return readonly_; }
  /// Bytes per element.
  int64_t itemsize() const noexcept { return itemsize_; }
  /// The struct format of one element (NUL-terminated), or nullptr when
  /// kFormat was not requested (then treat the memory as unsigned bytes).
  const char* format() const noexcept {
    return has_format_ ? format_.c_str() : nullptr;
  }
  /// Number of dimensions (1 when kND was not requested).
  int ndim() const noexcept { return ndim_; }
  /// ndim() extents.
  const int64_t* shape() const noexcept { return dims(); }
  /// ndim() byte strides (always filled, also without kStrides).
  const int64_t* strides() const noexcept { return dims() + ndim_; }
  /// True when the elements are contiguous in C (row-major) order.
  bool c_contiguous() const noexcept { return (contiguity_ & 1) != 0; }
  /// True when the elements are contiguous in Fortran (column-major) order.
  bool f_contiguous() const noexcept { return (contiguity_ & 2) != 0; }

 private:
  /// Inline room for shape and strides of views with up to 4 dimensions.
  static constexpr int kInlineDims = 4;

  const int64_t* dims() const noexcept {
    return ndim_ <= kInlineDims ? inline_dims_ : heap_dims_.data();
  }
  int64_t* mutable_dims() noexcept {
    return ndim_ <= kInlineDims ? inline_dims_ : heap_dims_.data();
  }
  void MoveFrom(Buffer& other) noexcept;
  void Reset() noexcept;

  napi_env env_ = nullptr;
  /// The environment's liveness flag (detail::Api::alive).
  std::shared_ptr<std::atomic<bool>> alive_;
  std::thread::id thread_;
  double id_ = 0;
  void* data_ = nullptr;
  int64_t byte_length_ = 0;
  int64_t itemsize_ = 0;
  int ndim_ = 0;
  int contiguity_ = 0;
  bool readonly_ = true;
  bool has_format_ = false;
  std::string format_;
  int64_t inline_dims_[2 * kInlineDims] = {};
  std::vector<int64_t> heap_dims_;
};

/// A full descriptor of native memory for Wrap().
struct Layout {
  /// Start of the memory (the external ArrayBuffer's data).
  void* data = nullptr;
  /// Bytes at `data`.
  size_t byte_length = 0;
  /// Offset from `data` of element [0, ..., 0].
  int64_t byte_offset = 0;
  /// A struct format string, e.g. "d" or "<i".
  const char* format = "B";
  /// Bytes per element; must match `format`.
  int64_t itemsize = 1;
  /// Number of dimensions (0 to 64).
  int ndim = 1;
  /// ndim extents. nullptr with ndim 1: one dimension covering the rest of
  /// the memory; with ndim 0: a 0-d view (one element); with ndim > 1: an
  /// error. With ndim 0 the pointer is not read (an empty vector's data()).
  const int64_t* shape = nullptr;
  /// ndim byte strides; nullptr = C-contiguous. Only read with a shape.
  const int64_t* strides = nullptr;
  /// Whether JS may write through the view.
  bool readonly = false;
};

/// Wraps `layout` as a MemoryView without copying; `finalize(env, data,
/// hint)` runs once: when JS closes the owner (`view.obj.close()`, which
/// refuses while exports are held) or after the view's ArrayBuffer was
/// garbage collected, whichever comes first.
/// Throws (or returns an empty value with a pending exception) when, in this
/// order: the layout is invalid (RangeError ERR_MEMORYVIEW_INVALID_DESCRIPTOR
/// for ndim outside 0..64, shape x strides outside the memory or
/// overflowing, itemsize <= 0, byte_length > 2**53; TypeError
/// ERR_MEMORYVIEW_INVALID_DESCRIPTOR for a null shape with ndim > 1, a null
/// or empty format, null data), the package is not loaded (Error
/// ERR_MEMORYVIEW_NOT_LOADED / ERR_MEMORYVIEW_NATIVE_API_VERSION),
/// byte_length exceeds the runtime's limit for one buffer (RangeError
/// ERR_MEMORYVIEW_TOO_LARGE, buffer.constants.MAX_LENGTH, 2**32 on Node 20;
/// the message gives it), the runtime refuses external buffers (Error
/// ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED, e.g. Electron's memory cage; nothing
/// is copied), the format is one struct cannot size or `itemsize` is not
/// its size (TypeError ERR_MEMORYVIEW_FORMAT). On failure the finalizer is
/// never called and the caller keeps the memory. JS thread only.
Napi::Value Wrap(Napi::Env env, const Layout& layout, Finalizer finalize,
                 void* hint);

/// Wraps `byte_length` bytes at `data` as a 1-D, writable 'B' MemoryView.
inline Napi::Value Wrap(Napi::Env env, void* data, size_t byte_length,
                        Finalizer finalize, void* hint) {
  Layout layout;
  layout.data = data;
  layout.byte_length = byte_length;
  return Wrap(env, layout, finalize, hint);
}

// ---------------------------------------------------------------- inline

inline void Buffer::MoveFrom(Buffer& other) noexcept {
  env_ = std::exchange(other.env_, nullptr);
  alive_ = std::move(other.alive_);
  thread_ = other.thread_;
  id_ = other.id_;
  data_ = std::exchange(other.data_, nullptr);
  byte_length_ = other.byte_length_;
  itemsize_ = other.itemsize_;
  ndim_ = other.ndim_;
  contiguity_ = other.contiguity_;
  readonly_ = other.readonly_;
  has_format_ = other.has_format_;
  format_ = std::move(other.format_);
  std::memcpy(inline_dims_, other.inline_dims_, sizeof(inline_dims_));
  heap_dims_ = std::move(other.heap_dims_);
  other.Reset();
}

inline void Buffer::Reset() noexcept {
  env_ = nullptr;
  alive_.reset();
  data_ = nullptr;
  byte_length_ = 0;
  itemsize_ = 0;
  ndim_ = 0;
  contiguity_ = 0;
  readonly_ = true;
  has_format_ = false;
  format_.clear();
  heap_dims_.clear();
}

inline Buffer Buffer::Acquire(Napi::Value value, int flags) {
  napi_env env = value.Env();
  Napi::Error error;
  detail::Api* api = detail::GetApi(env, &error);
  if (api == nullptr) NAPI_THROW(error, Buffer());

  napi_value argv[2] = {value, nullptr};
  napi_value function = nullptr;
  napi_value receiver = nullptr;
  napi_value region = nullptr;
  napi_create_int32(env, flags, &argv[1]);
  napi_get_reference_value(env, api->acquire, &function);
  napi_get_undefined(env, &receiver);
  if (napi_call_function(env, receiver, function, 2, argv, &region) !=
      napi_ok) {
    NAPI_THROW(Napi::Error::New(env), Buffer());
  }

  // The region's data pointer and length come from the engine, not from JS
  // numbers; the layout JS wrote is checked against them below.
  const double* s = api->scratch;
  Buffer result;
  result.id_ = s[detail::kSlotId];
  void* base = nullptr;
  int64_t region_length = 0;
  napi_typedarray_type type = napi_uint8_array;
  size_t length = 0;
  if (napi_get_typedarray_info(env, region, &type, &length, &base, nullptr,
                               nullptr) == napi_ok) {
    region_length = static_cast<int64_t>(length) * detail::ElementSize(type);
  } else {
    size_t byte_length = 0;
    if (napi_get_dataview_info(env, region, &byte_length, &base, nullptr,
                               nullptr) != napi_ok) {
      byte_length = 0;
      base = nullptr;
    }
    region_length = static_cast<int64_t>(byte_length);
  }
  result.env_ = env;  // From here on, the destructor releases the export.
  result.alive_ = api->alive;
  result.thread_ = std::this_thread::get_id();
  int64_t ndim = static_cast<int64_t>(s[detail::kSlotNdim]);
  if (ndim < 0 || ndim > kMaxNdim) ndim = kMaxNdim + 1;
  result.ndim_ = static_cast<int>(ndim > kMaxNdim ? 0 : ndim);
  if (result.ndim_ > kInlineDims) result.heap_dims_.resize(2 * ndim);
  int64_t* dims = result.mutable_dims();
  for (int i = 0; i < result.ndim_; ++i) {
    dims[i] = static_cast<int64_t>(s[detail::kSlotShape + i]);
    dims[result.ndim_ + i] = static_cast<int64_t>(s[detail::kSlotStrides + i]);
  }
  int64_t offset = static_cast<int64_t>(s[detail::kSlotOffset]);
  result.itemsize_ = static_cast<int64_t>(s[detail::kSlotItemsize]);
  result.readonly_ = s[detail::kSlotReadonly] != 0;
  result.contiguity_ = static_cast<int>(s[detail::kSlotContiguity]);
  int64_t format_length = static_cast<int64_t>(s[detail::kSlotFormatLength]);
  if (format_length >= 0 && format_length <= 256) {
    result.has_format_ = true;
    result.format_.resize(static_cast<size_t>(format_length));
    for (int64_t i = 0; i < format_length; ++i) {
      result.format_[i] = static_cast<char>(s[detail::kSlotFormat + i]);
    }
  }
  Extent extent;
  std::string why =
      base == nullptr && region_length > 0
          ? std::string("no data pointer")
          : CheckLayout(region_length, offset, result.itemsize_, ndim,
                        result.dims(), result.dims() + result.ndim_, &extent);
  if (!why.empty()) {
    result.Release();
    NAPI_THROW(detail::MakeError(env, 2, "ERR_MEMORYVIEW_INVALID_DESCRIPTOR",
                                 "acquired an invalid layout: " + why),
               Buffer());
  }
  result.byte_length_ = extent.nbytes;
  result.data_ = static_cast<uint8_t*>(base) + offset;
  return result;
}

inline void Buffer::Release() noexcept {
  if (env_ == nullptr) return;
  // A torn-down environment freed everything already, whichever thread
  // outlived it (a Buffer acquired in a worker that has ended).
  if (!alive_->load(std::memory_order_acquire)) {
    Reset();
    return;
  }
  if (std::this_thread::get_id() != thread_) {
    std::fprintf(stderr,
                 "memoryview: a held memoryview::Buffer was released off the "
                 "JS thread; release it in OnOK/OnError or a destructor on "
                 "the JS thread\n");
    std::abort();
  }
  napi_env env = env_;
  double id = id_;
  Reset();
  detail::Api* api = detail::FindApi(env);
  // Not found only while `env` is being torn down (its hook ran first).
  if (api == nullptr) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value function = nullptr;
  napi_value receiver = nullptr;
  napi_value argument = nullptr;
  napi_get_reference_value(env, api->release, &function);
  napi_get_undefined(env, &receiver);
  napi_create_double(env, id, &argument);
  if (napi_call_function(env, receiver, function, 1, &argument, nullptr) !=
      napi_ok) {
    // release() does not throw; only a terminating worker gets here.
    napi_value ignored = nullptr;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  napi_close_handle_scope(env, scope);
}

inline Napi::Value Wrap(Napi::Env env, const Layout& layout,
                        Finalizer finalize, void* hint) {
  const char* kInvalid = "ERR_MEMORYVIEW_INVALID_DESCRIPTOR";
  if (layout.ndim < 0 || layout.ndim > kMaxNdim) {
    NAPI_THROW(detail::MakeError(env, 2, kInvalid,
                                 "number of dimensions must be 0 to 64 (got " +
                                     std::to_string(layout.ndim) + ")"),
               Napi::Value());
  }
  if (layout.shape == nullptr && layout.ndim > 1) {
    NAPI_THROW(detail::MakeError(env, 1, kInvalid,
                                 "shape is null with ndim " +
                                     std::to_string(layout.ndim)),
               Napi::Value());
  }
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  int64_t itemsize = layout.itemsize;
  if (layout.shape != nullptr) {
    shape.assign(layout.shape, layout.shape + layout.ndim);
  } else if (layout.ndim == 1) {
    int64_t rest = static_cast<int64_t>(layout.byte_length) - layout.byte_offset;
    shape.push_back(itemsize > 0 && rest > 0 ? rest / itemsize : 0);
  }  // else ndim 0: no shape, one element.
  int64_t ndim = static_cast<int64_t>(shape.size());
  if (layout.strides != nullptr && layout.shape != nullptr) {
    strides.assign(layout.strides, layout.strides + ndim);
  } else {
    strides.resize(shape.size());
    int64_t step = itemsize;
    for (int64_t i = ndim - 1; i >= 0; --i) {
      strides[i] = step;
      // An overflowing layout is refused by CheckLayout below.
      if (layout_internal::MulOverflows(step, shape[i] > 0 ? shape[i] : 1,
                                        &step)) {
        step = 0;
      }
    }
  }
  if (layout.format == nullptr) {
    NAPI_THROW(detail::MakeError(env, 1, kInvalid, "format must not be null"),
               Napi::Value());
  }
  size_t format_length = std::strlen(layout.format);
  if (format_length == 0 || format_length > 256) {
    NAPI_THROW(detail::MakeError(env, 1, kInvalid,
                                 "format must have 1 to 256 characters"),
               Napi::Value());
  }
  if (layout.data == nullptr && layout.byte_length > 0) {
    NAPI_THROW(detail::MakeError(env, 1, kInvalid, "data is null"),
               Napi::Value());
  }
  if (layout.byte_length > (uint64_t{1} << 53)) {
    NAPI_THROW(detail::MakeError(env, 2, kInvalid, "byte_length is too large"),
               Napi::Value());
  }
  Extent extent;
  std::string why =
      CheckLayout(static_cast<int64_t>(layout.byte_length), layout.byte_offset,
                  itemsize, ndim, shape.data(), strides.data(), &extent);
  if (!why.empty()) {
    NAPI_THROW(detail::MakeError(env, 2, kInvalid,
                                 "invalid native descriptor: " + why),
               Napi::Value());
  }
  Napi::Error error;
  detail::Api* api = detail::GetApi(env, &error);
  if (api == nullptr) NAPI_THROW(error, Napi::Value());
  if (api->max_byte_length > 0 &&
      static_cast<double>(layout.byte_length) > api->max_byte_length) {
    NAPI_THROW(
        detail::MakeError(
            env, 2, "ERR_MEMORYVIEW_TOO_LARGE",
            "cannot wrap " + std::to_string(layout.byte_length) +
                " bytes: this runtime's limit for an external buffer is " +
                std::to_string(static_cast<uint64_t>(api->max_byte_length)) +
                " bytes (buffer.constants.MAX_LENGTH)"),
        Napi::Value());
  }

  auto* state = new detail::WrapState{};
  state->finalize = finalize;
  state->hint = hint;
  state->data = layout.data;
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(
      env, layout.data, layout.byte_length, detail::OnWrappedFinalize, state,
      &buffer);
  if (status != napi_ok) {
    // The state stays with the ArrayBuffer's finalizer unless that already
    // ran (a refused size): never free it twice. `armed` is false, so the
    // finalizer leaves the memory to the caller either way.
    bool refused = state->buffer_finalized;
    if (refused) detail::DropWrapState(env, state);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    std::string runtime_says;
    if (pending) {
      napi_value exception = nullptr;
      napi_value text = nullptr;
      char chars[256] = {};
      size_t length = 0;
      napi_get_and_clear_last_exception(env, &exception);
      if (napi_coerce_to_string(env, exception, &text) == napi_ok &&
          napi_get_value_string_utf8(env, text, chars, sizeof(chars),
                                     &length) == napi_ok) {
        runtime_says.assign(chars, length);
      }
    }
    if (refused) {
      NAPI_THROW(detail::MakeError(env, 2, "ERR_MEMORYVIEW_TOO_LARGE",
                                   "cannot wrap " +
                                       std::to_string(layout.byte_length) +
                                       " bytes: " + runtime_says),
                 Napi::Value());
    }
    NAPI_THROW(detail::MakeError(
                   env, 0, "ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED",
                   status == napi_no_external_buffers_allowed
                       ? "this runtime does not allow external ArrayBuffers "
                         "(e.g. Electron's V8 memory cage); the memory was "
                         "not wrapped (and not copied)"
                       : "could not create an external ArrayBuffer"),
               Napi::Value());
  }
  // The owner's close function shares the state with the buffer's finalizer.
  napi_value close = nullptr;
  napi_create_reference(env, buffer, 0, &state->buffer);
  if (napi_create_function(env, "close", NAPI_AUTO_LENGTH, detail::OnOwnerClose,
                           state, &close) == napi_ok &&
      napi_add_finalizer(env, close, state, detail::OnOwnerCloseCollected,
                         nullptr, nullptr) == napi_ok) {
    state->holders++;
  } else {
    close = nullptr;
  }
  napi_value shape_array = nullptr;
  napi_value strides_array = nullptr;
  napi_create_array_with_length(env, shape.size(), &shape_array);
  napi_create_array_with_length(env, shape.size(), &strides_array);
  for (size_t i = 0; i < shape.size(); ++i) {
    napi_value n = nullptr;
    napi_create_double(env, static_cast<double>(shape[i]), &n);
    napi_set_element(env, shape_array, static_cast<uint32_t>(i), n);
    napi_create_double(env, static_cast<double>(strides[i]), &n);
    napi_set_element(env, strides_array, static_cast<uint32_t>(i), n);
  }
  napi_value argv[8] = {buffer};
  napi_create_double(env, static_cast<double>(layout.byte_offset), &argv[1]);
  napi_create_string_utf8(env, layout.format, format_length, &argv[2]);
  napi_create_double(env, static_cast<double>(itemsize), &argv[3]);
  argv[4] = shape_array;
  argv[5] = strides_array;
  napi_get_boolean(env, layout.readonly, &argv[6]);
  if (close == nullptr) napi_get_undefined(env, &close);
  argv[7] = close;
  napi_value function = nullptr;
  napi_value receiver = nullptr;
  napi_value view = nullptr;
  napi_get_reference_value(env, api->wrap, &function);
  napi_get_undefined(env, &receiver);
  if (napi_call_function(env, receiver, function, 8, argv, &view) != napi_ok) {
    // JS refused the descriptor (e.g. ERR_MEMORYVIEW_FORMAT). The caller
    // keeps the memory and may free it at once: detach the orphan buffer so
    // that nothing can reach the memory through it; its finalizer, unarmed,
    // leaves the memory alone.
    napi_value pending = nullptr;
    napi_get_and_clear_last_exception(env, &pending);
    napi_detach_arraybuffer(env, buffer);
    detail::DropWrapState(env, state);
    if (pending != nullptr) {
      bool is_error = false;
      napi_is_error(env, pending, &is_error);
      if (is_error) NAPI_THROW(Napi::Error(env, pending), Napi::Value());
    }
    NAPI_THROW(Napi::Error::New(env), Napi::Value());
  }
  state->armed = true;
  detail::DropWrapState(env, state);
  return Napi::Value(env, view);
}

}  // namespace memoryview

#endif  // MEMORYVIEW_INCLUDE_MEMORYVIEW_H_
