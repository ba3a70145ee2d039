/**
 * View creation (issue 9): subarray(), toreadonly(), cast() and memoryview(view) build a small view
 * object on one hidden class, and subarray() of a 1-D view takes an integer fast path whose view
 * reads its parent's TypedArray. Guarded here by what a view holds, never by timing, together with
 * the semantics that the smaller object must keep: Python's slice clamping (against python3), the
 * order of errors, exports and release(), cached hashes, frozen shape/strides, repr numbers,
 * contiguity flags and the refusal to be cloned.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { BufferError, MemoryView, SharedMemory, memoryview } from 'memoryview'
import { EXPORTED, INVALID_INDEX, NOT_CLONEABLE, OUT_OF_RANGE, RELEASED, expectError } from './helpers/errors'
import { makeExporter } from './helpers/sources'
import { LIB, bytecodeLengths, inlinedInto } from './helpers/v8'

/** The internal fields these tests look at. */
interface Internals {
  _ta1: ArrayBufferView | null
  _tas: ArrayBufferView | null
  _eoff: number
  _es0: number
  _shp: readonly number[] | null
  _x: object | null
}
const internals = (m: MemoryView<string>): Internals => m as unknown as Internals

function doubles(n: number): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = i
  return a
}

/** One view made by every creation path, from a fresh Float64Array of 12 elements. */
function everyPath(): Record<string, MemoryView<string>> {
  const m = memoryview(doubles(12))
  return {
    'memoryview(Float64Array)': m,
    'subarray(1, 9, 2)': m.subarray(1, 9, 2),
    'subarray() (all of it)': m.subarray(),
    'subarray(2, 5) (unit stride)': m.subarray(2, 5),
    'subarray(1n, 9n, 2n) (general path)': m.subarray(1n, 9n, 2n),
    'toreadonly()': m.toreadonly(),
    'memoryview(view)': memoryview(m),
    "cast('B')": m.cast('B'),
    "cast('B').cast('d', [3, 4])": m.cast('B').cast('d', [3, 4]),
    "cast('B', []) of 1 byte (0-d)": memoryview(new Uint8Array(1)).cast('B', []),
    'toreadonly() of a subarray': m.subarray(0, 12, 3).toreadonly(),
    'memoryview() of a subarray': memoryview(m.subarray(0, 12, 3)),
  }
}

/** Python's `list(range(length))[a:b:c]` for each case, from python3 (None for null). */
function pythonSlices(length: number, cases: Array<[number | null, number | null, number | null]>): number[][] {
  const script = 'import json,sys\nL,cs=json.load(sys.stdin)\nprint(json.dumps([list(range(L))[a:b:c] for a,b,c in cs]))'
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify([length, cases]), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`)
  return JSON.parse(run.stdout) as number[][]
}

describe('35 view creation: a small view object, the same semantics', () => {
  describe('the view object', () => {
    it('every creation path gives the same own properties in the same order (one hidden class)', () => {
      const views = everyPath()
      const reference = Object.keys(views['memoryview(Float64Array)'])
      for (const [name, v] of Object.entries(views)) expect(Object.keys(v), name).to.deep.equal(reference)
      const released = memoryview(doubles(4)).subarray(1)
      released.release()
      expect(Object.keys(released), 'a released view').to.deep.equal(reference)
    })
    it('V8 gives views from the public constructor and from every derived path the same map (%HaveSameMap)', () => {
      // The public constructor stores its fields in initFromSource(), the derived paths in the
      // constructor itself: the same fields in the same order must give the same map.
      const script = [
        `const { memoryview, MemoryView } = require(${LIB});`,
        'const m = memoryview(new Float64Array(12));',
        "const views = [new MemoryView(new Uint8Array(4)), m.subarray(1, 9, 2), m.subarray(2, 5), m.subarray(1n, 9n, 2n), m.toreadonly(), memoryview(m), m.cast('B'), m.cast('B').cast('d', [3, 4])];",
        "console.log(views.map((v) => %HaveSameMap(m, v)).join(' '));",
      ].join('\n')
      const run = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8' })
      expect(run.status, run.stderr).to.equal(0)
      expect(run.stdout.trim()).to.equal(Array(8).fill('true').join(' '))
    })
    it('holds only what element access and slicing read: these 15 own properties, in this order', () => {
      // The fields get()/set() read, the layout, and `_x`; every further field costs each creation,
      // so one added must be added here too, on purpose.
      expect(Object.keys(memoryview(doubles(4)).subarray(1, 3))).to.deep.equal([
        '_mbuf', '_off', '_fmt', '_ta1', '_tas', '_nd', '_eoff', '_es0', '_shp', '_str', '_ndim', '_len0', '_stride0', '_readonly', '_x',
      ])
    })
    it('the first own property is the managed buffer, whose first own property is the clone guard', () => {
      // structuredClone()/postMessage() serialise own properties in order: they meet the guard first.
      const m = memoryview(doubles(4))
      expect(Object.keys(m)[0]).to.equal('_mbuf')
      const mbuf = (m as unknown as { _mbuf: object })._mbuf
      expect(Object.keys(mbuf)[0]).to.equal('_noclone')
      expect(() => (mbuf as { _noclone: { memoryview: unknown } })._noclone.memoryview).to.throw(TypeError)
      // Met before the buffer, which would otherwise be copied whole or, detached, fail with V8's own error.
      const ab = new ArrayBuffer(16)
      const v = memoryview(ab)
      structuredClone(ab, { transfer: [ab] })
      expectError(() => structuredClone(v), TypeError, NOT_CLONEABLE)
    })
    it("what element access never reads is not a field of its own (exports, hash, repr number, shape copies, flags)", () => {
      const own = Object.keys(memoryview(doubles(4)).subarray(1, 3))
      for (const cold of ['_noclone', '_exports', '_hash', '_id', '_rb', '_shapeOut', '_stridesOut', '_c', '_f', '_itemsize', '_read', '_write', '_stride1']) {
        expect(own, cold).not.to.include(cold)
      }
    })
    it('structuredClone() of a view made by each path → TypeError ERR_MEMORYVIEW_NOT_CLONEABLE', () => {
      for (const [name, v] of Object.entries(everyPath())) {
        const err = expectError(() => structuredClone(v), TypeError, NOT_CLONEABLE)
        expect(err.message, name).to.match(/^memoryview: /)
      }
    })
  })

  describe('subarray() of a 1-D view: the integer fast path', () => {
    it("a strided slice reads its parent's exact TypedArray at its own offset and step, with no shape arrays yet", () => {
      const ta = doubles(200)
      const m = memoryview(ta)
      const s = m.subarray(1, 100, 2)
      expect(internals(s)._tas).to.equal(internals(m)._ta1)
      expect(internals(s)._eoff).to.equal(1)
      expect(internals(s)._es0).to.equal(2)
      expect(internals(s)._shp).to.equal(null)
      expect(internals(s)._x, 'no extras object until one is needed').to.equal(null)
      expect(s.get(0)).to.equal(1)
      expect(s.get(-1)).to.equal(99)
    })
    it("a slice of a strided slice composes offsets and steps over the same TypedArray", () => {
      const m = memoryview(doubles(100))
      const s = m.subarray(null, null, -3).subarray(2, null, 2)
      expect(internals(s)._tas).to.equal(internals(m)._ta1)
      expect(internals(s)._es0).to.equal(-6)
      expect(s.tolist()).to.deep.equal([93, 87, 81, 75, 69, 63, 57, 51, 45, 39, 33, 27, 21, 15, 9, 3])
    })
    for (const args of [[], [0], [null, null, 1], [-1000, 1000]] as Array<Array<number | null>>) {
      it(`subarray(${args.map(String).join(', ')}) covers all of an exact view: it shares the parent's exact TypedArray`, () => {
        const m = memoryview(doubles(10))
        const s = m.subarray(...args)
        expect(internals(s)._ta1).to.equal(internals(m)._ta1)
        expect(s.tolist()).to.deep.equal(m.tolist())
      })
    }
    it('a unit-stride part of an exact view has an exact TypedArray of exactly its elements', () => {
      const ta = doubles(10)
      const s = memoryview(ta).subarray(2, 5)
      const exact = internals(s)._ta1 as Float64Array
      expect(exact.length).to.equal(3)
      exact[0] = 42
      expect(ta[2]).to.equal(42)
    })
    it('start, stop and step clamp as Python slices: every int bound in [-12, 12] and None, steps ±1..±4, on 9 elements', () => {
      const values = [null, ...Array.from({ length: 25 }, (_, i) => i - 12)]
      const cases: Array<[number | null, number | null, number | null]> = []
      for (const a of values) for (const b of values) for (const c of [null, 1, 2, 3, 4, -1, -2, -3, -4]) cases.push([a, b, c])
      const expected = pythonSlices(9, cases)
      const m = memoryview(doubles(9))
      cases.forEach(([a, b, c], k) => {
        const got = m.subarray(a, b, c)
        expect(got.tolist(), `[${a}:${b}:${c}]`).to.deep.equal(expected[k])
        expect(got.length, `len([${a}:${b}:${c}])`).to.equal(expected[k].length)
      })
    })
    it('clamping as Python on 0, 1 and 2 elements too (empty views, negative steps): every bound in [-4, 4] and None, steps ±1..±3', () => {
      const values = [null, -4, -3, -2, -1, 0, 1, 2, 3, 4]
      const cases: Array<[number | null, number | null, number | null]> = []
      for (const a of values) for (const b of values) for (const c of [null, 1, 2, 3, -1, -2, -3]) cases.push([a, b, c])
      for (const length of [0, 1, 2]) {
        const expected = pythonSlices(length, cases)
        const m = memoryview(doubles(length))
        cases.forEach(([a, b, c], k) => {
          expect(m.subarray(a, b, c).tolist(), `len ${length} [${a}:${b}:${c}]`).to.deep.equal(expected[k])
        })
      }
    })
    it('slices of a reversed and of a strided view match Python and read the root TypedArray (or, at unit stride, an exact one)', () => {
      const values = [null, -25, -7, -1, 0, 2, 6, 25]
      const cases: Array<[number | null, number | null, number | null]> = []
      for (const a of values) for (const b of values) for (const c of [null, 1, 2, -1, -3]) cases.push([a, b, c])
      const root = memoryview(doubles(20))
      for (const [name, parent, parentSlice] of [
        ['[::-1]', root.subarray(null, null, -1), [null, null, -1]],
        ['[1::3]', root.subarray(1, null, 3), [1, null, 3]],
      ] as Array<[string, MemoryView<string>, [number | null, number | null, number | null]]>) {
        const rows = pythonSlices(20, [parentSlice])[0]
        const expected = pythonSlices(rows.length, cases).map((ks) => ks.map((k) => rows[k]))
        cases.forEach(([a, b, c], k) => {
          const s = parent.subarray(a, b, c)
          expect(s.tolist(), `${name}[${a}:${b}:${c}]`).to.deep.equal(expected[k])
          // A slice with a stride other than one element reads the root's array; a unit-stride one
          // (a reversed slice of the reversed view) has an exact TypedArray: never the DataView path.
          if (expected[k].length > 1) {
            const at = `${name}[${a}:${b}:${c}]`
            if (s.strides[0] !== 8) expect(internals(s)._tas, at).to.equal(internals(root)._ta1)
            else expect(internals(s)._ta1, at).to.not.equal(null)
          }
        })
      }
    })
    it('a bound of -0 is 0, and the strided view it makes has `_eoff` +0 (a -0 would make V8 hold the field as a double)', () => {
      const m = memoryview(doubles(10))
      for (const s of [m.subarray(-0, null, 2), m.subarray(-0, 8, 3), m.subarray(null, -0, -2)]) {
        expect(Object.is(internals(s)._eoff, -0), 'no -0').to.equal(false)
      }
      expect(m.subarray(-0, null, 2).tolist()).to.deep.equal([0, 2, 4, 6, 8])
      expect(m.subarray(null, -0, -2).tolist()).to.deep.equal([9, 7, 5, 3, 1])
    })
    it('views over a source with a release hook are counted on the fast path too: the hook runs after the last one is released', () => {
      const { exporter, calls } = makeExporter(new Uint8Array(16))
      const m = memoryview(exporter)
      const s = m.subarray(1, 12, 2)
      const t = s.subarray(null, null, -1)
      m.release()
      s.release()
      expect(calls.release).to.equal(0)
      t.release()
      expect(calls).to.deep.equal({ acquire: 1, release: 1 })
    })
    it('bigint bounds and bounds outside int32 take the general path with the same results', () => {
      const m = memoryview(doubles(9))
      expect(m.subarray(1n, 8n, 3n).tolist()).to.deep.equal(m.subarray(1, 8, 3).tolist())
      expect(m.subarray(2 ** 31).length).to.equal(0)
      expect(m.subarray(-(2 ** 40)).tolist()).to.deep.equal(m.tolist())
      expect(m.subarray(null, null, 2 ** 31).tolist()).to.deep.equal([0])
      expect(m.subarray(null, null, -(2 ** 53)).tolist()).to.deep.equal([8])
      expect(internals(m.subarray(0n, 9n, 2n))._tas, 'still a strided TypedArray path').to.be.instanceOf(Float64Array)
    })
    it('errors keep CPython order: step 0 is reported before a bad start; a fractional bound; a 0-d view', () => {
      const m = memoryview(doubles(4))
      expectError(() => m.subarray('x' as never, null, 0), RangeError, OUT_OF_RANGE)
      expectError(() => m.subarray(1.5), TypeError, INVALID_INDEX)
      expectError(() => m.subarray(0, 2.5), TypeError, INVALID_INDEX)
      expectError(() => m.subarray(0, 2, 0.5), TypeError, INVALID_INDEX)
      expectError(() => m.subarray(NaN), TypeError, INVALID_INDEX)
      expectError(() => memoryview(doubles(1)).cast('B').cast('d', []).subarray(), TypeError, INVALID_INDEX)
    })
    it('a released view: subarray() with any arguments, valid or not, → ERR_MEMORYVIEW_RELEASED first (CPython order)', () => {
      const m = memoryview(doubles(6))
      const s = m.subarray(null, null, -2)
      m.release()
      s.release()
      for (const v of [m, s]) {
        for (const args of [[1, 5, 2], [1, 5], [], [0], [1.5], [0, 2, 0], ['x'], [1n, 5n, 2n]]) {
          expectError(() => (v.subarray as any)(...args), Error, RELEASED)
        }
      }
    })
    it('a view whose memory was closed (SharedMemory): subarray() → ERR_MEMORYVIEW_RELEASED on every path, before the arguments', () => {
      const shm = new SharedMemory({ create: true, size: 4096 })
      try {
        const m = shm.buf.cast('d')
        const s = m.subarray(1, null, 3)
        shm.close()
        // m has an exact TypedArray, s a strided one: each takes its own fast path when live.
        for (const v of [m, s]) {
          for (const args of [[1, 100, 2], [1, 5], [], [null, null, -1], [0, 2, 0], [1.5]]) {
            expectError(() => (v.subarray as any)(...args), Error, RELEASED)
          }
        }
      } finally {
        shm.unlink()
      }
    })
    it('subarray() of a released view → ERR_MEMORYVIEW_RELEASED; a slice outlives the view it came from', () => {
      const m = memoryview(doubles(6))
      const s = m.subarray(1, 5, 2)
      m.release()
      expectError(() => m.subarray(1, 5, 2), Error, RELEASED)
      expect(s.tolist()).to.deep.equal([1, 3])
    })
  })

  describe('what moved off the view works as before', () => {
    it('shape and strides of a 1-D slice: correct, frozen, the same arrays on every read', () => {
      const s = memoryview(doubles(20)).subarray(18, 1, -4)
      expect(s.shape).to.deep.equal([5])
      expect(s.strides).to.deep.equal([-32])
      expect(Object.isFrozen(s.shape)).to.equal(true)
      expect(s.shape).to.equal(s.shape)
      expect(s.strides).to.equal(s.strides)
    })
    it('toreadonly() and memoryview() of a 1-D slice have its layout and its TypedArray', () => {
      const m = memoryview(doubles(20))
      const s = m.subarray(1, 20, 3)
      for (const v of [s.toreadonly(), memoryview(s)]) {
        expect(v.shape).to.deep.equal([7])
        expect(v.strides).to.deep.equal([24])
        expect(v.tolist()).to.deep.equal([1, 4, 7, 10, 13, 16, 19])
        expect(internals(v)._tas).to.equal(internals(m)._ta1)
      }
      expect(s.toreadonly().readonly).to.equal(true)
    })
    it('contiguity flags, worked out on first read, match CPython for 0-d, 1-D, strided, length-1 and 2-D views', () => {
      const m = memoryview(doubles(12))
      const cases: Array<[MemoryView<string>, boolean, boolean]> = [
        [m, true, true],
        [m.subarray(0, 12, 2), false, false],
        [m.subarray(3, 4, 5), true, true],
        [m.subarray(0, 0, 2), false, false],
        [m.cast('B').cast('d', [3, 4]), true, false],
        [m.cast('B').cast('d', [12, 1]), true, true],
        [memoryview(new Uint8Array(1)).cast('B', []), true, true],
      ]
      for (const [v, c, f] of cases) {
        expect([v.c_contiguous, v.f_contiguous, v.contiguous], `shape ${v.shape} strides ${v.strides}`).to.deep.equal([c, f, c || f])
      }
    })
    it('a pin on a slice makes release() throw BufferError ERR_MEMORYVIEW_EXPORTED until it is released', () => {
      const s = memoryview(doubles(8)).subarray(1, 7, 2)
      const pin = s.pin()
      expectError(() => s.release(), BufferError, EXPORTED)
      expect(s.released).to.equal(false)
      expect(s.get(0)).to.equal(1)
      pin.release()
      s.release()
      expect(s.released).to.equal(true)
    })
    it('hash() of a slice is cached and still returned after release()', () => {
      const s = memoryview(Buffer.from('abcdefgh')).toreadonly().subarray(1, 7, 2)
      const h = s.hash()
      s.release()
      expect(s.hash()).to.equal(h)
    })
    it('repr numbers: stable for a view, different between views, also for views made in a loop', () => {
      const m = memoryview(doubles(4))
      const seen = new Set<string>()
      for (let i = 0; i < 5; i++) seen.add(String(m.subarray(i % 2)))
      const a = m.subarray(1)
      expect(String(a)).to.equal(String(a))
      expect(seen.size).to.equal(5)
      expect(seen.has(String(a))).to.equal(false)
      a.release()
      expect(String(a)).to.match(/^<released memory at 0x[0-9a-f]+>$/)
    })
  })

  describe('V8 budgets the fast paths depend on', () => {
    it('the constructor and slice1() stay under the 460-byte inlining limit, and subarray() with both fits the 920 bytes V8 inlines into one caller', () => {
      // Bytecode sizes are deterministic for a Node version; no timing is involved.
      const script = [
        `const { memoryview } = require(${LIB})`,
        'const m = memoryview(new Float64Array(8))',
        'for (let i = 0; i < 3; i++) m.subarray(1, 7, 2)',
      ].join('\n')
      const sizes: Record<string, number> = {}
      // 'get released' is ManagedBuffer's getter, which slice1() reads (the only one this script runs).
      for (const fn of ['MemoryView', 'slice1', 'subarray', 'get released']) {
        const lengths = bytecodeLengths(script, fn)
        expect(lengths, `one function named ${fn}`).to.have.length(1)
        sizes[fn] = lengths[0]
      }
      expect(sizes.MemoryView, 'the constructor').to.be.below(460)
      expect(sizes.slice1, 'slice1()').to.be.below(460)
      // V8 inlines a candidate while what it has inlined plus 1.2 times the candidate stays within 920
      // bytes, the candidate counted with what its own optimized code inlines when it has some. So
      // subarray(), once optimized by itself with slice1(), the constructor and the released getter
      // inlined, must still pass as one candidate of 1.2 times all of that.
      const all = sizes.subarray + sizes.MemoryView + sizes.slice1 + sizes['get released']
      expect(1.2 * all, 'subarray() with what it inlines, times 1.2').to.be.at.most(920)
    })
    it('a function calling subarray(1, 7, 2) is optimized with subarray(), slice1() and the constructor inlined (no call per view)', () => {
      // --allow-natives-syntax makes the optimization happen now rather than when V8 decides.
      const script = [
        `const { memoryview } = require(${LIB})`,
        'const m = memoryview(new Float64Array(1000))',
        'function make(i) { return m.subarray(1 + (i & 3), 100, 2) };',
        '%PrepareFunctionForOptimization(make);',
        'for (let i = 0; i < 100; i++) make(i);',
        '%OptimizeFunctionOnNextCall(make);',
        'make(5)',
      ].join('\n')
      expect([...inlinedInto(script, 'make')]).to.include.members(['subarray', 'slice1', 'MemoryView'])
    })
  })
})
