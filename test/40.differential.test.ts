/**
 * Differential suite: seeded random cases evaluated by CPython (python3, one process,
 * test/differential/oracle.py) and by this package, compared value for value and error
 * class (+ code) for error class. Reproduce a run with MEMORYVIEW_DIFF_SEED and size it
 * with MEMORYVIEW_DIFF_CASES (default 2500).
 */
import { describe, it, before } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { generate, SOURCE_KINDS, NATIVE_CHARS, type Case } from './differential/cases'
import { evaluate } from './differential/evaluate'
import { PINNED } from './differential/pinned'
import { canon, comparable, expected } from './differential/encoding'

const SEED = Number(process.env.MEMORYVIEW_DIFF_SEED ?? 20240611)
const COUNT = Number(process.env.MEMORYVIEW_DIFF_CASES ?? 2500)
const ORACLE = path.resolve(__dirname, '../../test/differential/oracle.py')

interface Outcome { index: number, c: Case, py: unknown, want?: unknown, got?: unknown, problem?: string }

describe('40 differential: CPython memoryview vs this package', function () {
  this.timeout(120000)
  let cases: Case[] = []
  let released = 0
  let pyResults: unknown[] = []
  const mismatches: Outcome[] = []
  const badMessages: string[] = []
  let comparisons = 0

  before(function () {
    const g = generate(SEED, COUNT)
    cases = [...g.cases, ...PINNED]
    released = g.stats.released
    const run = spawnSync('python3', [ORACLE], { input: JSON.stringify({ cases }), maxBuffer: 1 << 30, encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`oracle.py failed (status ${String(run.status)}): ${run.stderr}${String(run.error ?? '')}`)
    pyResults = (JSON.parse(run.stdout) as { results: unknown[] }).results
    expect(pyResults).to.have.length(cases.length)

    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]
      const py = pyResults[i] as Record<string, unknown>
      if ('oracle_error' in py) {
        mismatches.push({ index: i, c, py, problem: `oracle failed: ${String(py.oracle_error)}` })
        continue
      }
      let want: unknown
      try {
        want = expected(py)
      } catch (e) {
        mismatches.push({ index: i, c, py, problem: (e as Error).message })
        continue
      }
      let got: unknown
      try {
        got = comparable(evaluate(c), badMessages)
      } catch (e) {
        mismatches.push({ index: i, c, py, want, problem: `JS evaluator threw outside any probe: ${(e as Error).stack ?? String(e)}` })
        continue
      }
      comparisons += countComparisons(want)
      if (canon(want) !== canon(got)) mismatches.push({ index: i, c, py, want, got })
    }
    console.log(`      differential: seed ${SEED}, ${cases.length} cases, ${comparisons} compared results, ${mismatches.length} mismatching cases`)
  })

  it(`matches CPython on every case (seed ${SEED})`, function () {
    if (mismatches.length === 0) return
    const shown = mismatches.slice(0, Number(process.env.MEMORYVIEW_DIFF_SHOW ?? 12)).map(m => [
      `--- ${m.index >= cases.length - PINNED.length ? `pinned case #${m.index - (cases.length - PINNED.length)}` : `case #${m.index} (MEMORYVIEW_DIFF_SEED=${SEED})`} ${m.problem ?? ''}`,
      `case:   ${JSON.stringify(m.c)}`,
      `python: ${JSON.stringify(m.py)}`,
      ...(m.want !== undefined ? [`want:   ${canon(m.want)}`] : []),
      ...(m.got !== undefined ? [`js:     ${canon(m.got)}`, `diff:   ${firstDifference(m.want, m.got)}`] : [])
    ].join('\n'))
    expect.fail(`${mismatches.length} of ${cases.length} cases differ from CPython:\n${shown.join('\n')}`)
  })

  it("the oracle's emulation of 'e' and byte-order-prefixed formats agrees with struct", function () {
    const run = spawnSync('python3', [ORACLE, '--selftest'], { encoding: 'utf8' })
    expect(run.stderr).to.equal('')
    expect(run.status).to.equal(0)
    expect(Number(run.stdout)).to.be.at.least(700)
  })

  it('error messages start with "memoryview: "', function () {
    expect([...new Set(badMessages)].slice(0, 20)).to.deep.equal([])
  })

  it('the generator covers what it claims (so the suite cannot silently degrade)', function () {
    expect(cases.length - PINNED.length).to.be.at.least(Math.min(COUNT, 2000))
    const stats = coverage(cases.slice(0, COUNT), pyResults.slice(0, COUNT))
    const { sources, formats, probeKinds, chainErrorTypes, probeErrorTypes, ...counts } = stats
    console.log(`      coverage: ${formats.size} formats, ${chainErrorTypes.size} chain error kinds, ${probeErrorTypes.size} probe error kinds, ${JSON.stringify(counts)}`)
    // Every JS source kind and every format reached a view that CPython accepted.
    expect([...stats.sources].sort()).to.deep.equal(Object.keys(SOURCE_KINDS).sort())
    for (const f of NATIVE_CHARS) expect(stats.formats, `format ${f}`).to.include(f)
    const at = [...stats.formats].filter(f => /^@.$/.test(f))
    expect(at.length, "distinct '@' formats").to.be.at.least(COUNT >= 2000 ? 10 : 4)
    const prefixed = [...stats.formats].filter(f => /^[<>=!].$/.test(f))
    expect(prefixed.length, 'distinct byte-order-prefixed formats').to.be.at.least(COUNT >= 2000 ? 32 : 10)
    for (const p of '<>=!') expect(prefixed.some(f => f[0] === p), `prefix ${p}`).to.equal(true)
    const min = (n: number): number => Math.ceil(n * COUNT / 2500)
    expect(stats.chainErrors, 'cases whose chain fails').to.be.at.least(min(450))
    expect(stats.chainErrorTypes.size, 'distinct chain error kinds').to.be.at.least(8)
    expect(stats.probeErrorTypes.size, 'distinct probe error kinds').to.be.at.least(20)
    expect(stats.multiDim, 'views with ndim >= 2').to.be.at.least(min(200))
    expect(stats.zeroDim, '0-d views').to.be.at.least(min(80))
    expect(stats.zeroSize, 'views with a 0 in shape').to.be.at.least(min(300))
    expect(stats.nonContiguous, 'non-contiguous views').to.be.at.least(min(200))
    expect(stats.readonly, 'readonly views').to.be.at.least(min(220))
    expect(stats.setOk, 'successful stores').to.be.at.least(min(380))
    expect(stats.setFailed, 'refused stores').to.be.at.least(min(600))
    expect(stats.assignOk, 'successful slice assignments').to.be.at.least(min(170))
    expect(stats.equalsTrue, 'equals() true').to.be.at.least(min(60))
    expect(stats.equalsFalse, 'equals() false').to.be.at.least(min(350))
    expect(stats.hashOk, 'successful hashes').to.be.at.least(min(40))
    expect(released, 'cases that release the view').to.be.at.least(min(50))
    for (const p of ['attrs', 'get', 'set', 'assign', 'tobytes', 'hex', 'tolist', 'iter', 'equals', 'hash', 'toreadonly', 'release', 'pin', 'unpin']) {
      expect(stats.probeKinds, `probe ${p}`).to.include(p)
    }
  })
})

function countComparisons (want: unknown): number {
  const w = want as { chain?: unknown, probes?: Array<{ attrs?: unknown[] }> }
  if (w.probes === undefined) return 1
  return w.probes.reduce((n, p) => n + (Array.isArray(p.attrs) ? p.attrs.length : 1), 0)
}

function firstDifference (a: unknown, b: unknown, at = '$'): string {
  if (canon(a) === canon(b)) return '(none)'
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) if (canon(a[i]) !== canon(b[i])) return firstDifference(a[i], b[i], `${at}[${i}]`)
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort().join()
    if (ka === Object.keys(b).sort().join()) {
      for (const k of Object.keys(a)) {
        const x = (a as Record<string, unknown>)[k]
        const y = (b as Record<string, unknown>)[k]
        if (canon(x) !== canon(y)) return firstDifference(x, y, `${at}.${k}`)
      }
    }
  }
  return `${at}: want ${canon(a)} got ${canon(b)}`
}

interface Coverage {
  sources: Set<string>, formats: Set<string>, probeKinds: Set<string>
  chainErrors: number, chainErrorTypes: Set<string>, probeErrorTypes: Set<string>
  multiDim: number, zeroDim: number, zeroSize: number, nonContiguous: number, readonly: number
  setOk: number, setFailed: number, assignOk: number, equalsTrue: number, equalsFalse: number, hashOk: number
}

/** Counts, from CPython's side of the results, what the generated cases exercised. */
function coverage (cases: Case[], results: unknown[]): Coverage {
  const s: Coverage = {
    sources: new Set(), formats: new Set(), probeKinds: new Set(), chainErrors: 0, chainErrorTypes: new Set(), probeErrorTypes: new Set(),
    multiDim: 0, zeroDim: 0, zeroSize: 0, nonContiguous: 0, readonly: 0, setOk: 0, setFailed: 0, assignOk: 0, equalsTrue: 0, equalsFalse: 0, hashOk: 0
  }
  type Res = { v?: unknown, e?: [string, string] }
  const errKey = (e: [string, string]): string => `${e[0]}: ${e[1].replace(/'.'|\d+/g, '_')}`
  results.forEach((raw, i) => {
    const c = cases[i]
    const r = raw as { chain?: Res, probes?: Array<Record<string, unknown>> }
    if (r.chain !== undefined) {
      s.chainErrors++
      if (r.chain.e !== undefined) s.chainErrorTypes.add(errKey(r.chain.e))
      return
    }
    if (r.probes === undefined) return
    s.sources.add(c.src.kind)
    const attrs = (r.probes[0] as { attrs: Res[] }).attrs
    const val = (k: number): unknown => attrs[k].v
    const fmt = val(2) as { s: string }
    s.formats.add(fmt.s)
    const ndim = Number((val(4) as { i: string }).i)
    const shape = (val(5) as Array<{ i: string }>).map(x => Number(x.i))
    if (ndim >= 2) s.multiDim++
    if (ndim === 0) s.zeroDim++
    if (shape.includes(0)) s.zeroSize++
    if (!(val(8) as { b: boolean }).b) s.nonContiguous++
    if ((val(1) as { b: boolean }).b) s.readonly++
    c.probes.forEach((p, k) => {
      s.probeKinds.add(p.p)
      const res = r.probes?.[k] as Res & { r?: Res }
      const core = p.p === 'set' || p.p === 'assign' ? res.r : res
      if (core?.e !== undefined) s.probeErrorTypes.add(`${p.p} ${errKey(core.e)}`)
      if (p.p === 'set') { if (core?.e === undefined) s.setOk++; else s.setFailed++ }
      if (p.p === 'assign' && core?.e === undefined) s.assignOk++
      if (p.p === 'hash' && core?.e === undefined) s.hashOk++
      if (p.p === 'equals' && core?.v !== undefined) {
        if ((core.v as { b: boolean }).b) s.equalsTrue++; else s.equalsFalse++
      }
    })
  })
  return s
}
