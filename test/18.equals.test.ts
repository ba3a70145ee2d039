import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'

const range = (n: number, start = 0, step = 1) => new Uint8Array(Array.from({ length: n }, (_, i) => start + i * step))
const m24 = () => memoryview(range(24))
const bytes = (...b: number[]) => memoryview(new Uint8Array(b))

describe('18 equals (struct semantics)', () => {
  // [python3 expression, left, right, expected]
  const rows: [string, () => MemoryView, () => unknown, boolean][] = [
    ["memoryview(array('d',[1.0])) == same values", () => memoryview(new Float64Array([1])), () => memoryview(new Float64Array([1])), true],
    ["array('d',[nan]) == array('d',[nan])", () => memoryview(new Float64Array([NaN])), () => memoryview(new Float64Array([NaN])), false],
    ["'f' NaN == 'f' NaN", () => memoryview(new Float32Array([NaN])), () => memoryview(new Float32Array([NaN])), false],
    ["array('d',[-0.0]) == array('d',[0.0])", () => memoryview(new Float64Array([-0])), () => memoryview(new Float64Array([0])), true],
    ["array('b',[1,2]) == array('h',[1,2]) (mixed formats compare values)", () => memoryview(new Int8Array([1, 2])), () => memoryview(new Int16Array([1, 2])), true],
    ["array('B',[1,2]) == array('d',[1.0,2.0])", () => memoryview(new Uint8Array([1, 2])), () => memoryview(new Float64Array([1, 2])), true],
    ["array('b',[-1]) == array('B',[255])", () => memoryview(new Int8Array([-1])), () => memoryview(new Uint8Array([255])), false],
    ["array('i',[-1]) == array('I',[2**32-1])", () => memoryview(new Int32Array([-1])), () => memoryview(new Uint32Array([2 ** 32 - 1])), false],
    ["array('q',[2**60]) == array('d',[2.0**60])", () => memoryview(new BigInt64Array([2n ** 60n])), () => memoryview(new Float64Array([2 ** 60])), true],
    ["array('q',[2**53+1]) == array('d',[2.0**53]) (exact, not rounded)", () => memoryview(new BigInt64Array([2n ** 53n + 1n])), () => memoryview(new Float64Array([2 ** 53])), false],
    ["array('Q',[2**64-1]) == array('d',[2.0**64])", () => memoryview(new BigUint64Array([2n ** 64n - 1n])), () => memoryview(new Float64Array([2 ** 64])), false],
    ["array('f',[0.1]) == array('d',[0.1])", () => memoryview(new Float32Array([0.1])), () => memoryview(new Float64Array([0.1])), false],
    ["array('q',[1]) == array('B',[1,0,0,0,0,0,0,0]) (shape differs)", () => memoryview(new BigInt64Array([1n])), () => bytes(1, 0, 0, 0, 0, 0, 0, 0), false],
    ["memoryview(b'a').cast('c') == memoryview(b'a') (b'a' != 97)", () => memoryview(Buffer.from('a')).cast('c'), () => memoryview(Buffer.from('a')), false],
    ["memoryview(b'a').cast('c') == memoryview(b'a').cast('c')", () => memoryview(Buffer.from('a')).cast('c'), () => memoryview(Buffer.from('a')).cast('c'), true],
    ["memoryview(b'\\x01').cast('?') == memoryview(b'\\x01') (True == 1)", () => bytes(1).cast('?'), () => bytes(1), true],
    ["memoryview(b'\\x02').cast('?') == memoryview(b'\\x02') (True != 2)", () => bytes(2).cast('?'), () => bytes(2), false],
    ["'>h' == '<h' with the same values (np '>i2' vs '<i2')", () => bytes(0, 1, 0, 2).cast('>h'), () => memoryview(new Int16Array([1, 2])), true],
    ["'>h' == '<h' with different values", () => bytes(0, 1, 0, 2).cast('>h'), () => memoryview(new Int16Array([1, 3])), false],
    ["'e' == 'f' for an exactly representable value", () => memoryview(new Uint16Array([0x3e00])).cast('B').cast('e'), () => memoryview(new Float32Array([1.5])), true],
    ["m.cast('B',[4,6])[1:1] == m.cast('B',[6,4])[1:1] (shapes equal up to the first 0)", () => m24().cast('B', [4, 6]).subarray(1, 1), () => m24().cast('B', [6, 4]).subarray(1, 1), true],
    ["m.cast('B',[4,6])[1:1] == m[0:0] (ndim differs)", () => m24().cast('B', [4, 6]).subarray(1, 1), () => m24().subarray(0, 0), false],
    ["memoryview(b'') == memoryview(b'').cast('h')", () => memoryview(new Uint8Array(0)), () => memoryview(new Uint8Array(0)).cast('h'), true],
    ["m == m.cast('B',[4,6])", () => m24(), () => m24().cast('B', [4, 6]), false],
    ["m.cast('B',[4,6]) == m.cast('B',[6,4])", () => m24().cast('B', [4, 6]), () => m24().cast('B', [6, 4]), false],
    ["m.cast('B',[4,6]) == another cast('B',[4,6])", () => m24().cast('B', [4, 6]), () => m24().cast('B', [4, 6]), true],
    ["0-D == 0-D", () => bytes(1, 2).cast('h', []), () => bytes(1, 2).cast('h', []), true],
    ["0-D == 1-D of one element", () => bytes(1, 2).cast('h', []), () => bytes(1, 2).cast('h'), false],
    ["m[::2] == bytes(range(0,24,2)) (other is any source)", () => m24().subarray(null, null, 2), () => Buffer.from(range(12, 0, 2)), true],
    ["m[::-1] == bytes(range(23,-1,-1))", () => m24().subarray(null, null, -1), () => range(24, 23, -1), true],
    ['m == ArrayBuffer with the same bytes', () => m24(), () => range(24).buffer, true],
    ['m == DataView with the same bytes', () => m24(), () => new DataView(range(24).buffer), true],
    ['m == Int16Array with the same bytes (formats differ: values differ)', () => m24(), () => new Int16Array(range(24).buffer), false],
    ['2-D strided reversed == its tobytes reshaped', () => m24().cast('B', [4, 6]).subarray(null, null, -2), () => memoryview(Buffer.from([18, 19, 20, 21, 22, 23, 6, 7, 8, 9, 10, 11])).cast('B', [2, 6]), true],
    ["array('B',[1,2]) != array('B',[1,3])", () => bytes(1, 2), () => bytes(1, 3), false],
    ['m == list(range(24)) → False (not a source)', () => m24(), () => [...range(24)], false],
    ['m == 1', () => m24(), () => 1, false],
    ['m == None (null)', () => m24(), () => null, false],
    ['m == undefined', () => m24(), () => undefined, false],
    ["m == 'abc'", () => memoryview(Buffer.from('abc')), () => 'abc', false],
    ['m == {}', () => m24(), () => ({}), false],
  ]
  for (const [name, left, right, want] of rows) {
    it(name, () => {
      const l = left()
      const other = right()
      expect(l.equals(other as any)).to.equal(want)
      // Equality is symmetric whenever the other side is a view.
      if (other instanceof MemoryView) expect(other.equals(l)).to.equal(want)
    })
  }

  it('a view equals itself when it holds no NaN', () => {
    const m = m24()
    expect(m.equals(m)).to.equal(true)
  })

  it("a view holding a NaN does not equal itself (a = memoryview(array('d',[1.0, nan])); a == a → False)", () => {
    const a = memoryview(new Float64Array([1, NaN]))
    expect(a.equals(a)).to.equal(false)
  })

  it('equals reads live data', () => {
    const b = range(4)
    const m = memoryview(b)
    const c = memoryview(range(4))
    expect(m.equals(c)).to.equal(true)
    b[3] = 9
    expect(m.equals(c)).to.equal(false)
  })

  it('never throws for a non-source other, and for a readonly or released other', () => {
    const m = m24()
    for (const x of [Symbol('s'), () => 0, new Map(), 1n, true, NaN]) expect(m.equals(x as any)).to.equal(false)
    const r = m24()
    r.release()
    expect(m.equals(r)).to.equal(false)
    expect(m.equals(m24().toreadonly())).to.equal(true)
  })
})
