// Pins: native code's hold on JS memory.
//
// Ownership rules:
// - PinnedMemory owns exactly one strong napi_ref to an ArrayBuffer or
//   SharedArrayBuffer. While the ref is held the buffer object, and so its
//   backing store, stays alive; data() is valid until Release(). Release()
//   (or the destructor) deletes the ref; Abandon() forgets it without a
//   Node-API call, for use when the environment is already gone (the
//   environment then frees the ref itself).
// - PinnedMemory is move-only and must be released on the thread of the
//   environment that created it; it may be *carried* to another thread.
// - Pin is the JS class around one PinnedMemory. Its JS object owns the C++
//   object (napi_wrap); GC finalization releases the pin if JS did not.
// - Every held PinnedMemory is counted in a process-wide counter (LivePins),
//   which leak tests read from JS through livePins().
//
// Assumptions: a pin keeps memory *alive*; it cannot stop JS from detaching
// the buffer (postMessage/structuredClone transfer), after which the backing
// store belongs to the receiver. Native code must check detached() on the
// main thread before it trusts data() again. Resizable (non-shared)
// ArrayBuffers are refused because shrinking one decommits memory under the
// pointer; growable SharedArrayBuffers only grow, so their data stays mapped.

#ifndef MEMORYVIEW_NATIVE_PIN_H_
#define MEMORYVIEW_NATIVE_PIN_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace memoryview {

/// Base address and current length of an ArrayBuffer or SharedArrayBuffer.
struct BufferInfo {
  uint8_t* data = nullptr;
  int64_t byte_length = 0;
  bool shared = false;
};

/// Resolves `value` to its backing memory. Throws TypeError (`code`) when it is
/// neither an ArrayBuffer nor a SharedArrayBuffer or is a resizable
/// ArrayBuffer, and Error ERR_MEMORYVIEW_OUT_OF_BOUNDS when it is detached.
BufferInfo ResolveBuffer(Napi::Env env, Napi::Value value, const char* code);

/// A strong, counted hold on [offset, offset + length) of a JS buffer.
class PinnedMemory {
 public:
  PinnedMemory() = default;
  /// Pins `buffer`; data() is the buffer's base address + `offset`. The range
  /// must already have been checked against the buffer's length.
  PinnedMemory(Napi::Env env, Napi::Value buffer, const BufferInfo& info,
               int64_t offset, int64_t length);
  PinnedMemory(PinnedMemory&& other) noexcept;
  PinnedMemory& operator=(PinnedMemory&& other) noexcept;
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  ~PinnedMemory();

  /// Deletes the reference; idempotent.
  void Release();
  /// Forgets the reference without a Node-API call (environment torn down).
  void Abandon();

  bool held() const { return ref_ != nullptr; }
  uint8_t* data() const { return data_; }
  int64_t length() const { return length_; }
  /// The pinned buffer object; requires held().
  Napi::Value buffer() const;
  /// True when JS detached the buffer after it was pinned.
  bool detached() const;

 private:
  napi_env env_ = nullptr;
  napi_ref ref_ = nullptr;
  uint8_t* data_ = nullptr;
  int64_t length_ = 0;
};

/// Number of PinnedMemory objects currently held in this process.
int64_t LivePins();

/// JS class `Pin`: new Pin(buffer, byteOffset, byteLength).
///   address: bigint   the data address (base + byteOffset); 0n once released
///   byteLength: number
///   buffer: ArrayBuffer | SharedArrayBuffer | undefined (once released)
///   released: boolean
///   release(): undefined   idempotent
/// Methods and getters throw TypeError "Illegal invocation" on receivers that
/// are not Pins (checked with a Node-API type tag).
class Pin : public Napi::ObjectWrap<Pin> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Pin(const Napi::CallbackInfo& info);

 private:
  static Pin* Receiver(const Napi::CallbackInfo& info);
  static Napi::Value GetAddress(const Napi::CallbackInfo& info);
  static Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  static Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  static Napi::Value GetReleased(const Napi::CallbackInfo& info);
  static Napi::Value Release(const Napi::CallbackInfo& info);

  PinnedMemory memory_;
  int64_t byte_length_ = 0;
};

/// Reads info[index] as a safe integer >= 0 (TypeError/RangeError with `code`
/// and a message naming `name` otherwise).
int64_t ToNonNegativeInteger(const Napi::CallbackInfo& info, size_t index,
                             const char* name, const char* code);

/// Reads `value` as a safe integer; throws TypeError (`code`) naming `name`.
int64_t ToSafeInteger(Napi::Env env, Napi::Value value,
                      const std::string& name, const char* code);

/// A prototype method or getter; it checks its receiver itself.
using Callback = Napi::Value (*)(const Napi::CallbackInfo& info);

/// Defines `name` on `prototype` as a method (writable, configurable, not
/// enumerable, like class methods) whose callback is a plain function.
void DefineMethod(Napi::Object prototype, const char* name, Callback callback);
/// Defines `name` on `prototype` as a configurable getter.
void DefineGetter(Napi::Object prototype, const char* name, Callback callback);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_PIN_H_
