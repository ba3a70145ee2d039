/**
 * Issue 4: acquire + release of a buffer from native code (include/memoryview.h), in ns per pair,
 * against an empty Node-API call measured in the same run. Target: under 1 µs per pair.
 * Uses the test consumer addon (test/fixtures/consumer), building it if needed.
 */
import { memoryview } from 'memoryview'
import { buildConsumer } from '../test/helpers/consumer'
import { Row, benchMain, row } from './common'

interface Consumer {
  acquireRelease(source: unknown, n: number, flags?: number): number
  emptyCalls(fn: () => void, n: number): number
  empty(): void
}

const N = 200_000
const REPS = 7

function best(fn: () => number): number {
  let min = Infinity
  for (let r = 0; r < REPS; r++) min = Math.min(min, fn())
  return min
}

function jsLoop(fn: () => void): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) fn()
  return Number(process.hrtime.bigint() - start) / N
}

const TARGET = { kind: 'abs', maxNs: 1000 } as const

function measure(name: string, make: () => unknown): Row[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const c = require(buildConsumer(true).consumer) as Consumer
  const source = make()
  const jsToNative = best(() => jsLoop(() => c.empty()))
  const nativeToJs = best(() => c.emptyCalls(() => {}, N) / N)
  const pair = best(() => c.acquireRelease(source, N) / N)
  console.log(`${name}: ${pair.toFixed(0)} ns per acquire+release pair; empty call JS->native ${jsToNative.toFixed(0)} ns, native->JS ${nativeToJs.toFixed(0)} ns`)
  return [
    row(`acquire+release from C++: ${name}`, pair, jsToNative, 'empty Node-API call', 'ns', TARGET),
  ]
}

benchMain({
  'Buffer(64)': () => measure('Buffer(64)', () => Buffer.alloc(64)),
  'Float64Array(8)': () => measure('Float64Array(8)', () => new Float64Array(8)),
  'MemoryView 2-D strided': () =>
    measure('MemoryView 2-D strided', () => memoryview(new Float64Array(64)).cast('B').cast('d', [8, 8]).subarray(null, null, -1)),
})
