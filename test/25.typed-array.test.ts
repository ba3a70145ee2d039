import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview } from 'memoryview'
import { expectError, FORMAT, NOT_CONTIGUOUS } from './helpers/errors'

type Ctor = { new (...args: any[]): ArrayBufferView & { length: number; [i: number]: any }; name: string }

const Float16 = (globalThis as any).Float16Array as Ctor | undefined

describe('25 toTypedArray', () => {
  describe('zero-copy TypedArray of the matching type, per format', () => {
    const rows: [string, Ctor][] = [
      ['B', Uint8Array], ['@B', Uint8Array], ['c', Uint8Array], ['b', Int8Array], ['h', Int16Array], ['<h', Int16Array],
      ['=h', Int16Array], ['H', Uint16Array], ['i', Int32Array], ['I', Uint32Array], ['l', BigInt64Array], ['q', BigInt64Array],
      ['n', BigInt64Array], ['L', BigUint64Array], ['Q', BigUint64Array], ['N', BigUint64Array], ['P', BigUint64Array],
      ['f', Float32Array], ['d', Float64Array], ['<d', Float64Array],
    ]
    for (const [format, ctor] of rows) {
      it(`'${format}' → ${ctor.name}`, () => {
        const ab = new ArrayBuffer(48)
        const m = memoryview(new Uint8Array(ab, 16, 32)).cast(format)
        const ta = m.toTypedArray() as any
        expect(ta).to.be.instanceOf(ctor)
        expect(ta.buffer).to.equal(ab)
        expect(ta.byteOffset).to.equal(16)
        expect(ta.byteLength).to.equal(32)
        expect(ta.length).to.equal(32 / m.itemsize)
        // Writes go both ways.
        const one = typeof ta[0] === 'bigint' ? 1n : 1
        ta[1] = one
        expect(m.get(1)).to.deep.equal(format === 'c' ? Buffer.from([1]) : one)
        m.set(2, format === 'c' ? Buffer.from([3]) : typeof one === 'bigint' ? 3n : 3)
        expect(ta[2]).to.equal(typeof one === 'bigint' ? 3n : 3)
      })
    }
  })

  it('a slice with step 1 gives a TypedArray over exactly its elements', () => {
    const src = new Int32Array([0, 1, 2, 3, 4, 5])
    const ta = memoryview(src).subarray(2, 5).toTypedArray() as Int32Array
    expect(ta).to.be.instanceOf(Int32Array)
    expect([...ta]).to.deep.equal([2, 3, 4])
    expect(ta.buffer).to.equal(src.buffer)
    expect(ta.byteOffset).to.equal(8)
  })

  it('C-contiguous n-D and 0-D views flatten; empty views give length 0', () => {
    const b = new Uint8Array(Array.from({ length: 12 }, (_, i) => i))
    expect([...(memoryview(b).cast('h', [2, 3]).toTypedArray() as Int16Array)]).to.deep.equal([...new Int16Array(b.buffer)])
    expect((memoryview(b).subarray(0, 2).cast('h', []).toTypedArray() as Int16Array).length).to.equal(1)
    expect(memoryview(b).subarray(4, 4).toTypedArray().byteLength).to.equal(0)
  })

  it('over a SharedArrayBuffer the TypedArray shares it', () => {
    const sab = new SharedArrayBuffer(8)
    const ta = memoryview(new Float64Array(sab)).toTypedArray() as Float64Array
    expect(ta.buffer).to.equal(sab)
  })

  it('non-contiguous views → TypeError ERR_MEMORYVIEW_NOT_CONTIGUOUS', () => {
    const b = new Uint8Array(12)
    expectError(() => memoryview(b).subarray(null, null, 2).toTypedArray(), TypeError, NOT_CONTIGUOUS)
    expectError(() => memoryview(b).subarray(null, null, -1).toTypedArray(), TypeError, NOT_CONTIGUOUS)
    expectError(() => memoryview(b).cast('B', [3, 4]).subarray(null, null, 2).toTypedArray(), TypeError, NOT_CONTIGUOUS)
    expectError(() => memoryview(new Float64Array(4)).subarray(null, null, -1).toTypedArray(), TypeError, NOT_CONTIGUOUS)
  })

  it("formats with no TypedArray → TypeError ERR_MEMORYVIEW_FORMAT ('?', big-endian)", () => {
    const b = new Uint8Array(8)
    for (const f of ['?', '>h', '!i', '>d', '>q']) {
      expectError(() => memoryview(b).cast(f).toTypedArray(), TypeError, FORMAT)
    }
  })

  it("'e' → Float16Array where it exists, else ERR_MEMORYVIEW_FORMAT", () => {
    const m = memoryview(new Uint8Array(8)).cast('e')
    if (Float16 !== undefined) {
      expect(m.toTypedArray()).to.be.instanceOf(Float16)
    } else {
      expectError(() => m.toTypedArray(), TypeError, FORMAT)
    }
  })

  it('a misaligned element type cannot get a TypedArray: coded error, not a raw RangeError', () => {
    const m = memoryview(new Uint8Array(16)).subarray(1, 9).cast('h')
    let err: any
    try {
      m.toTypedArray()
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(Error)
    expect(String(err.code)).to.match(/^ERR_MEMORYVIEW_/)
  })
})
