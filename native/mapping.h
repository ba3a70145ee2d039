// Memory-mapped files and POSIX shared memory as JS ArrayBuffers.
//
// Ownership rules:
// - A mapping is owned by a MapState, shared (std::shared_ptr) by two
//   holders: a process-wide table keyed by the mapping's address (through
//   which unmap()/flush() find it from the ArrayBuffer JS passes in), and the
//   finalizer of the external ArrayBuffer over the memory. JS holds nothing
//   but that ArrayBuffer: no wrapper object per mapping, which keeps an
//   open/close cycle cheap.
// - unmap(buffer) unmaps synchronously: it removes the state from the table,
//   marks it unmapped, detaches the ArrayBuffer (every TypedArray and
//   DataView over it reads as length 0 from then on), then munmaps. The
//   ArrayBuffer's finalizer unmaps only if unmap() never ran (the buffer was
//   garbage collected while still mapped); whichever runs second does
//   nothing. Both run on the thread of the JS environment that made it.
// - Only ArrayBuffers made here are ever detached: never a Buffer's pooled
//   store or any other buffer JS code handed in (unmap() of a buffer not in
//   the table does nothing and returns false).
// - Whether unmap() may run (no export is held) is decided in JS
//   (lib/managed-buffer.ts); native code only maps, unmaps and flushes.

#ifndef MEMORYVIEW_NATIVE_MAPPING_H_
#define MEMORYVIEW_NATIVE_MAPPING_H_

#include <napi.h>

#include "platform.h"

namespace memoryview {

// JS: mapFile(path: string | null, fd: number, access: 0|1|2, offset, length,
//             size) -> ArrayBuffer over the mapping
Napi::Value MapFileJs(const Napi::CallbackInfo& info);
// JS: openSharedMemory(name: string, create: boolean, size: number)
//       -> ArrayBuffer over the mapping
Napi::Value OpenSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: unmap(buffer) -> true if it was a live mapping made here (now unmapped)
Napi::Value UnmapJs(const Napi::CallbackInfo& info);
// JS: flush(buffer, offset, length) -> undefined (msync of those pages)
Napi::Value FlushJs(const Napi::CallbackInfo& info);
// JS: unlinkSharedMemory(name: string) -> undefined
Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: liveMappings() -> number of mappings not yet unmapped in this process.
Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info);
// JS: allocationGranularity() -> number
Napi::Value AllocationGranularityJs(const Napi::CallbackInfo& info);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_MAPPING_H_
