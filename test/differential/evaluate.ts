/**
 * The JS evaluator of differential cases: runs a case (see cases.ts) against this
 * package and encodes every outcome the way oracle.py encodes CPython's.
 */
import { memoryview } from 'memoryview'
import type { AssignSource, Case, JV, Op, Other, Probe, Source, ViewSpec } from './cases'
import { SOURCE_KINDS } from './cases'
import { encElement, encError, encNested, encPlain } from './encoding'

// The suite passes deliberately wrong argument kinds, so it talks to views through this
// loose surface; the package's own types are exercised by the other test files.
interface View {
  [k: string]: unknown
  readonly format: string
  readonly ndim: number
  readonly released: boolean
  get: (...a: unknown[]) => unknown
  set: (...a: unknown[]) => void
  subarray: (...a: unknown[]) => View
  assign: (src: unknown) => void
  cast: (...a: unknown[]) => View
  toreadonly: () => View
  tobytes: (...a: unknown[]) => Buffer
  hex: (...a: unknown[]) => string
  tolist: () => unknown
  equals: (o: unknown) => boolean
  hash: () => unknown
  release: () => void
  pin: () => { release: () => void }
  [Symbol.iterator]: () => Iterator<unknown>
}
const mv = (x: unknown): View => memoryview(x as never) as unknown as View

export function js (j: JV): unknown {
  switch (j.t) {
    case 'undef': return undefined
    case 'null': return null
    case 'int': case 'num': return Number(j.v)
    case 'big': return BigInt(j.v)
    case 'bool': case 'str': return j.v
    case 'bytes': return Buffer.from(j.v, 'hex')
    case 'arr': return j.v.map(js)
    case 'obj': return {}
  }
}

const PAD = 0xee

/** A JS source object over fresh memory, with guard bytes around it to catch stray writes. */
export class JsSource {
  readonly obj: unknown
  private readonly whole: Uint8Array
  private readonly off: number
  private readonly len: number

  constructor (src: Source) {
    const bytes = Buffer.from(src.hex, 'hex')
    const size = SOURCE_KINDS[src.kind][1]
    const standalone = src.kind === 'ArrayBuffer' || src.kind === 'SharedArrayBuffer'
    this.off = standalone ? 0 : src.off * size
    this.len = bytes.length
    const total = standalone ? bytes.length : this.off + bytes.length + 8
    const ab = src.kind === 'SharedArrayBuffer' ? new SharedArrayBuffer(total) : new ArrayBuffer(total)
    this.whole = new Uint8Array(ab)
    this.whole.fill(PAD)
    this.whole.set(bytes, this.off)
    const n = bytes.length / size
    const o = this.off
    switch (src.kind) {
      case 'Buffer': this.obj = Buffer.from(ab, o, n); break
      case 'Uint8Array': this.obj = new Uint8Array(ab, o, n); break
      case 'Uint8ClampedArray': this.obj = new Uint8ClampedArray(ab, o, n); break
      case 'Int8Array': this.obj = new Int8Array(ab, o, n); break
      case 'Int16Array': this.obj = new Int16Array(ab, o, n); break
      case 'Uint16Array': this.obj = new Uint16Array(ab, o, n); break
      case 'Int32Array': this.obj = new Int32Array(ab, o, n); break
      case 'Uint32Array': this.obj = new Uint32Array(ab, o, n); break
      case 'Float32Array': this.obj = new Float32Array(ab, o, n); break
      case 'Float64Array': this.obj = new Float64Array(ab, o, n); break
      case 'BigInt64Array': this.obj = new BigInt64Array(ab, o, n); break
      case 'BigUint64Array': this.obj = new BigUint64Array(ab, o, n); break
      case 'DataView': this.obj = new DataView(ab, o, n); break
      default: this.obj = ab
    }
  }

  /** The source's bytes as hex; flags any write outside them. */
  mem (): string {
    const inside = Buffer.from(this.whole.subarray(this.off, this.off + this.len)).toString('hex')
    for (let i = 0; i < this.whole.length; i++) {
      if ((i < this.off || i >= this.off + this.len) && this.whole[i] !== PAD) return `${inside} !! byte ${i} outside the source was overwritten`
    }
    return inside
  }
}

type R = { v: unknown } | ReturnType<typeof encError>

function attempt (f: () => unknown): R {
  try {
    return { v: f() }
  } catch (e) {
    return encError(e)
  }
}

function apply (m: View, op: Op): View {
  switch (op.op) {
    case 'slice': return m.subarray(js(op.a), js(op.b), js(op.c))
    case 'cast': return m.cast(js(op.fmt), js(op.shape))
    case 'ro': return m.toreadonly()
    case 'mv': return mv(m)
  }
}

function build (spec: ViewSpec): { root: JsSource, view?: View, err?: unknown } {
  const root = new JsSource(spec.src)
  let v: View
  try {
    v = mv(root.obj)
  } catch (e) {
    return { root, err: { at: -1, ...encError(e) } }
  }
  for (let k = 0; k < spec.chain.length; k++) {
    try {
      v = apply(v, spec.chain[k])
    } catch (e) {
      return { root, err: { at: k, ...encError(e) } }
    }
  }
  return { root, view: v }
}

const ATTRS = ['nbytes', 'readonly', 'format', 'itemsize', 'ndim', 'shape', 'strides',
  'suboffsets', 'c_contiguous', 'f_contiguous', 'contiguous', 'length', 'obj']

function assignSource (m: View, s: View, spec: AssignSource): unknown {
  switch (spec.kind) {
    case 'fresh': {
      const fmt = spec.fmt === 'same' ? s.format : spec.fmt
      const size = spec.fmt === 'same' ? (s.itemsize as number) : spec.size
      const n = Math.max(0, (s.ndim === 0 ? 1 : (s.length as number)) + spec.delta)
      const bytes = Buffer.from(spec.hex, 'hex').subarray(0, n * size)
      const fresh = Buffer.from(bytes) // its own memory, as Python's bytearray copy
      return spec.as === 'raw' ? fresh : mv(fresh).cast(fmt, undefined)
    }
    case 'self': return m.subarray(js(spec.a), js(spec.b), js(spec.c))
    case 'js': return js(spec.v)
  }
}

function otherOf (m: View, o: Other): unknown {
  switch (o.kind) {
    case 'self': return m
    case 'view': {
      const b = build(o)
      if (b.view === undefined) throw new Error('differential: operand chain failed on the JS side')
      return b.view
    }
    case 'raw': return new JsSource(o.src).obj
    case 'js': return js(o.v)
  }
}

class Evaluator {
  private readonly pins: Array<{ release: () => void }> = []
  /** The hash and bytes seen when this view was last hashed (CPython caches the hash). */
  private hashed?: { h: unknown, bytes: Buffer }

  constructor (private readonly m: View, private readonly root: JsSource) {}

  private hash (): R {
    const m = this.m
    const r = attempt(() => m.hash())
    if (!('v' in r)) return r
    const h = r.v
    if (typeof h !== 'number' || !Number.isInteger(h)) return { v: { bad: `hash() returned ${String(h)}` } }
    if (this.hashed !== undefined && this.hashed.h !== h) return { v: { bad: `hash changed from ${String(this.hashed.h)} to ${h}` } }
    if (m.released) {
      if (this.hashed === undefined) return { v: { bad: 'hash() of a released view never hashed before' } }
    } else {
      const bytes = m.tobytes()
      const ref = mv(Buffer.from(bytes)).toreadonly().hash()
      if (ref !== h) return { v: { bad: `hash ${h} differs from hash ${String(ref)} of a 'B' view of the same bytes` } }
      this.hashed = { h, bytes }
    }
    return { v: { s: 'hashed' } }
  }

  probe (p: Probe): unknown {
    const m = this.m
    switch (p.p) {
      case 'attrs':
        return {
          attrs: ATTRS.map(n => attempt(() => {
            const x = m[n]
            if (n === 'obj') return { s: x === this.root.obj ? 'root' : 'other' }
            return encPlain(x)
          }))
        }
      case 'get': {
        return attempt(() => {
          const x = m.get(...p.idx.map(js))
          return encElement(m.format, x)
        })
      }
      case 'set': {
        const r = attempt(() => { m.set(...p.idx.map(js), js(p.val)) })
        return { r: 'v' in r ? { v: null } : r, mem: this.root.mem() }
      }
      case 'assign': {
        const r = attempt(() => {
          const s = m.subarray(js(p.a), js(p.b), js(p.c))
          s.assign(assignSource(m, s, p.src))
        })
        return { r: 'v' in r ? { v: null } : r, mem: this.root.mem() }
      }
      case 'tobytes':
        return attempt(() => encPlain(m.tobytes(js(p.order))))
      case 'hex':
        return attempt(() => encPlain(m.hex(js(p.sep), js(p.bps))))
      case 'tolist':
        return attempt(() => {
          const x = m.tolist()
          return encNested(m.format, x, m.ndim)
        })
      case 'iter':
        return attempt(() => {
          const xs = [...m]
          return xs.map(x => encElement(m.format, x))
        })
      case 'equals': {
        const o = otherOf(m, p.other)
        return attempt(() => {
          const x = m.equals(o)
          return typeof x === 'boolean' ? { b: x } : { bad: `equals returned ${String(x)}` }
        })
      }
      case 'hash': return this.hash()
      case 'toreadonly':
        return attempt(() => {
          const r = m.toreadonly()
          return [encPlain(r.readonly), encPlain(r.format), encPlain(r.shape), encPlain(r.tobytes())]
        })
      case 'release': return attempt(() => { m.release(); return null })
      case 'pin': return attempt(() => { this.pins.push(m.pin()); return null })
      case 'unpin': return attempt(() => { this.pins.pop()?.release(); return null })
    }
  }

  close (): void {
    for (const p of this.pins) p.release()
  }
}

export function evaluate (c: Case): unknown {
  const { root, view, err } = build(c)
  if (view === undefined) return { chain: err }
  const ev = new Evaluator(view, root)
  const probes = c.probes.map(p => ev.probe(p))
  ev.close()
  return { probes }
}

