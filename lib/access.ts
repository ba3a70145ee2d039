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

/** One index against one dimension: the element offset it adds, or NaN when it is out of range. */
function dim(x: unknown, n: number, es: number): number {
  if (typeof x !== 'number') return NaN
  const k = x < 0 ? x + n : x
  return k >>> 0 === k && k < n ? k * es : NaN
}

/**
 * get(i, j, k) and get(i, j, k, l) on a view with as many dimensions and a TypedArray; undefined
 * when this path cannot serve the call (the slow path then raises CPython's error).
 */
export function getN(view: MemoryView<string>, nargs: number, i: unknown, j: unknown, k: unknown, l: unknown): Value | undefined {
  const ta = view._tan
  if (ta === null || nargs !== view._ndim) return undefined
  const shape = view._shape
  const es = view._es!
  let e = view._eoff + dim(i, shape[0], es[0]) + dim(j, shape[1], es[1]) + dim(k, shape[2], es[2])
  if (nargs === 4) e += dim(l, shape[3], es[3])
  // NaN indexes nothing: a TypedArray read at NaN is undefined.
  return e === e ? ta[e] : undefined
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
