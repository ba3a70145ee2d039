/**
 * `npm run bench`: runs every benchmark script (bench/NN-*.ts) case by case, each case in its own
 * Node process so that no case inherits another's JIT state, and prints one summary table against
 * the targets of issue 2. Benchmarks report; they never fail the run (exit code 0).
 *
 * Usage: node dist/bench/run.js [filter...] (filters match script or case names, e.g. `01 tolist`).
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Row, listCases, runCaseInChild, table } from './common'

const filters = process.argv.slice(2)
const scripts = readdirSync(__dirname).filter((f) => /^\d\d-.*\.js$/.test(f)).sort()
const rows: Row[] = []
const started = Date.now()
for (const script of scripts) {
  const file = join(__dirname, script)
  const label = script.replace(/\.js$/, '')
  for (const name of listCases(file)) {
    if (filters.length > 0 && !filters.some((f) => label.includes(f) || name.includes(f))) continue
    console.log(`${label}: ${name}`)
    rows.push(...runCaseInChild(file, name, label))
  }
}
console.log(`\nmemoryview benchmarks (node ${process.version}, best of N, ratio = ours / baseline, ${Math.round((Date.now() - started) / 1000)} s)\n`)
console.log(table(rows))
const failed = rows.filter((r) => r.pass === false).length
const judged = rows.filter((r) => r.pass !== null).length
console.log(`\n${judged - failed} of ${judged} targets met${failed > 0 ? ` (${failed} missed)` : ''}.`)
