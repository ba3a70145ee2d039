import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview } from 'memoryview'

const range = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => i))

describe('16 tolist', () => {
  it("3-D nests arrays (m.cast('B',[2,3,4]).tolist())", () => {
    expect(memoryview(range(24)).cast('B', [2, 3, 4]).tolist()).to.deep.equal([
      [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
      [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]],
    ])
  })

  it("4-D with ones (m[:4].cast('B',[1,1,1,4]).tolist())", () => {
    expect(memoryview(range(4)).cast('B', [1, 1, 1, 4]).tolist()).to.deep.equal([[[[0, 1, 2, 3]]]])
  })

  it("0-D returns the scalar (m[:2].cast('h',[]).tolist() == 256)", () => {
    expect(memoryview(range(2)).cast('h', []).tolist()).to.equal(256)
    expect(memoryview(range(8)).cast('q', []).tolist()).to.equal(0x0706050403020100n)
  })

  it("zero in shape (m.cast('B',[4,6])[1:1].tolist() == [])", () => {
    const v = memoryview(range(24)).cast('B', [4, 6]).subarray(1, 1)
    expect(v.shape).to.deep.equal([0, 6])
    expect(v.tolist()).to.deep.equal([])
  })

  it("'c' → 1-byte Buffers, '?' → booleans, in 2-D", () => {
    const c = memoryview(range(4)).cast('c', [2, 2]).tolist() as Buffer[][]
    expect(c).to.deep.equal([[Buffer.from([0]), Buffer.from([1])], [Buffer.from([2]), Buffer.from([3])]])
    expect(Buffer.isBuffer(c[1][1])).to.equal(true)
    expect(memoryview(range(4)).cast('?', [2, 2]).tolist()).to.deep.equal([[false, true], [true, true]])
  })

  it("negative strides in 2-D (m.cast('i',[2,3])[::-1])", () => {
    expect(memoryview(range(24)).cast('i', [2, 3]).subarray(null, null, -1).tolist()).to.deep.equal([
      [252579084, 319951120, 387323156], [50462976, 117835012, 185207048],
    ])
  })

  it("strided column (m.cast('B',[24,1])[::5])", () => {
    expect(memoryview(range(24)).cast('B', [24, 1]).subarray(null, null, 5).tolist()).to.deep.equal([[0], [5], [10], [15], [20]])
  })

  it('bigint formats give bigints, float formats numbers', () => {
    expect(memoryview(new BigInt64Array([-1n, 2n])).tolist()).to.deep.equal([-1n, 2n])
    expect(memoryview(new Float32Array([0.5, -2])).tolist()).to.deep.equal([0.5, -2])
  })

  it('byte-order prefixed formats (API.md difference 2)', () => {
    expect(memoryview(range(4)).cast('>H').tolist()).to.deep.equal([1, 0x0203])
    expect(memoryview(range(4)).cast('<H').tolist()).to.deep.equal([0x0100, 0x0302])
  })

  it('returns fresh arrays: mutating the result does not touch memory', () => {
    const b = range(4)
    const l = memoryview(b).tolist() as number[]
    l[0] = 99
    expect(b[0]).to.equal(0)
    expect(memoryview(b).tolist()).not.to.equal(memoryview(b).tolist())
  })
})
