import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { expectError, CAST, FORMAT, INVALID_ARG, OUT_OF_RANGE } from './helpers/errors'

const range = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => i))
const m24 = () => memoryview(range(24))
const zeroD = () => memoryview(Buffer.from('ab')).cast('h', [])

type ErrCls = typeof TypeError | typeof RangeError

describe('17 cast', () => {
  describe("successful casts (python3: m = memoryview(bytearray(range(24))))", () => {
    const rows: [string, () => MemoryView, { format: string; shape: number[]; strides: number[] }][] = [
      ["m.cast('h')", () => m24().cast('h'), { format: 'h', shape: [12], strides: [2] }],
      ["m.cast('h', [3, 4])", () => m24().cast('h', [3, 4]), { format: 'h', shape: [3, 4], strides: [8, 2] }],
      ["m.cast('B', [2, 3, 4])", () => m24().cast('B', [2, 3, 4]), { format: 'B', shape: [2, 3, 4], strides: [12, 4, 1] }],
      ["m.cast('d')", () => m24().cast('d'), { format: 'd', shape: [3], strides: [8] }],
      ["m.cast('@B').cast('h')", () => m24().cast('@B').cast('h'), { format: 'h', shape: [12], strides: [2] }],
      ["m.cast('@h').format == '@h'", () => m24().cast('@h'), { format: '@h', shape: [12], strides: [2] }],
      ["m.cast('c').cast('h')", () => m24().cast('c').cast('h'), { format: 'h', shape: [12], strides: [2] }],
      ["m.cast('b').cast('B')", () => m24().cast('b').cast('B'), { format: 'B', shape: [24], strides: [1] }],
      ["m.cast('i').cast('B', [6, 4]) (non-byte → byte, 1D → ND)", () => m24().cast('i').cast('B', [6, 4]), { format: 'B', shape: [6, 4], strides: [4, 1] }],
      ["m.cast('B', [2, 12]).cast('h') (ND → 1D)", () => m24().cast('B', [2, 12]).cast('h'), { format: 'h', shape: [12], strides: [2] }],
      ["m.cast('B', [2, 12]).cast('h', [12]) (ND → 1D with shape)", () => m24().cast('B', [2, 12]).cast('h', [12]), { format: 'h', shape: [12], strides: [2] }],
      ["m.cast('B', [3, 8]).cast('d')", () => m24().cast('B', [3, 8]).cast('d'), { format: 'd', shape: [3], strides: [8] }],
      ["m.cast('B', [24, 1]).cast('h', [12])", () => m24().cast('B', [24, 1]).cast('h', [12]), { format: 'h', shape: [12], strides: [2] }],
      ["m[5:5].cast('h') (empty 1-D, no shape)", () => m24().subarray(5, 5).cast('h'), { format: 'h', shape: [0], strides: [2] }],
      ["z = memoryview(b'ab').cast('h', []) (0-D)", zeroD, { format: 'h', shape: [], strides: [] }],
      ["z.cast('B') (0-D → 1-D)", () => zeroD().cast('B'), { format: 'B', shape: [2], strides: [1] }],
      ["z.cast('B', [2])", () => zeroD().cast('B', [2]), { format: 'B', shape: [2], strides: [1] }],
      ["memoryview(b'a')[::-1].cast('B') (one element is contiguous)", () => memoryview(Buffer.from('a')).subarray(null, null, -1).cast('B'), { format: 'B', shape: [1], strides: [1] }],
      ["memoryview(b'x').cast('B', [1]*64) (64 dimensions)", () => memoryview(Buffer.from('x')).cast('B', new Array(64).fill(1)), { format: 'B', shape: new Array(64).fill(1), strides: new Array(64).fill(1) }],
      ["m.cast('B', frozen shape of another view)", () => m24().cast('B', m24().cast('B', [4, 6]).shape as number[]), { format: 'B', shape: [4, 6], strides: [6, 1] }],
      // API.md difference 1: 'e' is a cast target (CPython 3.12+).
      ["m.cast('e') (API.md: 'e' works everywhere; 3.11 refuses)", () => m24().cast('e'), { format: 'e', shape: [12], strides: [2] }],
      // API.md difference 2: byte-order prefixes are cast targets (3.11 refuses).
      ["m.cast('>h') (API.md: prefixed targets; 3.11 refuses)", () => m24().cast('>h'), { format: '>h', shape: [12], strides: [2] }],
      ["m.cast('<d', [3]) (API.md)", () => m24().cast('<d', [3]), { format: '<d', shape: [3], strides: [8] }],
      ["m.cast('!I', [2, 3]) (API.md)", () => m24().cast('!I', [2, 3]), { format: '!I', shape: [2, 3], strides: [12, 4] }],
      ["m.cast('=q') (API.md)", () => m24().cast('=q'), { format: '=q', shape: [3], strides: [8] }],
    ]
    for (const [name, make, want] of rows) {
      it(name, () => {
        const v = make()
        expect({ format: v.format, shape: [...v.shape], strides: [...v.strides] }).to.deep.equal(want)
        expect(v.c_contiguous).to.equal(true)
      })
    }

    it('a cast is zero-copy and keeps obj and readonly', () => {
      const b = range(8)
      const v = memoryview(b).cast('i')
      v.set(0, -1)
      expect([...b.subarray(0, 4)]).to.deep.equal([255, 255, 255, 255])
      b[4] = 9
      expect(v.get(1)).to.equal(0x07060509)
      expect(v.obj).to.equal(b)
      expect(memoryview(b).toreadonly().cast('h').readonly).to.equal(true)
    })

    it("'<l' has struct's standard size 4 (struct.calcsize('<l') == 4)", () => {
      expect(m24().cast('<l').itemsize).to.equal(4)
      expect(m24().cast('<L').shape).to.deep.equal([6])
    })
  })

  describe("refusals, each rule alone (python3 error → class, code)", () => {
    const rows: [string, () => unknown, ErrCls, string][] = [
      ["m[::2].cast('B') (casts are restricted to C-contiguous views)", () => m24().subarray(null, null, 2).cast('B'), TypeError, CAST],
      ["m[::-1].cast('B')", () => m24().subarray(null, null, -1).cast('B'), TypeError, CAST],
      ["m.cast('B',[2,3,4])[::-1].cast('B')", () => m24().cast('B', [2, 3, 4]).subarray(null, null, -1).cast('B'), TypeError, CAST],
      ["m.cast('B',[2,12])[1:1].cast('B') (cannot cast view with zeros in shape or strides)", () => m24().cast('B', [2, 12]).subarray(1, 1).cast('B'), TypeError, CAST],
      ["m[5:5].cast('h',[1]) (zeros, shape given)", () => m24().subarray(5, 5).cast('h', [1]), TypeError, CAST],
      ["m.cast('h', 3) (shape must be a list or a tuple)", () => m24().cast('h', 3 as any), TypeError, INVALID_ARG],
      ["m.cast('h', None) → shape null", () => m24().cast('h', null as any), TypeError, INVALID_ARG],
      ["m.cast('h', '12')", () => m24().cast('h', '12' as any), TypeError, INVALID_ARG],
      ["m.cast('B',[1]*65) (number of dimensions must not exceed 64)", () => memoryview(Buffer.from('x')).cast('B', new Array(65).fill(1)), RangeError, OUT_OF_RANGE],
      ["m.cast('B',[2,12]).cast('h',[2,6]) (cast must be 1D -> ND or ND -> 1D)", () => m24().cast('B', [2, 12]).cast('h', [2, 6]), TypeError, CAST],
      ["z.cast('B',[1,2]) (0-D → 2-D)", () => zeroD().cast('B', [1, 2]), TypeError, CAST],
      ["m.cast('X') (destination format must be a native single character format)", () => m24().cast('X' as string), TypeError, FORMAT],
      ["m.cast('hh')", () => m24().cast('hh' as string), TypeError, FORMAT],
      ["m.cast('')", () => m24().cast('' as string), TypeError, FORMAT],
      ["m.cast('2h')", () => m24().cast('2h' as string), TypeError, FORMAT],
      ["m.cast('x') (pad byte)", () => m24().cast('x' as string), TypeError, FORMAT],
      ["m.cast('s')", () => m24().cast('s' as string), TypeError, FORMAT],
      ["m.cast('<<h')", () => m24().cast('<<h' as string), TypeError, FORMAT],
      ["m.cast('h<')", () => m24().cast('h<' as string), TypeError, FORMAT],
      ["m.cast('@<h')", () => m24().cast('@<h' as string), TypeError, FORMAT],
      ["m.cast('<n') (struct: bad char in struct format)", () => m24().cast('<n' as string), TypeError, FORMAT],
      ["m.cast('>P')", () => m24().cast('>P' as string), TypeError, FORMAT],
      ["m.cast(b'h') (format must be str)", () => m24().cast(Buffer.from('h') as any), TypeError, INVALID_ARG],
      ["m.cast('h').cast('i') (cannot cast between two non-byte formats)", () => m24().cast('h').cast('i'), TypeError, CAST],
      ["m.cast('?').cast('h') ('?' is not a byte format)", () => m24().cast('?').cast('h'), TypeError, CAST],
      ["m.cast('h').cast('?')", () => m24().cast('h').cast('?'), TypeError, CAST],
      ["m.cast('d').cast('f')", () => m24().cast('d').cast('f'), TypeError, CAST],
      ["m.cast('>h').cast('<h')", () => m24().cast('>h').cast('<h'), TypeError, CAST],
      ["memoryview(b'abc').cast('h') (length is not a multiple of itemsize)", () => memoryview(Buffer.from('abc')).cast('h'), TypeError, CAST],
      ["memoryview(b'a')[::-1].cast('h')", () => memoryview(Buffer.from('a')).subarray(null, null, -1).cast('h'), TypeError, CAST],
      ["m.cast('h',[5]) (product(shape) * itemsize != buffer size)", () => m24().cast('h', [5]), TypeError, CAST],
      ["m.cast('h',[]) (0-D needs one element)", () => m24().cast('h', []), TypeError, CAST],
      ["m.cast('B',[5,5])", () => m24().cast('B', [5, 5]), TypeError, CAST],
      ["m.cast('h',[0]) (elements of shape must be integers > 0)", () => m24().cast('h', [0]), RangeError, OUT_OF_RANGE],
      ["m.cast('h',[-1,12])", () => m24().cast('h', [-1, 12]), RangeError, OUT_OF_RANGE],
      ["m.cast('B',['a']) (elements of shape must be integers)", () => m24().cast('B', ['a' as any]), TypeError, INVALID_ARG],
      ["m.cast('B',[1.5])", () => m24().cast('B', [1.5]), TypeError, INVALID_ARG],
      ["m.cast('B',[NaN])", () => m24().cast('B', [NaN]), TypeError, INVALID_ARG],
      ["m.cast('B',[24n])", () => m24().cast('B', [24n as any]), TypeError, INVALID_ARG],
    ]
    for (const [name, run, cls, code] of rows) {
      it(name, () => {
        expectError(run, cls, code)
      })
    }
  })

  describe("CPython's order: the first failing rule wins", () => {
    const rows: [string, () => unknown, ErrCls, string][] = [
      ["m[::2].cast('X') → contiguity before format", () => m24().subarray(null, null, 2).cast('X' as string), TypeError, CAST],
      ["m[::2].cast('B', 3) → contiguity before shape type", () => m24().subarray(null, null, 2).cast('B', 3 as any), TypeError, CAST],
      ["memoryview(b'').cast('X',[1]) → zeros before format", () => memoryview(new Uint8Array(0)).cast('X' as string, [1]), TypeError, CAST],
      ["memoryview(b'').cast('B', 3) → zeros before shape type", () => memoryview(new Uint8Array(0)).cast('B', 3 as any), TypeError, CAST],
      ["m.cast('X', 3) → shape type before format", () => m24().cast('X' as string, 3 as any), TypeError, INVALID_ARG],
      ["m.cast('X',[1]*65) → ndim limit before format", () => m24().cast('X' as string, new Array(65).fill(1)), RangeError, OUT_OF_RANGE],
      ["m.cast('B',[2,12]).cast('B',[1]*65) → ndim limit before 1D/ND rule", () => m24().cast('B', [2, 12]).cast('B', new Array(65).fill(1)), RangeError, OUT_OF_RANGE],
      ["m.cast('B',[2,12]).cast('X',[2,12]) → 1D/ND rule before format", () => m24().cast('B', [2, 12]).cast('X' as string, [2, 12]), TypeError, CAST],
      ["m.cast('X',[0]) → format before shape elements", () => m24().cast('X' as string, [0]), TypeError, FORMAT],
      ["m.cast('h').cast('i',[0]) → non-byte rule before shape elements", () => m24().cast('h').cast('i', [0]), TypeError, CAST],
      ["memoryview(b'abc').cast('h',[1]) → length multiple before shape product", () => memoryview(Buffer.from('abc')).cast('h', [1]), TypeError, CAST],
      ["memoryview(b'abc').cast('h',[0]) → length multiple before shape elements", () => memoryview(Buffer.from('abc')).cast('h', [0]), TypeError, CAST],
      ["m.cast('B',[0,'a']) → elements checked in order (0 first)", () => m24().cast('B', [0, 'a' as any]), RangeError, OUT_OF_RANGE],
      ["m.cast('B',['a',0]) → elements checked in order ('a' first)", () => m24().cast('B', ['a' as any, 0]), TypeError, INVALID_ARG],
      ["m.cast('B',[5,0]) → element values before the product", () => m24().cast('B', [5, 0]), RangeError, OUT_OF_RANGE],
    ]
    for (const [name, run, cls, code] of rows) {
      it(name, () => {
        expectError(run, cls, code)
      })
    }
  })
})
