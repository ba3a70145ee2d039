/**
 * Sequentially consistent per-element atomics on integer views over memory other threads and
 * processes see: `load store add sub and or xor exchange compareExchange`, installed on
 * MemoryView.prototype.
 *
 * Mechanism (chosen by measurement, bench/13-atomics.ts): JS `Atomics` over a TypedArray of the
 * view's memory. V8 compiles Atomics.add and friends to lock-prefixed instructions (x86) or
 * load-/store-exclusive loops (arm64) whether or not the ArrayBuffer is a SharedArrayBuffer, so on a
 * mapping shared between processes they are atomic across processes too (test/101.atomics.test.ts:
 * 4 processes × 1,000,000 add(0, 1) end at exactly 4,000,000, where plain `ta[0]++` loses updates).
 * A native call per operation would cost 20–130 ns against a few ns.
 *
 * Assumptions: the fast path serves one index on a 1-D view with unit stride through the view's own
 * element TypedArray (`_ta1`; writes also check `_readonly`), once the slow path has verified the view's
 * managed buffer (shareable memory) and format (atomic, aligned): a one-entry cache of the last
 * verified pair, so that no field is added to views. Everything else — other views, n-D, bigint
 * indices, errors — goes through the slow path, which checks in this order: released, format,
 * memory, alignment, readonly (for writes), indices (as get/set), values (as set), then the bytes.
 */
import { codes, rangeError, readonlyError, typeError } from './errors'
import type { Format, TypedArray } from './format'
import type { ManagedBuffer } from './managed-buffer'
import { MemoryView } from './memoryview'
import type { Index } from './memoryview'
import { unshareableReason } from './share'
import type { FormatString, StoreValueOf, ValueOf } from './value-types'

/** The struct letters with atomic operations: the integer letters of fixed size. */
export type AtomicFormatChar = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'q' | 'Q'
/**
 * The formats with atomic operations: integer letters in native byte order and size, alone or with
 * `@`, `=` or `<` (little-endian machines; `>` and `!` are refused at run time there).
 */
export type AtomicFormat = AtomicFormatChar | `${'@' | '=' | '<'}${AtomicFormatChar}`
/**
 * What an atomic operation on a view of format `F` returns: `number` for `b B h H i I`, `bigint` for
 * `q Q`; `never` for formats without atomics (a call does not type-check); both for a `string` format.
 */
export type AtomicValueOf<F extends string> = F extends AtomicFormat ? ValueOf<F> : F extends FormatString ? never : number | bigint
/** What an atomic operation on a view of format `F` takes as a value: what `set()` takes, for atomic formats. */
export type AtomicStoreOf<F extends string> = F extends AtomicFormat
  ? StoreValueOf<F>
  : F extends FormatString ? never : number | bigint | boolean

declare module './memoryview' {
  interface MemoryView<F extends string = FormatString> {
    /**
     * `Atomics.load`: the element's value, read atomically. Indices as `get()` (negative ones count
     * from the end; one per dimension, none on a 0-d view).
     * @throws {TypeError} ERR_MEMORYVIEW_NOT_ATOMIC for a format without atomics (floats, `?`, `c`,
     *   non-native byte order); ERR_MEMORYVIEW_NOT_SHAREABLE for memory other threads and processes
     *   cannot see (heap ArrayBuffers, 'read'/'copy' mappings).
     * @throws {RangeError} ERR_MEMORYVIEW_UNALIGNED when the view's elements are not aligned to their size.
     * @throws {RangeError} ERR_MEMORYVIEW_INDEX, {TypeError} ERR_MEMORYVIEW_INVALID_INDEX as get().
     * @throws {Error} ERR_MEMORYVIEW_RELEASED after release() or when the mapping was closed.
     */
    load(...indices: Index[]): AtomicValueOf<F>
    /**
     * `Atomics.store`: writes `value` atomically and returns the value stored (as `Atomics.store`
     * does; {@link MemoryView.exchange} returns the previous value).
     * @throws {TypeError} ERR_MEMORYVIEW_READONLY on a readonly view; ERR_MEMORYVIEW_INVALID_TYPE for a
     *   value of the wrong kind; NOT_ATOMIC, NOT_SHAREABLE as {@link MemoryView.load}.
     * @throws {RangeError} ERR_MEMORYVIEW_INVALID_VALUE for a value out of the format's range (as set());
     *   UNALIGNED, INDEX as {@link MemoryView.load}.
     * @throws {Error} ERR_MEMORYVIEW_RELEASED after release().
     */
    store(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `store(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    store(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.add`: adds `value` (wrapping around, as the format's C type) and returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    add(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `add(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    add(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.sub`: subtracts `value` (wrapping around) and returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    sub(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `sub(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    sub(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.and`: bitwise AND with `value`; returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    and(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `and(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    and(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.or`: bitwise OR with `value`; returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    or(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `or(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    or(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.xor`: bitwise XOR with `value`; returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    xor(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `xor(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    xor(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.exchange`: stores `value` and returns the previous value.
     * @throws errors as {@link MemoryView.store}.
     */
    exchange(i: Index, value: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `exchange(i0, i1, …, value)`: the same on a view of several dimensions, one index per dimension. */
    exchange(...indicesThenValue: [...indices: Index[], value: AtomicStoreOf<F>]): AtomicValueOf<F>
    /**
     * `Atomics.compareExchange`: stores `replacement` if the element equals `expected`, and returns
     * the previous value either way (it equals `expected` exactly when the store happened). Both
     * values are checked as set() checks a value: out of the format's range is a RangeError.
     * @throws errors as {@link MemoryView.store}.
     */
    compareExchange(i: Index, expected: AtomicStoreOf<F>, replacement: AtomicStoreOf<F>): AtomicValueOf<F>
    /** `compareExchange(i0, i1, …, expected, replacement)`: the same on a view of several dimensions. */
    compareExchange(
      ...indicesThenValues: [...indices: Index[], expected: AtomicStoreOf<F>, replacement: AtomicStoreOf<F>]
    ): AtomicValueOf<F>
  }
}

// TypedArray element types are checked by the slow path; `Atomics` is typed for Int32Array/BigInt64Array.
type AnyTa = Int32Array
type Num = number

/** The last (managed buffer, format) pair the slow path verified; see the file comment. */
let okMbuf: ManagedBuffer | null = null
let okFmt: Format | null = null

interface Op {
  readonly name: string
  /** How many values follow the indices. */
  readonly values: 0 | 1 | 2
  readonly run: (ta: AnyTa, k: number, a: Num, b: Num) => Num
}

const OPS = {
  load: { name: 'load', values: 0, run: (ta, k) => Atomics.load(ta, k) },
  store: { name: 'store', values: 1, run: (ta, k, a) => Atomics.store(ta, k, a) },
  add: { name: 'add', values: 1, run: (ta, k, a) => Atomics.add(ta, k, a) },
  sub: { name: 'sub', values: 1, run: (ta, k, a) => Atomics.sub(ta, k, a) },
  and: { name: 'and', values: 1, run: (ta, k, a) => Atomics.and(ta, k, a) },
  or: { name: 'or', values: 1, run: (ta, k, a) => Atomics.or(ta, k, a) },
  xor: { name: 'xor', values: 1, run: (ta, k, a) => Atomics.xor(ta, k, a) },
  exchange: { name: 'exchange', values: 1, run: (ta, k, a) => Atomics.exchange(ta, k, a) },
  compareExchange: { name: 'compareExchange', values: 2, run: (ta, k, a, b) => Atomics.compareExchange(ta, k, a, b) },
} satisfies Record<string, Op>

const ATOMIC_LETTERS = 'bBhHiIqQ'

/** @internal Throws unless atomics on `view` are possible: format, memory, alignment. */
export function checkAtomic(view: MemoryView<string>): void {
  const fmt = view._fmt
  if (fmt.char === '' || !ATOMIC_LETTERS.includes(fmt.char) || fmt.typed === null) {
    throw typeError(
      codes.NOT_ATOMIC,
      `format '${fmt.str}' has no atomic operations: use an integer format (b B h H i I q Q) in native byte order, e.g. view.cast('i')`,
    )
  }
  const why = unshareableReason(view._mbuf.buffer)
  if (why !== null) {
    throw typeError(
      codes.NOT_SHAREABLE,
      `atomic operations need memory other threads and processes can see, and ${why}; use a SharedArrayBuffer, ` +
        "a SharedMemory or a file mapped with access 'write'",
    )
  }
  const size = fmt.itemsize
  if ((view._mbuf.byteOffset + view._off) % size !== 0 || view._strides.some((s) => s % size !== 0)) {
    throw rangeError(
      codes.UNALIGNED,
      `atomic operations need elements aligned to their size (${size} bytes); this view's elements are not: ` +
        'start it at a multiple of the item size',
    )
  }
}

/** Every call the fast path did not serve: checks everything, then primes the fast path. */
function slow(view: MemoryView<string>, op: Op, args: IArguments): unknown {
  view._checkReleased()
  checkAtomic(view)
  if (op.values > 0 && view._readonly) throw readonlyError()
  const all = Array.prototype.slice.call(args) as unknown[]
  const n = all.length - op.values
  if (n < 0) {
    const what = op.values === 1 ? 'a value' : 'the expected and the replacement values'
    throw typeError(codes.INVALID_ARG, `${op.name}() needs ${what} after the indices`)
  }
  const lookup = (view as unknown as { _lookupTuple(k: unknown[], m: string, a: unknown[]): number })._lookupTuple
  const offset = n === 0 && view._ndim === 0 ? view._off : lookup.call(view, all.slice(0, n), op.values > 0 ? 'set' : 'get', all)
  const a = op.values > 0 ? view._fmt.convert(all[n]) : 0
  const b = op.values > 1 ? view._fmt.convert(all[n + 1]) : 0
  view._live()
  const mbuf = view._mbuf
  const fmt = view._fmt
  const ta = new fmt.typed!(mbuf.buffer, mbuf.byteOffset + offset, 1) as TypedArray
  okMbuf = mbuf
  okFmt = fmt
  return op.run(ta as AnyTa, 0, a as Num, b as Num)
}

// The fast paths are written out one by one: closures made by one factory would share their type
// feedback and turn every Atomics call site polymorphic.
function load(this: MemoryView<string>, i?: unknown): unknown {
  if (arguments.length === 1 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.load(ta as AnyTa, k)
    }
  }
  return slow(this, OPS.load, arguments)
}

function store(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.store(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.store, arguments)
}

function add(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.add(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.add, arguments)
}

function sub(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.sub(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.sub, arguments)
}

function and(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.and(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.and, arguments)
}

function or(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.or(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.or, arguments)
}

function xor(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.xor(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.xor, arguments)
}

function exchange(this: MemoryView<string>, i?: unknown, v?: unknown): unknown {
  if (arguments.length === 2 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) return Atomics.exchange(ta as AnyTa, k, this._fmt.convert(v) as Num)
    }
  }
  return slow(this, OPS.exchange, arguments)
}

function compareExchange(this: MemoryView<string>, i?: unknown, e?: unknown, r?: unknown): unknown {
  if (arguments.length === 3 && typeof i === 'number' && this._mbuf === okMbuf && this._fmt === okFmt) {
    const ta = this._ta1
    if (ta !== null && !this._readonly) {
      const k = i < 0 ? i + this._len0 : i
      if (k >>> 0 === k && k < ta.length) {
        // Both converted before the exchange: a bad replacement must not leave a half-done operation.
        const expected = this._fmt.convert(e) as Num
        return Atomics.compareExchange(ta as AnyTa, k, expected, this._fmt.convert(r) as Num)
      }
    }
  }
  return slow(this, OPS.compareExchange, arguments)
}

// Non-enumerable like class methods, so that views look the same to for-in and spread as before.
for (const [name, value] of Object.entries({ load, store, add, sub, and, or, xor, exchange, compareExchange })) {
  Object.defineProperty(MemoryView.prototype, name, { value, writable: true, configurable: true, enumerable: false })
}
