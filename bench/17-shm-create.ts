/**
 * Question: how long does creating, closing and unlinking a 64 MiB SharedMemory segment take, next
 * to Python's multiprocessing.shared_memory doing the same? (issue 9)
 *
 * Python creates its segment with ftruncate only (sparse); ours reserves every block by default
 * (posix_fallocate, so that a full /dev/shm fails at creation instead of raising SIGBUS later), which
 * costs time proportional to the size. The segment's ArrayBuffer is made only when `buf` is first
 * used (a 64 MiB external ArrayBuffer would start a V8 garbage collection), so create+close+unlink
 * here is the system calls. Target: with { reserve: false } within 2x of Python; the
 * default is reported for information. Python is timed inside its own process (best of N, no
 * interpreter start-up), ours the same way.
 */
import { spawnSync } from 'node:child_process'
import { SharedMemory } from 'memoryview'
import { MiB, benchMain, bestOf, row, sizeName } from './common'

const SIZE = 64 * MiB
const REPS = 15

/** Python's best time for one create+close+unlink, in µs. */
function python(): number {
  const code = [
    'import time',
    'from multiprocessing import shared_memory',
    'best = float("inf")',
    `for _ in range(${REPS + 3}):`,
    '    t0 = time.perf_counter_ns()',
    `    s = shared_memory.SharedMemory(create=True, size=${SIZE})`,
    '    s.close(); s.unlink()',
    '    best = min(best, time.perf_counter_ns() - t0)',
    'print(best / 1e3)',
  ].join('\n')
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}

function ours(reserve: boolean): number {
  return bestOf(() => {
    const s = new SharedMemory({ create: true, size: SIZE, reserve })
    s.close()
    s.unlink()
    return s
  }, { reps: REPS, ops: 1 }) / 1e3
}

benchMain({
  'reserve false': () => {
    const py = python()
    return [row(`SharedMemory ${sizeName(SIZE)} create+close+unlink, reserve: false`, ours(false), py, 'Python', 'µs', { kind: 'ratio', max: 2 })]
  },
  'reserve default': () => {
    const py = python()
    return [row(`SharedMemory ${sizeName(SIZE)} create+close+unlink (reserved)`, ours(true), py, 'Python', 'µs', { kind: 'none' })]
  },
})
