/**
 * subarray()'s bounds: CPython's checks of a slice's start, stop and step and PySlice_AdjustIndices,
 * on the general path (sliceParams()) and on the integer fast path of a 1-D view (slice1()), which
 * also picks the new view's TypedArray path from its parent's. memoryview.ts builds the view.
 *
 * Assumptions: slice1()'s parent is 1-D and may be released: slice1() runs no user code and returns
 * 0 for a released view or one whose memory is gone (through planSlice()), so that subarray() leaves
 * CPython's released check to _subarray(); planSlice() also returns 0 for a zero stride with a
 * negative step, whose -0 offsets _subarray() makes small integers.
 */
import { codes, rangeError, typeError } from './errors'
import { describeValue } from './format'
import type { MemoryView } from './memoryview'
import { paths, planPaths, samePaths } from './access'

/**
 * `paths` bound once: read through the import, every access would load it from the module's
 * exports. `var`, not `const`: a `const` read from a function costs a check that it is initialised
 * (its temporal dead zone), bytecode that counts against V8's inlining budget (see slice1()).
 */
// eslint-disable-next-line no-var
var p = paths

/** An integral index, or null when the value is not an index at all. */
export function toIndex(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null
  if (typeof v === 'bigint') return Number(v)
  return null
}

/**
 * slice1()'s layout results besides the step it returns (adjustSlice() fills them in too; the fast
 * path goes to `paths` in access.ts):
 * one object's fields rather than a new object per call, which subarray() would allocate, or module
 * `let` variables, which V8 checks for their temporal dead zone on every access.
 */
export const sliced = {
  /** The first element of the slice, in the parent's element numbering. */
  first: 0,
  /** The number of elements of the slice. */
  length: 0,
}
/** `sliced` bound once, as `p` above: inside this module `sliced` compiles to a load from `exports`. */
// eslint-disable-next-line no-var
var out = sliced

/**
 * subarray() of a 1-D view in the common call, every argument an int32 number or absent
 * (undefined/null) and the step not 0: returns the step, leaves the slice's layout in `sliced` and
 * plans its fast path into `paths` (access.ts); 0 for any other call, which _subarray() then
 * checks in CPython's order.
 * The bounds are clamped as PySlice_AdjustIndices does: a bound below -length to the first element
 * (one before it for a negative step), one at or past the end to the end (the last element for a
 * negative step).
 *
 * A strided slice of a view with an exact TypedArray (the common case: `memoryview(ta).subarray(a,
 * b, 2)`) reads the parent's array, which holds every element of the slice, with `_eoff` = `first`
 * and `_es0` = `step`: no planPaths() and no new TypedArray. Every other slice is planned by
 * planSlice().
 *
 * Small on purpose: V8 inlines a function of at most 460 bytes of bytecode, and the code calling
 * subarray() has 920 bytes for everything it inlines, subarray(), this and the constructor among
 * them; it admits each at 1.2 times its size, and subarray() once optimized by itself at 1.2 times
 * subarray() plus all it inlined (subarray() 146 + this 336 + constructor 175 + released getter
 * 24 = 681 bytes, 1.2 times that 817 < 920 on Node 20; test 35 checks the sizes and that all three
 * are inlined).
 * Called rather than inlined, this cost subarray() a third of its time (23.3 against 19 ns). So the
 * code is written for size: `!= null` for undefined and null (one test), `st >> 31` for the sign,
 * no released check of its own (see the fast path's condition and planSlice()).
 */
export function slice1(parent: MemoryView<string>, start: unknown, stop: unknown, step: unknown): number {
  const st = step != null ? step : 1 // eslint-disable-line eqeqeq
  if (typeof st !== 'number' || (st | 0) !== st || !st) return 0
  // -1 for a negative step, else 0 (an int32 shifted: fewer bytes than a comparison). It is also the
  // lower clamp, `hi` the upper one, and they are where an absent bound starts or stops.
  const neg = st >> 31
  const length = parent._len0
  const hi = length + neg
  let a = neg && hi
  if (start != null) { // eslint-disable-line eqeqeq
    if (typeof start !== 'number' || (start | 0) !== start) return 0
    // A negative bound counts from the end. `start | 0` is `start` except for -0, which it makes 0
    // (a -0 stored in `_eoff` would make V8 hold that field as a double in every view).
    a = start < 0 ? start + length : start | 0
    a = a < neg ? neg : a > hi ? hi : a
  }
  let b = neg || hi
  if (stop != null) { // eslint-disable-line eqeqeq
    if (typeof stop !== 'number' || (stop | 0) !== stop) return 0
    b = stop < 0 ? stop + length : stop
    b = b < neg ? neg : b > hi ? hi : b
  }
  // PySlice_AdjustIndices' length, (b - a - 1) / st + 1 for a positive step and (a - b - 1) / -st + 1
  // for a negative one, is the number of steps from `a` towards `b` rounded up, or 0. In doubles
  // it is exact: |b - a| < 2 ** 53, so the quotient is within half an ulp of its true value, nearer
  // than the 1 / |st| between a fraction and the next integer.
  const k = Math.ceil((b - a) / st)
  const n = k > 0 ? k : 0
  out.first = a
  out.length = n
  // A released view has no `_ta1`, so planSlice() sees it; memory that is gone is tested here.
  const exact = parent._ta1
  const mbuf = parent._mbuf
  if (exact === null || st === 1 || mbuf.resizable || mbuf.released) return planSlice(parent, st)
  // Every field written once (not noPaths() first).
  const q = p
  q.ta1 = null
  q.tas = exact
  q.nd = null
  q.eoff = a
  q.es0 = st
  return st
}

/**
 * slice1()'s paths for a slice that is not a strided slice of an exact TypedArray (see slice1()).
 * A strided slice of a strided view reads its parent's `_tas` at a new `_eoff` and `_es0` (the
 * parent's array holds every element of the slice). A slice of all of a parent on the exact path
 * (`subarray()`, `subarray(0)`) shares the parent's exact TypedArray. Otherwise a unit-stride view
 * needs an exact TypedArray of its own, and a view whose parent has no TypedArray path, or over a
 * resizable ArrayBuffer, has its paths worked out as any view's (planPaths()): over a resizable
 * ArrayBuffer a shrink can cut off the parent's tail (its fixed-length TypedArray then reads as
 * empty) and leave the slice inside what remains, and tolist() and equals() count on a live view's
 * TypedArray holding every element. The slice is the one in `sliced`; returns `st`, or 0 for a released
 * view, one whose memory is gone, or a zero stride with a negative step (see below).
 */
function planSlice(parent: MemoryView<string>, st: number): number {
  // A released view, or one whose memory is gone (closed, or the exporter's hook ran), has no paths
  // to plan (planPaths() would throw): 0 sends subarray() to _subarray(), which raises CPython's error.
  // A zero stride (a buffer-protocol exporter's) with a negative step goes there too: its stride
  // and offsets are -0 (0 times a negative number), and one -0, or even the +0 of `-0 + 0` (a heap
  // number), stored in a field that holds small integers makes V8 hold that field as a double in
  // every view. _subarray() turns them into the literal 0; subarray() has no bytes to spare for it.
  if (parent.released || (parent._stride0 === 0 && st < 0)) return 0
  const a = out.first
  const n = out.length
  const tas = parent._tas
  const stride = parent._stride0 * st
  if (parent._mbuf.resizable) {
    // Worked out as any view's, see above.
  } else if (tas !== null && stride !== parent._fmt.itemsize) {
    p.ta1 = null
    p.tas = tas
    p.nd = null
    p.eoff = parent._eoff + a * parent._es0
    p.es0 = parent._es0 * st
    return st
  } else if (parent._ta1 !== null && st === 1 && n === parent._len0) {
    // All of the parent (a is then 0): the same elements, the same exact TypedArray.
    samePaths(parent)
    return st
  }
  planPaths(parent._mbuf, parent._off + parent._stride0 * a, parent._fmt, null, null, n, stride)
  return st
}

/** A slice bound: null for Python's None. `name` is the argument's name, for the message. */
function sliceBound(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null
  const k = toIndex(v)
  if (k === null) {
    throw typeError(
      codes.INVALID_INDEX,
      `slice indices must be integers or None: subarray() argument '${name}' is ${describeValue(v)}; ` +
        'pass an integral number, a bigint, undefined or null',
    )
  }
  return k
}

/**
 * subarray()'s checks of its arguments, in CPython's order, then PySlice_AdjustIndices: returns the
 * step and leaves the first index and the length in `sliced.first` and `sliced.length`. The
 * general path (_subarray(), which has already refused a released or 0-d view): bigint bounds,
 * bounds outside int32, n-D views and every call that throws.
 */
export function sliceParams(length: number, start: unknown, stop: unknown, step: unknown): number {
  let st = sliceBound(step, 'step') ?? 1
  if (st === 0) {
    throw rangeError(codes.OUT_OF_RANGE, "slice step cannot be zero: subarray() argument 'step' must be non-zero, or undefined for 1")
  }
  const a = sliceBound(start, 'start')
  const b = sliceBound(stop, 'stop')
  if (st < -Number.MAX_SAFE_INTEGER) st = -Number.MAX_SAFE_INTEGER
  adjustSlice(length, a, b, st)
  return st
}

/** CPython's PySlice_AdjustIndices: clamps start/stop into `sliced.first` and `sliced.length`. */
function adjustSlice(length: number, start: number | null, stop: number | null, step: number): void {
  let a = start ?? (step < 0 ? Infinity : 0)
  let b = stop ?? (step < 0 ? -Infinity : Infinity)
  if (a < 0) {
    a += length
    if (a < 0) a = step < 0 ? -1 : 0
  } else if (a >= length) a = step < 0 ? length - 1 : length
  if (b < 0) {
    b += length
    if (b < 0) b = step < 0 ? -1 : 0
  } else if (b >= length) b = step < 0 ? length - 1 : length
  sliced.first = a
  if (step < 0) sliced.length = b < a ? Math.floor((a - b - 1) / -step) + 1 : 0
  else sliced.length = a < b ? Math.floor((b - a - 1) / step) + 1 : 0
}
