/**
 * memoryview: Python's memoryview for Node.js.
 *
 * The public entry point. Everything here works over JS memory without the native addon; features
 * that need it load it lazily through ./binding.
 */
import * as path from 'node:path'

import { MemoryView as MemoryViewClass, memoryview as memoryviewFunction } from './memoryview'
import { attach } from './share'
// Install the atomics and wait()/waitAsync()/notify() on MemoryView's prototype.
import './atomics'
import './wait'
import type { MemoryViewConstructor } from './memoryview'
import type { FormatString } from './value-types'

/**
 * The MemoryView class, typed so that `new MemoryView(source)` infers the format from the source
 * like {@link memoryview} (`new MemoryView(new Float64Array(4))` is a `MemoryView<'d'>`). Its
 * members are documented on the class, {@link MemoryViewClass | MemoryView}.
 */
export const MemoryView: MemoryViewConstructor = MemoryViewClass as unknown as MemoryViewConstructor
/**
 * A view whose elements have format `F` (default: any format, {@link FormatString}): `get()`,
 * iteration, `set()`, `tolist()` and `toTypedArray()` use the format's value types.
 */
export type MemoryView<F extends string = FormatString> = MemoryViewClass<F>
/**
 * `memoryview(source)`, the same as `new MemoryView(source)`: the format is inferred from the source.
 * `memoryview.attach(descriptor)` is {@link attach}.
 */
export const memoryview: typeof memoryviewFunction & {
  /** {@link attach}: a view over the memory a `view.share()` descriptor names. */
  attach: typeof attach
} = Object.assign(memoryviewFunction, { attach })
export { Pin } from './memoryview'
export { attach } from './share'
export type {
  SharedArrayBufferDescriptor, SharedFileDescriptor, SharedMemoryDescriptor, SharedViewDescriptor, SharedViewLayout,
} from './share'
export type { AtomicFormat, AtomicFormatChar, AtomicStoreOf, AtomicValueOf } from './atomics'
export type { Index, MemoryViewConstructor, MemoryViewJSON } from './memoryview'
export type { Value } from './format'
export type {
  Float16ArrayOrView, FormatChar, FormatCharOf, FormatOfSource, FormatString, NativeOnlyFormatChar, NestedList,
  PortableFormatChar, StoreValueOf, TypedArrayOf, TypedArrayTypes, ValueOf, ValueTypes,
} from './value-types'
export { BufferError, codes, isMemoryViewError } from './errors'
export type { ErrorCode, MemoryViewError, SystemErrorCode } from './errors'
export { BUFFER_PROTOCOL } from './sources'
export type { BufferDescriptor, Source } from './sources'
export { nativeAvailable, nativeLoadError } from './binding'
export { NativeExportHandle, exportToNative } from './native-export'
export type { NativeDescriptor } from './native-export'
export { MappedFile, allocationGranularity, mmap } from './mmap'
export type { Access, Advice, MappedFileJSON, MmapOptions } from './mmap'
export { SharedMemory } from './shm'
export type { SharedMemoryJSON, SharedMemoryOptions } from './shm'
export type { WaitAsyncOptions, WaitFormat, WaitResult } from './wait'
export { Channel } from './channel'
export type { ChannelDescriptor, ChannelMessage, ChannelOptions, ChannelWaitOptions } from './channel'
export { SafetensorsFile, bf16ToFloat32, openSafetensors } from './formats/safetensors'
export type { SafetensorsFileJSON, SafetensorsOptions, SafetensorsTensor } from './formats/safetensors'
export { NpyFile, npyBytes, openNpy, saveNpy } from './formats/npy'
export type { NpyArray, NpyOptions } from './formats/npy'
export { NpzFile, openNpz, saveNpz } from './formats/npz'
export type { NpzOptions } from './formats/npz'
export { NATIVE_API, NativeMemory, bufferFlags } from './native-api'
export type { NativeApi } from './native-api'

/**
 * The directory of include/memoryview.h, the header-only C++ API for other addons (like
 * node-addon-api's `include_dir`): `"include_dirs": ["<!(node -p \"require('memoryview').include\")"]`.
 */
export const include: string = path.join(__dirname, '..', '..', 'include')
