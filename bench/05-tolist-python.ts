/**
 * Question: is tolist() faster than CPython's memoryview.tolist() on the same data?
 * Target (issue 2): ours faster (ratio < 1). CPython is timed by python3 itself (timeit, best of
 * repeats, one call per repeat) in a child process; ours is timed here the same way. Data: 1M doubles
 * (i * 0.5) and 1M bytes (i * 31 + 7 mod 256), built identically on both sides.
 */
import { spawnSync } from 'node:child_process'
import { memoryview } from 'memoryview'
import { Row, benchMain, bestOf, row } from './common'

const N = 1_000_000
const REPS = 20

/** Best seconds of CPython's m.tolist(), or null when python3 cannot run. */
function pythonTolist(kind: 'd' | 'B'): number | null {
  const make =
    kind === 'd'
      ? `import array; m = memoryview(array.array('d', [i * 0.5 for i in range(${N})]))`
      : `m = memoryview(bytes((i * 31 + 7) & 255 for i in range(${N})))`
  const code = `${make}\nimport timeit\nprint(min(timeit.repeat(m.tolist, number=1, repeat=${REPS})))\n`
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' })
  if (r.status !== 0) {
    console.log(`python3 failed: ${r.error?.message ?? r.stderr}`)
    return null
  }
  return Number(r.stdout.trim())
}

function tolistCase(kind: 'd' | 'B'): Row[] {
  const m =
    kind === 'd'
      ? memoryview(Float64Array.from({ length: N }, (_, i) => i * 0.5))
      : memoryview(Uint8Array.from({ length: N }, (_, i) => (i * 31 + 7) & 255))
  const list = m.tolist() as number[]
  if (list.length !== N || list[N - 1] !== (kind === 'd' ? (N - 1) * 0.5 : ((N - 1) * 31 + 7) & 255)) {
    throw new Error('tolist differs')
  }
  const ours = bestOf(() => m.tolist(), { reps: REPS, ops: N })
  const py = pythonTolist(kind)
  const name = `tolist() 1M '${kind}'`
  if (py === null) return [row(`${name} (python3 unavailable)`, ours, NaN, 'CPython 3 tolist()', 'ns/elem', { kind: 'faster' })]
  return [row(name, ours, (py * 1e9) / N, 'CPython tolist()', 'ns/elem', { kind: 'faster' })]
}

benchMain({
  "tolist 'd'": () => tolistCase('d'),
  "tolist 'B'": () => tolistCase('B'),
})
