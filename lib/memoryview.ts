/**
 * MemoryView: CPython 3.11's memoryview over JS memory.
 *
 * Ownership rules:
 *   - A view holds a ManagedBuffer (the exporter's memory, shared by all views derived from the same
 *     source) plus its own offset, shape, strides, format and readonly flag. Slices, casts,
 *     toreadonly() and memoryview(view) create new views over the same ManagedBuffer: they stay valid
 *     when the view they came from is released.
 *   - A view counts its own exports (pins, buffer-protocol descriptors, native acquisitions);
 *     release() refuses while any is held.
 *   - release() swaps the view's ManagedBuffer for a released sentinel whose DataView is null, so
 *     every later access fails without a per-access "released" flag check.
 *
 * Assumptions: element access is the hot path. get()/set() with as many indices as a 1-D to 4-D view
 * has dimensions is a bounds check plus one TypedArray read or write, when the view has a TypedArray
 * (see access.ts); get(), set() and the helpers they call stay under V8's inlining limits so that
 * all of it is inlined into the caller's loop. Everything else goes through the slow paths, which
 * follow CPython's order of checks exactly.
 */
import { inspect } from 'node:util'
import {
  BufferError,
  NOT_CLONEABLE_GUARD,
  codes,
  notImplemented,
  outOfBoundsError,
  rangeError,
  readonlyError,
  releasedError,
  typeError,
} from './errors'
import {
  Format, Reader, TypedArray, Value, Writer, describeValue, isByteFormat, nativeChar,
  parseSingleFormat, unsupportedFormat,
} from './format'
import { ManagedBuffer } from './managed-buffer'
import { typedArrayTag, viewByteLength } from './intrinsics'
import { BUFFER_PROTOCOL, BufferDescriptor, MAX_NDIM, OWNED_VIEW, Resolved, Source, resolveSource } from './sources'
import { cStrides, extent, isCContiguousView, isFContiguousView, product } from './shape'
import { hashBytes } from './hash'
import { NdLayout, elementN, paths, planPaths, samePaths } from './access'
import { slice1, sliceParams, sliced as slicedResults, toIndex } from './slice'
import { assignFrom, equalBytes, equalCached, equalViews, hexOf, iterate, toBytes, toList, typedArrayOf } from './copies'
import type { FormatOfSource, FormatString, NestedList, StoreValueOf, TypedArrayOf, ValueOf } from './value-types'

/** An index or slice bound: an integral number or a bigint. */
export type Index = number | bigint

const INTERNAL = Symbol('memoryview.internal')
/**
 * slice1()'s results and planPaths()'s, bound once here: read through an import, every access would
 * be a property load from the module's exports. `var`, not `const`: a `const` read from a function
 * costs a check that it is initialised (its temporal dead zone), bytecode that counts against V8's
 * inlining budget (subarray(), slice1() and the constructor must fit it together, see slice1()).
 */
// eslint-disable-next-line no-var
var sliced = slicedResults
// eslint-disable-next-line no-var
var p = paths
/** The last number `_id` handed out: views are numbered when first displayed, not when made. */
let lastId = 0

/**
 * The parts of a view that element access never reads, in one object made on first use (see
 * MemoryView._more()): every field on the view itself costs each creation (about half a nanosecond
 * a field), and most views, such as a subarray() made inside a loop, never need these.
 */
class ViewExtras {
  /** The frozen arrays the public `shape` and `strides` getters hand out, made on first read. */
  shapeOut: readonly number[] | null = null
  stridesOut: readonly number[] | null = null
  /** hash()'s result, kept so that it is still returned after release() (as CPython). */
  hash: number | undefined = undefined
  /** A Buffer over the view's bytes, see rawBytes() in copies.ts. */
  rb: Buffer | null = null
  /** Exports held on this view (pins, buffer-protocol descriptors, native acquisitions). */
  exports = 0
  /** The number in the view's repr, 0 until first displayed. */
  id = 0
  /** CPython's C and Fortran contiguity flags of a view of 2 or more dimensions, worked out on first read. */
  c: boolean | undefined = undefined
  f: boolean | undefined = undefined
}

/**
 * The layout of a public source, with its fast paths planned into `paths`: a view (or the owner of
 * a mapped file or shared memory) shares its managed buffer and fast paths, anything else is resolved.
 * @throws as the MemoryView constructor.
 */
function sourceLayout(source: Source | MemoryView<string>): Resolved {
  let from: MemoryView<string> | null = null
  if (source instanceof MemoryView) {
    from = source
  } else if (source !== null && typeof source === 'object' && OWNED_VIEW in source) {
    // A mapped file or shared memory: memoryview(owner) shares the owner's managed buffer.
    from = (source as { [OWNED_VIEW](): MemoryView })[OWNED_VIEW]()
  }
  if (from === null) {
    const r = resolveSource(source)
    const n = r.shape.length
    planPaths(r.mbuf, r.offset, r.format, r.shape, r.strides, n > 0 ? r.shape[0] : 0, n > 0 ? r.strides[0] : 0)
    return r
  }
  from._checkReleased()
  samePaths(from)
  return from._copyInit()
}

/**
 * `new MemoryView(source)` of a public source: the constructor's stores, in the constructor's order
 * (one hidden class for every view; test 35 checks it), out of the constructor so that the
 * constructor stays small enough to be inlined with subarray() (see the constructor).
 * @throws as the MemoryView constructor.
 */
function initFromSource(view: MemoryView<string>, source: Source | MemoryView<string>): void {
  const r = sourceLayout(source)
  const shape = r.shape
  const strides = r.strides
  const ndim = shape.length
  const q = p
  view._mbuf = r.mbuf
  view._off = r.offset
  view._fmt = r.format
  view._ta1 = q.ta1
  view._tas = q.tas
  view._nd = q.nd
  view._eoff = q.eoff
  view._es0 = q.es0
  q.ta1 = q.tas = null
  q.nd = null
  view._shp = shape
  view._str = strides
  view._ndim = ndim
  view._len0 = ndim > 0 ? shape[0] : 0
  view._stride0 = ndim > 0 ? strides[0] : 0
  view._readonly = r.readonly
  view._x = null
  r.mbuf.addView(view)
}

/**
 * The format of `view.cast(format)` when that cast is 1-D to 1-D and passes every check of
 * _castSlow() (a string format, not released, C-contiguous, a known single format, a byte format on
 * one side, whole items); null when any check fails or does not apply: _castSlow() then decides,
 * raising CPython's first error. Out of line, so that cast() stays small.
 */
function castTo1D(view: MemoryView<string>, format: unknown): Format | null {
  if (typeof format !== 'string' || view._ndim !== 1 || view.released) return null
  const from = view._fmt
  const itemsize = from.itemsize
  if (view._stride0 !== itemsize && view._len0 !== 1) return null
  const dest = parseSingleFormat(format)
  if (dest === null || (!isByteFormat(from) && !isByteFormat(dest))) return null
  return (view._len0 * itemsize) % dest.itemsize === 0 ? dest : null
}

/** subarray() of an n-D view: the other dimensions are the parent's (out of line: 1-D is the common case). */
function moreDims(view: MemoryView<string>, shape: number[], strides: number[]): void {
  for (let d = 1; d < view._ndim; d++) {
    shape.push(view._shape[d])
    strides.push(view._strides[d])
  }
}

/** The ManagedBuffer a released view points at: no memory, every access fails. */
const RELEASED_MBUF = new ManagedBuffer(new ArrayBuffer(0), 0, 0, undefined)
RELEASED_MBUF.dv = null

// Error messages start with CPython's words and add what a JS caller needs: the value passed, the
// allowed range, the call that was meant. They are built only after a check failed.

/** CPython's TypeError for `m['1']`, `m[1.5]`; `position` names the index among several. */
const invalidSliceKey = (key: unknown, position = ''): TypeError =>
  typeError(
    codes.INVALID_INDEX,
    `invalid slice key: expected an integral number or bigint index${position}, got ${describeValue(key)}`,
  )

/** CPython's TypeError for indexing a 0-d view; `hint` says what works instead. */
const zeroDim = (hint: string): TypeError => typeError(codes.INVALID_INDEX, `invalid indexing of 0-dim memory: ${hint}`)

/** `1 index`, `2 indices`. */
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** How a call with these arguments reads in messages: `set(1, 2)`, `get('a')`. */
function callText(method: string, args: readonly unknown[]): string {
  const show = (a: unknown): string => {
    if (typeof a === 'string') return `'${a.length > 16 ? `${a.slice(0, 16)}…` : a}'`
    if (typeof a === 'bigint') return `${a}n`
    return typeof a === 'object' && a !== null ? '[object]' : String(a)
  }
  return `${method}(${args.map(show).join(', ')})`
}

/** The call a view of `ndim` dimensions takes, for messages: `get(i0, i1)`, `set(index, value)`, `set(value)`. */
function wantedCall(method: 'get' | 'set', ndim: number): string {
  const need = ndim === 0 ? '' : ndim === 1 ? 'index' : Array.from({ length: ndim }, (_, d) => `i${d}`).join(', ')
  return method === 'get' ? `get(${need})` : ndim === 0 ? 'set(value)' : `set(${need}, value)`
}

/**
 * CPython's NotImplementedError for fewer indices than dimensions (`m[()]`, `m[i]` on a 2-D view), told
 * as the JS call that reached it and the call that was probably meant. `indices` excludes set()'s value.
 */
function subViews(cpython: string, method: 'get' | 'set', args: readonly unknown[], nIndices: number, ndim: number): Error {
  const wanted = wantedCall(method, ndim)
  const count = `${args.length} argument${args.length === 1 ? '' : 's'}`
  const meant =
    method === 'set' && nIndices === 0
      ? `${callText('set', args)} got ${count}: a ${ndim}-D view needs ${wanted} (set(value) alone is m[()] = value)`
      : `${callText(method, args)} gives ${nIndices} of ${ndim} indices: a ${ndim}-D view needs ${wanted}` +
        (nIndices === 1 ? '; subarray(i, i + 1) is a view of row i' : '')
  return notImplemented(`${cpython}: ${meant}`)
}

const SSIZE_MAX = 2n ** 63n - 1n

/** CPython's PyNumber_AsSsize_t(key, IndexError): an index must fit a 64-bit signed integer. */
function checkSsize(v: unknown): void {
  const fits = typeof v === 'bigint' ? v >= -SSIZE_MAX - 1n && v <= SSIZE_MAX : (v as number) >= -(2 ** 63) && (v as number) < 2 ** 63
  if (!fits) {
    throw rangeError(codes.INDEX, `cannot fit 'int' into an index-sized integer: ${describeValue(v)} is outside [-2**63, 2**63 - 1]`)
  }
}

/**
 * A typed, strided, zero-copy view of memory with the semantics of CPython 3.11's `memoryview`.
 * Python's `m[i]` is `m.get(i)`, `m[a:b:c]` is `m.subarray(a, b, c)`, `m[a:b] = src` is
 * `m.subarray(a, b).assign(src)`.
 */
export class MemoryView<F extends string = FormatString> implements Iterable<ValueOf<F>>, Disposable {
  /**
   * @internal The first own property on purpose: structuredClone()/postMessage() serialise it first,
   * and the managed buffer's own first property is NOT_CLONEABLE_GUARD, so they throw
   * ERR_MEMORYVIEW_NOT_CLONEABLE before anything else (one field fewer per view than a guard of its own).
   */
  declare _mbuf: ManagedBuffer
  /** @internal Byte offset of element [0, ..., 0] in the managed buffer's region. */ declare _off: number
  /** @internal */ declare _fmt: Format
  /**
   * @internal A TypedArray over exactly the elements of a 1-D view with unit stride, so that get(i) is
   * `ta[i]` after one check against `ta.length` (which also covers detached memory, read as length
   * 0). Made with the view, so that views made and dropped inside a loop take the same path as
   * long-lived ones. Null for other strides, formats with no TypedArray, unaligned views, and after
   * release. Shared with a toreadonly() view: set() stores through it only when `_readonly` is false
   * (a field V8 folds for a view it can see, as it folds these).
   */
  declare _ta1: TypedArray | null
  /**
   * @internal For 1-D views with any other stride (step, negative, zero): a TypedArray holding the
   * view's elements at `_eoff + k * _es0` (the managed buffer's, one over the view's own bytes, or
   * the parent's when subarray() derived the view, see slice1()); null otherwise and after release.
   */
  declare _tas: TypedArray | null
  /**
   * @internal What get()/set() with 2, 3 or 4 indices read through (the TypedArray, `_eoff`, shape and
   * element strides) when a view of 2 or more dimensions has a TypedArray path, else null; release() clears it.
   */
  declare _nd: NdLayout | null
  /** @internal Element index of element [0, ..., 0] in `_tas` (`_nd` holds its own). */ declare _eoff: number
  /** @internal The stride of a 1-D view in elements of `_tas`. */ declare _es0: number
  /**
   * @internal The shape and byte strides behind `_shape` and `_strides`: null in a 1-D view made by
   * subarray() until something asks for them (`_len0` and `_stride0` hold its layout), since
   * allocating the two arrays costs a sixth of that call.
   */
  declare _shp: readonly number[] | null
  /** @internal */ declare _str: readonly number[] | null
  /** @internal */ declare _ndim: number
  /** @internal */ declare _len0: number
  /** @internal */ declare _stride0: number
  /** @internal */ declare _readonly: boolean
  /**
   * @internal What element access never reads (exports, the hash, repr number, frozen shape and
   * strides, contiguity of n-D views): null until first needed, see _more().
   */
  declare _x: ViewExtras | null

  /**
   * @param source an ArrayBuffer, SharedArrayBuffer, ArrayBufferView, MemoryView, or buffer-protocol object.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_SOURCE when `source` is none of those.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED when `source` is a released view.
   */
  constructor(source: Source | MemoryView<string>)
  /**
   * @internal A view derived from another (subarray(), cast(), toreadonly(), _derive()), its layout
   * passed in: once the constructor is inlined into the code that makes the view, these are plain
   * values, where module variables or a descriptor object would cost a store and a load each.
   * `shape` and `strides` are null for a 1-D view until something asks for them (see _shape);
   * `len0` and `stride0` are always the first dimension's (0 for a 0-d view).
   */
  constructor(
    source: typeof INTERNAL, mbuf: ManagedBuffer, offset: number, format: Format, shape: readonly number[] | null,
    strides: readonly number[] | null, len0: number, stride0: number, readonly: boolean,
  )
  constructor(
    source: unknown, mbuf?: ManagedBuffer, offset?: number, format?: Format, shape?: readonly number[] | null,
    strides?: readonly number[] | null, len0?: number, stride0?: number, readonly?: boolean,
  ) {
    // Small (V8 inlines at most 460 bytes of bytecode, and the code that calls subarray() has 920 for
    // subarray(), slice1() and this together), so that the code making a derived view builds it
    // inline. Derived views get their fast paths from the code that made them (_make(), slice1(),
    // toreadonly()); a public source is built out of line by initFromSource(), which stores the
    // same fields in the same order.
    if (source !== INTERNAL) {
      initFromSource(this, source as Source)
      return
    }
    const ndim = shape === null ? 1 : shape!.length
    // Every field is assigned here (and in initFromSource()), always in this order, so that every
    // view has one hidden class.
    this._mbuf = mbuf!
    this._off = offset!
    this._fmt = format!
    // The fast paths planned just before `new` (see `paths` in access.ts): assigned once, never
    // set up afterwards, so that V8 can treat them as constant.
    const q = p
    this._ta1 = q.ta1
    this._tas = q.tas
    this._nd = q.nd
    this._eoff = q.eoff
    this._es0 = q.es0
    // The plan must not keep the memory alive (a mapping its owner never closed is unmapped when
    // the last TypedArray over it is collected).
    q.ta1 = q.tas = null
    q.nd = null
    // Never mutated after this point; the public getters hand out frozen copies made on first use.
    this._shp = shape!
    this._str = strides!
    this._ndim = ndim
    this._len0 = len0!
    this._stride0 = stride0!
    this._readonly = readonly!
    this._x = null
    // Tested here rather than only in addView(): a call never made costs no inlining budget.
    if (mbuf!.hook !== null) mbuf!.addView(this)
  }

  /** @internal The view's extras, made on first use. */
  _more(): ViewExtras {
    return (this._x ??= new ViewExtras())
  }

  // Fields that element access never reads, computed or kept in `_x` rather than stored in every
  // view, under the names the rest of lib/ reads them by.

  /** @internal Bytes per element. */
  get _itemsize(): number {
    return this._fmt.itemsize
  }

  /** @internal The format's DataView reader (the slow paths). */
  get _read(): Reader {
    return this._fmt.read
  }

  /** @internal The format's DataView writer (the slow paths). */
  get _write(): Writer {
    return this._fmt.write
  }

  /** @internal The byte stride of the second dimension (0 for fewer than 2). */
  get _stride1(): number {
    return this._ndim > 1 ? this._str![1] : 0
  }

  /** @internal CPython's C-contiguous flag (init_flags), worked out on first read for 2 or more dimensions. */
  get _c(): boolean {
    return this._contiguous(false)
  }

  /** @internal CPython's Fortran-contiguous flag, as `_c`. */
  get _f(): boolean {
    return this._contiguous(true)
  }

  /** @internal `_f` when `fortran`, else `_c`: the two are the same for 0 and 1 dimensions. */
  private _contiguous(fortran: boolean): boolean {
    const ndim = this._ndim
    if (ndim === 1) return this._stride0 === this._fmt.itemsize || this._len0 === 1
    if (ndim === 0) return true
    const x = this._more()
    const size = this._fmt.itemsize
    if (fortran) return (x.f ??= isFContiguousView(this._shape, this._strides, size))
    return (x.c ??= isCContiguousView(this._shape, this._strides, size))
  }

  /** @internal Exports held on this view: release() refuses while there are any. */
  get _exports(): number {
    return this._x === null ? 0 : this._x.exports
  }

  /** @internal Sets the export count (Pin). */
  set _exports(n: number) {
    this._more().exports = n
  }

  /** @internal hash()'s cached result. */
  get _hash(): number | undefined {
    return this._x === null ? undefined : this._x.hash
  }

  /** @internal Caches hash()'s result. */
  set _hash(h: number | undefined) {
    this._more().hash = h
  }

  /** @internal A Buffer over the view's bytes, see rawBytes() in copies.ts. */
  get _rb(): Buffer | null {
    return this._x === null ? null : this._x.rb
  }

  /** @internal Caches the Buffer over the view's bytes (rawBytes() in copies.ts). */
  set _rb(rb: Buffer | null) {
    this._more().rb = rb
  }

  /** @internal The number in the view's repr: views are numbered in the order they are first shown. */
  get _id(): number {
    const x = this._more()
    return x.id !== 0 ? x.id : (x.id = ++lastId)
  }

  /** @internal The dimension lengths (never mutated): built on first use for a 1-D view made by subarray(). */
  get _shape(): readonly number[] {
    return (this._shp ??= [this._len0])
  }

  /** @internal The byte strides (never mutated), as `_shape`. */
  get _strides(): readonly number[] {
    return (this._str ??= [this._stride0])
  }

  /** @internal A new view over the same managed buffer. */
  static _derive<G extends string = FormatString>(init: Resolved): MemoryView<G> {
    return MemoryView._make<G>(init.mbuf, init.offset, init.format, init.shape, init.strides, init.readonly)
  }

  /** @internal _derive() without the descriptor object: the general paths of subarray() and cast() (_subarray(), _castSlow()); their fast paths, and toreadonly(), plan the paths and call the constructor themselves. */
  static _make<G extends string = FormatString>(
    mbuf: ManagedBuffer, offset: number, format: Format, shape: readonly number[], strides: readonly number[], readonly: boolean,
  ): MemoryView<G> {
    const n = shape.length
    const len0 = n > 0 ? shape[0] : 0
    const stride0 = n > 0 ? strides[0] : 0
    planPaths(mbuf, offset, format, shape, strides, len0, stride0)
    return new MemoryView<G>(INTERNAL, mbuf, offset, format, shape, strides, len0, stride0, readonly)
  }

  /** @internal */
  _copyInit(): Resolved {
    return {
      mbuf: this._mbuf,
      offset: this._off,
      format: this._fmt,
      shape: this._shape,
      strides: this._strides,
      readonly: this._readonly,
    }
  }

  /** @internal CPython's CHECK_RELEASED. */
  _checkReleased(): void {
    if (this.released) throw releasedError()
  }

  /** @internal The DataView to touch memory through, after the released and bounds checks. */
  _live(): DataView {
    const dv = this._mbuf.dv
    if (dv === null || this.released) throw releasedError()
    if (this._outOfBounds()) throw outOfBoundsError()
    return dv
  }

  /** @internal True when this view's bytes were detached or cut off by a shrinking buffer. */
  _outOfBounds(): boolean {
    const mbuf = this._mbuf
    if (!mbuf.resizable) return mbuf.outOfBounds()
    const [low, high] = extent(this._shape, this._strides, this._itemsize)
    return mbuf.outOfBounds(this._off + low, this._off + high)
  }

  /** @internal Turns a failed DataView access into the error that explains it. */
  _fault(err: unknown): unknown {
    if (this.released || this._mbuf.dv === null) return releasedError()
    if (this._outOfBounds()) return outOfBoundsError()
    return err
  }

  // ---------------------------------------------------------------- attributes

  /** The exporting object (the root source of a chain of views). */
  get obj(): unknown {
    this._checkReleased()
    return this._mbuf.obj
  }
  /** Bytes the view would occupy contiguously: product(shape) * itemsize. */
  get nbytes(): number {
    this._checkReleased()
    return product(this._shape) * this._itemsize
  }
  /** True when the view refuses stores (a read-only source, or made by toreadonly()). */
  get readonly(): boolean {
    this._checkReleased()
    return this._readonly
  }
  /** The struct format string of one element (typed `F`, the view's format type). */
  get format(): F {
    this._checkReleased()
    return this._fmt.str as F
  }
  /** Bytes per element, as `struct.calcsize(format)`. */
  get itemsize(): number {
    this._checkReleased()
    return this._itemsize
  }
  /** Number of dimensions: 0 for a scalar view, else shape.length. */
  get ndim(): number {
    this._checkReleased()
    return this._ndim
  }
  /** Frozen array of dimension lengths. */
  get shape(): readonly number[] {
    this._checkReleased()
    const x = this._more()
    return (x.shapeOut ??= Object.freeze(this._shape.slice()))
  }
  /** Frozen array of byte strides. */
  get strides(): readonly number[] {
    this._checkReleased()
    const x = this._more()
    return (x.stridesOut ??= Object.freeze(this._strides.slice()))
  }
  /** Always an empty frozen array (JS memory has no PIL-style indirection). */
  get suboffsets(): readonly number[] {
    this._checkReleased()
    return EMPTY
  }
  /** True when the elements are laid out in C (row-major) order without gaps. */
  get c_contiguous(): boolean {
    this._checkReleased()
    return this._c
  }
  /** True when the elements are laid out in Fortran (column-major) order without gaps. */
  get f_contiguous(): boolean {
    this._checkReleased()
    return this._f
  }
  /** True when the view is C- or Fortran-contiguous. */
  get contiguous(): boolean {
    this._checkReleased()
    return this._c || this._f
  }
  /** Python's len(m): shape[0], or 1 for a 0-d view. */
  get length(): number {
    this._checkReleased()
    return this._ndim === 0 ? 1 : this._len0
  }
  /** True after release() (or after the owner of external memory closed it). */
  get released(): boolean {
    // release() points the view at RELEASED_MBUF (a view has no field of its own for this: each
    // field costs every view creation, see the constructor); memory gone under a live view shows in
    // its managed buffer.
    const mbuf = this._mbuf
    return mbuf === RELEASED_MBUF || mbuf.released
  }

  // ---------------------------------------------------------------- element access

  /**
   * Python's `m[i]`, `m[i, j]`, `m[()]`. Negative indices count from the end. The result has the
   * format's value type ({@link ValueOf}: `number`, `bigint` for 8-byte integers, `boolean` for '?',
   * a 1-byte Buffer for 'c'); how many indices a view takes (its ndim) is checked at run time.
   * @throws {RangeError} ERR_MEMORYVIEW_INDEX for an index out of bounds.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_INDEX for a non-integral index or a wrong count.
   * @throws {Error} ERR_MEMORYVIEW_NOT_IMPLEMENTED for sub-views (fewer indices than dimensions).
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after release().
   */
  get(...indices: Index[]): ValueOf<F>
  get(i?: unknown, j?: unknown, k?: unknown, l?: unknown): Value {
    // Kept small so that V8 inlines it into the caller's loop: one bounds check and one element read.
    const nargs = arguments.length
    if (nargs === 1 && typeof i === 'number') {
      const k0 = i < 0 ? i + this._len0 : i
      const ta = this._ta1
      if (ta !== null) {
        // The TypedArray holds exactly the view's elements, so its own bounds check is the view's:
        // any other index (out of range, fractional, -0) and detached memory read as undefined,
        // and the slow path explains them.
        const v = ta[k0]
        if (v !== undefined) return v
      } else {
        const ts = this._tas
        if (ts !== null && k0 >>> 0 === k0 && k0 < this._len0) {
          // Detached memory reads as undefined. The index is computed in the step's sign, as in
          // _setS(): 0 times a negative step is -0, which would turn the multiply's feedback to
          // floating point for every call. For a view V8 can see, `_es0` is a constant and the
          // sign test folds away, leaving no branch in the loop but the bounds checks: with a test
          // of element 0 instead (a branch per element), a long-lived step-2 view's loop ran at
          // 1.0x ta[p] in some processes and 1.6-1.8x in others (medians of 7 processes: 1.58x
          // before, 1.14x after). For a view V8 cannot see (made in the loop's function) this path
          // costs two to three times ta[p] either way: TurboFan does not peel a loop that get() is
          // inlined into (its untaken branches leave the loop through deoptimizations), so each
          // field and the TypedArray's map, length and data are loaded again per element.
          const eoff = this._eoff
          const es0 = this._es0
          const v = ts[es0 < 0 ? eoff - k0 * (0 - es0) : eoff + k0 * es0]
          if (v !== undefined) return v
        }
      }
    } else if (nargs > 1 && nargs <= 4) {
      // A 2-, 3- or 4-D view reads through its n-D layout; `_ndim` (a constant for a view V8 can
      // see) keeps the other views out (fewer indices than dimensions is CPython's sub-view error).
      // elementN() gives -1 when this path cannot serve the call: a TypedArray reads index -1, like
      // any index outside it or detached memory, as undefined, so its own bounds check sends that
      // to the slow path too, with no second test here.
      const nd = this._nd
      if (nd !== null && nargs === this._ndim) {
        const v = nd.ta[elementN(nd, nargs, i, j, k, l)]
        if (v !== undefined) return v
      }
    }
    if (nargs <= 2) return this._getOne(nargs, i, j)
    return this._getSlow(Array.from(arguments))
  }

  /** @internal The element offset for get(i)/set(i, v) on 1-D and get(i, j)/set(i, j, v) on 2-D views, or -1. */
  _simpleOffset(nargs: number, i: unknown, j: unknown): number {
    if (nargs !== this._ndim || this._mbuf.dv === null || typeof i !== 'number') return -1
    // A length-tracking DataView would still read the part of a view that survived a shrink.
    if (this._mbuf.resizable && this._outOfBounds()) return -1
    const k0 = i < 0 ? i + this._len0 : i
    if (!(k0 >>> 0 === k0 && k0 < this._len0)) return -1
    if (nargs === 1) return this._off + k0 * this._stride0
    if (typeof j !== 'number') return -1
    const len1 = this._shape[1]
    const k1 = j < 0 ? j + len1 : j
    if (!(k1 >>> 0 === k1 && k1 < len1)) return -1
    return this._off + k0 * this._stride0 + k1 * this._stride1
  }

  /** One or two indices that the inlined fast path did not serve. */
  private _getOne(nargs: number, i: unknown, j: unknown): Value {
    const offset = this._simpleOffset(nargs, i, j)
    if (offset >= 0) {
      try {
        return this._read(this._mbuf.dv!, offset)
      } catch (err) {
        throw this._fault(err)
      }
    }
    return this._getSlow(nargs === 0 ? [] : nargs === 1 ? [i] : [i, j])
  }

  private _getSlow(args: unknown[]): Value {
    this._checkReleased()
    const ndim = this._ndim
    if (ndim === 0) {
      if (args.length !== 0) throw zeroDim(`${callText('get', args)} on a 0-d view: read its one element with get()`)
      return this._read(this._live(), this._off)
    }
    let offset: number
    if (args.length === 1) {
      const k = toIndex(args[0])
      if (k === null) throw invalidSliceKey(args[0])
      checkSsize(args[0])
      this._checkFormat()
      if (ndim > 1) throw subViews('multi-dimensional sub-views are not implemented', 'get', args, 1, ndim)
      offset = this._lookup(0, this._off, k, args[0])
    } else {
      offset = this._lookupTuple(args, 'get', args)
    }
    return this._read(this._live(), offset)
  }

  /**
   * Python's `m[i] = v`, `m[i, j] = v`, `m[()] = v`: the value comes last. Nothing is written when
   * the store fails. The value's type is {@link StoreValueOf}: a number, bigint or boolean (a
   * 1-byte Uint8Array for 'c').
   * @throws {TypeError} ERR_MEMORYVIEW_READONLY on a readonly view.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_TYPE for a value of the wrong kind (0.5 for an int format).
   * @throws {RangeError} ERR_MEMORYVIEW_INVALID_VALUE for a value out of the format's range.
   * @throws {RangeError} ERR_MEMORYVIEW_INDEX, {TypeError} ERR_MEMORYVIEW_INVALID_INDEX as get().
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG when called with no arguments at all.
   * @throws {Error} ERR_MEMORYVIEW_NOT_IMPLEMENTED for fewer indices than dimensions, such as `set(1)` with
   *   the value forgotten on a 1-D view (Python's `m[()] = 1`); the message names the call meant.
   */
  set(value: StoreValueOf<F>): void
  set(i: Index, value: StoreValueOf<F>): void
  set(i: Index, j: Index, value: StoreValueOf<F>): void
  // The typed rest form (any number of indices, then the value) has no implementation signature of
  // its own: the implementation keeps three named parameters, which V8 inlines on the hot path.
  // @ts-expect-error TS2394: a variadic tuple overload is not checked against fixed parameters.
  set(...indicesThenValue: [...indices: Index[], value: StoreValueOf<F>]): void
  set(a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown): void {
    // Kept small so that V8 inlines it: bounds check, value conversion (which throws before
    // anything is written), one element store.
    const nargs = arguments.length
    if (nargs === 2 && typeof a === 'number') {
      const k = a < 0 ? a + this._len0 : a
      const ta = this._ta1
      if (ta !== null) {
        // The element is read, not `ta.length`: optimized code can read a detached TypedArray's old
        // length, then deoptimize at the store, which the interpreter then drops silently (a store
        // to a detached view returned without OUT_OF_BOUNDS). A read of detached memory is
        // undefined, in optimized code as in the interpreter, and goes to the slow path.
        if (!this._readonly && ta[k] !== undefined) {
          ta[k] = this._fmt.convert(b) as never
          return
        }
      } else if (this._setS(k, b)) {
        return
      }
    } else if (nargs > 2 && nargs <= 5 && this._setN(nargs, a, b, c, d, e)) {
      return
    }
    if (nargs <= 3) this._setOne(nargs, a, b, c)
    else this._setSlow(Array.from(arguments))
  }

  /**
   * set(i, v) on a strided 1-D view (`k` is `i` after the negative-index fix-up): false when the
   * strided TypedArray path cannot serve the call. Out of set() to keep that under V8's inlining
   * budget, which the 3-D/4-D path needs.
   */
  private _setS(k: number, b: unknown): boolean {
    const ts = this._tas
    if (ts !== null && !this._readonly) {
      // The index is computed in the step's sign: 0 times a negative step is -0, which would turn
      // the multiply's feedback to floating point for every call. For a view V8 can see, `es0` is a
      // constant and the test folds away, where a test of `k` (element 0) was a branch per store.
      const eoff = this._eoff
      const es0 = this._es0
      // An index the view does not hold becomes element -1, which the TypedArray reads as undefined,
      // so the test below sends it to the slow path: a ternary whose other arm is a constant merges
      // back into the loop, where a branch returning false would be one more exit. `Math.floor`
      // tests integrality (1.5 on a step-2 view would otherwise store into element 3 of the memory)
      // and keeps indices past 2**31; `k >>> 0 === k` compiled to a deoptimizing "lost precision"
      // check on every store. A step-2 'd' store loop took 1.36 ns/elem with the old early-exit
      // test, 1.23 with `k >>> 0 === k` in the ternary, 1.09 with this (ta[p] = v: 0.82).
      const e = k >= 0 && k < this._len0 && Math.floor(k) === k ? (es0 < 0 ? eoff - k * (0 - es0) : eoff + k * es0) : -1
      // A store into a detached TypedArray is silently dropped: check it is attached. Reading the
      // element (undefined once detached) costs less than `e < ts.length`: for a view V8 can see,
      // it checks `e` against the length it folded, as the store itself does, and loads the line
      // the store writes anyway.
      if (ts[e] !== undefined) {
        ts[e] = this._fmt.convert(b) as never
        return true
      }
    }
    return false
  }

  /**
   * set() with 2, 3 or 4 indices on the n-D TypedArray path: false when it cannot serve the call (the
   * slow path then does). Out of set() to keep that under V8's inlining limit.
   */
  private _setN(nargs: number, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown): boolean {
    // The layout's array is the view's own and may be written whenever the view is writable; reading
    // it there spares a null test and a check of the array's kind, and `_readonly` and `_ndim` fold to
    // constants when the view is one.
    const nd = this._nd
    if (nd !== null && !this._readonly && nargs - 1 === this._ndim) {
      const p = elementN(nd, nargs - 1, a, b, c, d)
      const ta = nd.ta
      // A store into detached memory is dropped silently: check it is attached by reading the
      // element (undefined for -1 and for detached memory; see set() for why not `ta.length`). The
      // value is converted (and may throw) only after the indices, in CPython's order.
      if (ta[p] !== undefined) {
        ta[p] = this._fmt.convert(nargs === 3 ? c : nargs === 4 ? d : e) as never
        return true
      }
    }
    return false
  }

  /** One or two indices and a value that the inlined fast path did not serve. */
  private _setOne(nargs: number, a: unknown, b: unknown, c: unknown): void {
    const offset = this._readonly || nargs < 2 ? -1 : this._simpleOffset(nargs - 1, a, b)
    if (offset >= 0) {
      try {
        this._write(this._mbuf.dv!, offset, nargs === 2 ? b : c)
        return
      } catch (err) {
        throw this._fault(err)
      }
    }
    this._setSlow(nargs === 0 ? [] : nargs === 1 ? [a] : nargs === 2 ? [a, b] : [a, b, c])
  }

  private _setSlow(args: unknown[]): void {
    this._checkReleased()
    const ndim = this._ndim
    if (args.length === 0) {
      throw typeError(codes.INVALID_ARG, `set() needs a value to store: a ${ndim}-D view takes ${wantedCall('set', ndim)}`)
    }
    const all = args.slice()
    const value = args.pop()
    this._checkFormat()
    if (this._readonly) throw readonlyError()
    let offset: number
    if (ndim === 0) {
      if (args.length !== 0) throw zeroDim(`${callText('set', all)} on a 0-d view: store its one element with set(value)`)
      offset = this._off
    } else if (args.length === 1) {
      const k = toIndex(args[0])
      if (k === null) throw invalidSliceKey(args[0])
      if (ndim > 1) throw subViews('sub-views are not implemented', 'set', all, 1, ndim)
      checkSsize(args[0])
      offset = this._lookup(0, this._off, k, args[0])
    } else {
      offset = this._lookupTuple(args, 'set', all)
    }
    const dv = this._live()
    this._write(dv, offset, value)
  }

  /** CPython's adjust_fmt(): element access needs a single-item format. */
  private _checkFormat(): void {
    if (this._fmt.char === '') throw unsupportedFormat(this._fmt.str)
  }

  /** CPython's lookup_dimension(). `key` is the index as passed, for the message. */
  private _lookup(dim: number, offset: number, index: number, key: unknown): number {
    const n = this._shape[dim]
    const k = index < 0 ? index + n : index
    if (k < 0 || k >= n) {
      const shown = typeof key === 'bigint' ? `${key}n` : String(key)
      const allowed = n === 0 ? `dimension ${dim + 1} has length 0` : `${shown} is not in [${-n}, ${n - 1}] (length ${n})`
      throw rangeError(codes.INDEX, `index out of bounds on dimension ${dim + 1}: ${allowed}`)
    }
    return offset + k * this._strides[dim]
  }

  /**
   * CPython's memory_item_multi() and ptr_from_tuple() for a tuple of indices. `method` and `all` (the
   * call's arguments, set()'s value included) only feed the messages.
   */
  private _lookupTuple(keys: unknown[], method: 'get' | 'set', all: readonly unknown[]): number {
    const indices = new Array<number>(keys.length)
    for (let d = 0; d < keys.length; d++) {
      const k = toIndex(keys[d])
      if (k === null) throw invalidSliceKey(keys[d], keys.length > 1 ? ` at position ${d}` : '')
      indices[d] = k
    }
    this._checkFormat()
    if (keys.length < this._ndim) throw subViews('sub-views are not implemented', method, all, keys.length, this._ndim)
    if (keys.length > this._ndim) {
      const indices = plural(this._ndim, 'index', 'indices')
      const wanted = method === 'get' ? indices : `${indices} and the value`
      throw typeError(
        codes.INVALID_INDEX,
        `cannot index ${this._ndim}-dimension view with ${keys.length}-element tuple: ${callText(method, all)} passes ` +
          `${keys.length} indices, this view takes ${wanted}`,
      )
    }
    let offset = this._off
    for (let d = 0; d < indices.length; d++) {
      checkSsize(keys[d])
      offset = this._lookup(d, offset, indices[d], keys[d])
    }
    return offset
  }

  // ---------------------------------------------------------------- new views

  /**
   * Python's `m[start:stop:step]` on the first dimension: a zero-copy view. `undefined`/`null` mean None.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for step 0.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_INDEX for non-integral bounds or a 0-d view.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after release() or once the memory is closed, before
   * any argument is looked at (CPython's order).
   */
  subarray(start?: Index | null, stop?: Index | null, step?: Index | null): MemoryView<F> {
    // CPython first checks that the view is not released. slice1() returns 0 for a released view,
    // or one whose memory is gone, and runs no user code (it reads numbers and the view's fields),
    // so _subarray() then raises that error before it looks at the arguments: CPython's order, in
    // fewer bytes of bytecode than _checkReleased() here (see slice1() for why bytes count).
    const st = this._ndim === 1 ? slice1(this, start, stop, step) : 0
    if (!st) return this._subarray(start, stop, step)
    // A 1-D view with no shape or strides arrays until asked for (see _shape), and the fast path
    // slice1() planned.
    const out = sliced
    const stride = this._stride0
    return new MemoryView<F>(INTERNAL, this._mbuf, this._off + stride * out.first, this._fmt, null, null, out.length, stride * st, this._readonly)
  }

  /**
   * @internal subarray() of an n-D or released view, of a zero-stride view with a negative step (see
   * planSlice() in slice.ts), or with bounds that are bigints, beyond int32 or invalid.
   */
  _subarray(start: unknown, stop: unknown, step: unknown): MemoryView<F> {
    // CPython's released check, which subarray() leaves to this (slice1() returns 0 for a released
    // view before planning anything).
    this._checkReleased()
    if (this._ndim === 0) throw zeroDim('a 0-d view cannot be sliced; read it with get()')
    const st = sliceParams(this._len0, start, stop, step)
    // Fresh arrays: copying the parent's frozen ones with slice() would be several times slower.
    const shape = [sliced.length]
    // `|| 0`: a zero stride times a negative step (or the first index, -1 for an empty view with a
    // negative step) is -0; not `+ 0`, whose +0 is a heap number: either, stored in a view's field of
    // small integers, makes V8 hold that field as a double in every view (see planSlice() in slice.ts).
    const strides = [this._stride0 * st || 0]
    moreDims(this, shape, strides)
    return MemoryView._make<F>(this._mbuf, this._off + (this._stride0 * sliced.first || 0), this._fmt, shape, strides, this._readonly)
  }

  /**
   * Python's `m.toreadonly()`: a readonly view of the same memory.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after release() or once the memory is closed.
   */
  toreadonly(): MemoryView<F> {
    this._checkReleased()
    // The same layout: `_shp` and `_str` are null in a 1-D view made by subarray() (see _shape).
    samePaths(this)
    return new MemoryView<F>(INTERNAL, this._mbuf, this._off, this._fmt, this._shp, this._str, this._len0, this._stride0, true)
  }

  /**
   * Python's `m.cast(format, shape)`: reinterprets a C-contiguous view, zero-copy. Byte-order
   * prefixed targets ('<h', '>I', '!d', '=q') are accepted as well (a deliberate extension). A literal
   * format gives a view of that format (`cast('q')` is a `MemoryView<'q'>`) and must be one of
   * {@link FormatString} (a typo is a compile error); a `string` variable gives a `MemoryView`.
   * @throws {TypeError} ERR_MEMORYVIEW_CAST for casts CPython refuses; ERR_MEMORYVIEW_FORMAT for a bad format;
   *   ERR_MEMORYVIEW_INVALID_ARG for a format that is not a string (checked first) or a shape of the wrong kind.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for shape elements < 1 or more than 64 dimensions.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after release() or once the memory is closed (after the format's type check).
   */
  cast<T extends string>(
    format: T extends FormatString ? T : string extends T ? T : FormatString,
    shape?: readonly number[],
  ): MemoryView<T extends FormatString ? T : FormatString>
  cast(format: string, shape?: readonly number[]): MemoryView<string> {
    // Small enough for V8 to inline into the caller (the full cast is three times its limit), so
    // that a loop over `m.cast('d')` is compiled with the cast (the mapped-file scan of issue 9).
    // The constructor is inlined here when the caller's budget allows; a caller that also inlines
    // get() has none left (V8 counts 920 bytes in all, each candidate at 1.2 times its size).
    // Only a 1-D cast with no shape that passes every check is served here; everything else, and
    // every error, goes through _castSlow() in CPython's order.
    const dest = shape === undefined ? castTo1D(this, format) : null
    if (dest === null) return this._castSlow(format, shape)
    const size = dest.itemsize
    const n = (this._len0 * this._fmt.itemsize) / size
    planPaths(this._mbuf, this._off, dest, null, null, n, size)
    return new MemoryView(INTERNAL, this._mbuf, this._off, dest, null, null, n, size, this._readonly)
  }

  /** @internal cast() in full: every case, every check in CPython's order (memory_cast()). */
  _castSlow(format: unknown, shape: readonly number[] | undefined): MemoryView<string> {
    if (typeof format !== 'string') {
      throw typeError(codes.INVALID_ARG, `cast() argument 'format' must be str, not ${describeValue(format)}`)
    }
    this._checkReleased()
    if (!this._c) {
      throw typeError(
        codes.CAST,
        `casts are restricted to C-contiguous views: this view has shape [${this._shape.join(', ')}] and strides ` +
          `[${this._strides.join(', ')}]; cast a copy, memoryview(m.tobytes())`,
      )
    }
    const hasShape = shape !== undefined
    if ((hasShape || this._ndim !== 1) && this._shape.includes(0)) {
      throw typeError(codes.CAST, `cannot cast view with zeros in shape or strides: shape is [${this._shape.join(', ')}]`)
    }
    let ndim = 1
    if (hasShape) {
      if (!Array.isArray(shape)) {
        throw typeError(codes.INVALID_ARG, `shape must be a list or a tuple: cast() argument 'shape' must be an array, not ${describeValue(shape)}`)
      }
      ndim = shape.length
      if (ndim > MAX_NDIM) {
        throw rangeError(codes.OUT_OF_RANGE, `number of dimensions must not exceed ${MAX_NDIM}: cast() got a shape of ${ndim}`)
      }
      if (this._ndim !== 1 && ndim !== 1) {
        throw typeError(
          codes.CAST,
          `cast must be 1D -> ND or ND -> 1D: this view is ${this._ndim}-D and the shape has ${ndim} dimensions; ` +
            'cast to 1-D first, then to the new shape',
        )
      }
    }
    // cast_to_1D()
    const dest = parseSingleFormat(format)
    if (dest === null) {
      throw typeError(
        codes.FORMAT,
        "destination format must be a native single character format prefixed with an optional '@' (or a byte-order " +
          `prefix), such as 'B', '@i' or '<d': got '${format}'`,
      )
    }
    if (!isByteFormat(this._fmt) && !isByteFormat(dest)) {
      throw typeError(
        codes.CAST,
        `cannot cast between two non-byte formats: '${this._fmt.str}' to '${dest.str}'; cast to 'B' first, then to '${dest.str}'`,
      )
    }
    const nbytes = product(this._shape) * this._itemsize
    if (nbytes % dest.itemsize !== 0) {
      throw typeError(
        codes.CAST,
        `length is not a multiple of itemsize: ${plural(nbytes, 'byte', 'bytes')} do not divide into items of ` +
          `${dest.itemsize} ('${dest.str}')`,
      )
    }
    let newShape = [nbytes / dest.itemsize]
    // cast_to_ND()
    if (hasShape) {
      let len = dest.itemsize
      newShape = new Array<number>(ndim)
      for (let i = 0; i < ndim; i++) {
        const x = shape[i]
        if (typeof x !== 'number' || !Number.isInteger(x)) {
          throw typeError(codes.INVALID_ARG, `memoryview.cast(): elements of shape must be integers: shape[${i}] is ${describeValue(x)}`)
        }
        if (x <= 0) {
          throw rangeError(codes.OUT_OF_RANGE, `memoryview.cast(): elements of shape must be integers > 0: shape[${i}] is ${x}`)
        }
        if (x > Number.MAX_SAFE_INTEGER / len) {
          throw rangeError(
            codes.OUT_OF_RANGE,
            `memoryview.cast(): product(shape) > SSIZE_MAX: shape [${shape.join(', ')}] is above 2**53 - 1 bytes`,
          )
        }
        len *= x
        newShape[i] = x
      }
      if (len !== nbytes) {
        throw typeError(
          codes.CAST,
          `product(shape) * itemsize != buffer size: shape [${newShape.join(', ')}] of '${dest.str}' is ` +
            `${plural(len, 'byte', 'bytes')}, the view has ${nbytes}`,
        )
      }
    }
    return MemoryView._make(this._mbuf, this._off, dest, newShape, cStrides(newShape, dest.itemsize), this._readonly)
  }

  /**
   * Python's slice assignment `m[a:b:c] = src`, on the view itself: `m.subarray(a, b, c).assign(src)`.
   * Same format and shape required; overlapping memory is copied as if through a temporary.
   * @throws {TypeError} ERR_MEMORYVIEW_STRUCTURE when format or shape differ; ERR_MEMORYVIEW_READONLY;
   *   ERR_MEMORYVIEW_INVALID_SOURCE when `src` is not a source.
   * @throws {Error} ERR_MEMORYVIEW_NOT_IMPLEMENTED on n-d views (as CPython 3.11).
   */
  assign(src: Source | MemoryView): void {
    this._checkReleased()
    this._checkFormat()
    if (this._readonly) throw readonlyError()
    if (this._ndim === 0) throw zeroDim('assign() needs a 1-D view; store a 0-d view\'s element with set(value)')
    if (this._ndim > 1) {
      throw notImplemented(`memoryview slice assignments are currently restricted to ndim = 1: this view is ${this._ndim}-D`)
    }
    const temporary = !(src instanceof MemoryView)
    const s = src instanceof MemoryView ? src : new MemoryView(src)
    try {
      s._checkReleased()
      const dfmt = this._fmt.str.replace(/^@/, '')
      const sfmt = s._fmt.str.replace(/^@/, '')
      if (dfmt !== sfmt || this._itemsize !== s._itemsize || s._ndim !== 1 || s._len0 !== this._len0) {
        throw typeError(
          codes.STRUCTURE,
          `memoryview assignment: lvalue and rvalue have different structures: this view is format '${this._fmt.str}' ` +
            `shape [${this._shape.join(', ')}], the source is format '${s._fmt.str}' shape [${s._shape.join(', ')}]`,
        )
      }
      assignFrom(this, s)
    } finally {
      if (temporary) s._drop()
    }
  }

  // ---------------------------------------------------------------- conversions

  /**
   * Python's `m.tobytes(order)`: a copy of the data as a Buffer.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for an order other than 'C', 'F', 'A'.
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for more than buffer.constants.MAX_LENGTH bytes.
   */
  tobytes(order?: 'C' | 'F' | 'A' | null): Buffer {
    if (order !== undefined && order !== null && typeof order !== 'string') {
      throw typeError(codes.INVALID_ARG, `tobytes() argument 'order' must be str or None, not ${describeValue(order)}`)
    }
    this._checkReleased()
    const ord = order ?? 'C'
    if (ord !== 'C' && ord !== 'F' && ord !== 'A') {
      throw typeError(codes.INVALID_ARG, `order must be 'C', 'F' or 'A': tobytes() got ${describeValue(ord)}`)
    }
    return toBytes(this, ord)
  }

  /**
   * Python's `m.hex(sep, bytes_per_sep)`. With a positive `bytesPerSep` groups are counted from the
   * right, with a negative one from the left.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for a separator that is not one ASCII character or
   *   a non-integral bytesPerSep.
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for a result longer than buffer.constants.MAX_STRING_LENGTH.
   */
  hex(sep?: string | Uint8Array, bytesPerSep?: number): string {
    let group = 1
    if (bytesPerSep !== undefined) {
      if (typeof bytesPerSep !== 'number' || !Number.isInteger(bytesPerSep)) {
        throw typeError(codes.INVALID_ARG, `hex() argument 'bytesPerSep' must be an integer, not ${describeValue(bytesPerSep)}`)
      }
      if (bytesPerSep > 2147483647 || bytesPerSep < -2147483648) {
        throw rangeError(
          codes.OUT_OF_RANGE,
          `bytesPerSep is too large to convert to C int: ${bytesPerSep} is outside [-2147483648, 2147483647]`,
        )
      }
      group = bytesPerSep
    }
    this._checkReleased()
    let sepChar = ''
    if (sep !== undefined) {
      let code: number
      if (typeof sep === 'string') {
        if (sep.length !== 1) throw typeError(codes.INVALID_ARG, `sep must be length 1: hex() got ${describeValue(sep)}`)
        code = sep.charCodeAt(0)
      } else if (typedArrayTag(sep) === 'Uint8Array') {
        // Intrinsic length: an own `length` on a real Uint8Array (or a fake one) must not be believed.
        if (viewByteLength(sep as Uint8Array) !== 1) throw typeError(codes.INVALID_ARG, `sep must be length 1: hex() got ${describeValue(sep)}`)
        code = (sep as Uint8Array)[0]
      } else {
        throw typeError(codes.INVALID_ARG, `sep must be str or bytes: hex() got ${describeValue(sep)}`)
      }
      if (code > 127) {
        throw typeError(codes.INVALID_ARG, `sep must be ASCII: hex() got character code ${code}`)
      }
      sepChar = String.fromCharCode(code)
    } else {
      group = 0
    }
    return hexOf(this, group, sepChar)
  }

  /**
   * Python's `m.tolist()`: nested arrays of element values; the scalar for a 0-d view. Typed
   * `ValueOf<F> | NestedList<ValueOf<F>>` since ndim is known only at run time: narrow with
   * `Array.isArray()` or assert the shape you know (`m.tolist() as number[][]`).
   * @throws {Error} ERR_MEMORYVIEW_NOT_IMPLEMENTED for formats with several items.
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE, before allocating, when a dimension is longer than
   *   134217725 (the longest JS array) or the arrays would need more JS heap than is left.
   */
  tolist(): ValueOf<F> | NestedList<ValueOf<F>>
  tolist(): Value | unknown[] {
    this._checkReleased()
    this._checkFormat()
    return toList(this)
  }

  /**
   * A zero-copy TypedArray (a Buffer for 'B' and 'c') over a contiguous view, in memory order, typed
   * by {@link TypedArrayOf} (`Float64Array` for 'd').
   * @throws {TypeError} ERR_MEMORYVIEW_NOT_CONTIGUOUS for strided views; ERR_MEMORYVIEW_FORMAT for formats
   *   no TypedArray matches ('?', foreign byte order, several items); RangeError ERR_MEMORYVIEW_UNALIGNED
   *   when the memory is not aligned for the TypedArray.
   */
  toTypedArray(): TypedArrayOf<F>
  toTypedArray(): ArrayBufferView {
    this._checkReleased()
    return typedArrayOf(this)
  }

  // ---------------------------------------------------------------- comparison and hashing

  /**
   * Python's `m == other`: same shape and equal element values under struct semantics (NaN is not
   * equal to itself, -0 equals 0, values compare across formats). Non-sources compare unequal.
   */
  equals(other: unknown): boolean {
    if (other instanceof MemoryView) {
      const cached = equalCached(this, other)
      if (cached !== undefined) return cached
    }
    if (this.released) return this === other
    if (typedArrayTag(other) === 'Uint8Array') {
      const bytes = equalBytes(this, other as Uint8Array, viewByteLength(other as Uint8Array))
      if (bytes !== undefined) return bytes
    }
    let w: MemoryView
    let temporary = false
    if (other instanceof MemoryView) {
      if (other.released) return false
      w = other
    } else {
      try {
        w = new MemoryView(other as Source)
      } catch {
        return false
      }
      temporary = true
    }
    try {
      return equalViews(this, w)
    } finally {
      if (temporary) w._drop()
    }
  }

  /**
   * Python's `hash(m)`: readonly views with format 'B', 'b' or 'c' only; equal bytes give equal
   * hashes. A hash computed before release() is still returned after it.
   * @throws {TypeError} ERR_MEMORYVIEW_HASH when the view is writable or has another format.
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for more than buffer.constants.MAX_LENGTH bytes (hashed as tobytes()).
   */
  hash(): number {
    const cached = this._hash
    if (cached !== undefined) return cached
    this._checkReleased()
    if (!this._readonly) throw typeError(codes.HASH, 'cannot hash writable memoryview object: hash m.toreadonly() instead')
    const ch = nativeChar(this._fmt)
    if (ch !== 'B' && ch !== 'b' && ch !== 'c') {
      throw typeError(
        codes.HASH,
        `hashing is restricted to formats 'B', 'b' or 'c': this view's format is '${this._fmt.str}'; hash m.cast('B') instead`,
      )
    }
    const h = hashBytes(toBytes(this, 'C'))
    this._hash = h
    return h
  }

  /**
   * Python's `iter(m)` (1-D views): reads live data, values of the format's {@link ValueOf} type;
   * next() after release() throws.
   */
  [Symbol.iterator](): IterableIterator<ValueOf<F>>
  [Symbol.iterator](): IterableIterator<Value> {
    this._checkReleased()
    if (this._ndim === 0) throw zeroDim('a 0-d view cannot be iterated; read it with get()')
    if (this._ndim !== 1) {
      throw notImplemented(
        `multi-dimensional sub-views are not implemented: iteration needs a 1-D view and this one is ${this._ndim}-D; ` +
          "tolist() gives nested arrays, cast('B') a 1-D view of the bytes",
      )
    }
    this._checkFormat()
    return iterate(this)
  }

  // ---------------------------------------------------------------- lifetime and exports

  /**
   * Python's `m.release()`: idempotent; afterwards every use throws ERR_MEMORYVIEW_RELEASED.
   * Views derived from this one stay valid.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while pins or other exports are held; the view stays usable.
   */
  release(): void {
    if (this._mbuf === RELEASED_MBUF) return
    const n = this._exports
    if (n > 0) {
      throw new BufferError(`memoryview has ${n} exported buffer${n === 1 ? '' : 's'}`, codes.EXPORTED)
    }
    const mbuf = this._mbuf
    this._mbuf = RELEASED_MBUF
    this._ta1 = null
    this._tas = null
    // get() with 2, 3 or 4 indices reads through the layout's TypedArray.
    this._nd = null
    if (this._x !== null) this._x.rb = null
    mbuf.removeView(this)
  }

  /**
   * @internal The end of a view this package made for itself and never handed out (a temporary of
   * assign() or equals(), a native acquisition's): the owner stops counting it, as release() would,
   * but its fast-path fields are not stored again. Such a store makes them mutable in every view,
   * and V8 then stops folding them for long-lived views (see `paths` in access.ts). That holds for
   * `_mbuf` too (subarray(), iteration and the atomics read it): the view is not marked released,
   * since nothing holds it, and removeView() counts it off once however often it is called.
   */
  _drop(): void {
    this._mbuf.removeView(this)
  }

  /** `using m = memoryview(x)`: release() at the end of the scope. */
  [Symbol.dispose](): void {
    this.release()
  }

  /**
   * Takes an export of this view: while the returned Pin is held, release() throws BufferError and the
   * owner of external memory refuses to close. Hold one around async native I/O on the view.
   */
  pin(): Pin {
    this._checkReleased()
    return new Pin(PIN_TOKEN, this)
  }

  /** The buffer protocol: a descriptor of this view's memory; holding it counts as an export. */
  [BUFFER_PROTOCOL](): Required<BufferDescriptor> {
    const pin = this.pin()
    const mbuf = this._mbuf
    return {
      buffer: mbuf.buffer,
      byteOffset: mbuf.byteOffset + this._off,
      format: this._fmt.str,
      itemsize: this._itemsize,
      shape: this._shape.slice(),
      strides: this._strides.slice(),
      readonly: this._readonly,
      release: () => pin.release(),
    }
  }

  // ---------------------------------------------------------------- plain-JS conversions

  /**
   * `tobytes()`: a copy of the view's bytes in C order, so that `Buffer.from(view)` (which calls
   * `valueOf()` first) gives Python's `bytes(m)` instead of reading `view[0..length)` as zeros.
   * Never an alias of the memory: a readonly view must not hand out writable bytes.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after release().
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for more than buffer.constants.MAX_LENGTH bytes, as tobytes().
   */
  valueOf(): Buffer {
    return this.tobytes()
  }

  /**
   * Every conversion to a primitive (`'' + view`, `` `${view}` ``, `view == 'x'`, `+view`) uses
   * toString(), as it did before valueOf() returned bytes, and never copies the memory.
   */
  [Symbol.toPrimitive](): string {
    return this.toString()
  }

  /**
   * What `JSON.stringify(view)` writes: the view's layout, never its data and never internal fields.
   * `{ type: 'memoryview', format, itemsize, shape, strides, readonly, nbytes }`, or
   * `{ type: 'memoryview', released: true }` after release(). Never throws.
   */
  toJSON(): MemoryViewJSON {
    if (this.released) return { type: 'memoryview', released: true }
    return {
      type: 'memoryview',
      format: this._fmt.str,
      itemsize: this._itemsize,
      shape: this._shape.slice(),
      strides: this._strides.slice(),
      readonly: this._readonly,
      nbytes: product(this._shape) * this._itemsize,
    }
  }

  // ---------------------------------------------------------------- display

  /**
   * Python's repr(m): `<memory at 0x…>` or `<released memory at 0x…>`. The number is the view's own:
   * the same on every call, different for every view (views are numbered when first shown).
   */
  toString(): string {
    const addr = (0x7f0000000000 + this._id * 0x40).toString(16)
    return `<${this.released ? 'released ' : ''}memory at 0x${addr}>`
  }

  /** What `util.inspect()` and `console.log()` show: the repr with format, shape and readonly. */
  [inspect.custom](): string {
    if (this.released) return this.toString()
    const ro = this._readonly ? ' readonly' : ''
    return `${this.toString().slice(0, -1)} format '${this._fmt.str}' shape [${this._shape.join(', ')}]${ro}>`
  }
}

const EMPTY: readonly number[] = Object.freeze([])

/** The JSON form of a view ({@link MemoryView.toJSON}). */
export type MemoryViewJSON =
  | {
      /** Always `'memoryview'`: what kind of object this JSON describes. */
      type: 'memoryview'
      /** The view's struct format string, as `format`. */
      format: string
      /** Bytes per element, as `itemsize`. */
      itemsize: number
      /** Elements per dimension, as `shape`. */
      shape: number[]
      /** Bytes between consecutive elements of each dimension, as `strides`. */
      strides: number[]
      /** Whether the view refuses stores, as `readonly`. */
      readonly: boolean
      /** Bytes the view's elements span (`itemsize` × product of `shape`), as `nbytes`. */
      nbytes: number
    }
  | {
      /** Always `'memoryview'`: what kind of object this JSON describes. */
      type: 'memoryview'
      /** Present (and true) only for a released view, which has no layout left to describe. */
      released: true
    }
const PIN_TOKEN = Symbol('memoryview.pin')

/**
 * An export of a view (Python's exported buffer). While it is held the view cannot be released and
 * external memory under it cannot be closed. release() is idempotent; `using` works too.
 */
export class Pin implements Disposable {
  /** @internal First own field: structuredClone()/postMessage() of a pin (an export of this process) fail with ERR_MEMORYVIEW_NOT_CLONEABLE instead of giving `{}`. */
  readonly _noclone: object = NOT_CLONEABLE_GUARD
  #view: MemoryView<string> | null

  /**
   * @internal Pins come from {@link MemoryView.pin}.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG when called directly.
   */
  constructor(token: symbol, view: MemoryView<string>) {
    if (token !== PIN_TOKEN) {
      throw typeError(codes.INVALID_ARG, 'Pin objects cannot be constructed: take one with view.pin() or owner.lease()')
    }
    this.#view = view
    view._exports++
    view._mbuf.addExport(1)
  }

  /** True once released. */
  get released(): boolean {
    return this.#view === null
  }

  /** Ends the export. Idempotent. */
  release(): void {
    const view = this.#view
    if (view === null) return
    this.#view = null
    view._exports--
    view._mbuf.addExport(-1)
  }

  /** `using p = view.pin()`: release() at the end of the scope. */
  [Symbol.dispose](): void {
    this.release()
  }
}

/**
 * `memoryview(source)`: the same as `new MemoryView(source)`. The view's format type is inferred from
 * the source ({@link FormatOfSource}): `memoryview(new Float64Array(n))` is a `MemoryView<'d'>`.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_SOURCE when `source` is not a source.
 * @throws {Error} ERR_MEMORYVIEW_RELEASED when `source` is a released view.
 */
export function memoryview<S extends Source | MemoryView<string>>(source: S): MemoryView<FormatOfSource<S>>
export function memoryview(source: Source | MemoryView<string>): MemoryView<string> {
  return new MemoryView(source)
}

/**
 * The type of the `MemoryView` class as the package exports it: `new MemoryView(source)` infers
 * the view's format from the source, as {@link memoryview} does (a class constructor cannot take
 * its own type parameters, so the export is typed through this interface; the value is the class).
 */
export interface MemoryViewConstructor {
  /**
   * A view of `source`: an ArrayBuffer, SharedArrayBuffer, ArrayBufferView, MemoryView, mapped
   * file, shared memory or buffer-protocol object. The format type comes from the source
   * ({@link FormatOfSource}: `Float64Array` → `MemoryView<'d'>`, `Buffer` → `MemoryView<'B'>`).
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_SOURCE when `source` is none of those.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED when `source` is a released view.
   */
  new <S extends Source | MemoryView<string>>(source: S): MemoryView<FormatOfSource<S>>
  /** The prototype shared by every view: `x instanceof MemoryView` narrows `x` to `MemoryView`. */
  readonly prototype: MemoryView
}
