/**
 * Fast element access, kept out of memoryview.ts, which holds the CPython semantics (STYLE.md): the
 * TypedArrays each view reads through (planned by planPaths() just before the view is made; a
 * strided subarray() of a 1-D view instead reuses its parent's, except over a resizable
 * ArrayBuffer, see slice1() in slice.ts) and the element index of get() with 2, 3 or 4 indices
 * and set() with 3 or 4 (elementN()).
 * Iteration and the typed comparison behind equals() live in copies.ts.
 *
 * Assumptions: a view's `_ta1` holds exactly its elements (unit stride); `_tas` and `_nd`'s
 * array hold its element [k0, ..., kn] at `_eoff + sum(k[d] * es[d])` (`_es0`, `_nd`) whenever
 * every index is inside the shape, which every caller checks first, so no other element is ever
 * indexed. A TypedArray over detached memory reads as empty (length 0, undefined), which sends the
 * caller to the slow path and its RELEASED or OUT_OF_BOUNDS error. A view of 2 or more dimensions
 * reads through its `_nd` (which holds its TypedArray and `_eoff` too), and release() clears that.
 */
import type { Format, TypedArray } from './format'
import type { ManagedBuffer } from './managed-buffer'
import type { MemoryView } from './memoryview'
import { extent } from './shape'

/**
 * The fast-path fields the next MemoryView constructor assigns, worked out just before `new` by
 * planPaths(), samePaths() or the code that derives a view (subarray()). The constructor assigns
 * each field exactly once, with its final value: V8 then treats the fields as constant, and in a
 * loop over a view it can see (a module-level or long-lived view) folds `_ta1` and the rest to the
 * values themselves, as it does for a plain TypedArray. A second store (as when these were set up
 * after construction) makes the field mutable for every view, and every access loads it again.
 * release() does store them again: after the first release in a process the fields are mutable, the
 * code that folded them is deoptimized once, and access runs at the speed of a loaded field.
 */
export const paths = {
  ta1: null as TypedArray | null,
  tas: null as TypedArray | null,
  nd: null as NdLayout | null,
  eoff: 0,
  es0: 0,
}

/** No TypedArray path: every access goes through the DataView slow path. */
export function noPaths(): void {
  paths.ta1 = null
  paths.tas = null
  paths.nd = null
  paths.eoff = 0
  paths.es0 = 0
}

/** The paths of a view with exactly `same`'s layout (toreadonly(), memoryview(view)): the same arrays (stores check `_readonly`). */
export function samePaths(same: MemoryView<string>): void {
  paths.ta1 = same._ta1
  paths.tas = same._tas
  paths.nd = same._nd
  paths.eoff = same._eoff
  paths.es0 = same._es0
}

/**
 * Plans a new view's TypedArray path into `paths`, when its format has a TypedArray and its strides
 * are whole elements of it: the managed buffer's shared TypedArray when the offset is too, else one
 * over the view's own bytes when they start aligned; none otherwise (the DataView slow path then
 * serves every access). `shape` and `strides` are null for a 1-D view (then `len0` and `stride0`).
 */
export function planPaths(
  mbuf: ManagedBuffer, off: number, format: Format, shape: readonly number[] | null, strides: readonly number[] | null,
  len0: number, stride0: number,
): void {
  noPaths()
  const Ctor = format.typed
  const ndim = shape === null ? 1 : shape.length
  if (Ctor === null || ndim === 0) return
  const size = Ctor.BYTES_PER_ELEMENT
  if (strides === null) {
    if (stride0 % size !== 0) return
  } else {
    for (let d = 0; d < ndim; d++) if (strides[d] % size !== 0) return
  }
  let ta = off % size === 0 ? mbuf.typed(Ctor) : null
  let eoff = off / size
  if (ta === null) {
    const [low, high] = extent(shape ?? [len0], strides ?? [stride0], size)
    const start = mbuf.byteOffset + off + low
    if (high === low || start % size !== 0 || mbuf.dv === null) return
    // As MemoryView._outOfBounds(): detached, or (resizable) cut off by a shrink.
    if (mbuf.resizable ? mbuf.outOfBounds(off + low, off + high) : mbuf.outOfBounds()) return
    ta = new Ctor(mbuf.buffer, start, (high - low) / size)
    // Not -low / size: that is -0 when the view starts its array (low 0), and one -0 stored in
    // `_eoff` makes V8 hold that field as a double in every view, slowing every indexed path.
    eoff = (0 - low) / size
  }
  paths.eoff = eoff
  paths.es0 = stride0 / size
  if (ndim === 1 && stride0 === size) {
    // An exact TypedArray: the managed buffer's own when the view is all of it, else a new one.
    const exact = eoff === 0 && ta.length === len0 ? ta : new Ctor(ta.buffer, len0 === 0 ? 0 : ta.byteOffset + eoff * size, len0)
    paths.ta1 = exact
  } else if (ndim === 1) {
    paths.tas = ta
  } else {
    // 2-D too: its get(i, j) reads the layout's shape and strides, which spares every view (most
    // are 1-D) three fields of its own (each field costs view creation about half a nanosecond).
    paths.nd = new NdLayout(ta, eoff, shape!, strides!, size)
  }
}

/**
 * What get() and set() with 2, 3 or 4 indices read of a view of 2 or more dimensions that has a
 * TypedArray: the array, its shape and element strides as plain fields of one object (every
 * such view has this one hidden class), so that get() loads one field of the view, and elementN()
 * reads numbers, not the elements of arrays whose kinds differ between views (packed, holey).
 * toreadonly() and memoryview(view) share it: get() only reads through it, set() writes through it
 * only when the view itself is writable.
 *
 * Ownership rules: release() clears the view's `_nd` along with its TypedArrays, so a released view
 * never reads through `ta`; a view whose memory was detached or closed reads through `ta` as empty.
 */
export class NdLayout {
  // Declared, not class fields: a class field is first defined as undefined, after which V8 keeps
  // every field tagged, and each read in elementN() pays a Smi check and an untagging.
  /** The view's TypedArray. */
  declare readonly ta: TypedArray
  /** Element index of element [0, ..., 0] in `ta` (the view's `_eoff`). */
  declare readonly eoff: number
  declare readonly n0: number
  declare readonly n1: number
  /** 0 when the view has 2 dimensions (elementN() only reads it for 3 or 4). */
  declare readonly n2: number
  /** 0 when the view has 3 dimensions (elementN() only reads it for 4). */
  declare readonly n3: number
  declare readonly e0: number
  declare readonly e1: number
  declare readonly e2: number
  declare readonly e3: number

  constructor(ta: TypedArray, eoff: number, shape: readonly number[], strides: readonly number[], size: number) {
    this.ta = ta
    this.eoff = eoff
    this.n0 = shape[0]
    this.n1 = shape[1]
    this.n2 = shape.length > 2 ? shape[2] : 0
    this.n3 = shape.length > 3 ? shape[3] : 0
    this.e0 = strides[0] / size
    this.e1 = strides[1] / size
    this.e2 = shape.length > 2 ? strides[2] / size : 0
    this.e3 = shape.length > 3 ? strides[3] / size : 0
  }
}

/**
 * The element of `nd.ta` that get() with 2, 3 or 4 indices (set() with 3 or 4 indices and a value)
 * addresses, or -1 when this path cannot serve the call (the slow path then raises CPython's
 * error). `nidx` is the number of indices, which the caller has checked is the view's ndim: that
 * test reads the view's `_ndim`, a field V8 folds to a constant when the view is one, as `nidx` is
 * where the call is inlined. Written out index by index in integer arithmetic: V8 then keeps every
 * offset a small integer. The caller reads or writes the element itself: a value returned through
 * here would be merged with -1's kind and boxed on every call.
 */
export function elementN(nd: NdLayout, nidx: number, i: unknown, j: unknown, k: unknown, l: unknown): number {
  if (typeof i !== 'number' || typeof j !== 'number') return -1
  const n0 = nd.n0
  const n1 = nd.n1
  const a = i < 0 ? i + n0 : i
  const b = j < 0 ? j + n1 : j
  if (!(a >>> 0 === a && a < n0 && b >>> 0 === b && b < n1)) return -1
  const e = nd.eoff + a * nd.e0 + b * nd.e1
  if (nidx === 2) return e
  if (typeof k !== 'number') return -1
  const n2 = nd.n2
  const c = k < 0 ? k + n2 : k
  if (!(c >>> 0 === c && c < n2)) return -1
  const f = e + c * nd.e2
  if (nidx === 3) return f
  if (typeof l !== 'number') return -1
  const n3 = nd.n3
  const d = l < 0 ? l + n3 : l
  if (!(d >>> 0 === d && d < n3)) return -1
  return f + d * nd.e3
}
