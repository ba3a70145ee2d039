import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { makeExporter } from './helpers/sources'
import { expectError, INVALID_ARG } from './helpers/errors'

const range = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => i))
const h34 = () => memoryview(range(24)).cast('h', [3, 4])
// np.arange(12, dtype='u1').reshape(3, 4, order='F'): strides (1, 3)
const fortran = () => memoryview(makeExporter(range(12), { shape: [3, 4], strides: [1, 3] }).exporter)

describe('15 tobytes / hex', () => {
  describe("tobytes(order) on every layout (python3: list(v.tobytes(order)))", () => {
    const rows: [string, () => MemoryView, 'C' | 'F' | 'A' | undefined, number[]][] = [
      ["h = m.cast('h',[3,4]); h.tobytes()", h34, undefined, [...range(24)]],
      ["h.tobytes('C')", h34, 'C', [...range(24)]],
      ["h.tobytes('F')", h34, 'F', [0, 1, 8, 9, 16, 17, 2, 3, 10, 11, 18, 19, 4, 5, 12, 13, 20, 21, 6, 7, 14, 15, 22, 23]],
      ["h.tobytes('A') (C-contiguous → C)", h34, 'A', [...range(24)]],
      ["h[::-1].tobytes('C')", () => h34().subarray(null, null, -1), 'C', [16, 17, 18, 19, 20, 21, 22, 23, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]],
      ["h[::-1].tobytes('F')", () => h34().subarray(null, null, -1), 'F', [16, 17, 8, 9, 0, 1, 18, 19, 10, 11, 2, 3, 20, 21, 12, 13, 4, 5, 22, 23, 14, 15, 6, 7]],
      ["h[::-1].tobytes('A') (not contiguous → C)", () => h34().subarray(null, null, -1), 'A', [16, 17, 18, 19, 20, 21, 22, 23, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]],
      ["h[::2].tobytes('F')", () => h34().subarray(null, null, 2), 'F', [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23]],
      ["fortran.tobytes('C')", fortran, 'C', [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]],
      ["fortran.tobytes('F')", fortran, 'F', [...range(12)]],
      ["fortran.tobytes('A') (F-contiguous → F)", fortran, 'A', [...range(12)]],
      ["fortran[::-1].tobytes('A')", () => fortran().subarray(null, null, -1), 'A', [2, 5, 8, 11, 1, 4, 7, 10, 0, 3, 6, 9]],
      ["m.cast('B',[2,3,4]).tobytes('F')", () => memoryview(range(24)).cast('B', [2, 3, 4]), 'F', [0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23]],
      ["m[:2].cast('h',[]).tobytes('F') (0-D)", () => memoryview(range(24)).subarray(0, 2).cast('h', []), 'F', [0, 1]],
      ["m[::-3].tobytes('F')", () => memoryview(range(24)).subarray(null, null, -3), 'F', [23, 20, 17, 14, 11, 8, 5, 2]],
      ["m[::-3].tobytes('A')", () => memoryview(range(24)).subarray(null, null, -3), 'A', [23, 20, 17, 14, 11, 8, 5, 2]],
      ['m[3:3].tobytes()', () => memoryview(range(24)).subarray(3, 3), undefined, []],
    ]
    for (const [name, make, order, want] of rows) {
      it(name, () => {
        const out = make().tobytes(order)
        expect(Buffer.isBuffer(out)).to.equal(true)
        expect([...out]).to.deep.equal(want)
      })
    }
  })

  it('tobytes() returns a copy', () => {
    const b = range(4)
    const m = memoryview(b)
    const out = m.tobytes()
    out[0] = 99
    expect(b[0]).to.equal(0)
    b[1] = 77
    expect(out[1]).to.equal(1)
  })

  it("order other than 'C' 'F' 'A' → TypeError INVALID_ARG (order must be 'C', 'F' or 'A')", () => {
    for (const bad of ['X', 'c', 'f', '', 'CF', 1, {}]) {
      expectError(() => memoryview(range(4)).tobytes(bad as any), TypeError, INVALID_ARG)
    }
  })

  describe('hex(sep, bytesPerSep) (python3: memoryview(bytes(range(n))).hex(...))', () => {
    const rows: [string, number, [unknown?, unknown?], string][] = [
      ['m.hex()', 12, [], '000102030405060708090a0b'],
      ["m.hex(':')", 12, [':'], '00:01:02:03:04:05:06:07:08:09:0a:0b'],
      ["m.hex(':', 2)", 12, [':', 2], '0001:0203:0405:0607:0809:0a0b'],
      ["m.hex(':', -2)", 12, [':', -2], '0001:0203:0405:0607:0809:0a0b'],
      ["m[:5].hex(':', 2) (groups from the right)", 5, [':', 2], '00:0102:0304'],
      ["m[:5].hex(':', -2) (groups from the left)", 5, [':', -2], '0001:0203:04'],
      ["m[:5].hex(':', 4)", 5, [':', 4], '00:01020304'],
      ["m[:5].hex(':', -4)", 5, [':', -4], '00010203:04'],
      ["m[:5].hex(':', 5)", 5, [':', 5], '0001020304'],
      ["m[:5].hex(':', -5)", 5, [':', -5], '0001020304'],
      ["m[:5].hex(':', 6)", 5, [':', 6], '0001020304'],
      ["m[:5].hex(':', -100)", 5, [':', -100], '0001020304'],
      ["m.hex(':', 0) (0 = no separator)", 12, [':', 0], '000102030405060708090a0b'],
      ["m.hex(':', 5)", 12, [':', 5], '0001:0203040506:0708090a0b'],
      ['m.hex(bytes_per_sep=2) (no sep, no separator)', 12, [undefined, 2], '000102030405060708090a0b'],
      ["m[:3].hex('-', -1)", 3, ['-', -1], '00-01-02'],
      ["m[:4].hex('\\x7f') (any ASCII)", 4, ['\x7f'], '00\x7f01\x7f02\x7f03'],
      ["m[:0].hex(':', 2)", 0, [':', 2], ''],
      ["m[:0].hex()", 0, [], ''],
    ]
    for (const [name, n, args, want] of rows) {
      it(name, () => {
        expect((memoryview(range(n)).hex as any)(...args)).to.equal(want)
      })
    }

    it('hex of n-D and negative strides uses C order (h[::-1].hex(".", 3))', () => {
      const r = h34().subarray(null, null, -1)
      expect(r.hex()).to.equal('101112131415161708090a0b0c0d0e0f0001020304050607')
      expect(r.hex('.', 3)).to.equal('101112.131415.161708.090a0b.0c0d0e.0f0001.020304.050607')
    })

    it("empty 2-D slice whose start lies before the buffer (memoryview(bytes(22)).cast('B',[1,22])[-2:-3:-3])", () => {
      // python3: shape (0, 22), strides (-66, 1); hex() == '', hex(' ', 2) == '', tobytes() == b''
      const m = memoryview(new Uint8Array(22)).cast('B', [1, 22]).subarray(-2, -3, -3)
      expect([...m.shape]).to.deep.equal([0, 22])
      expect(m.hex()).to.equal('')
      expect(m.hex(' ', 2)).to.equal('')
      expect(m.tobytes().length).to.equal(0)
      expect(m.tolist()).to.deep.equal([])
    })

    it('hex of a non-B format is the hex of its bytes', () => {
      expect(memoryview(new Uint16Array([0x0102, 0xa0b0])).hex(' ')).to.equal('02 01 b0 a0')
    })

    it('sep rules → TypeError INVALID_ARG', () => {
      const m = memoryview(range(4))
      // ValueError: sep must be length 1.
      expectError(() => m.hex('::'), TypeError, INVALID_ARG)
      expectError(() => m.hex(''), TypeError, INVALID_ARG)
      // ValueError: sep must be ASCII.
      expectError(() => m.hex('é'), TypeError, INVALID_ARG)
      expectError(() => m.hex('\x80'), TypeError, INVALID_ARG)
      expectError(() => m.hex('\u{1F600}'), TypeError, INVALID_ARG)
      // TypeError: object of type 'int' has no len()
      expectError(() => m.hex(1 as any), TypeError, INVALID_ARG)
      expectError(() => m.hex(null as any), TypeError, INVALID_ARG)
      // TypeError: 'float' object cannot be interpreted as an integer
      expectError(() => m.hex(':', 1.5), TypeError, INVALID_ARG)
      expectError(() => m.hex(':', NaN), TypeError, INVALID_ARG)
      expectError(() => m.hex(':', '2' as any), TypeError, INVALID_ARG)
    })
  })
})
