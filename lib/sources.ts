/**
 * Turning a JS value into the memory a new view describes: ArrayBuffer, SharedArrayBuffer, any
 * ArrayBufferView, or an object implementing the buffer protocol. (MemoryView sources are handled by
 * the view itself: they share the parent's managed buffer.)
 *
 * Ownership rules: a buffer-protocol descriptor is "acquired" when its method returns; if this module
 * rejects the descriptor it calls the descriptor's release() before throwing, so a failed
 * construction never leaks an export. Otherwise the release hook passes to the ManagedBuffer.
 */
import { codes, outOfBoundsError, rangeError, releasedError, typeError, typeName } from './errors'
import { Format, parseAnyFormat, parseSingleFormat } from './format'
import { ManagedBuffer, externalOf } from './managed-buffer'
import { cStrides, extent } from './shape'
import {
  bufferByteLength, isAnyArrayBuffer, isDetached, isView, taBuffer, taByteLength, taByteOffset, typedArrayTag, viewBuffer, dataViewFields,
} from './intrinsics'

/** The buffer-protocol method name: `obj[BUFFER_PROTOCOL]()` returns a {@link BufferDescriptor}. */
export const BUFFER_PROTOCOL: unique symbol = Symbol.for('memoryview.buffer') as never

/**
 * Owners of external memory (MappedFile, SharedMemory) implement `[OWNED_VIEW]()`, returning their
 * `buf`; `memoryview(owner)` then shares that view's managed buffer, so closing the owner reaches it.
 */
export const OWNED_VIEW: unique symbol = Symbol('memoryview.ownedView') as never

/**
 * What an exporter's `[BUFFER_PROTOCOL]()` returns. Each field (and each element of `shape` and
 * `strides`) is read exactly once; the values read are validated and used, so getters cannot pass
 * the checks with one answer and be used with another.
 */
export interface BufferDescriptor {
  /** The memory. */
  buffer: ArrayBuffer | SharedArrayBuffer
  /** Offset in `buffer` of element [0, ..., 0]; with negative strides the extent reaches below it. */
  byteOffset: number
  /** A struct format string; default 'B'. */
  format?: string
  /** Item size in bytes; default: derived from `format`. */
  itemsize?: number
  /** Default: one dimension covering the rest of the buffer. */
  shape?: readonly number[]
  /** Byte strides; default: C-contiguous. */
  strides?: readonly number[]
  /** Default false. */
  readonly?: boolean
  /** Called once when the last view over this descriptor is released or collected. */
  release?: () => void
}

/**
 * Any value `memoryview()` accepts. (MappedFile and SharedMemory are sources through their
 * `[BUFFER_PROTOCOL]()` method; the `[OWNED_VIEW]()` they also have is internal and not part of this
 * type.)
 */
export type Source =
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | {
      /** The buffer-protocol method: returns a descriptor of the memory to view, see {@link BufferDescriptor}. */
      [BUFFER_PROTOCOL](): BufferDescriptor
    }

export interface Resolved {
  mbuf: ManagedBuffer
  offset: number
  format: Format
  /** Owned by the view once handed over: nobody mutates them afterwards. */
  shape: readonly number[]
  strides: readonly number[]
  readonly: boolean
}

/** The struct format of each TypedArray kind (by its intrinsic tag); native-api.ts uses it too. */
export const TYPED_FORMATS: Readonly<Record<string, string>> = {
  Uint8Array: 'B',
  Uint8ClampedArray: 'B',
  Int8Array: 'b',
  Int16Array: 'h',
  Uint16Array: 'H',
  Int32Array: 'i',
  Uint32Array: 'I',
  BigInt64Array: 'q',
  BigUint64Array: 'Q',
  Float32Array: 'f',
  Float64Array: 'd',
  Float16Array: 'e',
}

/** TYPED_FORMATS parsed once: looking a format up by its string costs each memoryview(typedArray) a Map lookup. */
const TYPED_FORMAT_OF: Readonly<Record<string, Format>> = Object.fromEntries(
  Object.entries(TYPED_FORMATS).map(([tag, fmt]) => [tag, parseSingleFormat(fmt)!]),
)
const BYTES = parseSingleFormat('B')!

export const MAX_NDIM = 64

function plain(mbufSource: ArrayBuffer | SharedArrayBuffer, byteOffset: number, byteLength: number, obj: unknown, format: Format): Resolved {
  const n = Math.floor(byteLength / format.itemsize)
  return {
    mbuf: new ManagedBuffer(mbufSource, byteOffset, byteLength, obj),
    offset: 0,
    format,
    shape: [n],
    strides: [format.itemsize],
    readonly: false,
  }
}

/**
 * A detached ArrayBuffer (transferred, or external memory that was closed) cannot be viewed.
 * @throws {Error} ERR_MEMORYVIEW_RELEASED for closed external memory, ERR_MEMORYVIEW_OUT_OF_BOUNDS otherwise.
 */
function checkAttached(buffer: ArrayBuffer | SharedArrayBuffer): void {
  if (isDetached(buffer)) {
    if (externalOf(buffer)?.closed === true) throw releasedError()
    throw outOfBoundsError()
  }
}

/**
 * Resolves a source through the built-ins' internal slots (lib/intrinsics.ts), never their properties.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_SOURCE for values that are not sources (Proxies of
 *   built-ins included) and malformed descriptors; ERR_MEMORYVIEW_FORMAT for a descriptor format
 *   with no item size.
 * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for a descriptor outside its buffer or with more
 *   than 64 dimensions.
 * @throws {Error} ERR_MEMORYVIEW_OUT_OF_BOUNDS for a detached buffer (also one a descriptor getter
 *   detached), ERR_MEMORYVIEW_RELEASED for closed external memory.
 */
export function resolveSource(source: unknown): Resolved {
  // Intrinsic getters only: own properties or a swapped prototype must not move the view's memory.
  if (isView(source)) {
    const tag = typedArrayTag(source)
    if (tag !== undefined) {
      // Each internal slot read once (they cost 5 to 12 ns each, a tenth of memoryview(typedArray)).
      // A TypedArray over a detached buffer reads as 0 bytes at offset 0 without throwing, so only
      // an empty one needs the (costlier) detached test.
      const buffer = taBuffer(source)
      const byteLength = taByteLength(source)
      if (byteLength === 0) checkAttached(buffer)
      const format = TYPED_FORMAT_OF[tag]
      if (format === undefined) throw notASource(source)
      return plain(buffer, taByteOffset(source), byteLength, source, format)
    }
    // Before byteOffset: a DataView over a detached buffer throws on reading it.
    checkAttached(viewBuffer(source))
    const { buffer, byteOffset, byteLength } = dataViewFields(source as DataView)
    // A DataView is bytes, like Python's view of a bytearray.
    return plain(buffer, byteOffset, byteLength, source, BYTES)
  }
  if (isAnyArrayBuffer(source)) {
    checkAttached(source)
    return plain(source, 0, bufferByteLength(source), source, BYTES)
  }
  if (source !== null && (typeof source === 'object' || typeof source === 'function')) {
    const method = (source as Record<symbol, unknown>)[BUFFER_PROTOCOL]
    if (typeof method === 'function') return fromDescriptor(source, apply(method, source, []))
  }
  throw notASource(source)
}

function notASource(source: unknown): TypeError {
  return typeError(codes.INVALID_SOURCE, `a bytes-like object is required, not '${typeName(source)}'`)
}

const isIntegral = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

/** A descriptor's fields, each read exactly once (getters on a descriptor run once). */
interface Snapshot {
  buffer: unknown
  byteOffset: unknown
  format: unknown
  itemsize: unknown
  shape: Dims | undefined
  strides: Dims | null | undefined
  readonly: unknown
}

const tooManyDims = (): RangeError =>
  rangeError(codes.OUT_OF_RANGE, `invalid buffer descriptor: number of dimensions must not exceed ${MAX_NDIM}`)
/** Captured at load: user code may replace Reflect.apply later. */
const apply = Reflect.apply

const bad = (what: string): TypeError => typeError(codes.INVALID_SOURCE, `invalid buffer descriptor: ${what}`)

/**
 * Validates an exporter's descriptor; releases it when rejecting it. The descriptor is user code (its
 * fields may be getters that change their answer, or detach the buffer): every field is read once
 * into a snapshot, and only the snapshot is validated and used, after all user code has run.
 */
function fromDescriptor(obj: unknown, d: unknown): Resolved {
  if (d === null || typeof d !== 'object') throw bad('the buffer-protocol method must return an object')
  const hook = (d as BufferDescriptor).release
  const release = typeof hook === 'function' ? (): void => void apply(hook, d, []) : null
  try {
    return checkDescriptor(obj, snapshot(d as BufferDescriptor), release)
  } catch (err) {
    release?.()
    throw err
  }
}

function snapshot(d: BufferDescriptor): Snapshot {
  const buffer = d.buffer
  const byteOffset = d.byteOffset
  const format = d.format
  const itemsize = d.itemsize
  const rawShape = d.shape
  const shape = rawShape === null ? 'not an array' : (copyDims(rawShape) ?? undefined)
  const strides = copyDims(d.strides)
  const readonly = d.readonly
  return { buffer, byteOffset, format, itemsize, shape, strides, readonly }
}

/**
 * A copy of a shape or strides array, or why there is none; the errors are thrown by validation, in
 * the order it checks the fields.
 */
type Dims = unknown[] | 'not an array' | 'too many'

/**
 * Copies a shape or strides array reading its length and each element once (an Array.isArray Proxy
 * could answer each read differently). More than MAX_NDIM elements are not read at all.
 */
function copyDims(a: unknown): Dims | undefined | null {
  if (a === undefined || a === null) return a as undefined | null
  if (!Array.isArray(a)) return 'not an array'
  const n: unknown = a.length
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return 'not an array'
  if (n > MAX_NDIM) return 'too many'
  const out = new Array<unknown>(n)
  for (let i = 0; i < n; i++) out[i] = a[i]
  return out
}

function checkDescriptor(obj: unknown, d: Snapshot, release: (() => void) | null): Resolved {
  const { buffer } = d
  if (!isAnyArrayBuffer(buffer)) throw bad('buffer must be an ArrayBuffer or SharedArrayBuffer')
  // After every getter ran: one of them may have detached the buffer.
  checkAttached(buffer)
  const byteLength = bufferByteLength(buffer)
  const byteOffset = d.byteOffset ?? 0
  if (!isIntegral(byteOffset)) throw bad('byteOffset must be an integer')
  const fmtStr = d.format ?? 'B'
  if (typeof fmtStr !== 'string') throw bad('format must be a string')
  const declared = d.itemsize
  if (declared !== undefined && !(isIntegral(declared) && declared > 0)) throw bad('itemsize must be a positive integer')
  const format = parseAnyFormat(fmtStr, declared as number | undefined)
  if (format === null) throw typeError(codes.FORMAT, `invalid buffer descriptor: cannot determine the item size of format '${fmtStr}'`)
  const itemsize = format.itemsize
  let shape: number[]
  if (d.shape === undefined) {
    shape = [Math.floor(Math.max(0, byteLength - byteOffset) / itemsize)]
  } else {
    if (d.shape === 'not an array') throw bad('shape must be an array')
    if (d.shape === 'too many') throw tooManyDims()
    for (const n of d.shape) if (!isIntegral(n) || n < 0) throw bad('shape elements must be non-negative integers')
    shape = d.shape as number[]
  }
  let strides: number[]
  if (d.strides === undefined || d.strides === null) {
    strides = cStrides(shape, itemsize)
  } else {
    if (d.strides === 'not an array') throw bad('strides must be an array')
    if (d.strides === 'too many' || d.strides.length !== shape.length) throw bad('strides must have one entry per dimension')
    for (const s of d.strides) if (!isIntegral(s)) throw bad('strides must be integers')
    strides = d.strides as number[]
  }
  const [low, high] = extent(shape, strides, itemsize)
  const start = byteOffset + low
  const end = byteOffset + high
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (high > low && (start < 0 || end > byteLength))) {
    throw rangeError(codes.OUT_OF_RANGE, 'invalid buffer descriptor: the described elements reach outside the buffer')
  }
  const regionStart = high > low ? start : Math.min(Math.max(byteOffset, 0), byteLength)
  const regionLength = high > low ? end - start : 0
  return {
    mbuf: new ManagedBuffer(buffer, regionStart, regionLength, obj, release),
    offset: high > low ? byteOffset - start : 0,
    format,
    shape,
    strides,
    readonly: d.readonly === true,
  }
}
