/**
 * The differential case format and its seeded generator.
 *
 * A case is a source (content bytes seen as one JS source kind), a chain of view
 * operations, and a list of probes run one after another on the resulting view.
 * Both evaluators (oracle.py with CPython, evaluate.ts with this package) read the
 * same JSON and produce results in the encoding of encoding.ts.
 *
 * Arguments travel as tagged JSON values (`JV`) because JS and Python must receive
 * "the same" argument: a JS number becomes a Python int when it is integral (a float
 * for stores into float formats), a bigint an int, a 1-byte Buffer a bytes object.
 */
import { Rng } from './rng'

export type JV =
  | { t: 'undef' } | { t: 'null' }
  | { t: 'int', v: string } // a JS number holding an integer
  | { t: 'big', v: string } // a JS bigint
  | { t: 'num', v: string } // a JS number: 'NaN', 'Infinity', '-0', '0.5', '1e20'...
  | { t: 'bool', v: boolean } | { t: 'str', v: string }
  | { t: 'bytes', v: string } // a Buffer (Python bytes), hex
  | { t: 'arr', v: JV[] } | { t: 'obj' }

export interface Source { kind: SourceKind, fmt: string, hex: string, off: number }
export type Op =
  | { op: 'slice', a: JV, b: JV, c: JV }
  | { op: 'cast', fmt: JV, shape: JV }
  | { op: 'ro' } | { op: 'mv' }
export interface ViewSpec { src: Source, chain: Op[] }
export type AssignSource =
  | { kind: 'fresh', hex: string, delta: number, fmt: string, size: number, as: 'view' | 'raw' }
  | { kind: 'self', a: JV, b: JV, c: JV }
  | { kind: 'js', v: JV }
export type Other =
  | { kind: 'self' } | { kind: 'view', src: Source, chain: Op[] }
  | { kind: 'raw', src: Source } | { kind: 'js', v: JV }
export type Probe =
  | { p: 'attrs' } | { p: 'tolist' } | { p: 'iter' } | { p: 'hash' } | { p: 'toreadonly' }
  | { p: 'release' } | { p: 'pin' } | { p: 'unpin' }
  | { p: 'get', idx: JV[] }
  | { p: 'set', idx: JV[], val: JV }
  | { p: 'assign', a: JV, b: JV, c: JV, src: AssignSource }
  | { p: 'tobytes', order: JV }
  | { p: 'hex', sep: JV, bps: JV }
  | { p: 'equals', other: Other }
export interface Case extends ViewSpec { probes: Probe[] }

export const SOURCE_KINDS = {
  Buffer: ['B', 1], Uint8Array: ['B', 1], Uint8ClampedArray: ['B', 1], Int8Array: ['b', 1],
  Int16Array: ['h', 2], Uint16Array: ['H', 2], Int32Array: ['i', 4], Uint32Array: ['I', 4],
  Float32Array: ['f', 4], Float64Array: ['d', 8], BigInt64Array: ['q', 8], BigUint64Array: ['Q', 8],
  DataView: ['B', 1], ArrayBuffer: ['B', 1], SharedArrayBuffer: ['B', 1]
} as const
export type SourceKind = keyof typeof SOURCE_KINDS

type Kind = 'int' | 'uint' | 'float' | 'bool' | 'char'
interface FormatInfo { size: number, kind: Kind }
const NATIVE: Record<string, FormatInfo> = {
  c: { size: 1, kind: 'char' }, b: { size: 1, kind: 'int' }, B: { size: 1, kind: 'uint' },
  '?': { size: 1, kind: 'bool' }, h: { size: 2, kind: 'int' }, H: { size: 2, kind: 'uint' },
  i: { size: 4, kind: 'int' }, I: { size: 4, kind: 'uint' }, l: { size: 8, kind: 'int' },
  L: { size: 8, kind: 'uint' }, q: { size: 8, kind: 'int' }, Q: { size: 8, kind: 'uint' },
  n: { size: 8, kind: 'int' }, N: { size: 8, kind: 'uint' }, P: { size: 8, kind: 'uint' },
  f: { size: 4, kind: 'float' }, d: { size: 8, kind: 'float' }, e: { size: 2, kind: 'float' }
}
export const NATIVE_CHARS = Object.keys(NATIVE)
/** Byte-order prefixes take struct's standard sizes; n N P have none. */
export const PREFIXED_CHARS = 'cbB?hHiIqQfde'.split('')
const PREFIXES = ['<', '>', '=', '!']
/** Strings CPython refuses as formats (ValueError → ERR_MEMORYVIEW_FORMAT). */
const BAD_FORMATS = ['x', 'hh', '', 'O', 'Z', '<n', '>P', '@@B', ' B', 'B ', '2h', 'h<', '@<h', 'T{h}', 'w']

/** Size and kind of a format string the package accepts, or undefined. */
export function formatInfo (fmt: string): FormatInfo | undefined {
  if (fmt.length === 1) return NATIVE[fmt]
  if (fmt.length === 2 && fmt[0] === '@') return NATIVE[fmt[1]]
  if (fmt.length === 2 && PREFIXES.includes(fmt[0]) && PREFIXED_CHARS.includes(fmt[1])) {
    const i = NATIVE[fmt[1]]
    return { size: i.size, kind: i.kind }
  }
  return undefined
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const I = (v: number | bigint | string): JV => ({ t: 'int', v: String(v) })
const B = (v: number | bigint | string): JV => ({ t: 'big', v: String(v) })
const N = (v: string): JV => ({ t: 'num', v })
const UNDEF: JV = { t: 'undef' }
const NULL: JV = { t: 'null' }

/** Float bit patterns worth planting in content bytes (little-endian hex). */
const SPECIAL_FLOATS: Record<number, string[]> = {
  2: ['007e', '00fe', '007c', '00fc', '0080', '0000', '017c', 'ff7b'],
  4: ['0000c07f', '0000c0ff', '0000807f', '000080ff', '00000080', '0000a07f', '01000000', 'ffff7f7f'],
  8: ['000000000000f87f', '000000000000f8ff', '000000000000f07f', '000000000000f0ff',
    '0000000000000080', '010000000000f07f', '0100000000000000', 'ffffffffffffef7f']
}

/** The generator's rough model of the view a chain produces; it only steers choices. */
interface Model { fmt: string, size: number, shape: number[], contig: boolean, prefixed: boolean, valid: boolean }

function pyLen (len: number, start: number | null, stop: number | null, step: number): [number, number] {
  // CPython's PySlice_AdjustIndices: returns [start, slicelength].
  let s: number, e: number
  if (start === null) s = step < 0 ? len - 1 : 0
  else { s = start < 0 ? Math.max(start + len, step < 0 ? -1 : 0) : Math.min(start, step < 0 ? len - 1 : len) }
  if (stop === null) e = step < 0 ? -1 : len
  else { e = stop < 0 ? Math.max(stop + len, step < 0 ? -1 : 0) : Math.min(stop, step < 0 ? len - 1 : len) }
  let n = 0
  if (step < 0) { if (e < s) n = Math.floor((s - e - 1) / -step) + 1 } else if (s < e) n = Math.floor((e - s - 1) / step) + 1
  return [s, n]
}

export class Generator {
  constructor (private readonly r: Rng) {}

  source (): Source {
    const r = this.r
    const kind = r.pick(Object.keys(SOURCE_KINDS) as SourceKind[])
    const [fmt, size] = SOURCE_KINDS[kind]
    const count = r.chance(0.08) ? 0 : r.int(0, Math.floor(64 / size))
    const bytes = r.bytes(count * size)
    // Plant NaN/-0/inf/subnormal patterns at aligned offsets for the float formats.
    const plants = r.int(0, 3)
    for (let k = 0; k < plants; k++) {
      const w = r.pick([2, 4, 8])
      if (bytes.length < w) continue
      const at = w * r.int(0, Math.floor(bytes.length / w) - 1)
      Buffer.from(r.pick(SPECIAL_FLOATS[w]), 'hex').copy(bytes, at)
    }
    if (r.chance(0.15)) bytes.fill(r.pick([0, 1, 255]))
    const off = kind === 'ArrayBuffer' || kind === 'SharedArrayBuffer' ? 0 : r.int(0, 3)
    return { kind, fmt, hex: hex(bytes), off }
  }

  private bound (len: number): JV {
    const r = this.r
    const x = r.weighted({ none: 22, near: 60, far: 8, big: 5, frac: 2, huge: 2, nullish: 1 })
    const v = r.chance(0.85) ? r.int(-len, len) : r.int(-len - 3, len + 3)
    switch (x) {
      case 'none': return UNDEF
      case 'nullish': return NULL
      case 'near': return I(v)
      case 'far': return I(r.pick([-1e6, 1e6, 2 ** 40, -(2 ** 53)]))
      case 'big': return B(v)
      case 'frac': return N(r.pick(['1.5', 'NaN', '-0.5']))
      default: return B(r.pick(['1180591620717411303424', '-1180591620717411303424']))
    }
  }

  private step (): JV {
    const r = this.r
    // Far steps stay small enough that four of them chained keep the stride (product of
    // steps * itemsize) exact in a JS number and inside CPython's Py_ssize_t, where C
    // arithmetic would otherwise overflow (undefined behaviour, no reference value).
    const x = r.weighted({ none: 30, one: 14, small: 44, big: 5, zero: 4, frac: 1, far: 2 })
    switch (x) {
      case 'none': return r.chance(0.8) ? UNDEF : NULL
      case 'one': return I(r.pick([1, -1]))
      case 'small': return I(r.pick([2, -2, 3, -3, 5, -4, 7, 100, -100]))
      case 'big': return B(r.pick([1, -1, 2, -3]))
      case 'zero': return r.chance(0.7) ? I(0) : B(0)
      case 'frac': return N('0.5')
      default: return I(r.pick([1000, -1000, 4096, -4096]))
    }
  }

  private shapeFor (count: number): number[] {
    const r = this.r
    if (count === 1 && r.chance(0.3)) return []
    const dims = r.weighted({ one: 20, two: 45, three: 27, four: 8 })
    const n = { one: 1, two: 2, three: 3, four: 4 }[dims]
    const shape: number[] = []
    let rest = count
    for (let k = 0; k < n - 1; k++) {
      const divs: number[] = []
      for (let d = 1; d <= rest; d++) if (rest % d === 0) divs.push(d)
      const d = r.pick(divs)
      shape.push(d)
      rest /= d
    }
    shape.push(rest)
    return shape
  }

  private castOp (m: Model): Extract<Op, { op: 'cast' }> {
    const r = this.r
    let fmt: string
    const which = r.weighted({ byte: 30, native: 36, at: 10, prefixed: 14, bad: 4, notString: 1 })
    const nbytes0 = m.shape.reduce((a, b) => a * b, 1) * m.size
    // Mostly pick an item size that divides the byte count, so casts get past that rule.
    const fits = (chars: string[]): string[] => {
      const ok = chars.filter(ch => nbytes0 % NATIVE[ch].size === 0)
      return ok.length > 0 && r.chance(0.75) ? ok : chars
    }
    if (which === 'byte') fmt = r.pick(['B', 'b', 'c'])
    else if (which === 'native') fmt = r.pick(fits(NATIVE_CHARS))
    else if (which === 'at') fmt = '@' + r.pick(fits(NATIVE_CHARS))
    else if (which === 'prefixed') fmt = r.pick(PREFIXES) + r.pick(fits(PREFIXED_CHARS))
    else if (which === 'bad') fmt = r.pick(BAD_FORMATS)
    else return { op: 'cast', fmt: I(5), shape: UNDEF }
    const info = formatInfo(fmt)
    const nbytes = m.shape.reduce((a, b) => a * b, 1) * m.size
    const size = info?.size ?? 1
    const count = Math.floor(nbytes / size)
    let shape: JV = UNDEF
    const s = r.weighted({ none: 30, fit: 55, wrong: 6, zero: 2, neg: 1, frac: 1, notArray: 1, tooMany: 1, tuple1: 3 })
    if (s === 'fit' && count > 0 && nbytes % size === 0) shape = { t: 'arr', v: this.shapeFor(count).map(I) }
    else if (s === 'wrong') shape = { t: 'arr', v: [I(count + r.pick([1, -1, 2])), ...(r.chance(0.5) ? [I(1)] : [])] }
    else if (s === 'zero') shape = { t: 'arr', v: [I(0), I(count)] }
    else if (s === 'neg') shape = { t: 'arr', v: [I(-count || -1)] }
    else if (s === 'frac') shape = { t: 'arr', v: [N('1.5'), I(count)] }
    else if (s === 'notArray') shape = I(count)
    else if (s === 'tooMany') shape = { t: 'arr', v: Array.from({ length: 65 }, () => I(1)) }
    else if (s === 'tuple1') shape = { t: 'arr', v: [I(count)] }
    return { op: 'cast', fmt: { t: 'str', v: fmt }, shape }
  }

  /** Updates the model after `op`; approximate on purpose (the evaluators see the truth). */
  private step_model (m: Model, op: Op): void {
    if (op.op === 'ro' || op.op === 'mv') return
    if (op.op === 'slice') {
      const num = (j: JV): number | null | undefined =>
        j.t === 'undef' || j.t === 'null' ? null : (j.t === 'int' || j.t === 'big') ? Number(j.v) : undefined
      const [a, b, c] = [num(op.a), num(op.b), num(op.c)]
      if (m.shape.length === 0 || a === undefined || b === undefined || c === undefined || c === 0) { m.valid = false; return }
      const step = c ?? 1
      const [, n] = pyLen(m.shape[0], a, b, step)
      if (step !== 1 && n > 1) m.contig = false
      m.shape = [n, ...m.shape.slice(1)]
      return
    }
    const fmt = op.fmt.t === 'str' ? op.fmt.v : ''
    const info = formatInfo(fmt)
    if (info === undefined || !m.contig) { m.valid = false; return }
    const nbytes = m.shape.reduce((a, b) => a * b, 1) * m.size
    m.fmt = fmt
    m.size = info.size
    m.prefixed = m.prefixed || /^[<>=!]/.test(fmt)
    if (op.shape.t === 'arr') m.shape = op.shape.v.map(j => (j.t === 'int' ? Number(j.v) : 1))
    else m.shape = [Math.floor(nbytes / info.size)]
  }

  chain (src: Source, maxOps = 4): { chain: Op[], model: Model } {
    const r = this.r
    const [, size] = SOURCE_KINDS[src.kind]
    const m: Model = { fmt: src.fmt, size, shape: [src.hex.length / 2 / size], contig: true, prefixed: false, valid: true }
    const chain: Op[] = []
    if (r.chance(0.07) && m.shape[0] * size >= 8) {
      // A 0-d view: one item's bytes, cast with shape [].
      const fmt = r.pick(NATIVE_CHARS.concat(['@B', '>h', '<d', '!I']))
      const isz = formatInfo(fmt)?.size ?? 1
      const at = r.int(0, m.shape[0] * size - isz)
      chain.push({ op: 'cast', fmt: { t: 'str', v: 'B' }, shape: UNDEF }, { op: 'slice', a: I(at), b: I(at + isz), c: UNDEF },
        { op: 'cast', fmt: { t: 'str', v: fmt }, shape: { t: 'arr', v: [] } })
      if (r.chance(0.4)) chain.push({ op: r.pick(['ro', 'mv'] as const) })
      return { chain, model: { fmt, size: isz, shape: [], contig: true, prefixed: true, valid: true } }
    }
    const n = r.weighted({ 0: 12, 1: 25, 2: 30, 3: 20, 4: 13 } as Record<string, number>)
    for (let k = 0; k < Math.min(Number(n), maxOps); k++) {
      const kind = r.weighted({ slice: 34, cast: 44, ro: 10, mv: 12 })
      let op: Op
      if (kind === 'slice') op = { op: 'slice', a: this.bound(m.shape[0] ?? 0), b: this.bound(m.shape[0] ?? 0), c: this.step() }
      else if (kind === 'cast') {
        // A cast from a byte-order-prefixed view is outside the contract: keep them last.
        if (m.prefixed) continue
        let cast = this.castOp(m)
        // CPython casts only to or from a byte format: usually go through 'B' first.
        const byteFmt = (f: string): boolean => /^@?[bBc]$/.test(f)
        if (cast.fmt.t === 'str' && m.valid && !byteFmt(m.fmt) && !byteFmt(cast.fmt.v) && r.chance(0.7)) {
          const toB: Op = { op: 'cast', fmt: { t: 'str', v: 'B' }, shape: UNDEF }
          chain.push(toB)
          this.step_model(m, toB)
          cast = this.castOp(m)
        }
        op = cast
      } else op = { op: kind }
      chain.push(op)
      if (op.op === 'cast' && op.fmt.t === 'str' && /^[<>=!]/.test(op.fmt.v)) m.prefixed = true
      if (m.valid) this.step_model(m, op)
    }
    return { chain, model: m }
  }

  private index (len: number): JV {
    const r = this.r
    const x = r.weighted({ in: 72, neg: 14, out: 6, big: 6, frac: 1, huge: 1 })
    const v = len > 0 ? r.int(0, len - 1) : 0
    switch (x) {
      case 'in': return I(v)
      case 'neg': return I(len > 0 ? v - len : -1)
      case 'out': return I(r.pick([len, -len - 1, len + 5, 2 ** 40]))
      case 'big': return B(r.chance(0.8) ? v : -len - 1)
      case 'frac': return N(r.pick(['1.5', 'NaN', 'Infinity']))
      default: return B('1180591620717411303424')
    }
  }

  private indices (m: Model): JV[] {
    const r = this.r
    const nd = m.shape.length
    const n = r.weighted({ exact: 86, fewer: 6, more: 5, none: 3 })
    const count = n === 'exact' ? nd : n === 'fewer' ? Math.max(0, nd - 1) : n === 'more' ? nd + 1 : 0
    return Array.from({ length: count }, (_, k) => this.index(m.shape[k] ?? 1))
  }

  value (m: Model): JV {
    const r = this.r
    const info = formatInfo(m.fmt) ?? NATIVE.B
    const kind = r.weighted({ natural: 60, boundary: 14, num: 10, bool: 4, str: 2, bytes: 4, misc: 2 })
    if (kind === 'bool') return { t: 'bool', v: r.chance(0.5) }
    if (kind === 'str') return { t: 'str', v: r.pick(['a', '', '1']) }
    if (kind === 'bytes' || (kind === 'natural' && info.kind === 'char')) {
      const len = r.weighted({ 1: 80, 0: 6, 2: 14 } as Record<string, number>)
      return { t: 'bytes', v: hex(r.bytes(Number(len))) }
    }
    if (kind === 'misc') return r.pick<JV>([NULL, { t: 'obj' }, { t: 'arr', v: [I(1)] }])
    if (kind === 'num') return N(r.pick(['0.5', 'NaN', 'Infinity', '-Infinity', '-0', '1e20', '-1e300', '65504', '65520', '3.4028235677973366e38', '1e-8', '5e-324', '9007199254740993', '18446744073709551616']))
    const bits = BigInt(info.size * 8)
    const [lo, hi] = info.kind === 'int' ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n]
    if (info.kind === 'float') {
      if (kind === 'boundary') return N(r.pick(['65504', '65505', '65519', '65520', '6e-8', '3e38', '3.5e38', '1e308', '-0']))
      const x = (r.next() - 0.5) * 10 ** r.int(-3, 6)
      return r.chance(0.2) ? I(Math.round(x)) : N(info.size === 4 ? String(Math.fround(x)) : String(x))
    }
    if (info.kind === 'bool') return r.pick<JV>([{ t: 'bool', v: r.chance(0.5) }, I(r.int(0, 3)), N('NaN'), { t: 'str', v: '' }])
    let v: bigint
    if (kind === 'boundary') v = r.pick([lo, hi, lo - 1n, hi + 1n, 0n, -1n])
    else v = lo + BigInt(Math.floor(r.next() * Number(hi - lo + 1n)))
    if (v > hi) v = hi
    const asBig = bits === 64n ? r.chance(0.75) : r.chance(0.2)
    if (asBig) return B(v)
    // A JS number only where it is exact; above 2**53 pick a representable neighbour.
    const n = Number(v)
    return Number.isSafeInteger(n) ? I(n) : N(String(n))
  }

  private assignSource (m: Model): AssignSource {
    const r = this.r
    const x = r.weighted({ fresh: 62, self: 22, js: 8, raw: 8 })
    const delta = r.weighted({ 0: 80, 1: 8, '-1': 8, 5: 4 } as Record<string, number>)
    if (x === 'fresh') {
      const other = r.chance(0.12)
      const fmt = other ? r.pick(['B', 'b', 'c', 'h', 'd', '@B', 'e', '>h']) : 'same'
      return { kind: 'fresh', hex: hex(r.bytes(72)), delta: Number(delta), fmt, size: formatInfo(fmt)?.size ?? 0, as: 'view' }
    }
    if (x === 'raw') return { kind: 'fresh', hex: hex(r.bytes(72)), delta: Number(delta), fmt: 'B', size: 1, as: 'raw' }
    if (x === 'self') {
      const len = m.shape[0] ?? 1
      const a = r.int(-len, len)
      return { kind: 'self', a: r.chance(0.3) ? UNDEF : I(a), b: r.chance(0.5) ? UNDEF : I(r.int(-len, len)), c: r.chance(0.6) ? UNDEF : I(r.pick([1, -1, 2, -2])) }
    }
    return { kind: 'js', v: r.pick<JV>([{ t: 'str', v: 'ab' }, I(5), NULL, { t: 'arr', v: [I(1), I(2)] }, { t: 'bytes', v: '0102' }]) }
  }

  private other (spec: ViewSpec): Other {
    const r = this.r
    const x = r.weighted({ view: 55, clone: 20, self: 8, raw: 10, js: 7 })
    if (x === 'self') return { kind: 'self' }
    // The same source content and chain: equal unless a store changed the view first.
    if (x === 'clone') return { kind: 'view', src: spec.src, chain: spec.chain }
    if (x === 'js') return { kind: 'js', v: r.pick<JV>([{ t: 'str', v: '' }, I(0), NULL, { t: 'arr', v: [] }, { t: 'obj' }, { t: 'bytes', v: '' }, { t: 'bytes', v: '00' }]) }
    const src = this.source()
    if (x === 'raw') return { kind: 'raw', src }
    return { kind: 'view', src, chain: this.validChain(src) }
  }

  /** Chains for `equals` operands avoid errors (the operand is built before the call). */
  private validChain (src: Source): Op[] {
    const [, size] = SOURCE_KINDS[src.kind]
    const n = src.hex.length / 2
    const ops: Op[] = []
    const r = this.r
    if (r.chance(0.5)) ops.push({ op: 'slice', a: I(r.int(0, Math.max(0, n / size - 1))), b: UNDEF, c: I(r.pick([1, 2, -1])) })
    if (r.chance(0.3)) ops.push({ op: 'ro' })
    return ops
  }

  probes (spec: ViewSpec, m: Model, released: { n: number }): Probe[] {
    const r = this.r
    const out: Probe[] = [{ p: 'attrs' }]
    const n = r.int(2, 7)
    for (let k = 0; k < n; k++) {
      const kind = r.weighted({
        get: 18, set: 20, assign: 9, tobytes: 6, hex: 8, tolist: 8, equals: 8, hash: 5, iter: 5,
        toreadonly: 3, release: 3, pin: 3, attrs: 2
      })
      switch (kind) {
        case 'get': out.push({ p: 'get', idx: this.indices(m) }); break
        case 'set': out.push({ p: 'set', idx: this.indices(m), val: this.value(m) }); break
        case 'assign': {
          const len = m.shape[0] ?? 0
          out.push({ p: 'assign', a: r.chance(0.3) ? UNDEF : I(r.int(-len, len)), b: r.chance(0.4) ? UNDEF : I(r.int(-len - 1, len + 1)), c: r.chance(0.6) ? UNDEF : this.step(), src: this.assignSource(m) })
          break
        }
        case 'tobytes': out.push({ p: 'tobytes', order: r.pick<JV>([UNDEF, { t: 'str', v: 'C' }, { t: 'str', v: 'F' }, { t: 'str', v: 'A' }, { t: 'str', v: 'X' }, { t: 'str', v: 'c' }, { t: 'str', v: 'CC' }, I(5)]) }); break
        case 'hex': {
          const sep = r.pick<JV>([UNDEF, UNDEF, { t: 'str', v: ':' }, { t: 'str', v: ' ' }, { t: 'str', v: '-' }, { t: 'str', v: '' }, { t: 'str', v: '::' }, { t: 'str', v: 'é' }, { t: 'str', v: '😀' }, { t: 'str', v: '\x7f' }, NULL, I(5)])
          const bps = r.pick<JV>([UNDEF, UNDEF, I(1), I(2), I(-1), I(-2), I(3), I(-3), I(0), I(8), I(-8), I(70), I(-70), N('1.5'), N('NaN')])
          out.push({ p: 'hex', sep, bps }); break
        }
        case 'tolist': out.push({ p: 'tolist' }); break
        case 'equals': out.push({ p: 'equals', other: this.other(spec) }); break
        case 'hash': out.push({ p: 'hash' }); break
        case 'iter': out.push({ p: 'iter' }); break
        case 'toreadonly': out.push({ p: 'toreadonly' }); break
        case 'attrs': out.push({ p: 'attrs' }); break
        case 'pin': out.push({ p: 'pin' }, { p: 'release' }, { p: 'unpin' }); break
        case 'release':
          released.n++
          out.push({ p: 'hash' }, { p: 'release' }, { p: 'release' }, { p: 'attrs' },
            r.pick<Probe>([{ p: 'hash' }, { p: 'tolist' }, { p: 'get', idx: this.indices(m) }, { p: 'equals', other: { kind: 'self' } }, { p: 'equals', other: this.other(spec) }, { p: 'tobytes', order: UNDEF }, { p: 'hex', sep: UNDEF, bps: UNDEF }, { p: 'iter' }, { p: 'toreadonly' }, { p: 'pin' }, { p: 'set', idx: this.indices(m), val: this.value(m) }]))
          return out
      }
    }
    return out
  }
}

export interface Generated { cases: Case[], stats: { released: number } }

export function generate (seed: number, count: number): Generated {
  const r = new Rng(seed)
  const g = new Generator(r)
  const released = { n: 0 }
  const cases: Case[] = []
  for (let i = 0; i < count; i++) {
    const src = g.source()
    const { chain, model } = g.chain(src)
    cases.push({ src, chain, probes: g.probes({ src, chain }, model, released) })
  }
  return { cases, stats: { released: released.n } }
}
