/**
 * The one module that loads the native addon.
 *
 * The addon is loaded lazily, on the first call that needs it, with `node-gyp-build` from the
 * package root: `build/Release` (a local `node-gyp rebuild`) first, then `prebuilds/<platform>-<arch>`
 * (made by `prebuildify --napi --strip`). Importing the package never loads it, so views over JS
 * memory keep working when it cannot load; only native features throw, with
 * `ERR_MEMORYVIEW_NATIVE_UNAVAILABLE` and a message that names the fix.
 *
 * `MEMORYVIEW_NATIVE_PATH`, when set, replaces the package root as the directory searched
 * (tests use it to simulate a broken install).
 */
import * as path from 'node:path'

import { BufferError, brand, brandingConstructor, codes } from './errors'

/** The contract version this file expects; native/addon.cc exports its own as `abiVersion`. */
export const ABI_VERSION = 10

/** A buffer native code can hold: the only two kinds Node-API can pin. */
export type NativeBuffer = ArrayBuffer | SharedArrayBuffer

/**
 * A native pin (native/pin.h): a strong, counted hold on `[byteOffset, byteOffset + byteLength)` of
 * a buffer. Resizable ArrayBuffers are refused (shrinking would pull memory from under native code).
 */
export interface NativePin {
  /** Data address of the first pinned byte; `0n` once released. */
  readonly address: bigint
  readonly byteLength: number
  /** The pinned buffer; `undefined` once released. */
  readonly buffer: NativeBuffer | undefined
  readonly released: boolean
  /** Drops the hold; idempotent. */
  release(): void
}

/** A descriptor as native code hands it back (a strided view, PEP 3118 style). */
export interface NativeDescriptor {
  /** The pinned ArrayBuffer or SharedArrayBuffer the layout describes. */
  buffer: NativeBuffer
  /** Offset in `buffer` of element `[0, ..., 0]` (negative strides reach below it). */
  byteOffset: number
  /** `itemsize * product(shape)`. */
  byteLength: number
  /** True when native code must not write through the descriptor. */
  readonly: boolean
  /** The element format, in `struct` syntax (`'B'`, `'d'`, `'<h'`, ...). */
  format: string
  /** Bytes per element. */
  itemsize: number
  /** Elements per dimension (empty for a 0-d view). */
  shape: number[]
  /** Bytes from one element to the next in each dimension; may be negative. */
  strides: number[]
}

/** A descriptor as native code accepts it: `byteLength` is optional and checked when given. */
export interface NativeDescriptorInput extends Omit<NativeDescriptor, 'byteLength'> {
  byteLength?: number
  /** Called exactly once: on `release()`, or from the event loop after the export was collected. */
  release?: () => void
}

/**
 * A native export (native/export.h): a validated, pinned descriptor. Construction throws
 * `TypeError`/`RangeError` with code `ERR_MEMORYVIEW_INVALID_DESCRIPTOR` for a bad descriptor.
 */
export interface NativeExport {
  /** Data address of element `[0, ..., 0]`; `0n` once released. */
  readonly address: bigint
  readonly byteLength: number
  readonly readonly: boolean
  readonly format: string
  readonly itemsize: number
  readonly ndim: number
  readonly released: boolean
  /** The descriptor back, with fresh arrays. @throws Error `ERR_MEMORYVIEW_RELEASED` once released. */
  describe(): NativeDescriptor
  /** Drops the pin and calls the descriptor's `release` once; idempotent. */
  release(): void
}

/** What the addon exports (native/addon.cc). */
export interface NativeBinding {
  readonly abiVersion: number
  /** Hands in the classes native errors are made of; called once by this module. */
  init(classes: {
    BufferError: Function
    Error?: Function
    TypeError?: Function
    RangeError?: Function
  }): void
  Pin: new (buffer: NativeBuffer, byteOffset: number, byteLength: number) => NativePin
  Export: new (descriptor: NativeDescriptorInput) => NativeExport
  /** Pins (including the pins inside exports) currently held in this process. */
  livePins(): number
  /** Exports whose `release` has not run yet, in this process. */
  liveExports(): number
  /**
   * Maps a file (native/mapping.h) and returns an external ArrayBuffer over it: access 0 read,
   * 1 write, 2 copy; size -1 = do not create or extend the file. A mapping longer than `maxLength`
   * is refused (ERR_MEMORYVIEW_TOO_LARGE) before anything is mapped or grown (a file created for the
   * call is removed again). `fd` is read only when `path` is not a string; before anything is opened,
   * an empty `path`, or no path with `fd` -1, is TypeError ERR_MEMORYVIEW_INVALID_ARG and an `fd` over
   * 2**31 - 1 RangeError ERR_MEMORYVIEW_OUT_OF_RANGE.
   */
  mapFile(path: string | null, fd: number, access: number, offset: number, length: number, size: number, maxLength: number): ArrayBuffer
  /**
   * ABI 8, the lazy form of mapFile(): maps the file the same way (same arguments, same refusals)
   * but makes no ArrayBuffer yet; writes the mapping's id and length into `out[0]` and `out[1]`.
   * V8 counts an external ArrayBuffer as external memory (one of 64 MiB or more starts a garbage
   * collection), so an owner makes it only when a view needs it (mappingBuffer()). Since ABI 10
   * mmap() calls mapFileIo() instead; nothing in lib/ calls this one (tests 79 and 82 do).
   */
  mapFileId(path: string | null, fd: number, access: number, offset: number, length: number, size: number, maxLength: number, out: Float64Array): void
  /**
   * ABI 10: mapFileId() with its numbers in `io`, an ArrayBuffer of at least 64 bytes read as eight
   * doubles (`[2]` to `[7]`: fd, used when `path` is null, access, offset, length, size, maxLength),
   * read with one Node-API call instead of one per argument; the id and length go to `[0]`, `[1]`.
   * The same checks and refusals; a number out of range is RangeError ERR_MEMORYVIEW_OUT_OF_RANGE, a
   * bad `io` TypeError ERR_MEMORYVIEW_INVALID_ARG, both before anything is opened. A SharedArrayBuffer
   * `io` is read like an ArrayBuffer where Node-API's napi_get_arraybuffer_info() accepts one (Node
   * 22.21 and newer 22.x, 24.9 and newer) and refused as a bad `io` before that (Node 20, 22.0 to
   * 22.20, 23, 24.0 to 24.8); mmap() passes its own ArrayBuffer. mmap() uses it.
   */
  mapFileIo(path: string | null, io: ArrayBuffer): void
  /**
   * ABI 8 (the only form since ABI 9): creates or opens POSIX shared memory (`name` has its leading
   * slash; a named file mapping on Windows) and maps all of it, making no ArrayBuffer yet, as
   * mapFileId() does; the id and length go to `out[0]`, `out[1]`. A segment longer than `maxLength`
   * is refused (ERR_MEMORYVIEW_TOO_LARGE) before it is created or mapped. `reserve` false creates it
   * with ftruncate instead of posix_fallocate.
   */
  openSharedMemoryId(name: string, create: boolean, size: number, maxLength: number, reserve: boolean, out: Float64Array): void
  /**
   * ABI 8: the external ArrayBuffer over mapping `id` of this environment, made once (a second call
   * throws TypeError ERR_MEMORYVIEW_INVALID_ARG); Error ERR_MEMORYVIEW_RELEASED once it is unmapped.
   * `segment` only words a refusal (ERR_MEMORYVIEW_TOO_LARGE).
   */
  mappingBuffer(id: number, segment: boolean): ArrayBuffer
  /**
   * ABI 8: unmaps mapping `id` if it has no ArrayBuffer (true); false, doing nothing, when it has one
   * (unmap(buffer) or the buffer's finalizer unmaps it then) or is not a live mapping of this environment.
   */
  unmapId(id: number): boolean
  /** Detaches a mapping's ArrayBuffer and munmaps it; false if it is not a live mapping made here. */
  unmap(buffer: ArrayBuffer): boolean
  /** msync(MS_SYNC) of the pages covering [offset, offset + length) of a live mapping. */
  flush(buffer: ArrayBuffer, offset: number, length: number): void
  unlinkSharedMemory(name: string): void
  /**
   * Resizes the file behind a live 'write' mapping to its offset + `newLength` and maps it anew
   * (reopening `path`, which must still be the same file, or using `fd`); returns the new mapping's
   * ArrayBuffer after detaching and unmapping `buffer`. A failure changes nothing.
   */
  resizeMapping(buffer: ArrayBuffer, path: string | null, fd: number, newLength: number, maxLength: number): ArrayBuffer
  /** madvise() of the pages covering [offset, offset + length): advice 0 normal, 1 random, 2 sequential, 3 willneed, 4 dontneed. */
  advise(buffer: ArrayBuffer, offset: number, length: number, advice: number): void
  /** Bytes of [offset, offset + length) in resident pages (mincore). */
  resident(buffer: ArrayBuffer, offset: number, length: number): number
  /** Pages [offset, offset + length) in on the libuv thread pool; the caller keeps the mapping open meanwhile. */
  prefetch(buffer: ArrayBuffer, offset: number, length: number): Promise<void>
  /** For a file too big to map whole: posix_fadvise() of [offset, offset + length) of `fd` (macOS: F_RDADVISE for willneed, nothing otherwise). */
  fileAdvise(fd: number, offset: number, length: number, advice: number): void
  /** For a file too big to map whole: resident bytes of [offset, offset + length) of `fd`. */
  fileResident(fd: number, offset: number, length: number): number
  /** For a file too big to map whole: pages [offset, offset + length) of `fd` in on the thread pool. */
  filePrefetch(fd: number, offset: number, length: number): Promise<void>
  /** Mappings not yet unmapped in this process. */
  liveMappings(): number
  /** The granularity mmap offsets must be multiples of. */
  allocationGranularity(): number
  /**
   * Sleeps on element `index` of `words` while it equals `expected` (compared as 32 bits), in the
   * kernel (futex on Linux, shared between processes): 0 woken, 1 not equal, 2 timed out.
   * `timeoutMs`: >= 0 or Infinity.
   */
  wait(words: Int32Array | Uint32Array, index: number, expected: number, timeoutMs: number): number
  /**
   * The same wait on a dedicated thread; returns its id. `dispatcher(id, result)` is called once on
   * this thread: 0 ok, 1 not-equal, 2 timed-out, 3 cancelled, 4 released (memory unmapped), or a
   * negative errno. A pending wait keeps the event loop alive.
   * @throws RangeError ERR_MEMORYVIEW_TOO_MANY_WAITS beyond 1024 pending waits in this thread.
   */
  waitAsync(words: Int32Array | Uint32Array, index: number, expected: number, timeoutMs: number,
    dispatcher: (id: number, result: number) => void): number
  /** Cancels a pending waitAsync (its dispatcher still runs, with 3); false if already settled. */
  waitCancel(id: number): boolean
  /** Wakes up to `count` (Infinity: all) waiters of the word, in every process; returns how many woke. */
  notify(words: Int32Array | Uint32Array, index: number, count: number): number
  /** Pending waitAsync calls of this thread. */
  pendingWaits(): number
}


type LoadState = { binding: NativeBinding; error?: undefined } | { binding?: undefined; error: Error }

let state: LoadState | undefined

function packageRoot(): string {
  // This file runs as dist/lib/binding.js; the package root is two levels up.
  return process.env.MEMORYVIEW_NATIVE_PATH || path.join(__dirname, '..', '..')
}

function load(): LoadState {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown
    // A copy in an object literal: the addon's exports object is in dictionary mode (native code
    // adds its properties one by one), and every `binding.mapFileIo` / `binding.unmapId` load on it
    // then took V8's generic LoadIC (about 100 instructions a load, two per mmap(path).close()); the
    // copy has fast properties. Native functions ignore their receiver, so calling them on the copy
    // is the same.
    const binding = { ...(nodeGypBuild(packageRoot()) as NativeBinding) }
    if (binding.abiVersion !== ABI_VERSION) {
      throw new Error(
        `the loaded addon speaks version ${String(binding.abiVersion)} of the native contract, ` +
          `this JavaScript expects ${ABI_VERSION} (a stale build/ or prebuild?)`,
      )
    }
    // Branding functions rather than the classes themselves: native errors stay plain built-in
    // instances and carry the brand isMemoryViewError() recognises (BufferError brands itself).
    binding.init({
      BufferError,
      Error: brandingConstructor(Error),
      TypeError: brandingConstructor(TypeError),
      RangeError: brandingConstructor(RangeError),
    })
    return { binding }
  } catch (err) {
    return { error: err instanceof Error ? err : new Error(String(err)) }
  }
}

function loaded(): LoadState {
  state ??= load()
  return state
}

/**
 * Whether the native addon loaded (loading it now if nothing asked before). Views over JS memory
 * never need it; mapped files, shared memory and native exports do.
 */
export function nativeAvailable(): boolean {
  return loaded().binding !== undefined
}

/** Why the addon failed to load, or `undefined` when it loaded. */
export function nativeLoadError(): Error | undefined {
  return loaded().error
}

/**
 * The addon, for a native feature.
 * @param feature what the caller is about to do, named in the error (e.g. `'mmap()'`).
 * @throws Error `ERR_MEMORYVIEW_NATIVE_UNAVAILABLE` when the addon could not be loaded; the message
 *   names the feature, the load error and the fix, and `cause` is the load error.
 */
export function requireBinding(feature: string): NativeBinding {
  const current = loaded()
  if (current.binding !== undefined) return current.binding
  const platform = `${process.platform}-${process.arch}`
  const err = new Error(
    `memoryview: ${feature} needs the native addon, which failed to load: ${current.error.message}. ` +
      `Fix: run \`npm rebuild memoryview\` (this compiles it with node-gyp: install a C++ compiler, ` +
      `make and Python first), or use a platform with a prebuilt binary (none was found for ${platform}).`,
    { cause: current.error },
  ) as Error & { code: string }
  err.code = codes.NATIVE_UNAVAILABLE
  throw brand(err)
}
