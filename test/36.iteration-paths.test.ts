/**
 * Which path for-of over a 1-D view takes (issue 9), guarded by what the iterator holds, not by
 * timing: the view's own TypedArray (exact or strided), read from the view's first element with the
 * view's step, and iterator state that V8 keeps as small integers (a field that first held
 * undefined is kept tagged, which cost the step-2 loop half its speed). Each path must still read
 * live data, stay exhausted, and never read memory that was released, detached or unmapped.
 * Also assign() into strided 8-byte views, whose copy loop is unrolled: every length around the
 * unrolled body must copy every bit and touch nothing between the elements.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { BUFFER_PROTOCOL, MemoryView, memoryview } from 'memoryview'
import { expectError, OUT_OF_BOUNDS, RELEASED } from './helpers/errors'
import { expectCleanClose } from './helpers/close-fixture'

/** What a TypedIterator holds: the view, its TypedArray, the first position and step, the next position and the end. */
interface TypedState {
  view: MemoryView<string>
  ta: ArrayBufferView
  start: number
  step: number
  p: number
  end: number
}

/** The internal fields of a view that name its TypedArray path (access.ts). */
interface ViewPaths {
  _ta1: ArrayBufferView | null
  _tas: ArrayBufferView | null
  _eoff: number
  _es0: number
}

function stateOf(m: MemoryView<string>): TypedState {
  const it = m[Symbol.iterator]() as object
  expect(it.constructor.name).to.equal('TypedIterator')
  return it as TypedState
}

function doubles(n: number): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = i + 0.5
  return a
}

const entry = path.join(__dirname, '..', 'lib', 'index.js')

describe('36 iteration paths: what for-of over a 1-D view reads through', () => {
  describe('the TypedArray the iterator reads is the view\'s own, never a copy', () => {
    it("step 2 'd': the view's strided TypedArray, from its first element, 2 elements apart", () => {
      const ta = doubles(10)
      const m = memoryview(ta).subarray(1, null, 2)
      const s = stateOf(m)
      const v = m as unknown as ViewPaths
      expect(s.ta).to.equal(v._tas)
      expect(s.ta.buffer).to.equal(ta.buffer)
      expect([s.start, s.p, s.step, s.end]).to.deep.equal([v._eoff, v._eoff, v._es0, v._eoff + 5 * 2])
      expect(s.step).to.equal(2)
      expect([...m]).to.deep.equal([1.5, 3.5, 5.5, 7.5, 9.5])
    })

    it("step -1 'd': the strided TypedArray from the last element, step -1", () => {
      const m = memoryview(doubles(4)).subarray(null, null, -1)
      const s = stateOf(m)
      expect(s.ta).to.equal((m as unknown as ViewPaths)._tas)
      expect([s.start, s.p, s.step, s.end]).to.deep.equal([3, 3, -1, -1])
      expect([...m]).to.deep.equal([3.5, 2.5, 1.5, 0.5])
    })

    it("unit stride: the view's exact TypedArray, from 0, step 1", () => {
      const m = memoryview(doubles(8)).subarray(2, 6)
      const s = stateOf(m)
      expect(s.ta).to.equal((m as unknown as ViewPaths)._ta1)
      expect([s.start, s.p, s.step, s.end]).to.deep.equal([0, 0, 1, 4])
    })

    it('a zero stride (buffer protocol, strides [0]): element by element, the one element n times, as CPython', () => {
      // numpy.broadcast_to(np.array([2.5]), (4,)) gives such a view in CPython; list(m) is [2.5] * 4.
      const ab = new Float64Array([1.5, 2.5]).buffer
      const m = memoryview({ [BUFFER_PROTOCOL]: () => ({ buffer: ab, byteOffset: 8, format: 'd', shape: [4], strides: [0], readonly: false }) })
      expect((m[Symbol.iterator]() as object).constructor.name).to.equal('ElementIterator')
      expect([...m]).to.deep.equal([2.5, 2.5, 2.5, 2.5])
    })

    it('every format with a TypedArray, strided: the iterator reads through that TypedArray', () => {
      for (const f of ['b', 'B', 'h', 'H', 'i', 'I', 'q', 'Q', 'f', 'd']) {
        const m = memoryview(new Uint8Array(64)).cast(f).subarray(null, null, 2)
        expect(stateOf(m).ta, f).to.equal((m as unknown as ViewPaths)._tas)
      }
    })
  })

  describe('iterator state stays small integers in V8', () => {
    it('no number field of either iterator is generalised to a tagged field (--trace-generalization)', () => {
      // Iterates a strided 'd' view, a 'B' view and a '?' view (the element-by-element iterator) in
      // a child, and reads V8's trace of field representation changes: "[generalizing]p:s{...}->t{...}"
      // means field p went from Smi to tagged, which makes every load and store of it slower.
      const script = [
        `const { memoryview } = require(${JSON.stringify(entry)})`,
        'const views = [memoryview(new Float64Array(16)).subarray(null, null, 2), memoryview(new Uint8Array(16)), memoryview(new Uint8Array(16)).cast("?")]',
        'for (const m of views) { let s = 0; for (const v of m) s += Number(v); for (const v of m) s += Number(v) }',
      ].join('\n')
      const r = spawnSync(process.execPath, ['--trace-generalization', '-e', script], { encoding: 'utf8', timeout: 60000 })
      expect(r.status, r.stderr).to.equal(0)
      const fields = /^\[generalizing\](view|ta|start|step|p|end|i|n):(\w)\{[^}]*\}->(\w)\{.*copies\.js/
      const lines = r.stdout.split('\n').filter((l) => fields.test(l))
      // The trace names the iterators' fields (p and i go from constant to mutable on the first
      // step): without such lines the flag's format changed and this test would check nothing.
      expect(lines.some((l) => l.startsWith('[generalizing]p:')), r.stdout.slice(0, 2000)).to.equal(true)
      expect(lines.some((l) => l.startsWith('[generalizing]i:')), r.stdout.slice(0, 2000)).to.equal(true)
      const tagged = lines.filter((l) => /->t\{/.test(l))
      expect(tagged).to.deep.equal([])
    })
  })

  describe('semantics the fast iterator keeps', () => {
    it('reads live data on a step-2 view: a store between steps is seen', () => {
      const ta = doubles(8)
      const m = memoryview(ta).subarray(null, null, 2)
      const it = m[Symbol.iterator]()
      expect(it.next()).to.deep.equal({ done: false, value: 0.5 })
      ta[2] = 42
      expect(it.next()).to.deep.equal({ done: false, value: 42 })
    })

    it('exhausted stays exhausted: { done: true, value: undefined } again after the memory changes', () => {
      const ta = doubles(4)
      const it = memoryview(ta).subarray(null, null, -2)[Symbol.iterator]()
      expect([...{ [Symbol.iterator]: () => it }]).to.deep.equal([3.5, 1.5])
      ta[3] = 7
      expect(it.next()).to.deep.equal({ done: true, value: undefined })
      expect(it.next()).to.deep.equal({ done: true, value: undefined })
    })

    it('release() mid-iteration of a step -1 view: RELEASED on the next step; once exhausted, done (as CPython)', () => {
      const m = memoryview(doubles(3)).subarray(null, null, -1)
      const it = m[Symbol.iterator]()
      expect(it.next().value).to.equal(2.5)
      m.release()
      expectError(() => it.next(), Error, RELEASED)
      const m2 = memoryview(doubles(2)).subarray(null, null, -1)
      const done = m2[Symbol.iterator]()
      expect([done.next().value, done.next().value]).to.deep.equal([1.5, 0.5])
      m2.release()
      expect(done.next()).to.deep.equal({ done: true, value: undefined })
    })

    it('a resizable buffer shrunk under a step-2 view mid-iteration: OUT_OF_BOUNDS, then reads again once grown back', () => {
      const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(64, { maxByteLength: 128 })
      const ta = new Float64Array(ab)
      ta.set([1, 2, 3, 4, 5, 6, 7, 8])
      const it = memoryview(ta).subarray(null, null, 2)[Symbol.iterator]()
      expect(it.next().value).to.equal(1)
      ;(ab as unknown as { resize(n: number): void }).resize(16)
      expectError(() => it.next(), Error, OUT_OF_BOUNDS)
      // Grown back, the failed step is retried: element 1 (ta[2]), not skipped, then on to the end.
      ;(ab as unknown as { resize(n: number): void }).resize(64)
      ta[2] = 30
      ta[4] = 50
      ta[6] = 70
      expect([...{ [Symbol.iterator]: () => it }]).to.deep.equal([30, 50, 70])
    })

    it('a mapping closed inside optimized for-of loops (unit, step 2, step -1): RELEASED, clean exit', function () {
      this.timeout(60000)
      expectCleanClose('iteration-after-close.js', 3)
    })
  })

  describe("assign() into strided 8-byte views (64-bit words, unrolled by 16)", () => {
    /** Word k of a source: NaN payloads, a signalling NaN, -0 and plain patterns, all distinct. */
    const word = (k: number): bigint => [0x7ff0000000000001n, 0xfff8000000000123n, 0x8000000000000000n][k % 3] + (BigInt(k) << 20n)

    it('every length from 0 to 40, steps 2 and -3, from other memory: each bit copied, gaps untouched', () => {
      for (const step of [2, -3]) {
        for (let n = 0; n <= 40; n++) {
          const dst = new BigUint64Array(Math.abs(step) * n + 3).fill(0x5555n)
          const src = BigUint64Array.from({ length: n }, (_, k) => word(k))
          const view = memoryview(new Float64Array(dst.buffer)).subarray(step > 0 ? 1 : -2, null, step)
          expect(view.length, `step ${step} n ${n}`).to.be.at.least(n)
          view.subarray(0, n).assign(new Float64Array(src.buffer))
          const first = step > 0 ? 1 : dst.length - 2
          const expected = new BigUint64Array(dst.length).fill(0x5555n)
          for (let k = 0; k < n; k++) expected[first + k * step] = src[k]
          expect([...dst], `step ${step} n ${n}`).to.deep.equal([...expected])
        }
      }
    })

    it('overlapping memory (the odd elements from the even ones, 37 of them): copied as if through a temporary', () => {
      const n = 37
      const all = BigUint64Array.from({ length: 2 * n }, (_, k) => word(k))
      const before = [...all]
      const m = memoryview(new Float64Array(all.buffer))
      m.subarray(1, null, 2).assign(m.subarray(0, null, 2))
      for (let k = 0; k < n; k++) {
        expect(all[2 * k + 1], `element ${2 * k + 1}`).to.equal(before[2 * k])
        expect(all[2 * k], `element ${2 * k}`).to.equal(before[2 * k])
      }
    })
  })
})
