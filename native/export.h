// Native exports: a pinned, validated strided descriptor held by native code.
//
// Ownership rules:
// - An Export is created from a JS descriptor { buffer, byteOffset,
//   byteLength?, readonly, format, itemsize, shape, strides, release? }. It
//   owns (1) a PinnedMemory over exactly the bytes the layout touches, and
//   (2) a strong napi_ref to the descriptor's `release` function, if any.
//   It copies format, shape and strides; it keeps no reference to the
//   descriptor object itself.
// - release() drops both and calls the JS `release` exactly once. If the JS
//   object is garbage collected first, its finalizer does not call JS: it
//   moves the pin and the function reference into a DeferredRelease and
//   posts it to the environment's release queue (an unreferenced thread-safe
//   function); CallDeferredRelease then calls `release` on the main thread,
//   from the event loop. At environment teardown the queue is gone and the
//   references are simply dropped: no JS runs while the realm dies.
// - A JS `release` that throws during a deferred release is reported with
//   process.emitWarning (code ERR_MEMORYVIEW_RELEASE_FAILED), as there is
//   no caller to throw to.
// - The process-wide LiveExports() counts Exports whose `release` has not
//   run (or been dropped at teardown) yet.
//
// Assumptions: element [0, ..., 0] sits at buffer base + byteOffset; with
// negative strides the layout reaches below it (that is the PEP 3118 model).
// All validation happens in the constructor (see layout.h), so an existing
// Export always describes memory inside its pinned buffer.

#ifndef MEMORYVIEW_NATIVE_EXPORT_H_
#define MEMORYVIEW_NATIVE_EXPORT_H_

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pin.h"

namespace memoryview {

/// A release that was due when an Export was collected without release().
struct DeferredRelease {
  PinnedMemory memory;
  napi_ref release = nullptr;
};

/// Number of Exports whose JS `release` has not run yet, in this process.
int64_t LiveExports();

/// JS class `Export`: new Export(descriptor).
///   address: bigint      data address of element [0, ..., 0]; 0n once released
///   byteLength: number   itemsize * product(shape)
///   readonly, format, itemsize, ndim, released
///   describe(): { buffer, byteOffset, byteLength, readonly, format, itemsize,
///                 shape, strides } - fresh arrays; throws
///                 ERR_MEMORYVIEW_RELEASED once released
///   release(): undefined - idempotent; calls the descriptor's `release` once
/// Methods and getters throw TypeError "Illegal invocation" on receivers that
/// are not Exports.
class Export : public Napi::ObjectWrap<Export> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Export(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

 private:
  static Export* Receiver(const Napi::CallbackInfo& info);
  static Napi::Value GetAddress(const Napi::CallbackInfo& info);
  static Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  static Napi::Value GetReadonly(const Napi::CallbackInfo& info);
  static Napi::Value GetFormat(const Napi::CallbackInfo& info);
  static Napi::Value GetItemsize(const Napi::CallbackInfo& info);
  static Napi::Value GetNdim(const Napi::CallbackInfo& info);
  static Napi::Value GetReleased(const Napi::CallbackInfo& info);
  static Napi::Value Describe(const Napi::CallbackInfo& info);
  static Napi::Value Release(const Napi::CallbackInfo& info);

  // Pointer to element [0, ..., 0].
  uint8_t* origin() const;

  PinnedMemory memory_;       // the bytes [extent_lowest_, extent_end_)
  napi_ref release_ = nullptr;
  bool released_ = false;
  int64_t byte_offset_ = 0;   // of element [0, ..., 0] in the buffer
  int64_t extent_lowest_ = 0;
  int64_t nbytes_ = 0;
  int64_t itemsize_ = 0;
  bool readonly_ = false;
  std::string format_;
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;
};

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_EXPORT_H_
