// Memory-mapped files and POSIX shared memory as JS ArrayBuffers.
//
// Ownership rules:
// - A mapping is owned by a MapState held (std::shared_ptr) by one
//   process-wide table keyed by the mapping's never-reused id, which the
//   lazy calls take (ABI 8: mapFileId, openSharedMemoryId, mappingBuffer,
//   unmapId; ABI 10: mapFileIo; JS holds the id and makes the one external
//   ArrayBuffer only when a view needs it). Once the mapping has its
//   ArrayBuffer it is also indexed by address, through which unmap()/flush()
//   find it from the buffer JS passes in; a mapping opened and closed
//   untouched never enters that index. A mapping is reachable by id only
//   from the environment that made it.
// - A mapping without an ArrayBuffer is unmapped by unmapId() (close(), or
//   the owner's FinalizationRegistry when the owner was collected unclosed)
//   or, at the environment's teardown, by its cleanup hook. Once it has an
//   ArrayBuffer, unmapId() does nothing: JS could reach the memory through
//   the buffer, so only unmap(buffer) (which detaches it first) or the
//   buffer's finalizer may unmap it.
// - Whoever takes the state out of the tables unmaps it, exactly once:
//   unmapId() or the cleanup hook (bufferless), unmap(buffer), the
//   ArrayBuffer's finalizer (the buffer was garbage collected while still
//   mapped), or the failure path when the runtime refuses to create the
//   ArrayBuffer. The finalizer's hint is the mapping's
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
//     `fd` is read only when `path` is not a string. An empty path, or no
//     path and fd -1, is TypeError ERR_MEMORYVIEW_INVALID_ARG, an fd over
//     INT_MAX RangeError ERR_MEMORYVIEW_OUT_OF_RANGE, before anything opens.
Napi::Value MapFileJs(const Napi::CallbackInfo& info);
// ABI 8, the lazy form: the mapping is made, but no ArrayBuffer yet (V8
// counts an external ArrayBuffer as external memory, and one of 64 MiB or
// more starts a garbage collection; an owner that is closed untouched never
// needs one). `out` (a Float64Array(2)) receives [id, length].
// JS: mapFileId(path, fd, access, offset, length, size, maxLength, out)
Napi::Value MapFileIdJs(const Napi::CallbackInfo& info);
// ABI 10, mapFileId() with its numbers in one ArrayBuffer (read with one
// Node-API call instead of six, the form lib/mmap.ts uses on every mmap()):
// JS: mapFileIo(path: string | null, io) where io is an ArrayBuffer of at
//     least 64 bytes read as eight doubles: io[2..7] in: fd (used when path
//     is null), access, offset, length, size, maxLength; io[0], io[1] out:
//     the mapping's id and length.
napi_value MapFileIoJs(napi_env env, napi_callback_info info);
// JS: openSharedMemoryId(name, create, size, maxLength, reserve, out):
//     creates or opens POSIX shared memory (a named file mapping on Windows)
//     and maps all of it, lazily as above; shared memory has no eager form.
Napi::Value OpenSharedMemoryIdJs(const Napi::CallbackInfo& info);
// JS: mappingBuffer(id, segment: boolean) -> the external ArrayBuffer over
//     mapping `id`, made once (a second call throws); ERR_MEMORYVIEW_RELEASED
//     once the mapping is unmapped. `segment` only words a refusal.
Napi::Value MappingBufferJs(const Napi::CallbackInfo& info);
// JS: unmapId(id) -> true if mapping `id` had no ArrayBuffer and is now
//     unmapped; false (nothing done) if it has one (then unmap(buffer) or
//     the buffer's finalizer unmaps it) or is not a live mapping of this
//     environment. Used by close() and by the owner's FinalizationRegistry.
napi_value UnmapIdJs(napi_env env, napi_callback_info info);
// Registers the environment cleanup that unmaps its mappings that never got
// an ArrayBuffer (called once per environment by Init()).
void InitMappings(Napi::Env env);
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
