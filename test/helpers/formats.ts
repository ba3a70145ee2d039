/**
 * An independent model of CPython's native struct formats on this machine (x86-64 Linux,
 * little-endian, `struct.calcsize('l') == 8`). Tests use it to predict what a view must
 * read from raw bytes without going through the code under test.
 */

export type Value = number | bigint | boolean | Buffer

export interface FormatInfo {
  /** Single format character, without prefix. */
  char: string
  itemsize: number
  kind: 'int' | 'bigint' | 'float' | 'bool' | 'char'
  /** Inclusive range for integer formats. */
  min?: bigint
  max?: bigint
}

const table: FormatInfo[] = [
  { char: 'c', itemsize: 1, kind: 'char' },
  { char: 'b', itemsize: 1, kind: 'int', min: -128n, max: 127n },
  { char: 'B', itemsize: 1, kind: 'int', min: 0n, max: 255n },
  { char: '?', itemsize: 1, kind: 'bool' },
  { char: 'h', itemsize: 2, kind: 'int', min: -(2n ** 15n), max: 2n ** 15n - 1n },
  { char: 'H', itemsize: 2, kind: 'int', min: 0n, max: 2n ** 16n - 1n },
  { char: 'i', itemsize: 4, kind: 'int', min: -(2n ** 31n), max: 2n ** 31n - 1n },
  { char: 'I', itemsize: 4, kind: 'int', min: 0n, max: 2n ** 32n - 1n },
  { char: 'l', itemsize: 8, kind: 'bigint', min: -(2n ** 63n), max: 2n ** 63n - 1n },
  { char: 'L', itemsize: 8, kind: 'bigint', min: 0n, max: 2n ** 64n - 1n },
  { char: 'q', itemsize: 8, kind: 'bigint', min: -(2n ** 63n), max: 2n ** 63n - 1n },
  { char: 'Q', itemsize: 8, kind: 'bigint', min: 0n, max: 2n ** 64n - 1n },
  { char: 'n', itemsize: 8, kind: 'bigint', min: -(2n ** 63n), max: 2n ** 63n - 1n },
  { char: 'N', itemsize: 8, kind: 'bigint', min: 0n, max: 2n ** 64n - 1n },
  { char: 'P', itemsize: 8, kind: 'bigint', min: 0n, max: 2n ** 64n - 1n },
  { char: 'f', itemsize: 4, kind: 'float' },
  { char: 'd', itemsize: 8, kind: 'float' },
  { char: 'e', itemsize: 2, kind: 'float' },
]

export const FORMATS: ReadonlyMap<string, FormatInfo> = new Map(table.map((f) => [f.char, f]))
/** Every native single-character format, in CPython's documentation order. */
export const FORMAT_CHARS: readonly string[] = table.map((f) => f.char)

/** Splits an optional prefix from the format character. */
export function parseFormat(format: string): { prefix: string; info: FormatInfo; littleEndian: boolean } {
  const prefix = format.length === 2 ? format[0] : ''
  const info = FORMATS.get(format[format.length - 1])
  if (info === undefined || format.length > 2) throw new Error(`test model: unknown format ${format}`)
  // '>' and '!' are big-endian; '@', '=', '<' and no prefix are little-endian on x86-64.
  const littleEndian = prefix !== '>' && prefix !== '!'
  return { prefix, info, littleEndian }
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >> 10) & 0x1f
  const frac = bits & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Reads one element of `format` at `offset` of `bytes`, as API.md says a view returns it. */
export function decode(format: string, bytes: Uint8Array, offset: number): Value {
  const { info, littleEndian: le } = parseFormat(format)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (info.char) {
    case 'c': return Buffer.from(bytes.subarray(offset, offset + 1))
    case 'b': return dv.getInt8(offset)
    case 'B': return dv.getUint8(offset)
    // CPython's '?' reads any non-zero byte as True.
    case '?': return dv.getUint8(offset) !== 0
    case 'h': return dv.getInt16(offset, le)
    case 'H': return dv.getUint16(offset, le)
    case 'i': return dv.getInt32(offset, le)
    case 'I': return dv.getUint32(offset, le)
    case 'l': case 'q': case 'n': return dv.getBigInt64(offset, le)
    case 'L': case 'Q': case 'N': case 'P': return dv.getBigUint64(offset, le)
    case 'f': return dv.getFloat32(offset, le)
    case 'd': return dv.getFloat64(offset, le)
    case 'e': return halfToNumber(dv.getUint16(offset, le))
  }
  throw new Error(`test model: unknown format ${format}`)
}

/** Decodes every element of a contiguous byte string. */
export function decodeAll(format: string, bytes: Uint8Array): Value[] {
  const { info } = parseFormat(format)
  const out: Value[] = []
  for (let off = 0; off + info.itemsize <= bytes.length; off += info.itemsize) out.push(decode(format, bytes, off))
  return out
}

/** A deterministic byte pattern of length `n` (no zero runs, so misplaced reads show). */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = (x >>> 16) & 0xff
  }
  return out
}
