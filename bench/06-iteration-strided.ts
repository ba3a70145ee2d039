/**
 * Iteration with for...of over a 1-D 'd' view against for...of over a Float64Array (no target: both
 * go through the iterator protocol); for...of over a step-2 'd' view against a JS index loop over the
 * raw Float64Array, run to the end and stopped by `break`, each loop optimized first on 64 elements
 * (bench/16 times the run-to-the-end loop too, primed on 16, beside ndarray); and tobytes() of
 * a strided view (every other element) against a hand-written gather loop into a new Buffer.
 * Targets (issue 9): strided copies and iteration <= 1.5x the hand-written loop.
 */
import { memoryview } from 'memoryview'
import { Row, benchMain, compare, row } from './common'

const N = 1_000_000

/**
 * for...of over a step-2 'd' view of N elements against an index loop over the raw array, both
 * primed on 64 elements first. With `stop`, the loop leaves by `break` at its last element instead
 * of running the iterator to its end: V8 then never sees the iterator's end inside the loop, which
 * lets it keep the doubles unboxed (see TypedIterator.next in lib/copies.ts).
 */
function iterateStrided(stop: boolean): Row[] {
  const ta = Float64Array.from({ length: 2 * N }, (_, i) => i * 0.25)
  const whole = memoryview(ta).subarray(null, null, 2)
  const short = whole.subarray(0, 64)
  const raw = (n: number): number => {
    let s = 0
    for (let i = 0; i < n; i++) s += ta[2 * i]
    return s
  }
  const ours = stop
    ? (n: number): number => {
      let s = 0
      let left = n
      for (const x of whole) {
        s += x
        if (--left === 0) break
      }
      return s
    }
    : (n: number): number => {
      let s = 0
      for (const x of n === N ? whole : short) s += x
      return s
    }
  // Checked after timing: a full-size call before priming would compile the loops without feedback.
  const t = compare(raw, ours, { reps: 21, ops: N, n: N, prime: 300, primeN: 64 })
  if (raw(N) !== ours(N) || raw(64) !== ours(64)) throw new Error('strided iteration differs')
  const name = `for...of step-2 'd' 1M${stop ? ', left by break' : ''} (primed)`
  return [row(name, t.ours, t.base, 'JS index loop', 'ns/elem', { kind: 'ratio', max: 1.5 })]
}

benchMain({
  iterate() {
    const raw = Float64Array.from({ length: N }, (_, i) => i * 0.5)
    const m = memoryview(Float64Array.from({ length: N }, (_, i) => i * 0.5))
    const rawIter = (): number => {
      let s = 0
      for (const x of raw) s += x
      return s
    }
    const viewIter = (): number => {
      let s = 0
      for (const x of m) s += x
      return s
    }
    if (rawIter() !== viewIter()) throw new Error('iteration differs')
    const t = compare(rawIter, viewIter, { reps: 20, ops: N })
    return [row("for...of 1-D 'd' 1M", t.ours, t.base, 'for...of Float64Array', 'ns/elem', { kind: 'none' })]
  },
  'iterate strided': () => iterateStrided(false),
  'iterate strided break': () => iterateStrided(true),
  'tobytes strided'() {
    const src = Buffer.alloc(16 * N)
    for (let i = 0; i < src.length; i++) src[i] = i & 0xff
    // 'd' elements with a 16-byte stride: 1M elements, 8 MiB of output.
    const m = memoryview(src).cast('d').subarray(null, null, 2)
    const gather = (): Buffer => {
      const out = Buffer.allocUnsafe(8 * N)
      const from = new Float64Array(src.buffer, src.byteOffset, 2 * N)
      const to = new Float64Array(out.buffer, out.byteOffset, N)
      for (let i = 0; i < N; i++) to[i] = from[2 * i]
      return out
    }
    if (!gather().equals(m.tobytes())) throw new Error('strided tobytes differs')
    const t = compare(gather, () => m.tobytes(), { reps: 20, ops: N })
    return [row("tobytes() strided 'd' 1M (step 2)", t.ours, t.base, 'Float64Array gather loop', 'ns/elem', { kind: 'ratio', max: 1.5 })]
  },
})
