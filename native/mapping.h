// Memory-mapped files and POSIX shared memory as JS ArrayBuffers.
//
// Ownership rules:
// - A mapping is owned by a MapState held (std::shared_ptr) by one
//   process-wide table keyed by the mapping's address, through which
//   unmap()/flush() find it from the ArrayBuffer JS passes in. JS holds
//   nothing but the external ArrayBuffer over the memory: no wrapper object
//   per mapping, which keeps an open/close cycle cheap.
// - Whoever takes the state out of the table unmaps it, exactly once:
//   unmap(buffer), the ArrayBuffer's finalizer (the buffer was garbage
//   collected while still mapped), or the failure path when the runtime
//   refuses to create the ArrayBuffer. The finalizer's hint is the mapping's
//   never-reused id, not a pointer, so a finalizer that runs late, or during
//   the failed creation itself (Node 20 runs it there for a length over
//   buffer.constants.MAX_LENGTH), frees nothing and finds nothing to unmap.
// - unmap(buffer) unmaps synchronously: it removes the state from the table,
//   detaches the ArrayBuffer (every TypedArray and DataView over it reads as
//   length 0 from then on), then munmaps. All of it runs on the thread of the
//   JS environment that made the mapping.
// - Mappings longer than the caller's max_length (the runtime's largest
//   buffer) are refused before anything is mapped or grown; a file or
//   segment created for the call is removed again (platform.h).
// - Only ArrayBuffers made here are ever detached: never a Buffer's pooled
//   store or any other buffer JS code handed in (unmap() of a buffer not in
//   the table does nothing and returns false).
// - prefetch() pages a mapping in on the thread pool holding the MapState
//   and a claim on it: an unmap that comes meanwhile (JS holds a lease, so
//   only a collection or an environment teardown can) detaches at once but
//   munmaps when the worker is done.
// - Whether unmap() may run (no export is held) is decided in JS
//   (lib/managed-buffer.ts); native code only maps, unmaps and flushes.

#ifndef MEMORYVIEW_NATIVE_MAPPING_H_
#define MEMORYVIEW_NATIVE_MAPPING_H_

#include <napi.h>

#include "platform.h"

namespace memoryview {

// JS: mapFile(path: string | null, fd: number, access: 0|1|2, offset, length,
//             size, maxLength) -> ArrayBuffer over the mapping
Napi::Value MapFileJs(const Napi::CallbackInfo& info);
// JS: openSharedMemory(name: string, create: boolean, size: number,
//                      maxLength: number) -> ArrayBuffer over the mapping
Napi::Value OpenSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: unmap(buffer) -> true if it was a live mapping made here (now unmapped)
Napi::Value UnmapJs(const Napi::CallbackInfo& info);
// JS: flush(buffer, offset, length) -> undefined (msync of those pages)
Napi::Value FlushJs(const Napi::CallbackInfo& info);
// JS: unlinkSharedMemory(name: string) -> undefined
Napi::Value UnlinkSharedMemoryJs(const Napi::CallbackInfo& info);
// JS: liveMappings() -> number of mappings not yet unmapped in this process.
Napi::Value LiveMappingsJs(const Napi::CallbackInfo& info);
// JS: resizeMapping(buffer, path: string | null, fd, newLength, maxLength)
//     -> a new ArrayBuffer over the resized mapping of a 'write' file; the
//     old buffer is detached and unmapped (platform.h RemapFile).
Napi::Value ResizeMappingJs(const Napi::CallbackInfo& info);
// JS: advise(buffer, offset, length, advice: 0..4) -> undefined (madvise)
Napi::Value AdviseJs(const Napi::CallbackInfo& info);
// JS: resident(buffer, offset, length) -> resident bytes of the range
Napi::Value ResidentJs(const Napi::CallbackInfo& info);
// JS: prefetch(buffer, offset, length) -> Promise<void>, paging the range in
//     on the libuv thread pool (the caller holds a lease meanwhile).
Napi::Value PrefetchJs(const Napi::CallbackInfo& info);
// For a file too big to map whole, the same on the file (fd, file offset):
// JS: fileAdvise(fd, offset, length, advice) -> undefined (posix_fadvise)
Napi::Value FileAdviseJs(const Napi::CallbackInfo& info);
// JS: fileResident(fd, offset, length) -> resident bytes (mincore through a
//     temporary read-only mapping)
Napi::Value FileResidentJs(const Napi::CallbackInfo& info);
// JS: filePrefetch(fd, offset, length) -> Promise<void> (a temporary
//     mapping made now, paged in and unmapped on the thread pool)
Napi::Value FilePrefetchJs(const Napi::CallbackInfo& info);
// JS: allocationGranularity() -> number
Napi::Value AllocationGranularityJs(const Napi::CallbackInfo& info);

}  // namespace memoryview

#endif  // MEMORYVIEW_NATIVE_MAPPING_H_
