// Memory-mapped files and POSIX shared memory as JS ArrayBuffers.
//
// Ownership rules:
// - A mapping is owned by a MapState, shared (std::shared_ptr) by two
//   holders: the Mapping object JS keeps for close()/flush(), and the
//   finalizer of the external ArrayBuffer over the memory.
// - Mapping.close() unmaps synchronously: it marks the state unmapped, then
//   detaches the ArrayBuffer (every TypedArray and DataView over it reads as
//   length 0 from then on), then munmaps. The ArrayBuffer's finalizer unmaps
//   only if close() never ran (the buffer was garbage collected while still
//   mapped); whichever runs second does nothing. Both run on the JS thread.
// - Only ArrayBuffers made here are ever detached: never a Buffer's pooled
//   store or any other buffer JS code handed in.
// - Whether close() may run (no export is held) is decided in JS
//   (lib/managed-buffer.ts); native code only maps, unmaps and flushes.

#ifndef MEMORYVIEW_NATIVE_MAPPING_H_
#define MEMORYVIEW_NATIVE_MAPPING_H_

#include <napi.h>

#include <memory>

#include "platform.h"

namespace memoryview {

struct MapState {
  void* addr = nullptr;
  size_t length = 0;
  bool unmapped = false;
  ~MapState();
  // Unmaps once; later calls do nothing.
  void Unmap();
};

class Mapping : public Napi::ObjectWrap<Mapping> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Mapping(const Napi::CallbackInfo& info);

  // Wraps a fresh mapping: returns { buffer: ArrayBuffer, mapping: Mapping }.
  static Napi::Object Create(Napi::Env env, const MapResult& result);

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value GetLength(const Napi::CallbackInfo& info);

  std::shared_ptr<MapState> state_;
  // Weak: the mapping must not keep its buffer alive, or an unclosed mapping
  // could never be collected and unmapped.
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

// JS: mapFile(path: string | null, fd: number, access: 0|1|2, offset, length,
//             size) -> { buffer, mapping, fileSize }
Napi::Value MapFileJs(const Napi::CallbackInfo& info);
// JS: openSharedMemory(name: string, create: boolean, size: number)
//       -> { buffer, mapping, fileSize }
Napi::Value OpenSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: unlinkSharedMemory(name: string) -> undefined
Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: liveMappings() -> number of mappings not yet unmapped in this process.
Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info);
// JS: allocationGranularity() -> number
Napi::Value AllocationGranularityJs(const Napi::CallbackInfo& info);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_MAPPING_H_
