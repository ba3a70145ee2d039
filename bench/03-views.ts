/**
 * Question: are new views cheap and zero-copy? subarray, cast, toreadonly and construction
 * (memoryview(buf), new MemoryView(ta), memoryview(view)) timed per operation over a 1 KiB and a
 * 64 MiB buffer. Targets (issue 2): under 1 µs each, and no data copy, so the 64 MiB time must not
 * grow with size (we accept <= 2x of the 1 KiB time as noise; a copy would be thousands of times).
 * Baselines are the closest TypedArray/Buffer operation, for scale only.
 */
import { MemoryView, memoryview } from 'memoryview'
import { KiB, MiB, Row, benchMain, compare, row, sizeName } from './common'

const OPS = 20_000
const SIZES = [KiB, 64 * MiB]

/**
 * One case: `ours(size)` returns a function doing OPS operations on a source of `size` bytes, and
 * `base(size)` the comparable plain operation.
 */
function views(name: string, baseName: string, base: (size: number) => (n: number) => unknown, ours: (size: number) => (n: number) => unknown): Row[] {
  const perSize = SIZES.map((size) => compare(base(size), ours(size), { reps: 30, ops: OPS, n: OPS, prime: 0 }))
  const [small, large] = perSize
  return [
    row(`${name} (${sizeName(SIZES[0])})`, small.ours, small.base, baseName, 'ns/op', { kind: 'abs', maxNs: 1000 }),
    row(`${name} (${sizeName(SIZES[1])})`, large.ours, large.base, baseName, 'ns/op', { kind: 'abs', maxNs: 1000 }),
    row(`${name} zero-copy: ${sizeName(SIZES[1])} vs ${sizeName(SIZES[0])}`, large.ours, small.ours, `same op, ${sizeName(SIZES[0])}`, 'ns/op', { kind: 'ratio', max: 2 }),
  ]
}

/** Loops keep the last result so that the work cannot be dropped. */
function loop<T>(op: () => T): (n: number) => T {
  return (n) => {
    let r = op()
    for (let k = 1; k < n; k++) r = op()
    return r
  }
}

benchMain({
  subarray: () =>
    views('subarray(1, -1)', 'Float64Array.subarray', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => ta.subarray(1, -1))
    }, (size) => {
      const m = memoryview(new Float64Array(size / 8))
      return loop(() => m.subarray(1, -1))
    }),
  'subarray step': () =>
    views('subarray(null, null, 2)', 'Float64Array.subarray', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => ta.subarray(0))
    }, (size) => {
      const m = memoryview(new Float64Array(size / 8))
      return loop(() => m.subarray(null, null, 2))
    }),
  cast: () =>
    views("cast('B') of 'd'", 'new Uint8Array(ta.buffer)', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength))
    }, (size) => {
      const m = memoryview(new Float64Array(size / 8))
      return loop(() => m.cast('B'))
    }),
  'cast shape': () =>
    views("cast('d', [rows, 128]) of 'B'", 'new Float64Array(buf)', (size) => {
      const b = Buffer.alloc(size)
      return loop(() => new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8))
    }, (size) => {
      const m = memoryview(Buffer.alloc(size))
      const shape = [size / 8 / 128, 128]
      return loop(() => m.cast('d', shape))
    }),
  toreadonly: () =>
    views('toreadonly()', 'Float64Array.subarray()', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => ta.subarray())
    }, (size) => {
      const m = memoryview(new Float64Array(size / 8))
      return loop(() => m.toreadonly())
    }),
  'memoryview(buf)': () =>
    views('memoryview(Buffer)', 'new Uint8Array(buf.buffer)', (size) => {
      const b = Buffer.alloc(size)
      return loop(() => new Uint8Array(b.buffer, b.byteOffset, b.length))
    }, (size) => {
      const b = Buffer.alloc(size)
      return loop(() => memoryview(b))
    }),
  'new MemoryView(ta)': () =>
    views('new MemoryView(Float64Array)', 'new Float64Array(ta.buffer)', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => new Float64Array(ta.buffer, ta.byteOffset, ta.length))
    }, (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => new MemoryView(ta))
    }),
  'memoryview(view)': () =>
    views('memoryview(MemoryView)', 'Float64Array.subarray()', (size) => {
      const ta = new Float64Array(size / 8)
      return loop(() => ta.subarray())
    }, (size) => {
      const m = memoryview(new Float64Array(size / 8))
      return loop(() => memoryview(m))
    }),
})
