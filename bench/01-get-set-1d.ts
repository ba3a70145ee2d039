/**
 * Question: how close is element access on a contiguous 1-D 'd' view to a raw Float64Array?
 * Target (issue 2): get(i) and set(i, v) loops over 10M elements within 2x of the same loop on a
 * Float64Array.
 */
import { memoryview } from 'memoryview'
import { benchMain, compare, row } from './common'

const N = 10_000_000

function filled(): Float64Array {
  const a = new Float64Array(N)
  for (let i = 0; i < N; i++) a[i] = i * 0.5
  return a
}

benchMain({
  get() {
    const raw = filled()
    const m = memoryview(filled())
    const rawGet = (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s += raw[i]
      return s
    }
    const viewGet = (n: number): number => {
      let s = 0
      for (let i = 0; i < n; i++) s += m.get(i)
      return s
    }
    if (rawGet(N) !== viewGet(N)) throw new Error('get loops disagree')
    const t = compare(rawGet, viewGet, { reps: 25, ops: N, n: N, prime: 200, primeN: 1000 })
    return [row("get(i) 1-D 'd' 10M", t.ours, t.base, 'Float64Array[i]', 'ns/elem', { kind: 'ratio', max: 2 })]
  },
  set() {
    const raw = new Float64Array(N)
    const m = memoryview(new Float64Array(N))
    const rawSet = (n: number): number => {
      for (let i = 0; i < n; i++) raw[i] = i * 0.5
      return raw[n - 1]
    }
    const viewSet = (n: number): number => {
      for (let i = 0; i < n; i++) m.set(i, i * 0.5)
      return m.get(n - 1)
    }
    if (rawSet(N) !== viewSet(N)) throw new Error('set loops disagree')
    const t = compare(rawSet, viewSet, { reps: 25, ops: N, n: N, prime: 200, primeN: 1000 })
    return [row("set(i, v) 1-D 'd' 10M", t.ours, t.base, 'Float64Array[i]=v', 'ns/elem', { kind: 'ratio', max: 2 })]
  },
})
