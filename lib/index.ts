/**
 * memoryview: Python's memoryview for Node.js.
 *
 * The public entry point. Everything here works over JS memory without the native addon; features
 * that need it load it lazily through ./binding.
 */
export { MemoryView, Pin, memoryview } from './memoryview'
export type { Index } from './memoryview'
export type { Value } from './format'
export { BufferError, codes } from './errors'
export type { ErrorCode } from './errors'
export { BUFFER_PROTOCOL } from './sources'
export type { BufferDescriptor, Source } from './sources'
export { nativeAvailable, nativeLoadError } from './binding'
export { NativeExportHandle, exportToNative } from './native-export'
export type { NativeDescriptor } from './native-export'
export { MappedFile, allocationGranularity, mmap } from './mmap'
export type { Access, MmapOptions } from './mmap'
export { SharedMemory } from './shm'
export type { SharedMemoryOptions } from './shm'
