/**
 * Struct format strings: parsing, item sizes, and the per-format element readers and writers.
 *
 * Assumptions: a view's element format is one item of Python's `struct` syntax. Native formats
 * (no prefix or `@`) use this machine's sizes and byte order (`l L n N P` are 8 bytes on the 64-bit
 * platforms Node supports); byte-order prefixes `< > = !` use struct's standard sizes. Formats with
 * several items (`'2i'`, `'hx'`) are accepted from buffer-protocol exporters and keep their item size,
 * but element access refuses them as CPython does (NotImplementedError).
 *
 * Readers and writers take a DataView over the managed buffer and a byte offset inside it; they are the
 * element-access hot path, so each is a small monomorphic closure chosen once per format.
 */
import { codes, notImplemented, rangeError, typeError, typeName } from './errors'
import { f16ToNumber, numberToF16 } from './float16'
import { typedArrayTag, viewByteLength } from './intrinsics'

export const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** A JS element value: numbers, bigints for 8-byte integer formats, booleans for '?', a 1-byte Buffer for 'c'. */
export type Value = number | bigint | boolean | Buffer

export type Reader = (dv: DataView, offset: number) => Value
export type Writer = (dv: DataView, offset: number, value: unknown) => void

export interface Format {
  /** The format string exactly as the view reports it. */
  readonly str: string
  /** The struct letter for single-item formats, '' for formats element access does not support. */
  readonly char: string
  readonly itemsize: number
  /** True when the format has no byte-order prefix or '@' (CPython's "native single character"). */
  readonly native: boolean
  readonly littleEndian: boolean
  readonly read: Reader
  readonly write: Writer
  /** Validates a value for a store; returns what a TypedArray of `typed` (or the writer) stores. */
  readonly convert: (value: unknown) => number | bigint
  /** A TypedArray whose plain element reads return this format's values, or null. */
  readonly typed: TypedArrayCtor | null
  /**
   * True when two views of this same format are equal exactly when their bytes are: not for floats
   * (NaN, -0) nor for non-native '?' (compared as bools); native '?' compares bytes, as CPython's _Bool.
   */
  readonly bytewise: boolean
}

/** Struct letters and their native sizes on this platform. */
const NATIVE_SIZES: Record<string, number> = {
  c: 1, b: 1, B: 1, '?': 1, h: 2, H: 2, i: 4, I: 4, l: 8, L: 8, q: 8, Q: 8, n: 8, N: 8, f: 4, d: 8, e: 2, P: 8,
}
/** Struct's standard sizes (with a byte-order prefix); n, N and P have none. */
const STANDARD_SIZES: Record<string, number> = {
  c: 1, b: 1, B: 1, '?': 1, h: 2, H: 2, i: 4, I: 4, l: 4, L: 4, q: 8, Q: 8, f: 4, d: 8, e: 2,
}

const INT_RANGES: Record<string, [bigint, bigint]> = {}
for (const [signed, unsigned, bytes] of [['b', 'B', 1], ['h', 'H', 2], ['i', 'I', 4], ['q', 'Q', 8]] as const) {
  const bits = BigInt(bytes * 8)
  INT_RANGES[signed + bytes] = [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n]
  INT_RANGES[unsigned + bytes] = [0n, (1n << bits) - 1n]
}
const SIGNED = new Set(['b', 'h', 'i', 'l', 'q', 'n'])

/**
 * The kind of JS value each struct letter reads as: the runtime half of the format → value-type
 * table. lib/value-types.ts derives the public types (`ValueOf<F>`) from this object's type, so the
 * two cannot drift; test/63.value-types.test.ts checks every reader against it.
 */
export const VALUE_KINDS = {
  b: 'number', B: 'number', h: 'number', H: 'number', i: 'number', I: 'number',
  f: 'number', d: 'number', e: 'number',
  l: 'bigint', L: 'bigint', q: 'bigint', Q: 'bigint', n: 'bigint', N: 'bigint', P: 'bigint',
  '?': 'boolean',
  c: 'bytes',
} as const

const BIGINT_LETTERS = new Set(Object.keys(VALUE_KINDS).filter((k) => VALUE_KINDS[k as keyof typeof VALUE_KINDS] === 'bigint'))

const cache = new Map<string, Format | null>()

/** Parses a single-item format ('B', '@d', '<h', '>Q'); returns null for anything else. */
export function parseSingleFormat(str: string): Format | null {
  let f = cache.get(str)
  if (f !== undefined) return f
  f = buildSingle(str)
  if (cache.size < 1024) cache.set(str, f)
  return f
}

function buildSingle(str: string): Format | null {
  let prefix = ''
  let letter = str
  if (str.length === 2 && '@<>=!'.includes(str[0])) {
    prefix = str[0]
    letter = str[1]
  }
  if (letter.length !== 1) return null
  const native = prefix === '' || prefix === '@'
  const itemsize = (native ? NATIVE_SIZES : STANDARD_SIZES)[letter]
  if (itemsize === undefined) return null
  const le = prefix === '<' ? true : prefix === '>' || prefix === '!' ? false : NATIVE_LITTLE_ENDIAN
  const convert = makeConverter(str, letter, itemsize)
  return {
    str,
    char: letter,
    itemsize,
    native,
    littleEndian: le,
    read: makeReader(letter, itemsize, le),
    write: makeWriter(convert, letter, itemsize, le),
    convert,
    typed: typedFor(letter, itemsize, le),
    bytewise: letter !== 'f' && letter !== 'd' && letter !== 'e' && (letter !== '?' || native),
  }
}

/**
 * Any struct format an exporter may hand us. Single-item formats get full element access; others
 * only get an item size (from `itemsize` when the exporter gives one, else struct's calcsize).
 * Returns null when no item size can be determined.
 */
export function parseAnyFormat(str: string, itemsize?: number): Format | null {
  const single = parseSingleFormat(str)
  if (single !== null && (itemsize === undefined || itemsize === single.itemsize)) return single
  const size = itemsize ?? calcsize(str)
  if (size === null || size <= 0) return null
  const unsupported = (): never => {
    throw unsupportedFormat(str)
  }
  return {
    str, char: '', itemsize: size, native: false, littleEndian: NATIVE_LITTLE_ENDIAN,
    read: unsupported, write: unsupported, convert: unsupported, typed: null, bytewise: false,
  }
}

/**
 * CPython's NotImplementedError for element access through a multi-item format. CPython's own message
 * ("memoryview: unsupported format 2i") carries the prefix that the error factory adds.
 */
export function unsupportedFormat(str: string): Error {
  return notImplemented(
    `unsupported format '${str}': element access needs a single-item format such as 'B', 'i' or '<d'; ` +
      "cast('B') reads the bytes",
  )
}

/**
 * A JS value as error messages show it: its type and, for primitives, the value itself (strings
 * and long bigints shortened), so that a message says what was actually passed.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string': {
      const s = v.length > 32 ? `${v.slice(0, 32)}…` : v
      return `string '${s}'`
    }
    case 'number': return `number ${Object.is(v, -0) ? '-0' : String(v)}`
    case 'bigint': return `bigint ${shortBigint(v)}n`
    case 'boolean': return `boolean ${String(v)}`
    case 'undefined': return 'undefined'
    case 'symbol': return 'a symbol'
    case 'function': return 'a function'
  }
  if (v === null) return 'null'
  // Intrinsic tag and length: a message must not run (or believe) a lying object's own getters.
  if (typedArrayTag(v) === 'Uint8Array') {
    const n = viewByteLength(v as Uint8Array)
    return `${typeName(v)} of ${n} byte${n === 1 ? '' : 's'}`
  }
  return `an object (${typeName(v)})`
}

/** A bigint's decimal digits, shortened to its first digits and its length when it is long. */
function shortBigint(v: bigint): string {
  const s = String(v)
  return s.length > 40 ? `${s.slice(0, 20)}…(${s.replace('-', '').length} digits)` : s
}

/** CPython's get_native_fmtchar(): the letter of a native single-character format, or '' if it is not one. */
export function nativeChar(fmt: Format): string {
  return fmt.native ? fmt.char : ''
}

export const isByteFormat = (fmt: Format): boolean => fmt.char === 'B' || fmt.char === 'b' || fmt.char === 'c'

/** Struct's calcsize() for the subset of struct syntax exporters use; null when it cannot parse. */
export function calcsize(str: string): number | null {
  let i = 0
  let native = true
  if (i < str.length && '@<>=!'.includes(str[i])) {
    native = str[i] === '@'
    i++
  }
  let size = 0
  while (i < str.length) {
    const ch = str[i]
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      i++
      continue
    }
    let count = 1
    if (ch >= '0' && ch <= '9') {
      let j = i
      while (j < str.length && str[j] >= '0' && str[j] <= '9') j++
      count = Number(str.slice(i, j))
      i = j
      if (i >= str.length) return null
    }
    const letter = str[i++]
    if (letter === 's' || letter === 'p' || letter === 'x') {
      size += count
      continue
    }
    const item = (native ? NATIVE_SIZES : STANDARD_SIZES)[letter]
    if (item === undefined) return null
    if (native && size % item !== 0) size += item - (size % item)
    size += item * count
  }
  return size
}

/**
 * An element of format 'c': a 1-byte Buffer (Python's bytes of length 1) in every respect but one,
 * its numeric value is its byte. A plain Buffer converts to a number by parsing its text ('7' → 7,
 * '\x05' → NaN → 0), so `new Uint8Array(cView)` gave silently wrong bytes; this gives bytes(m).
 */
class CharByte extends Uint8Array {}
Object.setPrototypeOf(CharByte.prototype, Buffer.prototype)
Object.defineProperties(CharByte.prototype, {
  // util.inspect and `b.constructor` then say Buffer, as for any other Buffer.
  constructor: { value: Buffer, writable: true, configurable: true },
  [Symbol.toPrimitive]: {
    value(this: Buffer, hint: string): number | string {
      return hint === 'number' ? this[0] : this.toString()
    },
    configurable: true,
  },
})

function charByte(byte: number): Buffer {
  const b = new CharByte(1)
  b[0] = byte
  return b as unknown as Buffer
}

function makeReader(letter: string, itemsize: number, le: boolean): Reader {
  switch (letter) {
    case 'b': return (dv, o) => dv.getInt8(o)
    case 'B': return (dv, o) => dv.getUint8(o)
    case '?': return (dv, o) => dv.getUint8(o) !== 0
    case 'c': return (dv, o) => charByte(dv.getUint8(o))
    case 'h': return (dv, o) => dv.getInt16(o, le)
    case 'H': return (dv, o) => dv.getUint16(o, le)
    case 'i': return (dv, o) => dv.getInt32(o, le)
    case 'I': return (dv, o) => dv.getUint32(o, le)
    case 'f': return (dv, o) => dv.getFloat32(o, le)
    case 'd': return (dv, o) => dv.getFloat64(o, le)
    case 'e': return (dv, o) => f16ToNumber(dv.getUint16(o, le))
    case 'l': case 'q': case 'n':
      return itemsize === 8 ? (dv, o) => dv.getBigInt64(o, le) : (dv, o) => BigInt(dv.getInt32(o, le))
    default: // L Q N P
      return itemsize === 8 ? (dv, o) => dv.getBigUint64(o, le) : (dv, o) => BigInt(dv.getUint32(o, le))
  }
}

/** A TypedArray constructor that can hold elements of a native-order format zero-copy. */
export type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray
  readonly BYTES_PER_ELEMENT: number
  readonly name: string
}
export type TypedArray =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array

const TYPED: Record<string, TypedArrayCtor> = {
  b: Int8Array, B: Uint8Array, h: Int16Array, H: Uint16Array, i: Int32Array, I: Uint32Array,
  f: Float32Array, d: Float64Array, q: BigInt64Array, Q: BigUint64Array,
}

/** The TypedArray for a format whose elements a plain typed-array read returns as-is, or null. */
function typedFor(letter: string, itemsize: number, le: boolean): TypedArrayCtor | null {
  if (le !== NATIVE_LITTLE_ENDIAN) return null
  const key = 'lnP'.includes(letter) ? (letter === 'P' ? 'Q' : 'q') : 'LN'.includes(letter) ? 'Q' : letter
  const Ctor = TYPED[key]
  return Ctor !== undefined && Ctor.BYTES_PER_ELEMENT === itemsize ? Ctor : null
}

/**
 * Validates a value for a store and returns what the memory receives: a number (a byte for 'c' and
 * '?', the 16 bits for 'e') or a bigint for 8-byte integers. Throws before anything is written.
 */
function makeConverter(str: string, letter: string, itemsize: number): (v: unknown) => number | bigint {
  // The messages are built only here, after a check failed: the converters sit on set()'s fast path.
  const expected =
    letter === 'c' ? 'a 1-byte Buffer or Uint8Array'
      : letter === 'f' || letter === 'd' || letter === 'e' ? 'a number, bigint or boolean'
        : 'an integral number, bigint or boolean'
  const invalidType = (v: unknown): never => {
    const why = typeof v === 'number' && letter !== 'c' ? ' (not an integer)' : ''
    throw typeError(codes.INVALID_TYPE, `invalid type for format '${str}': expected ${expected}, got ${describeValue(v)}${why}`)
  }
  const invalidValue = (v: unknown, lo?: bigint, hi?: bigint): never => {
    const shown = typeof v === 'bigint' ? shortBigint(v) : String(v)
    const detail = lo === undefined ? `expected ${expected}, got ${describeValue(v)}` : `${shown} is out of range [${lo}, ${hi}]`
    throw rangeError(codes.INVALID_VALUE, `invalid value for format '${str}': ${detail}`)
  }
  switch (letter) {
    case '?': return (v) => (v ? 1 : 0)
    case 'c':
      return (v) => {
        // Intrinsic tag and length: an own `length` on an empty Uint8Array must not store a 0.
        if (typedArrayTag(v) !== 'Uint8Array') return invalidType(v)
        if (viewByteLength(v as Uint8Array) !== 1) return invalidValue(v)
        return (v as Uint8Array)[0]
      }
    case 'f': case 'd': case 'e': {
      // What set() inlines is only the number test: the rest is a call. An optimized set() counts
      // what it inlined against the inlining budget of every loop it is inlined into afterwards, and
      // with this converter's other cases inlined too, set(i, j, k, v) on a 'd' view was sometimes
      // left as a call (about 11 ns per element instead of 1.8).
      const toDouble = (v: unknown): number => (typeof v === 'number' ? v : otherToDouble(v))
      const otherToDouble = (v: unknown): number => {
        if (typeof v === 'boolean') return v ? 1 : 0
        if (typeof v === 'bigint') {
          const d = Number(v)
          // CPython: "int too large to convert to float" (OverflowError).
          if (!Number.isFinite(d)) {
            throw rangeError(codes.INVALID_VALUE, `invalid value for format '${str}': int too large to convert to float (${shortBigint(v)})`)
          }
          return d
        }
        return invalidType(v)
      }
      if (letter !== 'e') return toDouble
      return (v) => {
        const bits = numberToF16(toDouble(v))
        if (bits < 0) {
          throw rangeError(
            codes.INVALID_VALUE,
            `float too large to pack with e format: ${describeValue(v)} rounds outside [-65504, 65504]`,
          )
        }
        return bits
      }
    }
  }
  const signed = SIGNED.has(letter)
  if (itemsize === 8) {
    // 'P' goes through PyLong_AsVoidPtr, which takes -2**63 .. 2**64-1 (negatives as two's complement).
    const min = letter === 'P' || signed ? INT_RANGES.q8[0] : 0n
    const max = signed ? INT_RANGES.q8[1] : INT_RANGES.Q8[1]
    // Only the common case inline, as for the doubles above; the checks in their order out of line.
    const checked = (v: unknown): bigint => {
      let b: bigint
      if (typeof v === 'bigint') b = v
      else if (typeof v === 'number') {
        // Any exactly-integral double is an int to Python; 0.5, NaN and Infinity are not.
        if (!Number.isInteger(v)) return invalidType(v)
        b = BigInt(v)
      } else if (typeof v === 'boolean') b = v ? 1n : 0n
      else return invalidType(v)
      if (b < min || b > max) return invalidValue(b, min, max)
      return b
    }
    return (v) => (typeof v === 'bigint' && v >= min && v <= max ? v : checked(v))
  }
  // 4-byte 'l'/'L' (standard sizes) share the 'i'/'I' range.
  const key = (BIGINT_LETTERS.has(letter) ? (signed ? 'i' : 'I') : letter) + itemsize
  const [blo, bhi] = INT_RANGES[key]
  const min = Number(blo)
  const max = Number(bhi)
  // Only the common case inline (an integral number in range: NaN fails the comparisons), as for
  // the doubles above; every check in its order, and the errors, out of line.
  const checked = (v: unknown): number => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) return invalidType(v)
      if (v < min || v > max) return invalidValue(v, blo, bhi)
      return v
    }
    if (typeof v === 'bigint') {
      if (v < blo || v > bhi) return invalidValue(v, blo, bhi)
      return Number(v)
    }
    if (typeof v === 'boolean') return v ? 1 : 0
    return invalidType(v)
  }
  return (v) => (typeof v === 'number' && v >= min && v <= max && Math.floor(v) === v ? v : checked(v))
}

function makeWriter(convert: (v: unknown) => number | bigint, letter: string, itemsize: number, le: boolean): Writer {
  const signed = SIGNED.has(letter)
  switch (letter) {
    case 'f': return (dv, o, v) => dv.setFloat32(o, typeof v === 'number' ? v : (convert(v) as number), le)
    case 'd': return (dv, o, v) => dv.setFloat64(o, typeof v === 'number' ? v : (convert(v) as number), le)
    case 'e': return (dv, o, v) => dv.setUint16(o, convert(v) as number, le)
  }
  switch (itemsize) {
    case 1:
      return signed ? (dv, o, v) => dv.setInt8(o, convert(v) as number) : (dv, o, v) => dv.setUint8(o, convert(v) as number)
    case 2:
      return signed
        ? (dv, o, v) => dv.setInt16(o, convert(v) as number, le)
        : (dv, o, v) => dv.setUint16(o, convert(v) as number, le)
    case 4:
      if (BIGINT_LETTERS.has(letter)) {
        return signed
          ? (dv, o, v) => dv.setInt32(o, Number(convert(v)), le)
          : (dv, o, v) => dv.setUint32(o, Number(convert(v)), le)
      }
      return signed
        ? (dv, o, v) => dv.setInt32(o, convert(v) as number, le)
        : (dv, o, v) => dv.setUint32(o, convert(v) as number, le)
    default:
      return signed
        ? (dv, o, v) => dv.setBigInt64(o, convert(v) as bigint, le)
        : (dv, o, v) => dv.setBigUint64(o, BigInt.asUintN(64, convert(v) as bigint), le)
  }
}
