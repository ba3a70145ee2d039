/**
 * Question: is element access, view creation and strided copying at least as fast as scijs ndarray,
 * and how far from a raw TypedArray loop, on every layout? (issue 9)
 *
 * Every case times three functions side by side, round-robin, best of N, in its own process: the
 * raw TypedArray (or Buffer) code a user would write by hand, the same through scijs `ndarray`, and
 * ours. Targets (issue 9): 1-D get/set (unit, step 2, step -1; long-lived views and views made
 * inside the measured function) <= 1.0x ndarray and <= 1.5x raw; 2-D get/set <= 1.3x ndarray; 3-D
 * and 4-D get <= 1.5x ndarray (3-D set is held to the same); view creation <= 1.5x ndarray's equivalent and subarray < 25 ns;
 * strided copies <= 1.5x a hand-written gather loop; 64 B equals/tobytes <= 1.5x Buffer's; a
 * mapped-file scan through get(i) <= 1.2x the same scan through toTypedArray().
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ndarray from 'ndarray'
import { memoryview, mmap } from 'memoryview'
import { Row, benchMain, compare3, consume, row3 } from './common'

const N = 1 << 20

function filled(n: number): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = (i % 1000) * 0.5
  return a
}

function same(a: unknown, b: unknown, c: unknown, what: string): void {
  if (a !== b || b !== c) throw new Error(`${what}: results disagree (${String(a)}, ${String(b)}, ${String(c)})`)
}

// Access results are checked after timing: a full-size call before compare3()'s priming would
// leave the loop compiled without feedback (see CompareOptions.prime).
const ACCESS = { reps: 21, ops: 0, n: 0, prime: 200, primeN: 16 }

/** 1-D get over `n` elements with element step `step` (the view starts at the first or last element). */
function get1d(step: number, fresh: boolean): Row[] {
  const len = Math.floor(N / Math.abs(step))
  const ta = filled(N)
  const first = step < 0 ? N - 1 : 0
  const make = () => memoryview(ta).subarray(step < 0 ? null : 0, null, step)
  const makeNd = () => (step === 1 ? ndarray(ta) : step > 0 ? ndarray(ta).step(step) : ndarray(ta).step(step))
  const m0 = make()
  const a0 = makeNd()
  const raw = (n: number): number => {
    let s = 0
    for (let i = 0, p = first; i < n; i++, p += step) s += ta[p]
    return s
  }
  const nd = fresh
    ? (n: number): number => {
      const a = makeNd()
      let s = 0
      for (let i = 0; i < n; i++) s += a.get(i)
      return s
    }
    : (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s += a0.get(i)
      return s
    }
  const ours = fresh
    ? (n: number): number => {
      const m = make()
      let s = 0
      for (let i = 0; i < n; i++) s += m.get(i)
      return s
    }
    : (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s += m0.get(i)
      return s
    }
  const t = compare3(raw, nd, ours, { ...ACCESS, ops: len, n: len })
  same(raw(len), nd(len), ours(len), 'get')
  const label = `get(i) 1-D 'd' step ${step}${fresh ? ', view made per call' : ''}`
  return [row3(label, t, 'ta[p]', 'ns/elem', 1.0, 1.5)]
}

function set1d(step: number): Row[] {
  const len = Math.floor(N / Math.abs(step))
  const ta = new Float64Array(N)
  const tn = new Float64Array(N)
  const to = new Float64Array(N)
  const first = step < 0 ? N - 1 : 0
  const a = step === 1 ? ndarray(tn) : ndarray(tn).step(step)
  const m = memoryview(to).subarray(step < 0 ? null : 0, null, step)
  const raw = (n: number): number => {
    for (let i = 0, p = first; i < n; i++, p += step) ta[p] = i * 0.5
    return ta[first]
  }
  const nd = (n: number): number => {
    for (let i = 0; i < n; i++) a.set(i, i * 0.5)
    return tn[first]
  }
  const ours = (n: number): number => {
    for (let i = 0; i < n; i++) m.set(i, i * 0.5)
    return to[first]
  }
  const t = compare3(raw, nd, ours, { ...ACCESS, ops: len, n: len })
  raw(len); nd(len); ours(len)
  same(ta.join(), tn.join(), to.join(), 'set')
  return [row3(`set(i, v) 1-D 'd' step ${step}`, t, 'ta[p] = v', 'ns/elem', 1.0, 1.5)]
}

const R = 1000
const C = 1000

function get2d(): Row[] {
  const ta = filled(R * C)
  const a = ndarray(ta, [R, C])
  const m = memoryview(ta).cast('B').cast('d', [R, C])
  const raw = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) s += ta[i * C + j]
    return s
  }
  const nd = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) s += a.get(i, j)
    return s
  }
  const ours = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) s += m.get(i, j)
    return s
  }
  const t = compare3(raw, nd, ours, { reps: 21, ops: R * C, n: R, prime: 100, primeN: 2 })
  same(raw(R), nd(R), ours(R), 'get 2-D')
  return [row3(`get(i, j) 2-D 'd' ${R}x${C}`, t, 'ta[i*C+j]', 'ns/elem', 1.3, null)]
}

function set2d(): Row[] {
  const ta = new Float64Array(R * C)
  const tn = new Float64Array(R * C)
  const to = new Float64Array(R * C)
  const a = ndarray(tn, [R, C])
  const m = memoryview(to).cast('B').cast('d', [R, C])
  const raw = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) ta[i * C + j] = j * 0.5
    return ta[1]
  }
  const nd = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) a.set(i, j, j * 0.5)
    return tn[1]
  }
  const ours = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < C; j++) m.set(i, j, j * 0.5)
    return to[1]
  }
  const t = compare3(raw, nd, ours, { reps: 21, ops: R * C, n: R, prime: 100, primeN: 2 })
  same(raw(R), nd(R), ours(R), 'set 2-D')
  return [row3(`set(i, j, v) 2-D 'd' ${R}x${C}`, t, 'ta[i*C+j] = v', 'ns/elem', 1.3, null)]
}

function get3d(): Row[] {
  const D = 100
  const ta = filled(D * D * D)
  const a = ndarray(ta, [D, D, D])
  const m = memoryview(ta).cast('B').cast('d', [D, D, D])
  const raw = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) s += ta[(i * D + j) * D + k]
    return s
  }
  const nd = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) s += a.get(i, j, k)
    return s
  }
  const ours = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) s += m.get(i, j, k)
    return s
  }
  const t = compare3(raw, nd, ours, { reps: 15, ops: D * D * D, n: D, prime: 100, primeN: 1 })
  same(raw(D), nd(D), ours(D), 'get 3-D')
  return [row3(`get(i, j, k) 3-D 'd' ${D}^3`, t, 'ta[index math]', 'ns/elem', 1.5, null)]
}

function set3d(): Row[] {
  const D = 100
  const ta = new Float64Array(D * D * D)
  const tn = new Float64Array(D * D * D)
  const to = new Float64Array(D * D * D)
  const a = ndarray(tn, [D, D, D])
  const m = memoryview(to).cast('B').cast('d', [D, D, D])
  const raw = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) ta[(i * D + j) * D + k] = k * 0.5
    return ta[1]
  }
  const nd = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) a.set(i, j, k, k * 0.5)
    return tn[1]
  }
  const ours = (n: number): number => {
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) m.set(i, j, k, k * 0.5)
    return to[1]
  }
  const t = compare3(raw, nd, ours, { reps: 15, ops: D * D * D, n: D, prime: 100, primeN: 1 })
  same(raw(D), nd(D), ours(D), 'set 3-D')
  same(ta.join(), tn.join(), to.join(), 'set 3-D')
  return [row3(`set(i, j, k, v) 3-D 'd' ${D}^3`, t, 'ta[index math] = v', 'ns/elem', 1.5, null)]
}

function get4d(): Row[] {
  const D = 32
  const ta = filled(D ** 4)
  const a = ndarray(ta, [D, D, D, D])
  const m = memoryview(ta).cast('B').cast('d', [D, D, D, D])
  const raw = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) for (let l = 0; l < D; l++) s += ta[((i * D + j) * D + k) * D + l]
    return s
  }
  const nd = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) for (let l = 0; l < D; l++) s += a.get(i, j, k, l)
    return s
  }
  const ours = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) for (let l = 0; l < D; l++) s += m.get(i, j, k, l)
    return s
  }
  const t = compare3(raw, nd, ours, { reps: 15, ops: D ** 4, n: D, prime: 100, primeN: 1 })
  same(raw(D), nd(D), ours(D), 'get 4-D')
  return [row3(`get(i, j, k, l) 4-D 'd' ${D}^4`, t, 'ta[index math]', 'ns/elem', 1.5, null)]
}

const OPS = 100_000

function loop<T>(op: () => T): (n: number) => T {
  return (n) => {
    let r = op()
    for (let k = 1; k < n; k++) r = op()
    return r
  }
}

function creation(name: string, baseName: string, raw: () => unknown, nd: () => unknown, ours: () => unknown, maxNs: number | null = null): Row[] {
  const t = compare3(loop(raw), loop(nd), loop(ours), { reps: 21, ops: OPS, n: OPS })
  return [row3(name, t, baseName, 'ns/op', 1.5, null, maxNs)]
}

/** The step-2 view of 1M doubles the strided-copy cases work on, and its raw equivalents. */
function strided() {
  const ta = filled(2 * N)
  for (let i = 0; i < ta.length; i++) ta[i] = i * 0.25
  return { ta, m: memoryview(ta).subarray(null, null, 2), a: ndarray(ta).step(2), n: N }
}

function copy(name: string, baseName: string, raw: () => unknown, nd: () => unknown, ours: () => unknown): Row[] {
  const t = compare3(loop(raw), loop(nd), loop(ours), { reps: 15, ops: 1, n: 1 })
  return [row3(name, t, baseName, 'ns/op', null, 1.5)]
}

benchMain({
  'get 1d': () => get1d(1, false),
  'get 1d fresh': () => get1d(1, true),
  'get 1d step 2': () => get1d(2, false),
  'get 1d step 2 fresh': () => get1d(2, true),
  'get 1d step -1': () => get1d(-1, false),
  'get 1d step -1 fresh': () => get1d(-1, true),
  'set 1d': () => set1d(1),
  'set 1d step 2': () => set1d(2),
  'set 1d step -1': () => set1d(-1),
  'get 2d': get2d,
  'set 2d': set2d,
  'get 3d': get3d,
  'set 3d': set3d,
  'get 4d': get4d,
  subarray: () => {
    const ta = filled(1000)
    const a = ndarray(ta)
    const m = memoryview(ta)
    return creation('subarray(1, 100, 2)', 'ta.subarray(1, 100)', () => ta.subarray(1, 100), () => a.hi(100).lo(1).step(2), () => m.subarray(1, 100, 2), 25)
  },
  cast: () => {
    const ta = filled(1000)
    const u8 = new Uint8Array(ta.buffer)
    const m = memoryview(u8)
    const shape = [10, 100]
    return creation("cast('d', [10, 100]) of 'B'", 'new Float64Array(buf)', () => new Float64Array(u8.buffer, 0, 1000), () => ndarray(new Float64Array(u8.buffer, 0, 1000), shape), () => m.cast('d', shape))
  },
  toreadonly: () => {
    const ta = filled(1000)
    const a = ndarray(ta)
    const m = memoryview(ta)
    return creation('toreadonly()', 'ta.subarray()', () => ta.subarray(), () => ndarray(a.data, a.shape, a.stride, a.offset), () => m.toreadonly())
  },
  'memoryview(ta)': () => {
    const ta = filled(1000)
    return creation('memoryview(Float64Array)', 'new Float64Array(ta.buffer)', () => new Float64Array(ta.buffer, 0, 1000), () => ndarray(ta), () => memoryview(ta))
  },
  'memoryview(view)': () => {
    const ta = filled(1000)
    const a = ndarray(ta)
    const m = memoryview(ta)
    return creation('memoryview(MemoryView)', 'ta.subarray()', () => ta.subarray(), () => ndarray(a.data, a.shape, a.stride, a.offset), () => memoryview(m))
  },
  'tobytes strided': () => {
    const { ta, m, a, n } = strided()
    const raw = () => {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = ta[2 * i]
      return Buffer.from(out.buffer)
    }
    const nd = () => {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = a.get(i)
      return Buffer.from(out.buffer)
    }
    if (!raw().equals(m.tobytes()) || !nd().equals(m.tobytes())) throw new Error('tobytes differs')
    return copy("tobytes() step-2 'd' 1M", 'JS gather loop', raw, nd, () => m.tobytes())
  },
  'tolist strided': () => {
    const { ta, m, a, n } = strided()
    const raw = () => {
      const out = new Array<number>(n)
      for (let i = 0; i < n; i++) out[i] = ta[2 * i]
      return out
    }
    const nd = () => {
      const out = new Array<number>(n)
      for (let i = 0; i < n; i++) out[i] = a.get(i)
      return out
    }
    same(raw().join(), nd().join(), (m.tolist() as number[]).join(), 'tolist')
    return copy("tolist() step-2 'd' 1M", 'JS gather loop', raw, nd, () => m.tolist())
  },
  'equals strided': () => {
    const { ta, m, a, n } = strided()
    const tb = Float64Array.from(ta)
    const w = memoryview(tb).subarray(null, null, 2)
    const b = ndarray(tb).step(2)
    const raw = () => {
      for (let i = 0; i < n; i++) if (ta[2 * i] !== tb[2 * i]) return false
      return true
    }
    const nd = () => {
      for (let i = 0; i < n; i++) if (a.get(i) !== b.get(i)) return false
      return true
    }
    same(raw(), nd(), m.equals(w), 'equals')
    return copy("equals() step-2 'd' 1M", 'JS compare loop', raw, nd, () => m.equals(w))
  },
  'assign strided': () => {
    const { ta, m, a, n } = strided()
    const src = filled(n)
    const sm = memoryview(src)
    const raw = () => {
      for (let i = 0; i < n; i++) ta[2 * i] = src[i]
      return ta
    }
    const nd = () => {
      for (let i = 0; i < n; i++) a.set(i, src[i])
      return ta
    }
    const ours = () => {
      m.assign(sm)
      return ta
    }
    return copy("assign() into step-2 'd' 1M", 'JS scatter loop', raw, nd, ours)
  },
  'hex strided': () => {
    const { ta, m, a, n } = strided()
    const raw = () => {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = ta[2 * i]
      return Buffer.from(out.buffer).toString('hex')
    }
    const nd = () => {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = a.get(i)
      return Buffer.from(out.buffer).toString('hex')
    }
    same(raw(), nd(), m.hex(), 'hex')
    return copy("hex() step-2 'd' 1M", 'JS gather + toString', raw, nd, () => m.hex())
  },
  'iteration strided': () => {
    // Primed with short calls first, as the access cases are: a first full 1M-element call would
    // run before V8 has the function's type feedback, and its for-of then stays unoptimised.
    const { ta, m, a, n } = strided()
    const raw = (len: number) => {
      let s = 0
      for (let i = 0; i < len; i++) s += ta[2 * i]
      return s
    }
    const nd = (len: number) => {
      let s = 0
      for (let i = 0; i < len; i++) s += a.get(i)
      return s
    }
    // The same view's first 16 elements while priming (a view made once, not per call).
    const short = m.subarray(0, 16)
    const ours = (len: number) => {
      let s = 0
      for (const v of len === n ? m : short) s += v
      return s
    }
    const t = compare3(raw, nd, ours, { reps: 15, ops: 1, n, prime: 200, primeN: 16 })
    same(raw(n), nd(n), ours(n), 'iteration')
    return [row3("for-of step-2 'd' 1M", t, 'JS index loop', 'ns/op', null, 1.5)]
  },
  'mmap scan': () => {
    // A 64 MiB file of doubles, mapped once (page cache warm); each call takes the view afresh and
    // scans its first n elements (n small while priming).
    const dir = mkdtempSync(join(tmpdir(), 'mv-bench16-'))
    try {
      const file = join(dir, 'doubles.bin')
      writeFileSync(file, new Uint8Array(filled(8 * N).buffer))
      const f = mmap(file, { access: 'read' })
      const raw = (n: number) => {
        const ta = f.buf.cast('d').toTypedArray()
        let s = 0
        for (let i = 0; i < n; i++) s += ta[i]
        return s
      }
      const nd = (n: number) => {
        const a = ndarray(f.buf.cast('d').toTypedArray())
        let s = 0
        for (let i = 0; i < n; i++) s += a.get(i)
        return s
      }
      const ours = (n: number) => {
        const m = f.buf.cast('d')
        let s = 0
        for (let i = 0; i < n; i++) s += m.get(i)
        return s
      }
      const n = 8 * N
      const t = compare3(raw, nd, ours, { reps: 15, ops: n, n, prime: 200, primeN: 16 })
      same(raw(n), nd(n), ours(n), 'mmap scan')
      f.close()
      return [row3("mapped file scan, 8M 'd': get(i) vs toTypedArray()", t, 'toTypedArray()[i]', 'ns/elem', null, 1.2)]
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
  'small equals': () => {
    const b1 = Buffer.alloc(64, 7)
    const b2 = Buffer.alloc(64, 7)
    const m = memoryview(b1)
    const a = ndarray(b1)
    const t = compare3(loop(() => b1.equals(b2)), loop(() => a.size === b2.length), loop(() => m.equals(b2)), { reps: 21, ops: OPS, n: OPS })
    consume(a)
    return [row3('equals(Buffer) 64 B', t, 'buf.equals(buf2)', 'ns/op', null, 1.5)]
  },
  'small tobytes': () => {
    const b1 = Buffer.alloc(64, 7)
    const m = memoryview(b1)
    const a = ndarray(b1)
    const t = compare3(loop(() => Buffer.from(b1)), loop(() => Buffer.from(a.data)), loop(() => m.tobytes()), { reps: 21, ops: OPS, n: OPS })
    return [row3('tobytes() 64 B', t, 'Buffer.from(buf)', 'ns/op', null, 1.5)]
  },
})
