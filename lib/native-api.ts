/**
 * The JS half of the header-only C++ API (include/memoryview.h): what other addons call, through
 * `globalThis[Symbol.for('memoryview.native')]`, to acquire a buffer (PEP 3118's getbuffer) and to
 * wrap native memory as a view. Nothing here needs our own addon.
 *
 * Ownership rules:
 *   - acquire() takes one export: a Pin of the view (the source itself when it is a MemoryView, else a
 *     private view over it, released with the export), or, for plain JS memory that nobody can close,
 *     a strong reference to the TypedArray/DataView itself. The record lives in `slots` under an
 *     integer id until release(id) runs, so the memory stays reachable (and mapped) meanwhile: the
 *     view cannot be released and the owner of external memory refuses to close.
 *   - The layout of the last acquisition is written into `scratch` (a Float64Array the native side
 *     reads through one pointer) and is only valid until the next call into JS.
 *   - wrap() turns an external ArrayBuffer made by native code into a view; the ArrayBuffer owns the
 *     native memory (its finalizer frees it when it is garbage collected).
 *
 * Assumptions: the header reads scratch right after acquire() returns, before any other JS runs.
 */
import { constants as bufferConstants } from 'node:buffer'
import { codes, plainError, rangeError, typeError } from './errors'
import { calcsize } from './format'
import { ExternalMemory, externalOf, registerExternal } from './managed-buffer'
import { MemoryView, Pin } from './memoryview'
import { BUFFER_PROTOCOL, BufferDescriptor, MAX_NDIM, TYPED_FORMATS } from './sources'
import {
  bufferByteLength, isAnyArrayBuffer, isArrayBuffer, isDetached, isResizable, isView, typedArrayTag, viewBuffer, viewByteLength,
} from './intrinsics'

/** Where the header finds this API: `globalThis[NATIVE_API]`. */
export const NATIVE_API: unique symbol = Symbol.for('memoryview.native') as never

/** Version of the contract between this file and include/memoryview.h (kApiVersion there). */
export const NATIVE_API_VERSION = 1

/** PEP 3118 request flags, with CPython's values (include/memoryview.h has the same constants). */
export const bufferFlags = Object.freeze({
  /** PyBUF_SIMPLE: read-only, contiguous bytes, no format or shape asked for. */
  SIMPLE: 0,
  /** PyBUF_WRITABLE: refuse read-only views. */
  WRITABLE: 0x1,
  /** PyBUF_FORMAT: report the format (else `'B'` is implied). */
  FORMAT: 0x4,
  /** PyBUF_ND: report the shape (the memory must be C-contiguous). */
  ND: 0x8,
  /** PyBUF_STRIDES: report shape and strides (any strided layout). */
  STRIDES: 0x18,
  /** PyBUF_C_CONTIGUOUS: strides, and the memory must be C-contiguous. */
  C_CONTIGUOUS: 0x38,
  /** PyBUF_F_CONTIGUOUS: strides, and the memory must be Fortran-contiguous. */
  F_CONTIGUOUS: 0x58,
  /** PyBUF_ANY_CONTIGUOUS: strides, and the memory must be C- or Fortran-contiguous. */
  ANY_CONTIGUOUS: 0x98,
  /** PyBUF_INDIRECT: strides and suboffsets (there are never suboffsets here). */
  INDIRECT: 0x118,
})
const KNOWN_FLAGS = 0x1ff

/** Slots of the scratch array (mirrored by include/memoryview.h). */
export const enum Slot {
  Id = 0,
  Offset = 1,
  Readonly = 2,
  Itemsize = 3,
  Ndim = 4,
  Nbytes = 5,
  FormatLength = 6,
  Contiguity = 7,
  Shape = 16,
  Strides = 16 + MAX_NDIM,
  Format = 16 + 2 * MAX_NDIM,
}
const MAX_FORMAT = 256
const scratch = new Float64Array(Slot.Format + MAX_FORMAT)

/** What `slots` keeps for one acquisition. */
type Held = Pin | ArrayBufferView | { pin: Pin; view: MemoryView }


const notContiguous = (what: string): TypeError =>
  typeError(codes.NOT_CONTIGUOUS, `the request needs a ${what} buffer, and this view is not one`)

/** A Uint8Array over a plain (not external, not resizable, attached) buffer, made once per buffer. */
const plainBuffers = new WeakMap<ArrayBuffer | SharedArrayBuffer, Uint8Array>()

function plainBytes(buffer: ArrayBuffer | SharedArrayBuffer): Uint8Array | null {
  let bytes = plainBuffers.get(buffer)
  if (bytes === undefined) {
    // Intrinsic getters: an own `resizable: false` would hand native code memory that can shrink.
    if (bufferByteLength(buffer) === 0 || externalOf(buffer) !== undefined || isResizable(buffer)) return null
    // Length-tracking for a growable SharedArrayBuffer, which only grows.
    bytes = new Uint8Array(buffer)
    plainBuffers.set(buffer, bytes)
  }
  // A transferred (detached) ArrayBuffer reads as empty: the view path reports it.
  return viewByteLength(bytes) === 0 ? null : bytes
}

// Shape and strides of the 1-D fast path, reused (describe() copies them into scratch).
const ONE = [0]
const ITEM = [0]

/** Checks `flags` against a layout (CPython's memory_getbuf order) and fills scratch. */
function describe(
  flags: number, readonly: boolean, offset: number, format: string, itemsize: number,
  shape: readonly number[], strides: readonly number[], c: boolean, f: boolean,
): void {
  if ((flags & bufferFlags.WRITABLE) !== 0 && readonly) {
    throw typeError(codes.READONLY, 'the request is WRITABLE and the buffer is read-only')
  }
  if ((flags & bufferFlags.C_CONTIGUOUS) === bufferFlags.C_CONTIGUOUS && !c) throw notContiguous('C-contiguous')
  if ((flags & bufferFlags.F_CONTIGUOUS) === bufferFlags.F_CONTIGUOUS && !f) throw notContiguous('Fortran-contiguous')
  if ((flags & bufferFlags.ANY_CONTIGUOUS) === bufferFlags.ANY_CONTIGUOUS && !c && !f) throw notContiguous('contiguous')
  if ((flags & bufferFlags.STRIDES) !== bufferFlags.STRIDES && !c) {
    throw notContiguous('C-contiguous (no STRIDES requested)')
  }
  const s = scratch
  let nbytes = itemsize
  for (let i = 0; i < shape.length; i++) nbytes *= shape[i]
  s[Slot.Offset] = offset
  s[Slot.Readonly] = readonly ? 1 : 0
  s[Slot.Itemsize] = itemsize
  s[Slot.Nbytes] = nbytes
  s[Slot.Contiguity] = (c ? 1 : 0) | (f ? 2 : 0)
  if ((flags & bufferFlags.ND) === 0) {
    // PEP 3118: without ND the consumer sees one dimension of nbytes / itemsize items.
    s[Slot.Ndim] = 1
    s[Slot.Shape] = nbytes / itemsize
    s[Slot.Strides] = itemsize
  } else {
    const n = shape.length
    s[Slot.Ndim] = n
    for (let i = 0; i < n; i++) {
      s[Slot.Shape + i] = shape[i]
      s[Slot.Strides + i] = strides[i]
    }
  }
  if ((flags & bufferFlags.FORMAT) === 0) {
    // PEP 3118: no FORMAT means the consumer treats the memory as unsigned bytes (format NULL).
    s[Slot.FormatLength] = -1
  } else {
    const n = format.length
    s[Slot.FormatLength] = n
    for (let i = 0; i < n; i++) s[Slot.Format + i] = format.charCodeAt(i)
  }
}

function checkFlags(flags: unknown): number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || (flags & ~KNOWN_FLAGS) !== 0) {
    throw typeError(codes.INVALID_ARG, `invalid buffer request flags ${String(flags)}`)
  }
  return flags
}

// Held acquisitions. An id is slot + generation * SLOT_LIMIT: slots are reused through a free list
// (the hot path never grows a Map), and a stale id (released twice) matches no live generation.
const SLOT_LIMIT = 2 ** 24
const slots: (Held | undefined)[] = [undefined]
const generations: number[] = [0]
const freeIds: number[] = []
let heldCount = 0

function take(entry: Held): void {
  let slot = freeIds.pop()
  if (slot === undefined) {
    slot = slots.length
    if (slot >= SLOT_LIMIT) throw rangeError(codes.OUT_OF_RANGE, `more than ${SLOT_LIMIT - 1} buffers acquired at once`)
    slots.push(entry)
    generations.push(0)
  } else {
    slots[slot] = entry
  }
  heldCount++
  scratch[Slot.Id] = slot + generations[slot] * SLOT_LIMIT
}

/**
 * Plain TypedArrays and DataViews that native code may hold directly (not external memory, not
 * resizable), with their format and itemsize: checked once per object, as none of that can change.
 */
const plainViews = new WeakMap<ArrayBufferView, { format: string; itemsize: number }>()

function plainView(value: ArrayBufferView): { format: string; itemsize: number } | null {
  const known = plainViews.get(value)
  if (known !== undefined) return known
  // Intrinsic getters: an own `buffer` property must not hide a resizable or external buffer.
  const buffer = viewBuffer(value)
  if (externalOf(buffer) !== undefined || isResizable(buffer)) return null
  const tag = typedArrayTag(value)
  // Float16Array has no Node-API TypedArray type yet: it takes the view path.
  const format = tag === undefined ? 'B' : tag === 'Float16Array' ? undefined : TYPED_FORMATS[tag]
  if (format === undefined) return null
  // The format's size, not the view's BYTES_PER_ELEMENT, which an own property could fake.
  const info = { format, itemsize: calcsize(format)! }
  plainViews.set(value, info)
  return info
}

function acquireView(view: MemoryView, flags: number, own: boolean): ArrayBufferView {
  const pin = view.pin()
  try {
    const mbuf = view._mbuf
    if (mbuf.resizable) {
      throw typeError(codes.INVALID_SOURCE, 'a resizable ArrayBuffer cannot be acquired by native code (shrinking it would pull memory from under it)')
    }
    if (view._outOfBounds()) view._live()
    describe(flags, view._readonly, view._off, view._fmt.str, view._itemsize, view._shape, view._strides, view._c, view._f)
    const region = mbuf.u8
    take(own ? { pin, view } : pin)
    return region
  } catch (err) {
    pin.release()
    throw err
  }
}

/**
 * PEP 3118's getbuffer for native code: takes one export of `value` and describes it in scratch.
 * Returns the memory as an ArrayBufferView whose data pointer is the base that scratch's offset is
 * relative to.
 * @throws TypeError ERR_MEMORYVIEW_INVALID_ARG for bad flags, ERR_MEMORYVIEW_INVALID_SOURCE for values
 *   memoryview() refuses (and resizable ArrayBuffers), ERR_MEMORYVIEW_READONLY for WRITABLE on a
 *   read-only view, ERR_MEMORYVIEW_NOT_CONTIGUOUS when the requested contiguity is not there;
 *   Error ERR_MEMORYVIEW_RELEASED for a released view or closed memory.
 */
function acquire(value: unknown, rawFlags: unknown): ArrayBufferView {
  const flags = checkFlags(rawFlags)
  if (value instanceof MemoryView) return acquireView(value, flags, false)
  if (isView(value) && !isDetached(viewBuffer(value)) && viewByteLength(value) !== 0) {
    // Plain JS memory that nobody can close or shrink: hold the object itself, no view needed.
    const info = plainView(value)
    if (info !== null) {
      const { format, itemsize } = info
      ONE[0] = viewByteLength(value) / itemsize
      ITEM[0] = itemsize
      describe(flags, false, 0, format, itemsize, ONE, ITEM, true, true)
      take(value)
      return value
    }
  }
  if (isAnyArrayBuffer(value)) {
    const bytes = plainBytes(value)
    if (bytes !== null) {
      ONE[0] = viewByteLength(bytes)
      ITEM[0] = 1
      describe(flags, false, 0, 'B', 1, ONE, ITEM, true, true)
      take(bytes)
      return bytes
    }
  }
  const view = new MemoryView(value as never)
  try {
    return acquireView(view, flags, true)
  } catch (err) {
    view._drop()
    throw err
  }
}

/** Ends the acquisition `id`; unknown ids (released twice) are ignored. */
function release(id: number): void {
  const slot = id % SLOT_LIMIT
  const entry = slots[slot]
  if (entry === undefined || generations[slot] !== (id - slot) / SLOT_LIMIT) return
  slots[slot] = undefined
  generations[slot] = (generations[slot] + 1) % 2 ** 28
  freeIds.push(slot)
  heldCount--
  if (entry instanceof Pin) {
    entry.release()
  } else if (!ArrayBuffer.isView(entry)) {
    entry.pin.release()
    entry.view._drop()
  }
}

/**
 * The exporter behind a view of native memory (`m.obj`): its buffer is the external ArrayBuffer
 * whose finalizer frees the memory. close() frees it now instead of after garbage collection.
 */
export class NativeMemory implements Disposable {
  readonly #descriptor: BufferDescriptor
  readonly #state = new ExternalMemory('native memory')
  #close: (() => void) | null

  /** @internal Made by the native API's wrap(). */
  constructor(descriptor: BufferDescriptor, close: (() => void) | null) {
    this.#descriptor = descriptor
    this.#close = close
    registerExternal(descriptor.buffer, this.#state)
  }

  /** The external ArrayBuffer over the native memory. */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.#descriptor.buffer
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#state.closed
  }

  /**
   * Detaches every view of the memory and runs the native finalizer now. Idempotent.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while an export (a pin, a native Buffer::Acquire)
   *   of any view of it is held; nothing is freed then.
   */
  close(): void {
    if (this.#state.closed) return
    this.#state.close()
    const close = this.#close
    this.#close = null
    close?.()
  }

  /** `using` closes, as {@link NativeMemory.close} does. */
  [Symbol.dispose](): void {
    this.close()
  }

  /** Buffer protocol: the layout native code gave. */
  [BUFFER_PROTOCOL](): BufferDescriptor {
    if (this.#state.closed) throw plainError(codes.RELEASED, 'operation on closed native memory')
    return { ...this.#descriptor }
  }
}

/**
 * Wraps an external ArrayBuffer made by native code as a view (no copy). `close`, from the header,
 * detaches the buffer and runs the native finalizer when the owner is closed.
 * @throws TypeError ERR_MEMORYVIEW_INVALID_DESCRIPTOR for arguments of the wrong kind, TypeError
 *   ERR_MEMORYVIEW_FORMAT for a format struct cannot size or an itemsize other than the format's,
 *   RangeError ERR_MEMORYVIEW_OUT_OF_RANGE when the layout reaches outside the buffer.
 */
function wrap(
  buffer: unknown, byteOffset: unknown, format: unknown, itemsize: unknown,
  shape: unknown, strides: unknown, readonly: unknown, close?: unknown,
): MemoryView {
  const bad = (what: string): TypeError => typeError(codes.INVALID_DESCRIPTOR, `invalid native descriptor: ${what}`)
  if (!isArrayBuffer(buffer)) throw bad('buffer must be an ArrayBuffer')
  if (typeof format !== 'string' || format.length === 0 || format.length > MAX_FORMAT) throw bad('format must be a string of 1 to 256 characters')
  if (!Number.isSafeInteger(itemsize) || (itemsize as number) <= 0) throw bad('itemsize must be a positive integer')
  // Unlike a JS exporter, native code states both: a mismatch would make every element access fail.
  const size = calcsize(format)
  if (size === null) throw typeError(codes.FORMAT, `invalid native descriptor: unknown format '${format}'`)
  if (size !== itemsize) {
    throw typeError(codes.FORMAT, `invalid native descriptor: itemsize ${itemsize as number} does not match format '${format}' (${size} bytes)`)
  }
  if (!Array.isArray(shape) || !Array.isArray(strides)) throw bad('shape and strides must be arrays')
  if (shape.length > MAX_NDIM) throw rangeError(codes.OUT_OF_RANGE, `number of dimensions must not exceed ${MAX_NDIM}`)
  if (typeof readonly !== 'boolean') throw bad('readonly must be a boolean')
  if (close !== undefined && typeof close !== 'function') throw bad('close must be a function')
  if (externalOf(buffer) !== undefined) throw bad('buffer is already owned')
  const descriptor: BufferDescriptor = {
    buffer, byteOffset: byteOffset as number, format, itemsize: itemsize as number, shape, strides, readonly,
  }
  return new MemoryView(new NativeMemory(descriptor, (close as (() => void) | undefined) ?? null))
}

/** What `globalThis[Symbol.for('memoryview.native')]` holds. */
export interface NativeApi {
  /** The contract version (kApiVersion in include/memoryview.h must match it). */
  readonly version: number
  /** Where acquire() writes the last acquisition's layout; valid until the next call into JS. */
  readonly scratch: Float64Array
  /** The largest external ArrayBuffer wrap() can get (buffer.constants.MAX_LENGTH). */
  readonly maxByteLength: number
  /**
   * PEP 3118's getbuffer: takes one export of `value` (anything memoryview() accepts) and writes its
   * layout and export id into `scratch`. Returns the memory that the layout's offset is relative to.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG, ERR_MEMORYVIEW_INVALID_SOURCE,
   *   ERR_MEMORYVIEW_READONLY, ERR_MEMORYVIEW_NOT_CONTIGUOUS when the request cannot be met.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED for a released view or closed memory.
   */
  acquire(value: unknown, flags: number): ArrayBufferView
  /** Ends the export `id` that acquire() took; unknown ids (released twice) are ignored. */
  release(id: number): void
  /**
   * A MemoryView over an external ArrayBuffer made by native code (`memoryview::Wrap()`); `close`
   * runs once when JS closes the view's owner.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_DESCRIPTOR for arguments of the wrong kind,
   *   ERR_MEMORYVIEW_FORMAT for a format `struct` cannot size or an itemsize other than the format's.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE when the layout reaches outside the buffer.
   */
  wrap(
    buffer: ArrayBuffer, byteOffset: number, format: string, itemsize: number,
    shape: number[], strides: number[], readonly: boolean, close?: () => void,
  ): MemoryView
  /** Acquisitions not yet released in this realm (for leak tests). */
  held(): number
}

export const nativeApi: NativeApi = Object.freeze({
  version: NATIVE_API_VERSION,
  scratch,
  // The runtime refuses larger external buffers (Node's Buffer limit); the header refuses first.
  maxByteLength: bufferConstants.MAX_LENGTH,
  acquire,
  release,
  wrap: wrap as NativeApi['wrap'],
  held: () => heldCount,
})

// The first copy of the package loaded in a realm serves every addon; a later copy (another
// version in node_modules) leaves it in place, as views of either copy are buffer-protocol objects.
if (!Object.prototype.hasOwnProperty.call(globalThis, NATIVE_API)) {
  Object.defineProperty(globalThis, NATIVE_API, { value: nativeApi, configurable: true, enumerable: false, writable: false })
}
