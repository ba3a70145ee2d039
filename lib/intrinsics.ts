/**
 * The built-ins' own getters, captured when this module loads, for reading what a user-provided
 * ArrayBuffer, SharedArrayBuffer, TypedArray or DataView really is.
 *
 * Why: `ab.resizable`, `u8.byteOffset` and friends are ordinary property reads, so an own property
 * (`Object.defineProperty(u8, 'byteOffset', { value: 0 })`), a swapped prototype or a Proxy can
 * make them lie, and a lie about where memory is or whether it can shrink reaches memory outside
 * the view (or, through native code, a freed page). These getters read the internal slots and throw
 * a TypeError on anything that is not the real built-in; brand checks use util.types, which reads
 * the same slots without throwing. The getters are called through `Function.prototype.call` bound
 * at load, so overwriting `call` or `Reflect.apply` later changes nothing.
 *
 * Assumptions: this module is loaded before any user code can replace the built-ins' prototypes'
 * getters (it is loaded with the package).
 */

import { types } from 'node:util'

type Getter<T, R> = (self: T) => R

// uncurryThis, as Node's primordials do it: bindCall(call, get) is call.bind(get), i.e. (self) => get.call(self).
const bindCall = Function.prototype.call.bind(Function.prototype.bind) as (call: unknown, fn: unknown) => unknown
const call = Function.prototype.call

function getter<T, R>(proto: object, name: string | symbol): Getter<T, R> | null {
  const get = Object.getOwnPropertyDescriptor(proto, name)?.get
  return get === undefined ? null : (bindCall(call, get) as unknown as Getter<T, R>)
}

const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object

/** ArrayBuffer's byteLength (throws TypeError for anything but an ArrayBuffer). */
export const abByteLength = getter<ArrayBuffer, number>(ArrayBuffer.prototype, 'byteLength')!
/** True for a resizable ArrayBuffer; false on runtimes without resizable buffers. */
const abResizableGet = getter<ArrayBuffer, boolean>(ArrayBuffer.prototype, 'resizable')
/** ArrayBuffer.prototype.detached, newer than Node 20: null where it is missing. */
const abDetachedGet = getter<ArrayBuffer, boolean>(ArrayBuffer.prototype, 'detached')
const sabByteLengthGet =
  typeof SharedArrayBuffer === 'function' ? getter<SharedArrayBuffer, number>(SharedArrayBuffer.prototype, 'byteLength') : null

/** The TypedArray's constructor name, or undefined for anything that is not a TypedArray (a DataView). */
export const typedArrayTag = getter<unknown, string | undefined>(typedArrayProto, Symbol.toStringTag)!
/** A real TypedArray's buffer, byteOffset and byteLength (each throws TypeError for anything else). */
export const taBuffer = getter<ArrayBufferView, ArrayBuffer | SharedArrayBuffer>(typedArrayProto, 'buffer')!
export const taByteOffset = getter<ArrayBufferView, number>(typedArrayProto, 'byteOffset')!
export const taByteLength = getter<ArrayBufferView, number>(typedArrayProto, 'byteLength')!
const dvBuffer = getter<DataView, ArrayBuffer | SharedArrayBuffer>(DataView.prototype, 'buffer')!
const dvByteOffset = getter<DataView, number>(DataView.prototype, 'byteOffset')!
const dvByteLength = getter<DataView, number>(DataView.prototype, 'byteLength')!

const isViewIntrinsic = ArrayBuffer.isView

/** True for a real ArrayBuffer (not a SharedArrayBuffer, not a Proxy, whatever its prototype). */
export const isArrayBuffer = types.isArrayBuffer as (v: unknown) => v is ArrayBuffer

/** True for a real SharedArrayBuffer. */
export const isSharedArrayBuffer = types.isSharedArrayBuffer as (v: unknown) => v is SharedArrayBuffer

/** True for a real ArrayBuffer or SharedArrayBuffer. */
export const isAnyArrayBuffer = (v: unknown): v is ArrayBuffer | SharedArrayBuffer => isArrayBuffer(v) || isSharedArrayBuffer(v)

/** True for a real TypedArray or DataView (ArrayBuffer.isView reads the internal slots too). */
export const isView = (v: unknown): v is ArrayBufferView => isViewIntrinsic(v)

/** The true byteLength of a real ArrayBuffer or SharedArrayBuffer (0 when detached). */
export function bufferByteLength(b: ArrayBuffer | SharedArrayBuffer): number {
  return isArrayBuffer(b) ? abByteLength(b) : sabByteLengthGet!(b as SharedArrayBuffer)
}

/** True for a resizable ArrayBuffer (SharedArrayBuffers only grow, so they are never "resizable" here). */
export function isResizable(b: ArrayBuffer | SharedArrayBuffer): boolean {
  return isArrayBuffer(b) && isResizableArrayBuffer(b)
}

/** isResizable() for a value the caller knows is a real ArrayBuffer (one brand check fewer). */
export function isResizableArrayBuffer(b: ArrayBuffer): boolean {
  return abResizableGet !== null && abResizableGet(b)
}

/** True for a detached ArrayBuffer; where `detached` is missing, a detached buffer refuses a DataView. */
export function isDetached(b: ArrayBuffer | SharedArrayBuffer): boolean {
  if (!isArrayBuffer(b)) return false
  if (abDetachedGet !== null) return abDetachedGet(b)
  if (abByteLength(b) !== 0) return false
  try {
    new DataView(b)
    return false
  } catch {
    return true
  }
}

/** The true buffer, byteOffset and byteLength of a real DataView. */
export interface ViewFields {
  buffer: ArrayBuffer | SharedArrayBuffer
  byteOffset: number
  byteLength: number
}

/**
 * The true buffer of a real ArrayBufferView. Read before the other fields: on a detached buffer a
 * DataView's byteOffset and byteLength getters throw, and the buffer tells the caller why.
 */
export function viewBuffer(v: ArrayBufferView): ArrayBuffer | SharedArrayBuffer {
  return typedArrayTag(v) === undefined ? dvBuffer(v as DataView) : taBuffer(v)
}

/**
 * Fields of a real DataView whose buffer is attached (checked by the caller first). A TypedArray's
 * are read with taBuffer(), taByteOffset() and taByteLength(), which do not throw when detached.
 */
export function dataViewFields(dv: DataView): ViewFields {
  return { buffer: dvBuffer(dv), byteOffset: dvByteOffset(dv), byteLength: dvByteLength(dv) }
}

/** The true byteLength of a real ArrayBufferView (0 for a TypedArray over a detached buffer). */
export function viewByteLength(v: ArrayBufferView): number {
  return typedArrayTag(v) === undefined ? dvByteLength(v as DataView) : taByteLength(v)
}

const construct = Reflect.construct
const getPrototypeOf = Object.getPrototypeOf
const hasOwn = Object.hasOwn
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor
const abProto = ArrayBuffer.prototype
const abByteLengthRaw = getOwnPropertyDescriptor(abProto, 'byteLength')!.get
const sabProto = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer.prototype : null
const sabByteLengthRaw = sabProto === null ? undefined : getOwnPropertyDescriptor(sabProto, 'byteLength')!.get

/** True when `b.byteLength` as a plain property read is the intrinsic getter (no user code runs). */
function plainByteLength(b: ArrayBuffer | SharedArrayBuffer): boolean {
  if (hasOwn(b, 'byteLength')) return false
  const proto = getPrototypeOf(b) as object
  if (proto === abProto) return getOwnPropertyDescriptor(abProto, 'byteLength')?.get === abByteLengthRaw
  if (proto === sabProto) return getOwnPropertyDescriptor(sabProto, 'byteLength')?.get === sabByteLengthRaw
  return false
}

/**
 * A Buffer over bytes [byteOffset, byteOffset + length) of a real ArrayBuffer or SharedArrayBuffer
 * (in bounds: the caller checked with the intrinsic getters). Buffer.from reads `byteLength` as a
 * plain property, so a buffer whose byteLength is not the intrinsic one gets a Buffer made directly
 * (slower, ~1 µs, but no user code runs and nothing can lie).
 */
export function bufferOver(b: ArrayBuffer | SharedArrayBuffer, byteOffset: number, length: number): Buffer {
  if (plainByteLength(b)) return Buffer.from(b as ArrayBuffer, byteOffset, length)
  return construct(Uint8Array, [b, byteOffset, length], Buffer) as Buffer
}
