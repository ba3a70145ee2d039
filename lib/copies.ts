/**
 * Whole-view copies and comparisons, kept out of memoryview.ts, which holds the CPython semantics
 * (STYLE.md): tobytes(), hex(), tolist(), toTypedArray(), assign(), equals() and iteration, as plain
 * functions of the view. The methods in memoryview.ts check their arguments in CPython's order and
 * then call these.
 *
 * Assumptions: every function here is called after the method's own checks (released, format,
 * readonly, structure) passed, except where its comment says it makes one itself; those that touch
 * memory call `view._live()` first, which raises RELEASED or OUT_OF_BOUNDS. This module imports the
 * view only as a type, so the layering stays one-directional (memoryview -> copies).
 */
import { constants as bufferConstants } from 'node:buffer'
import { getHeapStatistics } from 'node:v8'
import { codes, rangeError, typeError } from './errors'
import { NATIVE_LITTLE_ENDIAN, Reader, TypedArray, TypedArrayCtor, Value } from './format'
import { bufferOver } from './intrinsics'
import { gather, product, scatter } from './shape'
import type { MemoryView } from './memoryview'

const tooLarge = (message: string): RangeError => rangeError(codes.TOO_LARGE, message)

// ---------------------------------------------------------------- the TypedArray path of a 1-D view

/** Where elementPath() found element 0 in its TypedArray, and the distance between elements. */
let pathStart = 0
let pathStep = 0

/**
 * The TypedArray a 1-D view's elements are read through, element k at `pathStart + k * pathStep`
 * (module variables rather than a returned object, so that asking allocates nothing: equals()
 * and tolist() of small views ask on every call); null when the view has none. The one place here that knows access.ts's fields:
 * the exact array of a unit-stride view (`_ta1`) and the shared, strided one (`_tas`, `_eoff`, `_es0`).
 * Both are null after release(); over detached memory they read as undefined.
 */
function elementPath(view: MemoryView<string>): TypedArray | null {
  const exact = view._ta1
  if (exact !== null) {
    pathStart = 0
    pathStep = 1
    return exact
  }
  const strided = view._tas
  if (strided !== null) {
    pathStart = view._eoff
    pathStep = view._es0
    return strided
  }
  return null
}

// ---------------------------------------------------------------- bytes and hex

/**
 * A Buffer over the bytes of a contiguous, non-empty view, after _live(). Cached in the view, since
 * making one costs as much as copying a small view; not for resizable buffers, whose Buffers could go
 * out of bounds.
 */
export function rawBytes(view: MemoryView<string>, nbytes: number): Buffer {
  let rb = view._rb
  if (rb === null || rb.length !== nbytes) {
    rb = bufferOver(view._mbuf.buffer, view._mbuf.byteOffset + view._off, nbytes)
    if (!view._mbuf.resizable) view._rb = rb
  }
  return rb
}

/**
 * The view's bytes in C order ('C'), Fortran order ('F'), or as laid out if contiguous ('A').
 * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE beyond buffer.constants.MAX_LENGTH bytes.
 */
export function toBytes(view: MemoryView<string>, order: 'C' | 'F' | 'A'): Buffer {
  view._live()
  const nbytes = product(view._shape) * view._itemsize
  if (nbytes === 0) return Buffer.alloc(0)
  // A zero-stride view of a few bytes can describe any number of them: refuse before allocating.
  if (nbytes > bufferConstants.MAX_LENGTH) {
    throw tooLarge(`tobytes() of ${nbytes} bytes exceeds the largest Buffer, buffer.constants.MAX_LENGTH = ${bufferConstants.MAX_LENGTH}`)
  }
  // With at least one element the view's own flags equal PyBuffer_IsContiguous().
  const raw = order === 'C' ? view._c : order === 'F' ? view._f : view._c || view._f
  const out = Buffer.allocUnsafe(nbytes)
  if (raw) out.set(rawBytes(view, nbytes))
  else gather(out, view._mbuf.u8, view._off, view._shape, view._strides, view._itemsize, order === 'F' ? 'F' : 'C')
  return out
}

/**
 * hex() after its arguments were checked: `group` is bytesPerSep (0 for no separator), `sepChar`
 * the separator.
 * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for a result longer than buffer.constants.MAX_STRING_LENGTH.
 */
export function hexOf(view: MemoryView<string>, group: number, sepChar: string): string {
  view._live()
  const nbytes = product(view._shape) * view._itemsize
  if (nbytes === 0) return ''
  const k = Math.abs(group)
  const length = 2 * nbytes + (group === 0 || k >= nbytes ? 0 : Math.ceil(nbytes / k) - 1)
  if (length > bufferConstants.MAX_STRING_LENGTH) {
    throw tooLarge(`hex() of ${nbytes} bytes is ${length} characters, more than the longest string, buffer.constants.MAX_STRING_LENGTH = ${bufferConstants.MAX_STRING_LENGTH}`)
  }
  const hex = (view._c ? rawBytes(view, nbytes) : toBytes(view, 'C')).toString('hex')
  if (group === 0 || k >= nbytes) return hex
  const parts: string[] = []
  if (group < 0) {
    for (let i = 0; i < nbytes; i += k) parts.push(hex.slice(2 * i, 2 * Math.min(i + k, nbytes)))
  } else {
    const first = nbytes % k || k
    parts.push(hex.slice(0, 2 * first))
    for (let i = first; i < nbytes; i += k) parts.push(hex.slice(2 * i, 2 * (i + k)))
  }
  return parts.join(sepChar)
}

// ---------------------------------------------------------------- tolist

/**
 * The longest array tolist() builds: V8's FixedArray::kMaxLength on 64-bit, the most elements a JS
 * array can hold in fast mode. One more throws "Invalid array length", and only after minutes of
 * work (measured on Node 20: 134217725 builds, 134217726 does not).
 */
const MAX_LIST_LENGTH = 134_217_725

/**
 * Heap bytes one element of a tolist() result takes: the array slot, plus the boxed value for
 * kinds V8 cannot keep in the slot (bigints; 'c' elements are 1-byte Buffer objects; 'I' above
 * 2**31 and doubles in a mixed array may box, but a double array stores them unboxed).
 */
function listEntryBytes(char: string): number {
  switch (char) {
    case 'q': case 'Q': case 'l': case 'L': case 'n': case 'N': case 'P': return 8 + 32
    case 'c': return 8 + 200
    case 'I': return 8 + 16
    default: return 8
  }
}
/** Heap bytes of one nested array (object header and elements header). */
const LIST_ARRAY_BYTES = 64

/**
 * tolist() after its released and format checks.
 * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE, before allocating, as checkListSize().
 */
export function toList(view: MemoryView<string>): Value | unknown[] {
  const dv = view._live()
  if (view._ndim === 0) return view._read(dv, view._off)
  checkListSize(view)
  const ta = view._ndim === 1 ? elementPath(view) : null
  if (ta !== null) {
    // _live() passed, so the TypedArray is attached and holds every element.
    const n = view._len0
    const step = pathStep
    const out = new Array<Value>(n)
    for (let k = 0, e = pathStart; k < n; k++, e += step) out[k] = ta[e]
    return out
  }
  return listRec(view, dv, 0, view._off)
}

/**
 * Refuses, before allocating anything, a tolist() result the engine cannot build: a dimension
 * longer than a JS array can be, or arrays that would need more heap than is left
 * (v8.getHeapStatistics(): heap_size_limit - used_heap_size). CPython raises MemoryError when its
 * allocation fails; V8 would abort the process instead, so the estimate is made up front.
 */
function checkListSize(view: MemoryView<string>): void {
  const shape = view._shape
  let rows = 1
  let arrays = 0
  for (const n of shape) {
    if (n > MAX_LIST_LENGTH) {
      throw tooLarge(
        `tolist() of shape [${shape.join(', ')}]: a dimension of ${n} is longer than the longest JS array ` +
          `(${MAX_LIST_LENGTH}); take a subarray() or read the memory through toTypedArray()`,
      )
    }
    arrays += rows
    rows *= n
    // Empty arrays still count (shape [2**20, 2**20, 0] is 2**40 of them); their elements do not.
    if (rows === 0) break
  }
  const bytes = arrays * LIST_ARRAY_BYTES + rows * listEntryBytes(view._fmt.char)
  // Small results cannot exhaust the heap: skip asking V8 for its statistics.
  if (bytes < 2 ** 26) return
  const heap = getHeapStatistics()
  const available = heap.heap_size_limit - heap.used_heap_size
  // Written so that a NaN (Infinity rows times a later 0) refuses too.
  if (!(bytes <= available)) {
    throw tooLarge(
      `tolist() of shape [${shape.join(', ')}] needs about ${bytes} bytes of JS heap, more than the ${available} ` +
        `left (node --max-old-space-size raises the limit); take a subarray() or read the memory through toTypedArray()`,
    )
  }
}

function listRec(view: MemoryView<string>, dv: DataView, dim: number, offset: number): unknown[] {
  const n = view._shape[dim]
  const step = view._strides[dim]
  const out = new Array<unknown>(n)
  if (dim === view._ndim - 1) {
    const read = view._read
    for (let k = 0, p = offset; k < n; k++, p += step) out[k] = read(dv, p)
  } else {
    for (let k = 0, p = offset; k < n; k++, p += step) out[k] = listRec(view, dv, dim + 1, p)
  }
  return out
}

// ---------------------------------------------------------------- toTypedArray

/** Float16Array where the runtime has one (not Node 20): toTypedArray() of native 'e' views. */
const Float16 = (globalThis as { Float16Array?: TypedArrayCtor }).Float16Array

/**
 * toTypedArray() after its released check.
 * @throws {TypeError} ERR_MEMORYVIEW_NOT_CONTIGUOUS, ERR_MEMORYVIEW_FORMAT; RangeError ERR_MEMORYVIEW_UNALIGNED.
 */
export function typedArrayOf(view: MemoryView<string>): ArrayBufferView {
  view._live()
  const nbytes = product(view._shape) * view._itemsize
  const fmt = view._fmt
  const mbuf = view._mbuf
  if (nbytes !== 0 && !view._c && !view._f) {
    throw typeError(
      codes.NOT_CONTIGUOUS,
      `toTypedArray() needs a contiguous view: this one has shape [${view._shape.join(', ')}] and strides ` +
        `[${view._strides.join(', ')}]; tobytes() makes a contiguous copy`,
    )
  }
  const start = mbuf.byteOffset + (nbytes === 0 ? 0 : view._off)
  if (fmt.char === 'B' || fmt.char === 'c') return bufferOver(mbuf.buffer, start, nbytes)
  // The format's own TypedArray (native byte order, matching size); 'e' stores go through a
  // DataView, so its Float16Array is only for interop.
  const Ctor = fmt.typed ?? (fmt.char === 'e' && fmt.littleEndian === NATIVE_LITTLE_ENDIAN ? Float16 : undefined)
  if (Ctor === undefined) {
    throw typeError(
      codes.FORMAT,
      `no TypedArray matches format '${fmt.str}' in this byte order; cast('B') or tobytes() give the bytes, tolist() the values`,
    )
  }
  if (start % Ctor.BYTES_PER_ELEMENT !== 0) {
    throw rangeError(
      codes.UNALIGNED,
      `memory at byte ${start} is not aligned for a ${Ctor.name} (a multiple of ${Ctor.BYTES_PER_ELEMENT}); ` +
        'tobytes() makes an aligned copy',
    )
  }
  return new Ctor(mbuf.buffer, start, nbytes / fmt.itemsize)
}

// ---------------------------------------------------------------- assign

/**
 * assign() after its checks (writable 1-D destination, source of the same format and length, both
 * views unreleased): copies `src`'s elements into `dst`, overlap-safe.
 */
export function assignFrom(dst: MemoryView<string>, src: MemoryView<string>): void {
  dst._live()
  src._live()
  const n = dst._len0
  const size = dst._itemsize
  if (n === 0) return
  const to = dst._mbuf.u8
  const from = src._mbuf.u8
  if (dst._stride0 === size && src._stride0 === size) {
    // TypedArray.prototype.set copies through a temporary when both share a buffer: overlap-safe.
    to.set(from.subarray(src._off, src._off + n * size), dst._off)
    return
  }
  if (src._stride0 === size && src._mbuf.buffer !== dst._mbuf.buffer) {
    // Different memory cannot overlap: scatter straight from the source's bytes.
    scatter(to, dst._off, dst._shape, dst._strides, size, from.subarray(src._off, src._off + n * size))
    return
  }
  const tmp = new Uint8Array(n * size)
  gather(tmp, from, src._off, src._shape, src._strides, size, 'C')
  scatter(to, dst._off, dst._shape, dst._strides, size, tmp)
}

// ---------------------------------------------------------------- equals

/** Equality of two element values as Python's `==` sees them (NaN != NaN, -0 == 0, 1 == 1.0 == True). */
function valueEquals(a: Value, b: Value): boolean {
  const ao = typeof a === 'object'
  const bo = typeof b === 'object'
  if (ao || bo) return ao && bo && (a as Buffer)[0] === (b as Buffer)[0]
  // Loose equality compares numbers, bigints and booleans by mathematical value, as Python does.
  return a == b // eslint-disable-line eqeqeq
}

/**
 * equals() of two views whose byte Buffers are cached, when both are 1-D of one byte-comparable
 * format: a single memcmp. Undefined when this shortcut does not apply. A Buffer over a detached or
 * closed mapping reads as empty, so its length check also covers release and close; released views
 * have no cached Buffer.
 */
export function equalCached(v: MemoryView<string>, w: MemoryView<string>): boolean | undefined {
  const a = v._rb
  if (a !== null && v._ndim === 1 && w._ndim === 1) {
    const b = w._rb
    if (b !== null && v._fmt === w._fmt && v._fmt.bytewise && v._len0 === w._len0) {
      const n = v._len0 * v._itemsize
      if (a.length === n && b.length === n) return a.equals(b)
    }
  }
  return undefined
}

/**
 * equals() of a live byte view against a Uint8Array (the common `view.equals(buf)`): what comparing
 * with memoryview(other) gives, without making and releasing that temporary view. Undefined when the
 * shortcut does not apply: other formats or layouts, other lengths (a detached array reads as 0).
 * `length` is the array's intrinsic byte length.
 */
export function equalBytes(v: MemoryView<string>, other: Uint8Array, length: number): boolean | undefined {
  if (v._c && v._ndim === 1 && v._fmt.char === 'B' && v._itemsize === 1) {
    const n = v._len0
    if (n !== 0 && length === n) {
      v._live()
      return rawBytes(v, n).equals(other)
    }
  }
  return undefined
}

/** equals() of two unreleased views: CPython's memory_richcompare() after its type checks. */
export function equalViews(v: MemoryView<string>, w: MemoryView<string>): boolean {
  if (v._ndim !== w._ndim) return false
  for (let i = 0; i < v._ndim; i++) {
    if (v._shape[i] !== w._shape[i]) return false
    if (v._shape[i] === 0) break
  }
  const vf = v._fmt
  const wf = w._fmt
  if (vf.char === '' || wf.char === '') return false
  const dv = v._live()
  const dw = w._live()
  if (product(v._shape) === 0) return true
  // CPython compares two native '?' views through C's _Bool, which on this platform compares the
  // stored bytes: 1 and 2 are then unequal. Across other formats '?' compares as a bool.
  const bothBool = vf.native && wf.native && vf.char === '?' && wf.char === '?'
  const bytewise =
    vf.char === wf.char && vf.itemsize === wf.itemsize && vf.littleEndian === wf.littleEndian && vf.bytewise && wf.bytewise
  if (bytewise && v._c && w._c) {
    const n = product(v._shape) * v._itemsize
    return rawBytes(v, n).equals(rawBytes(w, n))
  }
  const typed = equalTyped(v, w)
  if (typed !== undefined) return typed
  const rv = bothBool ? readByte : v._read
  const rw = bothBool ? readByte : w._read
  return cmpRec(v, w, dv, dw, rv, rw, 0, v._off, w._off)
}

/**
 * equals() of two live 1-D views of the same length that both have TypedArray paths: compares the
 * values they read (loose inequality is valueEquals() for numbers and bigints: NaN unequal, -0 equal
 * to 0, 1 equal to 1n). Undefined when either view has no such path.
 */
function equalTyped(v: MemoryView<string>, w: MemoryView<string>): boolean | undefined {
  if (v._ndim !== 1) return undefined
  const ta = elementPath(v)
  const pa = pathStart
  const sa = pathStep
  const tb = ta === null ? null : elementPath(w)
  if (ta === null || tb === null) return undefined
  const n = v._len0
  if (ta.constructor === tb.constructor) return sameTypeEqual(ta, pa, sa, tb, pathStart, pathStep, n)
  for (let k = 0, a = pa, b = pathStart, sb = pathStep; k < n; k++, a += sa, b += sb) {
    if (ta[a] != tb[b]) return false // eslint-disable-line eqeqeq
  }
  return true
}

/**
 * equalTyped() for two arrays of one type, where strict inequality is valueEquals(): NaN !== NaN,
 * -0 === 0, and bigints compare by value. Unrolled by eight: every access re-checks its array, and
 * the unrolled body shares those checks.
 */
function sameTypeEqual(a: TypedArray, pa: number, sa: number, b: TypedArray, pb: number, sb: number, n: number): boolean {
  let k = 0
  for (; k + 8 <= n; k += 8) {
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
    if (a[pa] !== b[pb]) return false
    pa += sa
    pb += sb
  }
  for (; k < n; k++, pa += sa, pb += sb) if (a[pa] !== b[pb]) return false
  return true
}

const readByte: Reader = (dv, o) => dv.getUint8(o)

function cmpRec(
  v: MemoryView<string>, w: MemoryView<string>, dv: DataView, dw: DataView, rv: Reader, rw: Reader,
  dim: number, pv: number, pw: number,
): boolean {
  if (v._ndim === 0) return valueEquals(rv(dv, pv), rw(dw, pw))
  const n = v._shape[dim]
  const sv = v._strides[dim]
  const sw = w._strides[dim]
  if (dim === v._ndim - 1) {
    for (let k = 0; k < n; k++, pv += sv, pw += sw) if (!valueEquals(rv(dv, pv), rw(dw, pw))) return false
    return true
  }
  for (let k = 0; k < n; k++, pv += sv, pw += sw) if (!cmpRec(v, w, dv, dw, rv, rw, dim + 1, pv, pw)) return false
  return true
}

// ---------------------------------------------------------------- iteration

/**
 * Python's iter(m) over a 1-D view, after the method's checks: a TypedIterator when the view has a
 * TypedArray path and a non-zero stride, else an ElementIterator (a zero stride, possible through the
 * buffer protocol, would make TypedIterator's end its start).
 */
export function iterate(view: MemoryView<string>): IterableIterator<Value> {
  const ta = elementPath(view)
  if (ta !== null && pathStep !== 0) return new TypedIterator(view, ta, pathStart, pathStep, view._len0)
  return new ElementIterator(view, view._len0)
}

/**
 * iter(m) through the view's TypedArray: per step one element read, one check and one store of the
 * position, so that V8 inlines next() into the caller's for-of loop and drops the result objects.
 * Reads live data. A released view (its `_mbuf` replaced by release()) or memory gone under it (a
 * detached or shrunk TypedArray reads as undefined) sends the step to the view's slow path, which
 * raises RELEASED or OUT_OF_BOUNDS.
 *
 * Why a for-of loop that runs to the end stays near 4x a JS index loop on a step-2 'd' view (issue 9,
 * measured on Node 20 / V8 11.3; the shape of next() does not change it):
 * - The per-element cost is the heap number. The final `{ done: true, value: undefined }` and the
 *   element meet in one value, which V8 therefore keeps tagged, so it boxes every double that is not
 *   a small integer. With a number in the final result instead of undefined, the same loop ran
 *   about twice as fast (2.0x the index loop instead of 3.9x). Returning the final result from a
 *   second object literal is slower still: the result objects are then no longer dropped (7.6x
 *   against 3.6x in a toy copy of this class). Keeping the `value: undefined` that JS iterators
 *   return costs the boxing.
 * - Loop peeling does not hoist map checks or the TypedArray's length and data pointer here. The
 *   stack check on each back edge may run interrupts, so load elimination keeps only const fields
 *   across it (node --trace-turbo-load-elimination: the state entering the loop holds only "const
 *   field" entries). Each step therefore checks the maps of the iterator, the view and the
 *   TypedArray again. A branch-free released check (read index -1 when released) made TurboFan
 *   peel the loop but changed nothing measurable, so the check stays a plain branch.
 */
class TypedIterator implements IterableIterator<Value> {
  // Declared, not initialised, and assigned in one order in the constructor: class field
  // initialisers define every field as undefined first, and V8 then generalises the number fields to
  // tagged ones (node --trace-generalization; test 36 guards it).
  declare private view: MemoryView<string>
  /** The view's managed buffer when iteration began: release() replaces it (see next()). */
  declare private mbuf: object
  declare private ta: TypedArray
  declare private start: number
  declare private step: number
  /** Where the next element is in `ta`; the loop is over when it reaches `end`. */
  declare private p: number
  declare private end: number

  constructor(view: MemoryView<string>, ta: TypedArray, start: number, step: number, n: number) {
    this.view = view
    this.mbuf = view._mbuf
    this.ta = ta
    this.start = start
    this.step = step
    this.p = start
    this.end = start + n * step
  }

  next(): IteratorResult<Value> {
    // One result object, made in one place: V8 can then often drop it inside the caller's loop,
    // which it cannot when several allocation sites meet at the loop's read of `done` and `value`.
    // The position is the only state a step writes (a separate counter cost a store and two loads
    // per element: 1M step-2 doubles took 3.8 ms with one, 3.0 ms without, best of ten runs).
    const p = this.p
    let done = true
    let value: Value | undefined
    if (p !== this.end) {
      value = this.ta[p]
      // release() points the view at another managed buffer (a view has no released flag of its own):
      // one compare of two references per element.
      if (value === undefined || this.view._mbuf !== this.mbuf) value = this.slow(p)
      this.p = p + this.step
      done = false
    } else {
      // Exhausted stays exhausted, as in Python (p never moves again). The store changes nothing but
      // keeps this branch out of loops that never reach the end (a `break`): until it first runs it
      // has no type feedback, so TurboFan compiles the branch as a deoptimization exit, `value` is
      // then always the element and the loop reads doubles unboxed (1M step-2 'd' elements: 2.3 ms
      // with such a store, 4.1 ms without).
      this.end = p
    }
    return { done, value } as IteratorResult<Value>
  }

  /** The element at `p` through the view's slow path, which raises RELEASED or OUT_OF_BOUNDS when the memory is gone. */
  private slow(p: number): Value {
    const view = this.view
    return view._read(view._live(), view._off + ((p - this.start) / this.step) * view._stride0)
  }

  [Symbol.iterator](): IterableIterator<Value> {
    return this
  }
}

/**
 * iter(m) for views with no TypedArray path ('?', 'c', 'e', foreign byte order, unaligned) or a zero
 * stride (see iterate()): reads each element through the view's DataView after its released and
 * bounds checks.
 */
class ElementIterator implements IterableIterator<Value> {
  // Declared and assigned in the constructor, as in TypedIterator.
  declare private readonly view: MemoryView<string>
  declare private i: number
  declare private n: number

  constructor(view: MemoryView<string>, n: number) {
    this.view = view
    this.i = 0
    this.n = n
  }

  next(): IteratorResult<Value> {
    const i = this.i
    if (i >= this.n) {
      this.n = 0
      return { done: true, value: undefined }
    }
    const view = this.view
    const value = view._read(view._live(), view._off + i * view._stride0)
    this.i = i + 1
    return { done: false, value }
  }

  [Symbol.iterator](): IterableIterator<Value> {
    return this
  }
}
