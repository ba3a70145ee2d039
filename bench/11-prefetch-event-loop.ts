/**
 * Question: does `await mf.prefetch()` keep the event loop responsive when a server scans a cold
 * mapped file, and is the scan that follows as fast as a scan of a warm file?
 * Target (big mapped data issue, part 3): the event loop's worst delay
 * (perf_hooks.monitorEventLoopDelay) while a 1 GiB cold file is scanned is lower with
 * `await prefetch()` first than without (ratio < 1); the scan after prefetch takes at most 1.5x a
 * warm scan's time.
 *
 * Method: a 1 GiB file of doubles is written and fsynced once. Before each cold run it is dropped
 * from the page cache (posix_fadvise DONTNEED, through python3's os.posix_fadvise, with nobody
 * mapping it), and the child reports resident() before it starts, so a run that was not cold shows.
 * The "server" scans like a server would: 4 MiB per event-loop turn (setImmediate between chunks),
 * summing the doubles. Each run is its own child process (async work cannot run inside a case);
 * cold and prefetch runs alternate, best (lowest) of 5 each. The warm run scans once untimed first.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { mmap } from 'memoryview'
import { MiB, Row, benchMain, row } from './common'

const SIZE = 1024 * MiB
const CHUNK = 4 * MiB
const REPS = 5

interface Run {
  /** Resident bytes of the file when the run started. */
  residentAtStart: number
  /** The event loop's worst delay over the whole run (prefetch + scan), ms. */
  maxDelayMs: number
  /** The same, during the prefetch only and during the scan only, ms. */
  prefetchDelayMs: number
  scanDelayMs: number
  prefetchMs: number
  scanMs: number
  sum: number
}

/** The server's scan: CHUNK bytes per event-loop turn. */
async function chunkedScan(a: Float64Array): Promise<number> {
  const per = CHUNK / 8
  let s = 0
  for (let start = 0; start < a.length; start += per) {
    const end = Math.min(start + per, a.length)
    for (let i = start; i < end; i++) s += a[i]
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  return s
}

/** Child role: one run ('cold' | 'prefetch' | 'warm') over `path`; prints a Run as JSON. */
async function child(mode: string, path: string): Promise<void> {
  const f = mmap(path)
  const a = f.buf.cast('d').toTypedArray() as Float64Array
  if (mode === 'warm') await chunkedScan(a)
  const residentAtStart = f.resident()
  const h = monitorEventLoopDelay({ resolution: 1 })
  const hPrefetch = monitorEventLoopDelay({ resolution: 1 })
  const hScan = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  hPrefetch.enable()
  const t0 = performance.now()
  if (mode === 'prefetch') await f.prefetch()
  const t1 = performance.now()
  hPrefetch.disable()
  hScan.enable()
  const sum = await chunkedScan(a)
  const t2 = performance.now()
  hScan.disable()
  h.disable()
  f.close()
  const ms = (x: number): number => (Number.isFinite(x) ? x / 1e6 : 0)
  const out: Run = {
    residentAtStart,
    maxDelayMs: ms(h.max),
    prefetchDelayMs: ms(hPrefetch.max),
    scanDelayMs: ms(hScan.max),
    prefetchMs: t1 - t0,
    scanMs: t2 - t1,
    sum,
  }
  process.stdout.write(JSON.stringify(out))
}

function evict(path: string): void {
  const r = spawnSync('python3', ['-c', 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nos.fsync(fd)\nos.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\nos.close(fd)', path], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`evict failed: ${r.stderr}`)
}

function measure(mode: string, path: string): Run {
  if (mode !== 'warm') evict(path)
  const r = spawnSync(process.execPath, [__filename, '--run', mode, path], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`)
  const run = JSON.parse(r.stdout) as Run
  console.log(`${mode}: ${JSON.stringify(run)}`)
  return run
}

function createFile(path: string): void {
  const chunk = new Float64Array(MiB / 8)
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 1024
  const fd = openSync(path, 'w')
  try {
    for (let off = 0; off < SIZE; off += MiB) writeSync(fd, new Uint8Array(chunk.buffer))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function run(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'mv-bench-11-'))
  const path = join(dir, 'doubles.bin')
  try {
    createFile(path)
    const cold: Run[] = []
    const pre: Run[] = []
    for (let k = 0; k < REPS; k++) {
      cold.push(measure('cold', path))
      pre.push(measure('prefetch', path))
    }
    const warm: Run[] = []
    for (let k = 0; k < REPS; k++) warm.push(measure('warm', path))
    const sums = new Set([...cold, ...pre, ...warm].map((r) => r.sum))
    if (sums.size !== 1) throw new Error('runs disagree on the sum')
    const best = (runs: Run[], key: keyof Run): number => Math.min(...runs.map((r) => r[key]))
    return [
      row('cold 1 GiB scan: worst event-loop delay', best(pre, 'maxDelayMs'), best(cold, 'maxDelayMs'),
        'no prefetch', 'ms', { kind: 'faster' }),
      row('  of which during the scan', best(pre, 'scanDelayMs'), best(cold, 'scanDelayMs'), 'no prefetch', 'ms', { kind: 'none' }),
      row('  of which during the prefetch', best(pre, 'prefetchDelayMs'), best(cold, 'scanDelayMs'), 'no prefetch', 'ms', { kind: 'none' }),
      row('cold 1 GiB: prefetch + scan, total', best(pre, 'prefetchMs') + best(pre, 'scanMs'), best(cold, 'scanMs'),
        'cold scan', 'ms', { kind: 'none' }),
      row('1 GiB scan after prefetch', best(pre, 'scanMs'), best(warm, 'scanMs'), 'warm scan', 'ms', { kind: 'ratio', max: 1.5 }),
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--run') {
  child(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  benchMain({ 'prefetch vs cold scan, 1 GiB': run })
}
