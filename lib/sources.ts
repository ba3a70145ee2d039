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
import type { MemoryView } from './memoryview'

/** The buffer-protocol method name: `obj[BUFFER_PROTOCOL]()` returns a {@link BufferDescriptor}. */
export const BUFFER_PROTOCOL: unique symbol = Symbol.for('memoryview.buffer') as never

/**
 * Owners of external memory (MappedFile, SharedMemory) implement `[OWNED_VIEW]()`, returning their
 * `buf`; `memoryview(owner)` then shares that view's managed buffer, so closing the owner reaches it.
 */
export const OWNED_VIEW: unique symbol = Symbol('memoryview.ownedView') as never

/** What an exporter's `[BUFFER_PROTOCOL]()` returns. */
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

/** Any value `memoryview()` accepts. */
export type Source =
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | { [BUFFER_PROTOCOL](): BufferDescriptor }
  | { [OWNED_VIEW](): MemoryView }

export interface Resolved {
  mbuf: ManagedBuffer
  offset: number
  format: Format
  /** Owned by the view once handed over: nobody mutates them afterwards. */
  shape: readonly number[]
  strides: readonly number[]
  readonly: boolean
}

const TYPED_FORMATS: Record<string, string> = {
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

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Int8Array.prototype),
  Symbol.toStringTag,
)!.get!

export const MAX_NDIM = 64

function isArrayBufferLike(v: unknown): v is ArrayBuffer | SharedArrayBuffer {
  return v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)
}

function plain(mbufSource: ArrayBuffer | SharedArrayBuffer, byteOffset: number, byteLength: number, obj: unknown, fmt: string): Resolved {
  checkAttached(mbufSource)
  const format = parseSingleFormat(fmt)!
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
  if (buffer instanceof ArrayBuffer && isDetached(buffer)) {
    if (externalOf(buffer)?.closed === true) throw releasedError()
    throw outOfBoundsError()
  }
}

/** @throws {TypeError} ERR_MEMORYVIEW_INVALID_SOURCE for values that are not sources. */
export function resolveSource(source: unknown): Resolved {
  if (ArrayBuffer.isView(source)) {
    // Before byteOffset: a DataView over a detached buffer throws on reading it.
    checkAttached(source.buffer)
    const tag = typedArrayTag.call(source) as string | undefined
    if (tag === undefined) {
      // A DataView: bytes, like Python's view of a bytearray.
      return plain(source.buffer, source.byteOffset, source.byteLength, source, 'B')
    }
    const fmt = TYPED_FORMATS[tag]
    if (fmt === undefined) throw notASource(source)
    return plain(source.buffer, source.byteOffset, source.byteLength, source, fmt)
  }
  if (isArrayBufferLike(source)) return plain(source, 0, source.byteLength, source, 'B')
  if (source !== null && (typeof source === 'object' || typeof source === 'function')) {
    const method = (source as Record<symbol, unknown>)[BUFFER_PROTOCOL]
    if (typeof method === 'function') return fromDescriptor(source, method.call(source))
  }
  throw notASource(source)
}

function notASource(source: unknown): TypeError {
  return typeError(codes.INVALID_SOURCE, `a bytes-like object is required, not '${typeName(source)}'`)
}

/** ArrayBuffer.prototype.detached is newer than Node 20; a detached buffer refuses a DataView. */
function isDetached(buffer: ArrayBuffer): boolean {
  const flag = (buffer as { detached?: boolean }).detached
  if (typeof flag === 'boolean') return flag
  if (buffer.byteLength !== 0) return false
  try {
    new DataView(buffer)
    return false
  } catch {
    return true
  }
}

const isIntegral = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

/** Validates an exporter's descriptor; releases it when rejecting it. */
function fromDescriptor(obj: unknown, d: unknown): Resolved {
  const release =
    d !== null && typeof d === 'object' && typeof (d as BufferDescriptor).release === 'function'
      ? (d as BufferDescriptor).release!.bind(d)
      : null
  try {
    return checkDescriptor(obj, d as BufferDescriptor, release)
  } catch (err) {
    release?.()
    throw err
  }
}

function checkDescriptor(obj: unknown, d: BufferDescriptor, release: (() => void) | null): Resolved {
  const bad = (what: string): TypeError => typeError(codes.INVALID_SOURCE, `invalid buffer descriptor: ${what}`)
  if (d === null || typeof d !== 'object') throw bad('the buffer-protocol method must return an object')
  const { buffer } = d
  if (!isArrayBufferLike(buffer)) throw bad('buffer must be an ArrayBuffer or SharedArrayBuffer')
  checkAttached(buffer)
  const byteOffset = d.byteOffset ?? 0
  if (!isIntegral(byteOffset)) throw bad('byteOffset must be an integer')
  const fmtStr = d.format ?? 'B'
  if (typeof fmtStr !== 'string') throw bad('format must be a string')
  if (d.itemsize !== undefined && !(isIntegral(d.itemsize) && d.itemsize > 0)) throw bad('itemsize must be a positive integer')
  const format = parseAnyFormat(fmtStr, d.itemsize)
  if (format === null) throw typeError(codes.FORMAT, `invalid buffer descriptor: cannot determine the item size of format '${fmtStr}'`)
  const itemsize = format.itemsize
  let shape: number[]
  if (d.shape === undefined) {
    shape = [Math.floor(Math.max(0, buffer.byteLength - byteOffset) / itemsize)]
  } else {
    if (!Array.isArray(d.shape)) throw bad('shape must be an array')
    shape = d.shape.slice()
    if (shape.length > MAX_NDIM) throw rangeError(codes.OUT_OF_RANGE, `invalid buffer descriptor: number of dimensions must not exceed ${MAX_NDIM}`)
    for (const n of shape) if (!isIntegral(n) || n < 0) throw bad('shape elements must be non-negative integers')
  }
  let strides: number[]
  if (d.strides === undefined || d.strides === null) {
    strides = cStrides(shape, itemsize)
  } else {
    if (!Array.isArray(d.strides)) throw bad('strides must be an array')
    strides = d.strides.slice()
    if (strides.length !== shape.length) throw bad('strides must have one entry per dimension')
    for (const s of strides) if (!isIntegral(s)) throw bad('strides must be integers')
  }
  const [low, high] = extent(shape, strides, itemsize)
  const start = byteOffset + low
  const end = byteOffset + high
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (high > low && (start < 0 || end > buffer.byteLength))) {
    throw rangeError(codes.OUT_OF_RANGE, 'invalid buffer descriptor: the described elements reach outside the buffer')
  }
  const regionStart = high > low ? start : Math.min(Math.max(byteOffset, 0), buffer.byteLength)
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
