/**
 * Fast element access, kept out of memoryview.ts, which holds the CPython semantics (STYLE.md): the
 * TypedArrays each view reads through (set up by useTyped() when the view is made) and n-D get().
 * Iteration and the typed comparison behind equals() live in copies.ts.
 *
 * Assumptions: a view's `_ta1` holds exactly its elements (unit stride); `_tas`, `_ta2` and `_tan`
 * hold its element [k0, ..., kn] at `_eoff + sum(k[d] * es[d])` (`_es0`, `_es1`, `_es`) whenever
 * every index is inside the shape, which every caller checks first, so no other element is ever
 * indexed. A TypedArray over detached memory reads as empty (length 0, undefined), which sends the
 * caller to the slow path and its RELEASED or OUT_OF_BOUNDS error.
 */
import type { TypedArrayCtor, Value } from './format'
import type { MemoryView } from './memoryview'
import { extent } from './shape'

/**
 * Gives a new view its TypedArray path when its strides are whole elements of `Ctor`: the managed
 * buffer's shared TypedArray when the offset is too, else one over the view's own bytes when they
 * start aligned; none otherwise (the DataView slow path then serves every access).
 */
export function useTyped(view: MemoryView<string>, Ctor: TypedArrayCtor): void {
  const size = Ctor.BYTES_PER_ELEMENT
  const strides = view._strides
  for (let d = 0; d < strides.length; d++) if (strides[d] % size !== 0) return
  const mbuf = view._mbuf
  let ta = view._off % size === 0 ? mbuf.typed(Ctor) : null
  let eoff = view._off / size
  if (ta === null) {
    const [low, high] = extent(view._shape, strides, size)
    const start = mbuf.byteOffset + view._off + low
    if (high === low || start % size !== 0 || mbuf.dv === null || view._outOfBounds()) return
    ta = new Ctor(mbuf.buffer, start, (high - low) / size)
    eoff = -low / size
  }
  view._eoff = eoff
  view._es0 = view._stride0 / size
  const ndim = view._ndim
  const readonly = view._readonly
  if (ndim === 1 && view._stride0 === size) {
    // An exact TypedArray: the managed buffer's own when the view is all of it, else a new one.
    const n = view._len0
    const exact = eoff === 0 && ta.length === n ? ta : new Ctor(ta.buffer, n === 0 ? 0 : ta.byteOffset + eoff * size, n)
    view._ta1 = exact
    view._ta1w = readonly ? null : exact
  } else if (ndim === 1) {
    view._tas = ta
    view._tasw = readonly ? null : ta
  } else if (ndim === 2) {
    view._es1 = view._stride1 / size
    view._ta2 = ta
    view._ta2w = readonly ? null : ta
  } else {
    view._tan = ta
    view._es = strides.map((s) => s / size)
  }
}

/**
 * get(i, j, k) and get(i, j, k, l) on a view with as many dimensions and a TypedArray; undefined
 * when this path cannot serve the call (the slow path then raises CPython's error). Written out
 * index by index in integer arithmetic: V8 then keeps every offset a small integer.
 */
export function getN(view: MemoryView<string>, nargs: number, i: unknown, j: unknown, k: unknown, l: unknown): Value | undefined {
  const ta = view._tan
  if (ta === null || nargs !== view._ndim || typeof i !== 'number' || typeof j !== 'number' || typeof k !== 'number') return undefined
  const shape = view._shape
  const es = view._es!
  const n0 = shape[0]
  const n1 = shape[1]
  const n2 = shape[2]
  const a = i < 0 ? i + n0 : i
  const b = j < 0 ? j + n1 : j
  const c = k < 0 ? k + n2 : k
  if (!(a >>> 0 === a && a < n0 && b >>> 0 === b && b < n1 && c >>> 0 === c && c < n2)) return undefined
  let e = view._eoff + a * es[0] + b * es[1] + c * es[2]
  if (nargs === 4) {
    if (typeof l !== 'number') return undefined
    const n3 = shape[3]
    const d = l < 0 ? l + n3 : l
    if (!(d >>> 0 === d && d < n3)) return undefined
    e += d * es[3]
  }
  // Detached memory reads as undefined.
  return ta[e]
}
