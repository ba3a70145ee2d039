/**
 * What V8 makes of get(i) and set(i, v) on 1-D views (issue 9). Which TypedArray each layout reads
 * through is test 64's; this file checks, in a child process run with --allow-natives-syntax, what
 * V8 itself reports about those paths, never timing: that get() and set() are inlined into the
 * caller's loop for every 1-D layout (they stay under V8's inlining budget), that such a loop stays
 * optimized when it reaches element 0, and that the element index of a strided view stays integer
 * arithmetic for negative steps, and that set() on a strided view still finds memory detached under
 * its optimized loop (it checks attachment by reading the element). Then what the strided path gives at element 0 and at both ends,
 * for layouts only the buffer protocol makes (a zero stride, a negative stride from the last byte).
 */
import { describe, it, before } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { BUFFER_PROTOCOL, memoryview } from 'memoryview'
import { expectError, INDEX, INVALID_INDEX } from './helpers/errors'
import { LIB, bytecodeLengths, inliningsIn } from './helpers/v8'

const ENTRY = path.join(__dirname, '..', 'lib', 'index.js')
const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'fast-paths-1d-v8.js')

/** Runs the fixture in `mode` with the given V8 flags; returns its stdout (V8's traces go there). */
function runFixture(mode: string, flags: string[]): string {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', ...flags, FIXTURE, ENTRY, mode], {
    encoding: 'utf8',
    timeout: 60000,
    maxBuffer: 64 * 1024 * 1024,
  })
  expect(r.signal, r.stderr).to.equal(null)
  expect(r.status, r.stderr).to.equal(0)
  return r.stdout
}

/** The fixture's layouts: a unit-stride view of 'd' and 'B', and strided views (steps 2, -1, -3). */
const LAYOUTS = ['unit_d', 'unit_B', 'step2_d', 'stepm1_d', 'stepm3_B']
const STRIDED = new Set(['step2_d', 'stepm1_d', 'stepm3_B'])

describe('33 fast paths, 1-D: what V8 makes of get(i) and set(i, v)', function () {
  this.timeout(60000)

  describe('get() and set() are inlined into the loop that calls them, for every 1-D layout', () => {
    /** "callee -> caller" for every call TurboFan inlined, and whether each loop runs optimized code (with V8's status). */
    const inlined = new Set<string>()
    const status = new Map<string, string>()
    before(() => {
      const out = runFixture('inlining', ['--trace-turbo-inlining'])
      for (const [callee, caller] of inliningsIn(out)) inlined.add(`${callee} -> ${caller}`)
      for (const line of out.split('\n')) {
        const s = /^@@status (\S+) (true|false) (\d+)$/.exec(line)
        if (s !== null) status.set(s[1], `${s[2]} (status ${s[3]})`)
      }
    })
    for (const layout of LAYOUTS) {
      it(`${layout}: get() inlined into a get loop, which stays optimized when it reaches element 0`, () => {
        expect([...inlined]).to.include(`get -> get_${layout}`)
        expect(status.get(`get_${layout}`)).to.match(/^true /)
      })
      it(`${layout}: set() inlined into a set loop${STRIDED.has(layout) ? ', with its strided path _setS()' : ''}, optimized after element 0`, () => {
        expect([...inlined]).to.include(`set -> set_${layout}`)
        if (STRIDED.has(layout)) expect([...inlined]).to.include(`_setS -> set_${layout}`)
        expect(status.get(`set_${layout}`)).to.match(/^true /)
      })
    }
  })

  describe('get() and set() leave room under V8\'s inlining limit', () => {
    it('each is at most 420 bytes of bytecode here (V8 inlines at most 460; newer V8s compile the same source a few percent larger: get() at 445 bytes here was 461 on Node 26, which then never inlined it)', () => {
      const script = [
        `const { memoryview } = require(${LIB})`,
        'const a = new Float64Array(64)',
        "const views = [memoryview(a), memoryview(a).subarray(0, null, 2), memoryview(a).cast('B').cast('d', [8, 8]), memoryview(a).cast('B').cast('d', [4, 4, 4])]",
        'for (const m of views) { const idx = Array(m.ndim).fill(1); m.get(...idx); m.set(...idx, 2) }',
      ].join('\n')
      for (const fn of ['get', 'set']) {
        // Other functions named get or set (a getter, a Map's) are small; ours is the largest.
        const sizes = bytecodeLengths(script, fn)
        expect(sizes.length, `bytecode printed for ${fn}`).to.be.above(0)
        expect(Math.max(...sizes), `${fn}()`).to.be.at.most(420)
      }
    })
  })

  describe('a negative step keeps the strided element index in integer arithmetic', () => {
    /** The BinaryOp feedback kinds of each function the fixture %DebugPrint-ed, by function name. */
    const kinds = new Map<string, string[]>()
    before(() => {
      const out = runFixture('feedback', [])
      for (const block of out.split('DebugPrint:').slice(1)) {
        const name = /shared_info: \S+ <SharedFunctionInfo ([^>]*)>/.exec(block)
        if (name !== null) kinds.set(name[1], [...block.matchAll(/BinaryOp:(\w+)/g)].map((m) => m[1]))
      }
    })
    // 0 times a negative step is -0, which is not a small integer: had get() or set() multiplied
    // for element 0, V8 would have recorded that multiply (and the add after it) as floating point,
    // and compiled every strided index as doubles converted back to an integer.
    for (const fn of ['get', '_setS']) {
      it(`${fn}(): loops from element 0 over step -1 and -2 views leave only small-integer arithmetic feedback`, () => {
        const seen = kinds.get(fn)
        expect(seen, `no %DebugPrint output for ${fn}`).to.not.equal(undefined)
        expect(seen).to.include('SignedSmall')
        expect(seen!.filter((k) => k !== 'None' && k !== 'SignedSmall')).to.deep.equal([])
      })
    }
  })

  describe('set(i, v) on a strided view checks its memory is attached, also in optimized code', () => {
    // _setS() checks attachment by reading the element, not `e < ts.length`: in a loop over a view
    // V8 can see, that read is bounds-checked against the length V8 folded into the code, which
    // is only sound because detaching any buffer throws that code away. A store into detached memory
    // is dropped silently, so a missed detach would show as no error.
    interface TransferCase { case: string; optimized: boolean; code: string | null; stored: number; before: number }
    let cases: TransferCase[] = []
    before(() => {
      cases = runFixture('transfer', []).trim().split('\n').map((l) => JSON.parse(l) as TransferCase)
    })
    it('8 cases ran: buffer transferred after or during an optimized loop; d step 2, d step -1, B step -3, q step 2', () => {
      expect(cases.map((c) => c.case)).to.deep.equal(['after', 'during'].flatMap((w) => ['d step 2', 'd step -1', 'B step -3', 'q step 2'].map((c) => `${w} ${c}`)))
    })
    for (const when of ['after', 'during']) {
      for (const layout of ['d step 2', 'd step -1', 'B step -3', 'q step 2']) {
        it(`${when} ${layout}: the loop was optimized; the next store throws OUT_OF_BOUNDS; the moved memory holds only the stores made before`, () => {
          const c = cases.find((x) => x.case === `${when} ${layout}`)!
          expect(c.optimized).to.equal(true)
          expect(c.code).to.equal('ERR_MEMORYVIEW_OUT_OF_BOUNDS')
          expect(c.stored).to.equal(c.before)
        })
      }
    }
  })

  describe('the strided path at element 0 and at both ends', () => {
    /** A view of `shape` and `strides` (bytes) over `memory`, starting `byteOffset` bytes in, by the buffer protocol. */
    const exported = (memory: Float64Array, byteOffset: number, shape: number[], strides: number[]) =>
      memoryview({ [BUFFER_PROTOCOL]: () => ({ buffer: memory.buffer, byteOffset, format: 'd', shape, strides }) })

    it('a zero stride: every index reads and writes the one element; IndexError past the length', () => {
      // numpy: as_strided(a[1:], shape=(5,), strides=(0,)) reads [1.5] * 5.
      const ta = new Float64Array([0.5, 1.5, 2.5, 3.5])
      const m = exported(ta, 8, [5], [0])
      for (const i of [0, 1, 4, -1, -5]) expect(m.get(i)).to.equal(1.5)
      m.set(0, 7)
      expect(m.get(3)).to.equal(7)
      m.set(-2, 9)
      expect([...ta]).to.deep.equal([0.5, 9, 2.5, 3.5])
      expectError(() => m.get(5), RangeError, INDEX)
      expectError(() => m.set(-6, 1), RangeError, INDEX)
      expect([...ta]).to.deep.equal([0.5, 9, 2.5, 3.5])
    })
    it('a negative stride from the last element: element 0 is the last double, element -1 the first', () => {
      const ta = new Float64Array([0.5, 1.5, 2.5, 3.5])
      const m = exported(ta, 24, [4], [-8])
      expect([0, 1, 3, -1, -4].map((i) => m.get(i))).to.deep.equal([3.5, 2.5, 0.5, 0.5, 3.5])
      m.set(0, 30)
      m.set(-1, 10)
      expect([...ta]).to.deep.equal([10, 1.5, 2.5, 30])
      expectError(() => m.get(4), RangeError, INDEX)
      expectError(() => m.set(-5, 1), RangeError, INDEX)
      expect([...ta]).to.deep.equal([10, 1.5, 2.5, 30])
    })
    it('subarray() steps -1, -2 and 3: element 0 and -0 read the first element of the slice, set(0) writes it', () => {
      for (const [step, first] of [[-1, 9], [-2, 9], [3, 0]]) {
        const ta = Float64Array.from({ length: 10 }, (_, i) => i + 0.5)
        const m = memoryview(ta).subarray(null, null, step)
        expect(m.get(0), `step ${step}`).to.equal(first + 0.5)
        expect(m.get(-0), `step ${step}`).to.equal(first + 0.5)
        expect(m.get(-m.length), `step ${step}`).to.equal(first + 0.5)
        m.set(-0, -1)
        expect(ta[first], `step ${step}`).to.equal(-1)
      }
    })
    it('set(): a fractional index writes nothing, also where index times step is a whole element (1.5 * 2 = 3)', () => {
      // The strided path may not leave integrality to the TypedArray's own index check: 1.5 on a
      // step-2 view is element 3 of the memory, which is not one of the view's.
      for (const [step, indices] of [[2, [1.5, -1.5, 2.5]], [-2, [0.5, 1.5, -0.5]], [3, [1 / 3, 2 / 3, -1 / 3]]] as const) {
        const ta = Float64Array.from({ length: 10 }, (_, i) => i + 0.5)
        const m = memoryview(ta).subarray(null, null, step)
        for (const i of indices) expectError(() => m.set(i, -1), TypeError, INVALID_INDEX)
        expect([...ta], `step ${step}`).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 0.5))
      }
    })
  })
})
