/**
 * Iteration with for...of over a 1-D 'd' view against for...of over a Float64Array (no target: both
 * go through the iterator protocol), and tobytes() of a strided view (every other element) against
 * a hand-written gather loop into a new Buffer. Target (issue 9): strided copies <= 1.5x the gather
 * loop. bench/16 measures the other strided copies and iteration against an index loop.
 */
import { memoryview } from 'memoryview'
import { benchMain, compare, row } from './common'

const N = 1_000_000

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
