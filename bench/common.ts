/**
 * Shared machinery of the benchmarks: best-of-N timing with interleaved repetitions, the row every
 * benchmark reports, and the case protocol that lets the runner give each case its own process.
 *
 * Assumptions: the machine has 2 cores and may be busy, so a measurement is the minimum over
 * repetitions (noise only ever adds time), baseline and ours alternate so that a burst of load hits
 * both, and both are warmed up first so that neither is timed while V8 is still compiling it.
 * Each case runs in a fresh process: call sites in lib/ shared by several cases would otherwise
 * become polymorphic and slow every case down.
 */
import { spawnSync } from 'node:child_process'

/** What a benchmark's result is judged against. */
export type Target =
  | { kind: 'ratio'; max: number } // ours / baseline must be at most `max`
  | { kind: 'abs'; maxNs: number } // ours must take less than `maxNs` per op
  | { kind: 'faster' } // ours / baseline below 1
  | { kind: 'none' } // reported for information

export interface Row {
  name: string
  /** Ours, in `unit`. */
  ours: number
  /** The baseline, in `unit`. */
  baseline: number
  baselineName: string
  unit: string
  ratio: number
  target: string
  /** null when there is no target. */
  pass: boolean | null
  /** scijs ndarray's time for the same operation, in `unit`, when measured side by side. */
  nd?: number
  /** ours / nd. */
  ndRatio?: number
}

/** Keeps results alive so that V8 cannot drop the work that produced them. */
export let sink: unknown = 0
export function consume(v: unknown): void {
  sink = v
}

/** Repetitions are multiplied by BENCH_REPS_SCALE (e.g. 0.2 for a quick run, 3 for a careful one). */
const SCALE = Number(process.env.BENCH_REPS_SCALE ?? '1') || 1

function timeOnce(fn: () => unknown): number {
  const t0 = process.hrtime.bigint()
  const r = fn()
  const t1 = process.hrtime.bigint()
  sink = r
  return Number(t1 - t0)
}

export interface CompareOptions {
  /** Timed repetitions of each side (best-of). */
  reps: number
  /** Operations one call of `fn` performs; times are reported per operation. */
  ops: number
  /** Untimed full-size calls of each side before timing. */
  warmup?: number
  /**
   * When set, each side is first called this many times with the argument `primeN` (a small problem
   * size) before the full-size calls. A loop that starts cold collects no type feedback for what it
   * does before its first iterations (V8 allocates feedback lazily), and its optimized code then
   * deoptimizes on the first full-size call; priming gives TurboFan complete feedback up front.
   */
  prime?: number
  primeN?: number
  /** The argument of the timed calls (the problem size), passed to `fn`. */
  n?: number
}

/**
 * Times `baseline` and `ours` alternately and returns the best time of each, in ns per operation.
 * The side that goes first alternates too, so that neither always runs right after a GC the other caused.
 */
export function compare(
  baseline: (n: number) => unknown, ours: (n: number) => unknown, opts: CompareOptions,
): { base: number; ours: number } {
  const reps = Math.max(3, Math.round(opts.reps * SCALE))
  for (let k = 0; k < (opts.prime ?? 0); k++) {
    sink = baseline(opts.primeN ?? 1)
    sink = ours(opts.primeN ?? 1)
  }
  const n = opts.n ?? 0
  const runBase = (): unknown => baseline(n)
  const runOurs = (): unknown => ours(n)
  for (let k = 0; k < (opts.warmup ?? 3); k++) {
    sink = runBase()
    sink = runOurs()
  }
  let bestBase = Infinity
  let bestOurs = Infinity
  for (let k = 0; k < reps; k++) {
    if (k % 2 === 0) {
      bestBase = Math.min(bestBase, timeOnce(runBase))
      bestOurs = Math.min(bestOurs, timeOnce(runOurs))
    } else {
      bestOurs = Math.min(bestOurs, timeOnce(runOurs))
      bestBase = Math.min(bestBase, timeOnce(runBase))
    }
  }
  return { base: bestBase / opts.ops, ours: bestOurs / opts.ops }
}

/**
 * Times the raw baseline, scijs ndarray and ours round-robin (the order rotates each repetition) and
 * returns the best time of each, in ns per operation.
 */
export function compare3(
  raw: (n: number) => unknown, nd: (n: number) => unknown, ours: (n: number) => unknown, opts: CompareOptions,
): { base: number; nd: number; ours: number } {
  const reps = Math.max(3, Math.round(opts.reps * SCALE))
  const fns = [raw, nd, ours]
  for (let k = 0; k < (opts.prime ?? 0); k++) for (const f of fns) sink = f(opts.primeN ?? 1)
  const n = opts.n ?? 0
  for (let k = 0; k < (opts.warmup ?? 3); k++) for (const f of fns) sink = f(n)
  const best = [Infinity, Infinity, Infinity]
  for (let k = 0; k < reps; k++) {
    for (let c = 0; c < 3; c++) {
      const at = (c + k) % 3
      best[at] = Math.min(best[at], timeOnce(() => fns[at](n)))
    }
  }
  return { base: best[0] / opts.ops, nd: best[1] / opts.ops, ours: best[2] / opts.ops }
}

/**
 * A row judged against both a raw TypedArray baseline and scijs ndarray: passes when ours/raw is at
 * most `maxRaw` (when given) and ours/ndarray at most `maxNd` (when given).
 */
export function row3(
  name: string, t: { base: number; nd: number; ours: number }, baselineName: string, unit: string,
  maxNd: number | null, maxRaw: number | null, maxNs: number | null = null,
): Row {
  const ratio = t.ours / t.base
  const ndRatio = t.ours / t.nd
  const parts: string[] = []
  if (maxNd !== null) parts.push(`nd <= ${maxNd}x`)
  if (maxRaw !== null) parts.push(`raw <= ${maxRaw}x`)
  if (maxNs !== null) parts.push(`< ${maxNs} ns`)
  const pass = parts.length === 0
    ? null
    : (maxNd === null || ndRatio <= maxNd) && (maxRaw === null || ratio <= maxRaw) && (maxNs === null || t.ours < maxNs)
  return { name, ours: t.ours, baseline: t.base, baselineName, unit, ratio, target: parts.join(', ') || '-', pass, nd: t.nd, ndRatio }
}

/** Best time of `fn` alone, in ns per operation. */
export function bestOf(fn: () => unknown, opts: CompareOptions): number {
  const reps = Math.max(3, Math.round(opts.reps * SCALE))
  for (let k = 0; k < (opts.warmup ?? 3); k++) sink = fn()
  let best = Infinity
  for (let k = 0; k < reps; k++) best = Math.min(best, timeOnce(fn))
  return best / opts.ops
}

export function targetText(t: Target): string {
  switch (t.kind) {
    case 'ratio': return `<= ${t.max}x`
    case 'abs': return `< ${t.maxNs} ns`
    case 'faster': return '< 1x'
    case 'none': return '-'
  }
}

export function row(name: string, ours: number, baseline: number, baselineName: string, unit: string, target: Target): Row {
  const ratio = ours / baseline
  let pass: boolean | null
  switch (target.kind) {
    case 'ratio': pass = ratio <= target.max; break
    case 'abs': pass = ours < target.maxNs; break
    case 'faster': pass = ratio < 1; break
    default: pass = null
  }
  return { name, ours, baseline, baselineName, unit, ratio, target: targetText(target), pass }
}

/** A number with three significant digits (and no exponent for the sizes we see). */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  if (x >= 1) return x.toFixed(2)
  return x.toPrecision(3)
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

/** The summary table: benchmark, ours, baseline, ratio, target, pass/fail. */
export function table(rows: Row[]): string {
  const head = ['benchmark', 'ours', 'baseline', 'unit', 'ratio', 'ndarray', 'vs ndarray', 'target', 'result']
  const body = rows.map((r) => [
    r.name,
    fmt(r.ours),
    `${fmt(r.baseline)} (${r.baselineName})`,
    r.unit,
    `${fmt(r.ratio)}x`,
    r.nd === undefined ? '-' : fmt(r.nd),
    r.ndRatio === undefined ? '-' : `${fmt(r.ndRatio)}x`,
    r.target,
    r.pass === null ? '-' : r.pass ? 'PASS' : 'FAIL',
  ])
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)))
  const line = (cells: string[]): string =>
    cells.map((cell, c) => pad(cell, widths[c], c === 1 || c === 4 || c === 5 || c === 6)).join('  ').trimEnd()
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

const ROWS_TAG = '@@ROWS '

/**
 * Runs one case of `file` in a fresh Node process and returns its rows; the child's other output is
 * passed through. A case that crashes yields a single failing row rather than stopping the run.
 */
export function runCaseInChild(file: string, name: string, label: string): Row[] {
  const r = spawnSync(process.execPath, ['--expose-gc', file, name], { encoding: 'utf8', maxBuffer: 64 << 20 })
  const rows: Row[] = []
  for (const line of (r.stdout ?? '').split('\n')) {
    if (line.startsWith(ROWS_TAG)) rows.push(...(JSON.parse(line.slice(ROWS_TAG.length)) as Row[]))
    else if (line !== '') console.log(`  ${line}`)
  }
  if (r.status !== 0 || rows.length === 0) {
    process.stderr.write(r.stderr ?? '')
    rows.push({
      name: `${label} ${name} (crashed: status ${r.status}, signal ${r.signal})`,
      ours: NaN, baseline: NaN, baselineName: '-', unit: '-', ratio: NaN, target: '-', pass: false,
    })
  }
  return rows
}

/** The case names a benchmark script offers. */
export function listCases(file: string): string[] {
  const r = spawnSync(process.execPath, [file, '--cases'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${file} --cases failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as string[]
}

/**
 * The entry point of every benchmark script. `node X.js --cases` lists the cases, `node X.js <case>`
 * runs one and prints its rows, `node X.js` runs each case in its own process and prints a table.
 */
export function benchMain(cases: Record<string, () => Row[]>): void {
  const arg = process.argv[2]
  const file = process.argv[1]
  if (arg === '--cases') {
    process.stdout.write(JSON.stringify(Object.keys(cases)))
    return
  }
  if (arg !== undefined) {
    const run = cases[arg]
    if (run === undefined) throw new Error(`unknown case ${arg}; cases: ${Object.keys(cases).join(', ')}`)
    const rows = run()
    for (const r of rows) {
      const nd = r.nd === undefined ? '' : `, ndarray ${fmt(r.nd)} ${r.unit}, vs ndarray ${fmt(r.ndRatio!)}x`
      console.log(`${r.name}: ours ${fmt(r.ours)} ${r.unit}, ${r.baselineName} ${fmt(r.baseline)} ${r.unit}, ratio ${fmt(r.ratio)}x${nd}`)
    }
    console.log(ROWS_TAG + JSON.stringify(rows))
    return
  }
  const rows: Row[] = []
  for (const name of Object.keys(cases)) rows.push(...runCaseInChild(file, name, ''))
  console.log(`\n${table(rows)}`)
}

export const KiB = 1024
export const MiB = 1024 * 1024

/** A human size: 64 B, 64 KiB, 16 MiB. */
export function sizeName(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`
  return `${n} B`
}
