/**
 * Question: how close is element access on a strided 2-D 'd' view to hand-written index arithmetic
 * on a Float64Array? The view is every other row of a [2000, 10000] cast: shape [1000, 10000],
 * strides [160000, 8]. Target (issue 2): get(i, j) within 3x; set(i, j, v) reported against the same.
 */
import { memoryview } from 'memoryview'
import { benchMain, compare, row } from './common'

const ROWS = 2000
const COLS = 10_000
const STEP = 2
const OUT_ROWS = ROWS / STEP
const OPS = OUT_ROWS * COLS

function filled(): Float64Array {
  const a = new Float64Array(ROWS * COLS)
  for (let i = 0; i < a.length; i++) a[i] = (i % 1000) * 0.25
  return a
}

/** The view under test: 'd' [2000, 10000] through a byte cast, then rows ::2. */
function stridedView(ta: Float64Array) {
  const m = memoryview(ta).cast('B').cast('d', [ROWS, COLS]).subarray(null, null, STEP)
  if (m.shape[0] !== OUT_ROWS || m.strides[0] !== STEP * COLS * 8 || m.strides[1] !== 8) throw new Error('unexpected layout')
  return m
}

benchMain({
  get() {
    const raw = filled()
    const m = stridedView(filled())
    // The same arithmetic a user would write by hand: offset + i * stride0 + j * stride1, in elements.
    const off = 0
    const s0 = STEP * COLS
    const s1 = 1
    const rawGet = (rows: number): number => {
      let s = 0
      for (let i = 0; i < rows; i++) for (let j = 0; j < COLS; j++) s += raw[off + i * s0 + j * s1]
      return s
    }
    const cols = m.shape[1]
    const viewGet = (rows: number): number => {
      let s = 0
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) s += m.get(i, j)
      return s
    }
    if (rawGet(OUT_ROWS) !== viewGet(OUT_ROWS)) throw new Error('get loops disagree')
    const t = compare(rawGet, viewGet, { reps: 20, ops: OPS, n: OUT_ROWS, prime: 100, primeN: 1 })
    return [row("get(i, j) 2-D strided 'd' 1000x10000", t.ours, t.base, 'raw index math', 'ns/elem', { kind: 'ratio', max: 3 })]
  },
  set() {
    const raw = new Float64Array(ROWS * COLS)
    const m = stridedView(new Float64Array(ROWS * COLS))
    const off = 0
    const s0 = STEP * COLS
    const s1 = 1
    const rawSet = (rows: number): number => {
      for (let i = 0; i < rows; i++) for (let j = 0; j < COLS; j++) raw[off + i * s0 + j * s1] = j * 0.5
      return raw[s0]
    }
    const cols = m.shape[1]
    const viewSet = (rows: number): number => {
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, j * 0.5)
      return m.get(1, 0)
    }
    if (rawSet(OUT_ROWS) !== viewSet(OUT_ROWS)) throw new Error('set loops disagree')
    const t = compare(rawSet, viewSet, { reps: 20, ops: OPS, n: OUT_ROWS, prime: 100, primeN: 1 })
    return [row("set(i, j, v) 2-D strided 'd' 1000x10000", t.ours, t.base, 'raw index math', 'ns/elem', { kind: 'ratio', max: 3 })]
  },
})
