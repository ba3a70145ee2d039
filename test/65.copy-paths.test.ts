/**
 * Which path the whole-view copies take (issue 9): iteration through the view's TypedArray or
 * element by element, and strided copies of 8-byte items as one 64-bit integer word each. Guarded
 * by what each path is (the iterator's class, the word size chosen), not by timing; each path must
 * also give exactly what the memory holds, NaN payloads included, and fail as the slow path does
 * when the view is released or its memory goes away mid-iteration.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { wordSize } from '../lib/shape'
import { expectError, OUT_OF_BOUNDS, RELEASED } from './helpers/errors'

/** The class name of the iterator a view hands to for-of. */
const iteratorOf = (m: MemoryView<string>): string => (m[Symbol.iterator]() as object).constructor.name

/** Doubles whose bit patterns a float copy could change: signalling and payload NaNs, -0, a denormal. */
const TRICKY = [0x7ff0000000000001n, 0xfff8000000000123n, 0x7ff8dead0000beefn, 0x8000000000000000n, 1n, 0x3ff0000000000000n]

/** 2 * TRICKY.length doubles, element 2k holding TRICKY[k] and element 2k + 1 a filler. */
function trickyPairs(): BigUint64Array {
  const words = new BigUint64Array(2 * TRICKY.length)
  TRICKY.forEach((w, k) => {
    words[2 * k] = w
    words[2 * k + 1] = 0x4000000000000000n + BigInt(k)
  })
  return words
}

/** Packs 64-bit words into little-endian-in-memory bytes, as the machine stores them. */
const bytesOf = (words: bigint[]): Buffer => Buffer.from(new BigUint64Array(words).buffer)

describe('65 copy paths: which path copies and iteration take', () => {
  describe('iteration', () => {
    it('1-D views with a TypedArray (unit, step 2, step -1, every such format) iterate through it', () => {
      const ta = new Float64Array([1, 2, 3, 4, 5])
      expect(iteratorOf(memoryview(ta))).to.equal('TypedIterator')
      expect(iteratorOf(memoryview(ta).subarray(null, null, 2))).to.equal('TypedIterator')
      expect(iteratorOf(memoryview(ta).subarray(null, null, -1))).to.equal('TypedIterator')
      for (const f of ['b', 'B', 'h', 'H', 'i', 'I', 'q', 'Q', 'f', 'd']) {
        expect(iteratorOf(memoryview(new Uint8Array(16)).cast(f)), f).to.equal('TypedIterator')
      }
    })

    it("views with no TypedArray ('?', 'c', 'e', foreign byte order, unaligned) iterate element by element", () => {
      const b = new Uint8Array(17)
      const foreign = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? '>i' : '<i'
      for (const f of ['?', 'c', 'e', foreign]) {
        expect(iteratorOf(memoryview(b.subarray(0, 16)).cast(f)), f).to.equal('ElementIterator')
      }
      expect(iteratorOf(memoryview(b.subarray(1)).cast('i'))).to.equal('ElementIterator')
    })

    it('both paths give the elements in order, live, and stay exhausted once done', () => {
      const typed = memoryview(new Int32Array([10, 11, 12, 13, 14, 15])).subarray(null, null, -2)
      const unaligned = memoryview(new Uint8Array(25).subarray(1)).cast('i')
      for (let k = 0; k < 6; k++) unaligned.set(k, 15 - k)
      for (const m of [typed, unaligned]) {
        expect(iteratorOf(m)).to.equal(m === typed ? 'TypedIterator' : 'ElementIterator')
        const it = m[Symbol.iterator]()
        const first = it.next().value
        m.set(1, 99) // written after the iterator started: iteration reads live data
        expect([first, ...it]).to.deep.equal(m === typed ? [15, 99, 11] : [15, 99, 13, 12, 11, 10])
        expect(it.next()).to.deep.equal({ done: true, value: undefined })
        m.set(1, 0)
        expect(it.next()).to.deep.equal({ done: true, value: undefined })
      }
    })

    it('the TypedArray path: release() mid-iteration throws RELEASED on the next step', () => {
      const m = memoryview(new Float64Array([1, 2, 3, 4])).subarray(null, null, 2)
      const it = m[Symbol.iterator]()
      expect(it.next().value).to.equal(1)
      m.release()
      expectError(() => it.next(), Error, RELEASED)
    })

    it('the TypedArray path: memory detached mid-iteration throws OUT_OF_BOUNDS, exact and strided', () => {
      for (const step of [1, 2]) {
        const ta = new Float64Array([1, 2, 3, 4])
        const it = memoryview(ta).subarray(null, null, step)[Symbol.iterator]()
        expect(it.next().value).to.equal(1)
        structuredClone(ta.buffer, { transfer: [ta.buffer as ArrayBuffer] })
        expectError(() => it.next(), Error, OUT_OF_BOUNDS)
      }
    })
  })

  describe('strided copies of 8-byte items', () => {
    it('wordSize(): 8-byte items move as 8-byte words when strides and offsets allow, else 4, 2, 1', () => {
      expect(wordSize(8, [16], 0, 8)).to.equal(8)
      expect(wordSize(8, [-8], 24, 0)).to.equal(8)
      expect(wordSize(8, [16], 4, 0)).to.equal(4)
      expect(wordSize(8, [12], 0, 0)).to.equal(4)
      expect(wordSize(8, [10], 0, 0)).to.equal(2)
      expect(wordSize(16, [32], 0, 0)).to.equal(4)
      expect(wordSize(4, [8], 0, 0)).to.equal(4)
      expect(wordSize(1, [3], 0, 0)).to.equal(1)
    })

    it("tobytes() and hex() of a step-2 'd' view keep every bit (NaN payloads, -0)", () => {
      const words = trickyPairs()
      const m = memoryview(new Float64Array(words.buffer)).subarray(null, null, 2)
      expect(m.tobytes()).to.deep.equal(bytesOf(TRICKY))
      expect(m.hex()).to.equal(bytesOf(TRICKY).toString('hex'))
      const back = memoryview(new Float64Array(words.buffer)).subarray(-2, null, -2)
      expect(back.tobytes()).to.deep.equal(bytesOf([...TRICKY].reverse()))
    })

    it("tobytes('F') of 2-D 'd' views, contiguous and strided, keeps every bit", () => {
      const all = new BigUint64Array(12)
      for (let k = 0; k < 12; k++) all[k] = k % 2 === 0 ? TRICKY[(k / 2) % TRICKY.length] : 0x7ff0000000000000n + BigInt(k)
      const pick = (ks: number[]): Buffer => bytesOf(ks.map((k) => all[k]))
      const grid = memoryview(Buffer.from(all.buffer)).cast('d', [3, 4])
      expect(grid.tobytes('F')).to.deep.equal(pick([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]))
      // Every other row of a 6 x 2 grid: shape [3, 2], strides [32, 8].
      const rows = memoryview(Buffer.from(all.buffer)).cast('d', [6, 2]).subarray(null, null, 2)
      expect(rows.tobytes('C')).to.deep.equal(pick([0, 1, 4, 5, 8, 9]))
      expect(rows.tobytes('F')).to.deep.equal(pick([0, 4, 8, 1, 5, 9]))
    })

    it("assign() into a step-2 'd' view, from other memory and from the same buffer, keeps every bit", () => {
      const dst = new BigUint64Array(2 * TRICKY.length)
      memoryview(new Float64Array(dst.buffer)).subarray(null, null, 2).assign(new Float64Array(new BigUint64Array(TRICKY).buffer))
      expect(TRICKY.map((_, k) => dst[2 * k])).to.deep.equal(TRICKY)
      expect(TRICKY.map((_, k) => dst[2 * k + 1])).to.deep.equal(TRICKY.map(() => 0n))
      // Same buffer, overlapping: the odd elements receive the even ones as they were before the copy.
      const both = trickyPairs()
      const m = memoryview(new Float64Array(both.buffer))
      m.subarray(1, null, 2).assign(m.subarray(0, null, 2))
      expect(TRICKY.map((_, k) => both[2 * k + 1])).to.deep.equal(TRICKY)
    })
  })

  describe('equals() through the TypedArray paths', () => {
    it('same type: NaN unequal, -0 equal to 0, bigints by value, on unit and strided views', () => {
      const a = memoryview(new Float64Array([1, -0, 3, 4, 5, 6, 7, 8, 9, 10])).subarray(null, null, 1)
      expect(a.equals(memoryview(new Float64Array([1, 0, 3, 4, 5, 6, 7, 8, 9, 10])).subarray(null, null, 1))).to.equal(true)
      const withNaN = new Float64Array(20).fill(1)
      withNaN[18] = NaN
      const s = memoryview(withNaN).subarray(null, null, 2)
      expect(s.equals(s)).to.equal(false)
      expect(s.subarray(0, 9).equals(memoryview(new Float64Array(9).fill(1)))).to.equal(true)
      const q = memoryview(new BigInt64Array([1n, 2n, 3n, -4n, 5n, 6n, 7n, 8n, 9n])).subarray(null, null, -1)
      expect(q.equals(memoryview(new BigInt64Array([9n, 8n, 7n, 6n, 5n, -4n, 3n, 2n, 1n])))).to.equal(true)
      expect(q.equals(memoryview(new BigInt64Array([9n, 8n, 7n, 6n, 5n, 4n, 3n, 2n, 1n])))).to.equal(false)
    })

    it('mixed types compare values: 1 equals 1n and 1.0, a difference in the last element is found', () => {
      const d = memoryview(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
      const q = memoryview(new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n]))
      const i = memoryview(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]))
      expect(d.equals(q)).to.equal(true)
      expect(q.equals(d)).to.equal(true)
      expect(d.equals(i)).to.equal(false)
    })
  })
})
