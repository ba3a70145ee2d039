/**
 * memoryview: Python's memoryview for Node.js.
 *
 * The public entry point. Everything here works over JS memory without the native addon; features
 * that need it load it lazily through ./binding.
 */
import * as path from 'node:path'

export { MemoryView, Pin, memoryview } from './memoryview'
export type { Index, MemoryViewJSON } from './memoryview'
export type { Value } from './format'
export { BufferError, codes } from './errors'
export type { ErrorCode } from './errors'
export { BUFFER_PROTOCOL } from './sources'
export type { BufferDescriptor, Source } from './sources'
export { nativeAvailable, nativeLoadError } from './binding'
export { NativeExportHandle, exportToNative } from './native-export'
export type { NativeDescriptor } from './native-export'
export { MappedFile, allocationGranularity, mmap } from './mmap'
export type { Access, Advice, MappedFileJSON, MmapOptions } from './mmap'
export { SharedMemory } from './shm'
export type { SharedMemoryJSON, SharedMemoryOptions } from './shm'
export { NATIVE_API, NativeMemory, bufferFlags } from './native-api'
export type { NativeApi } from './native-api'

/**
 * The directory of include/memoryview.h, the header-only C++ API for other addons (like
 * node-addon-api's `include_dir`): `"include_dirs": ["<!(node -p \"require('memoryview').include\")"]`.
 */
export const include: string = path.join(__dirname, '..', '..', 'include')
