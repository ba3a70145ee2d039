/**
 * Element access for views of 3 and 4 dimensions: the part of get() that is specialised per layout
 * and kept out of memoryview.ts, which holds the CPython semantics (see STYLE.md).
 *
 * Assumptions: `view._tan` is a TypedArray whose element `_eoff + sum(k[d] * _es[d])` is the view's
 * element [k0, ..., kn] whenever every index is inside the shape (MemoryView._useTyped() guarantees
 * it); it reads as undefined once its memory is detached, which sends the caller to the slow path.
 */
import type { Value } from './format'
import type { MemoryView } from './memoryview'

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

/**
 * Python's iter(m) over a 1-D view: reads live data through the view's TypedArray (re-read on every
 * step, since release() clears it and detached memory reads as undefined), else through the slow
 * path, which raises RELEASED or OUT_OF_BOUNDS. A class rather than a closure so that V8 keeps the
 * position in a field and inlines next() into the caller's for-of loop.
 */
export class ElementIterator implements IterableIterator<Value> {
  private i = 0
  private done = false

  constructor(private readonly view: MemoryView<string>, private readonly n: number) {}

  next(): IteratorResult<Value> {
    const i = this.i
    if (this.done || i >= this.n) {
      this.done = true
      return { done: true, value: undefined }
    }
    const view = this.view
    const ta = view._ta1
    if (ta !== null) {
      if (i < ta.length) {
        this.i = i + 1
        return { done: false, value: ta[i] }
      }
    } else {
      const ts = view._tas
      if (ts !== null) {
        const v = ts[view._eoff + i * view._es0]
        if (v !== undefined) {
          this.i = i + 1
          return { done: false, value: v }
        }
      }
    }
    const value = view._read(view._live(), view._off + i * view._stride0)
    this.i = i + 1
    return { done: false, value }
  }

  [Symbol.iterator](): IterableIterator<Value> {
    return this
  }
}
