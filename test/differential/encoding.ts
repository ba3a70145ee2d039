/**
 * The shared result encoding, the JS side of it, and the CPython-exception → JS-error
 * mapping of the common brief.
 *
 * Encoded values: `{i: '123'}` integer (a Python int; a JS number that must be integral,
 * or a bigint where the format gives bigints), `{f: 'nan' | <IEEE double bits, hex>}`
 * float (bit-exact, so -0 and inf are distinguished), `{b: true}` bool, `{y: 'hex'}`
 * bytes, `{s: '...'}` string, arrays for lists/tuples, null for None/undefined.
 * A result is `{v: value}` or an error: `{e: [PythonType, message]}` from the oracle,
 * `{E: [class, code]}` from this package.
 */
import { BufferError } from 'memoryview'
import { formatInfo } from './cases'

export type Enc = null | { i: string } | { f: string } | { b: boolean } | { y: string } | { s: string } | { bad: string } | Enc[]

export function encFloat (x: number): Enc {
  if (Number.isNaN(x)) return { f: 'nan' }
  const b = Buffer.alloc(8)
  b.writeDoubleBE(x)
  return { f: b.toString('hex') }
}

const describe = (x: unknown): string =>
  typeof x === 'bigint' ? `bigint ${x}` : typeof x === 'object' && x !== null ? `${x.constructor?.name ?? 'object'}` : `${typeof x} ${String(x)}`

/**
 * Encodes an element value read from a view of format `fmt`, checking that its JS type
 * is the one API.md gives for that format (number / bigint / boolean / 1-byte Buffer).
 */
export function encElement (fmt: string, x: unknown): Enc {
  const info = formatInfo(fmt)
  if (info === undefined) return { bad: `element of unknown format ${fmt}: ${describe(x)}` }
  switch (info.kind) {
    case 'bool':
      return typeof x === 'boolean' ? { b: x } : { bad: `expected boolean, got ${describe(x)}` }
    case 'char':
      return Buffer.isBuffer(x) && x.length === 1 ? { y: x.toString('hex') } : { bad: `expected a 1-byte Buffer, got ${describe(x)}` }
    case 'float':
      return typeof x === 'number' ? encFloat(x) : { bad: `expected number, got ${describe(x)}` }
    default: {
      // 8-byte integer formats (q Q l L n N P here) give bigints, the others numbers.
      if (info.size === 8) return typeof x === 'bigint' ? { i: x.toString() } : { bad: `expected bigint, got ${describe(x)}` }
      return typeof x === 'number' && Number.isInteger(x) ? { i: String(x) } : { bad: `expected integral number, got ${describe(x)}` }
    }
  }
}

/** Elements nested `ndim` deep (tolist of an n-d view; the scalar for 0-d). */
export function encNested (fmt: string, x: unknown, ndim: number): Enc {
  if (ndim === 0) return encElement(fmt, x)
  if (!Array.isArray(x)) return { bad: `expected an array, got ${describe(x)}` }
  return x.map(y => encNested(fmt, y, ndim - 1))
}

/** Attribute values: numbers must be integral numbers (Python ints), never bigints. */
export function encPlain (x: unknown): Enc {
  if (x === null || x === undefined) return null
  if (typeof x === 'boolean') return { b: x }
  if (typeof x === 'number') return Number.isInteger(x) ? { i: String(x) } : { bad: `non-integral ${x}` }
  if (typeof x === 'string') return { s: x }
  if (Array.isArray(x)) return x.map(encPlain)
  if (Buffer.isBuffer(x)) return { y: x.toString('hex') }
  return { bad: describe(x) }
}

export interface JsError { E: [string, string], msg: string }

export function encError (e: unknown): JsError {
  if (!(e instanceof Error)) return { E: ['non-Error', String(e)], msg: '' }
  const cls = e instanceof BufferError
    ? 'BufferError'
    : e instanceof TypeError ? 'TypeError' : e instanceof RangeError ? 'RangeError' : e.constructor === Error ? 'Error' : `other:${e.constructor.name}`
  const code = (e as { code?: unknown }).code
  return { E: [cls, typeof code === 'string' ? code : `<no code: ${e.message}>`], msg: e.message }
}

/**
 * The common brief's mapping: CPython exception type + message → JS class + code.
 * First matching row wins; an exception no row matches is an error of the test itself.
 */
const MAPPING: Array<[string, RegExp, string, string]> = [
  ['ValueError', /^operation forbidden on released memoryview object$/, 'Error', 'ERR_MEMORYVIEW_RELEASED'],
  ['TypeError', /^cannot modify read-only memory$/, 'TypeError', 'ERR_MEMORYVIEW_READONLY'],
  ['IndexError', /./, 'RangeError', 'ERR_MEMORYVIEW_INDEX'],
  ['BufferError', /^memoryview has \d+ exported buffers?$/, 'BufferError', 'ERR_MEMORYVIEW_EXPORTED'],
  ['NotImplementedError', /./, 'Error', 'ERR_MEMORYVIEW_NOT_IMPLEMENTED'],
  ['TypeError', /a bytes-like object is required/, 'TypeError', 'ERR_MEMORYVIEW_INVALID_SOURCE'],
  ['TypeError', /^memoryview: invalid slice key$|^cannot index \d+-dimension view with \d+-element tuple$|^invalid indexing of 0-dim memory$|^slice indices must be integers/, 'TypeError', 'ERR_MEMORYVIEW_INVALID_INDEX'],
  ['ValueError', /^memoryview: invalid value for format '.+'$/, 'RangeError', 'ERR_MEMORYVIEW_INVALID_VALUE'],
  ['OverflowError', /^float too large to pack with e format$/, 'RangeError', 'ERR_MEMORYVIEW_INVALID_VALUE'],
  ['TypeError', /^memoryview: invalid type for format '.+'$/, 'TypeError', 'ERR_MEMORYVIEW_INVALID_TYPE'],
  ['ValueError', /^memoryview assignment: lvalue and rvalue have different structures$/, 'TypeError', 'ERR_MEMORYVIEW_STRUCTURE'],
  ['ValueError', /^memoryview: (destination|source) format must be a native single character format/, 'TypeError', 'ERR_MEMORYVIEW_FORMAT'],
  ['TypeError', /^memoryview: (cast must be 1D -> ND or ND -> 1D|casts are restricted to C-contiguous views|cannot cast view with zeros in shape or strides|cannot cast between two non-byte formats|product\(shape\) \* itemsize != buffer size|length is not a multiple of itemsize)$/, 'TypeError', 'ERR_MEMORYVIEW_CAST'],
  ['ValueError', /^memoryview\.cast\(\): elements of shape must be integers > 0$|^memoryview: number of dimensions must not exceed 64$|^slice step cannot be zero$/, 'RangeError', 'ERR_MEMORYVIEW_OUT_OF_RANGE'],
  ['TypeError', /^shape must be a list or a tuple$|^memoryview\.cast\(\): elements of shape must be integers$|^cast\(\) argument 'format' must be str|^tobytes\(\) argument 'order' must be str or None|^object of type '.+' has no len\(\)$|^'float' object cannot be interpreted as an integer$/, 'TypeError', 'ERR_MEMORYVIEW_INVALID_ARG'],
  ['ValueError', /^order must be 'C', 'F' or 'A'$|^sep must be length 1\.$|^sep must be ASCII\.$/, 'TypeError', 'ERR_MEMORYVIEW_INVALID_ARG'],
  ['ValueError', /^cannot hash writable memoryview object$|^memoryview: hashing is restricted to formats 'B', 'b' or 'c'$/, 'TypeError', 'ERR_MEMORYVIEW_HASH']
]

export function mapPythonError (type: string, msg: string): [string, string] {
  for (const [t, re, cls, code] of MAPPING) {
    if (t === type && re.test(msg)) return [cls, code]
  }
  throw new Error(`differential: no mapping row for CPython ${type}: ${JSON.stringify(msg)} — extend MAPPING in test/differential/encoding.ts`)
}

/**
 * Rewrites an oracle result into what this package must produce: Python errors become
 * [class, code] pairs. Throws on an unmapped Python exception.
 */
export function expected (x: unknown): unknown {
  if (Array.isArray(x)) return x.map(expected)
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(o)) {
      if (k === 'e' && Array.isArray(o.e)) {
        const [t, m] = o.e as [string, string]
        out.E = mapPythonError(t, m)
      } else out[k] = expected(o[k])
    }
    return out
  }
  return x
}

/** Drops the message from JS errors (compared separately: it must start with 'memoryview: '). */
export function comparable (x: unknown, badMessages: string[]): unknown {
  if (Array.isArray(x)) return x.map(y => comparable(y, badMessages))
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>
    // API.md fixes one message that does not start so: CPython's "memoryview has 1 exported buffer".
    const fixed = typeof o.msg === 'string' && /^memoryview has \d+ exported buffers?$/.test(o.msg)
    if (Array.isArray(o.E) && !fixed && (typeof o.msg !== 'string' || !o.msg.startsWith('memoryview: '))) {
      badMessages.push(`${String(o.E)}: ${String(o.msg)}`)
    }
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(o)) if (!(k === 'msg' && Array.isArray(o.E))) out[k] = comparable(o[k], badMessages)
    return out
  }
  return x
}

/** Order-independent JSON of a value, for equality. */
export function canon (x: unknown): string {
  if (Array.isArray(x)) return '[' + x.map(canon).join(',') + ']'
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>
    return '{' + Object.keys(o).sort().map(k => JSON.stringify(k) + ':' + canon(o[k])).join(',') + '}'
  }
  return JSON.stringify(x) ?? 'undefined'
}
