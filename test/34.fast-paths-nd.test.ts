/**
 * Which path get() and set() take on 2-D, 3-D and 4-D views (issue 9), guarded by what a view holds
 * rather than by timing (the path of every layout is in 64.fast-paths, what V8 makes of the 1-D
 * paths in 33.fast-paths-1d): a view of 2, 3 or 4 dimensions reads through one layout object that holds its TypedArray, element offset, shape and
 * element strides; release() cuts that path; the indices the path refuses reach the slow path and
 * its CPython error; and no element offset is ever -0, which would make V8 hold the offset of every
 * view as a double.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { MemoryView, memoryview } from 'memoryview'
import { expectError, INDEX, INVALID_INDEX, NOT_IMPLEMENTED, READONLY, RELEASED } from './helpers/errors'
import { LIB, inlinedInto } from './helpers/v8'

/** The n-D layout of a view (see NdLayout in lib/access.ts). */
interface Layout {
  ta: Float64Array
  eoff: number
  n0: number
  n1: number
  n2: number
  n3: number
  e0: number
  e1: number
  e2: number
  e3: number
}

/** The internal fields the n-D paths read through. */
interface Paths {
  _ta1: ArrayBufferView | null
  _readonly: boolean
  _nd: Layout | null
  _eoff: number
}
const paths = (m: MemoryView<string>): Paths => m as unknown as Paths

function doubles(n: number): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = i + 0.5
  return a
}

/** A 3-D 'd' view [2, 3, 4] over rows 3 and 1 of a [4, 3, 4] array (step -2): element offset 36. */
function stepped3d(ta = doubles(48)): MemoryView<'d'> {
  return memoryview(ta).cast('B').cast('d', [4, 3, 4]).subarray(null, null, -2)
}

describe('34 fast paths of 2-D, 3-D and 4-D views', () => {
  describe('a 3-D or 4-D view reads through one layout object', () => {
    it('the layout holds the view\'s TypedArray and element offset, its shape and element strides as numbers', () => {
      const ta = doubles(48)
      const m3 = stepped3d(ta)
      const nd = paths(m3)._nd!
      // The source's own memory: element [0, 0, 0] (row 3 of the source) at the element offset.
      expect(nd.ta.buffer).to.equal(ta.buffer)
      expect((nd.ta as Float64Array)[nd.eoff]).to.equal(m3.get(0, 0, 0)).and.to.equal(ta[36])
      expect(nd.ta).to.be.instanceOf(Float64Array)
      expect(nd.eoff).to.equal(36)
      expect(nd.eoff).to.equal(paths(m3)._eoff)
      expect([nd.n0, nd.n1, nd.n2, nd.n3]).to.deep.equal([2, 3, 4, 0])
      expect([nd.e0, nd.e1, nd.e2, nd.e3]).to.deep.equal([-24, 4, 1, 0])
      const m4 = memoryview(doubles(48)).cast('B').cast('d', [2, 3, 4, 2])
      const nd4 = paths(m4)._nd!
      expect((nd4.ta as Float64Array)[nd4.eoff + 47]).to.equal(m4.get(1, 2, 3, 1))
      expect([nd4.n0, nd4.n1, nd4.n2, nd4.n3]).to.deep.equal([2, 3, 4, 2])
      expect([nd4.e0, nd4.e1, nd4.e2, nd4.e3]).to.deep.equal([24, 8, 2, 1])
    })
    it('the layout class has no field initialisers (each would define its field as undefined first, and V8 would keep its numbers tagged)', () => {
      const ctor = (paths(stepped3d())._nd as object).constructor
      // A class field compiles (target ES2022) to a bare `name;` line in the class body.
      expect(String(ctor)).not.to.match(/^\s*[A-Za-z_$][\w$]*;\s*$/m)
      expect(String(ctor)).to.match(/this\.n0 = /)
    })
    it('toreadonly() and memoryview(view) share the layout; only the writable view stores through it', () => {
      const ta = doubles(48)
      const m = stepped3d(ta)
      const ro = m.toreadonly()
      const again = memoryview(m)
      expect(paths(ro)._nd).to.equal(paths(m)._nd)
      expect(paths(again)._nd).to.equal(paths(m)._nd)
      expect(paths(ro)._readonly).to.equal(true)
      expect(paths(again)._readonly).to.equal(false)
      expect(ro.get(1, 2, 3)).to.equal(ta[12 + 8 + 3])
      expectError(() => ro.set(1, 2, 3, 7), TypeError, READONLY)
      expect(ta[12 + 8 + 3]).to.equal(23.5)
      again.set(1, 2, 3, 7)
      expect(ro.get(1, 2, 3)).to.equal(7)
    })
  })

  describe('release() cuts the layout path', () => {
    it('after release(), get/set throw RELEASED even from a loop that ran them many times; a readonly sibling still reads', () => {
      const ta = doubles(48)
      const m = stepped3d(ta)
      const ro = m.toreadonly()
      const m4 = memoryview(ta).cast('B').cast('d', [2, 3, 4, 2])
      let s = 0
      // Enough calls for V8 to optimize the loop with get() inlined; the test holds on any tier.
      for (let r = 0; r < 2000; r++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
        s += m.get(i, j, k) + m4.get(i, j, k, 1)
        m.set(i, j, k, i + j + k)
      }
      expect(s).to.be.greaterThan(0)
      m.release()
      m4.release()
      expect(paths(m)._nd).to.equal(null)
      expect(paths(m4)._nd).to.equal(null)
      expectError(() => m.get(0, 0, 0), Error, RELEASED)
      expectError(() => m.set(0, 0, 0, 1), Error, RELEASED)
      expectError(() => m4.get(0, 0, 0, 0), Error, RELEASED)
      expect(ro.get(1, 2, 3)).to.equal(6)
      expect(paths(ro)._nd).not.to.equal(null)
    })
  })

  describe('indices the layout path refuses reach the slow path and give what CPython gives', () => {
    it('3-D: bigint and -0 indices read the element; fractional, NaN, huge and out-of-range ones raise in CPython\'s order', () => {
      const m = stepped3d()
      const list = m.tolist() as number[][][]
      expect(m.get(1n, 2, -1)).to.equal(list[1][2][3])
      expect(m.get(-0, 0, 0)).to.equal(list[0][0][0])
      expect(m.get(0, -3, -4)).to.equal(list[0][0][0])
      expectError(() => m.get(0, 0, 1.5), TypeError, INVALID_INDEX)
      expectError(() => m.get(NaN, 0, 0), TypeError, INVALID_INDEX)
      expectError(() => m.get(0, 2 ** 40, 0), RangeError, INDEX)
      expectError(() => m.get(2, 0, 0), RangeError, INDEX)
      expectError(() => m.get(-3, 0, 0), RangeError, INDEX)
      expectError(() => m.get(0, 0, 4), RangeError, INDEX)
      // CPython checks every index's type before any bound: a fractional index on dimension 3 wins
      // over an out-of-range one on dimension 1.
      expectError(() => m.get(5, 0, 1.5), TypeError, INVALID_INDEX)
    })
    it('a count other than ndim: too many indices is TypeError, too few NotImplementedError (sub-views)', () => {
      const m3 = stepped3d()
      const m4 = memoryview(doubles(48)).cast('B').cast('d', [2, 3, 4, 2])
      expectError(() => m3.get(0, 0, 0, 0), TypeError, INVALID_INDEX)
      expectError(() => m4.get(0, 0, 0), Error, NOT_IMPLEMENTED)
      expectError(() => m3.set(0, 0, 0, 0, 1), TypeError, INVALID_INDEX)
      expectError(() => m4.set(0, 0, 0, 1), Error, NOT_IMPLEMENTED)
    })
    it('4-D: every element and its negative twin read the memory; a refused index stores nothing', () => {
      const ta = doubles(48)
      const m = memoryview(ta).cast('B').cast('d', [2, 3, 4, 2])
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) for (let l = 0; l < 2; l++) {
        const at = i * 24 + j * 8 + k * 2 + l
        expect(m.get(i, j, k, l)).to.equal(ta[at])
        expect(m.get(i - 2, j - 3, k - 4, l - 2)).to.equal(ta[at])
      }
      const before = ta.slice()
      expectError(() => m.set(0, 0, 0, 2, 9), RangeError, INDEX)
      expectError(() => m.set(0, 0, 0, 0.5, 9), TypeError, INVALID_INDEX)
      expectError(() => m.set(0, 0, 0, 0, 'x' as never), TypeError, 'ERR_MEMORYVIEW_INVALID_TYPE')
      expect(ta).to.deep.equal(before)
    })
  })

  describe('get() and set() stay inlined into a loop after V8 optimized them on their own', () => {
    // An optimized function counts what it inlined against the 920-byte inlining budget of every
    // function it is inlined into afterwards (times 1.2). A format's converter with its rare cases
    // inline made an optimized set(i, j, k, v) too big: the loop then called it, about 11 ns per
    // element instead of 1.8 (bench 16 'set 3d', in roughly one process in five, depending on which
    // V8 compiled first). Each case optimizes the method by itself first, then a loop over it.
    const CASES: Array<[string, string, string]> = [
      ["set(i, v), 1-D step 2 'd'", "memoryview(new Float64Array(64)).subarray(0, null, 2)", 'm.set(q & 7, q * 0.5)'],
      ["set(i, v), 1-D 'i'", "memoryview(new Int32Array(64))", 'm.set(q & 7, q & 255)'],
      ["set(i, j, v), 2-D 'd'", "memoryview(new Float64Array(64)).cast('B').cast('d', [8, 8])", 'm.set(q & 7, 3, q * 0.5)'],
      ["set(i, j, k, v), 3-D 'd'", "memoryview(new Float64Array(64)).cast('B').cast('d', [4, 4, 4])", 'm.set(q & 3, 1, 2, q * 0.5)'],
      ["set(i, j, k, v), 3-D 'i'", "memoryview(new Int32Array(64)).cast('B').cast('i', [4, 4, 4])", 'm.set(q & 3, 1, 2, q & 255)'],
      ["set(i, j, k, v), 3-D 'q'", "memoryview(new BigInt64Array(64)).cast('B').cast('q', [4, 4, 4])", 'm.set(q & 3, 1, 2, BigInt(q & 255))'],
      ["set(i, j, k, l, v), 4-D 'd'", "memoryview(new Float64Array(81)).cast('B').cast('d', [3, 3, 3, 3])", 'm.set(q % 3, 1, 2, 0, q * 0.5)'],
      ["get(i, j, k, l), 4-D 'd'", "memoryview(new Float64Array(81)).cast('B').cast('d', [3, 3, 3, 3])", 's += m.get(q % 3, 1, 2, 0)'],
    ]
    for (const [name, make, call] of CASES) {
      it(name, () => {
        const method = call.includes('m.get(') ? 'get' : 'set'
        const script = [
          `const { memoryview, MemoryView } = require(${LIB})`,
          `const m = ${make}`,
          `const f = MemoryView.prototype.${method}`,
          'let s = 0',
          `function alone(q) { ${call} }`,
          '%PrepareFunctionForOptimization(f);',
          'for (let q = 0; q < 50; q++) alone(q);',
          '%OptimizeFunctionOnNextCall(f);',
          'alone(1);',
          `function loop(n) { for (let q = 0; q < n; q++) { ${call} } return s }`,
          '%PrepareFunctionForOptimization(loop);',
          'loop(50);',
          '%OptimizeFunctionOnNextCall(loop);',
          'loop(50);',
        ].join('\n')
        expect(inlinedInto(script, 'loop').has(method), `${method}() inlined into the loop`).to.equal(true)
      })
    }
  })

  describe('element offsets are never -0', () => {
    it('a view whose own TypedArray starts at its first element has offset +0 (a -0 would make V8 hold every view\'s offset as a double)', () => {
      // The view starts 1 byte into the buffer's bytes, at byte 8 of the ArrayBuffer: aligned for
      // Float64Array, but not at a multiple of 8 from the managed buffer's start, so it gets its
      // own TypedArray, which begins at its first element.
      const bytes = new Uint8Array(new ArrayBuffer(32), 7, 17)
      const d = memoryview(bytes).subarray(1).cast('d')
      expect(paths(d)._ta1).to.be.instanceOf(Float64Array)
      expect(Object.is(paths(d)._eoff, 0)).to.equal(true)
      const d3 = memoryview(bytes).subarray(1).cast('d', [1, 1, 2])
      expect(Object.is(paths(d3)._eoff, 0)).to.equal(true)
      expect(Object.is(paths(d3)._nd!.eoff, 0)).to.equal(true)
      d3.set(0, 0, 1, 2.5)
      expect(d3.get(0, 0, 1)).to.equal(2.5)
      expect(new Float64Array(bytes.buffer, 16, 1)[0]).to.equal(2.5)
    })
  })
})
