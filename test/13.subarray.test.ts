import { describe, it } from 'mocha'
import { expect } from 'chai'
import { BUFFER_PROTOCOL, memoryview } from 'memoryview'
import { expectError, INVALID_INDEX, OUT_OF_RANGE } from './helpers/errors'

const ten = () => memoryview(new Uint8Array(Array.from({ length: 10 }, (_, i) => i)))
const B = 10n ** 30n

describe('13 subarray (Python slices)', () => {
  describe('slice table (python3: memoryview(bytes(range(10)))[a:b:c].tolist())', () => {
    const rows: [string, [unknown?, unknown?, unknown?], number[]][] = [
      ['m[2:5]', [2, 5], [2, 3, 4]],
      ['m[-3:]', [-3], [7, 8, 9]],
      ['m[:-3]', [undefined, -3], [0, 1, 2, 3, 4, 5, 6]],
      ['m[::3]', [null, null, 3], [0, 3, 6, 9]],
      ['m[::-1]', [null, null, -1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ['m[::-3]', [undefined, undefined, -3], [9, 6, 3, 0]],
      ['m[8:2:-2]', [8, 2, -2], [8, 6, 4]],
      ['m[-100:100] (clamped)', [-100, 100], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['m[100:]', [100], []],
      ['m[5:2]', [5, 2], []],
      ['m[2:5:-1]', [2, 5, -1], []],
      ['m[-1:-100:-1]', [-1, -100, -1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ['m[100:-100:-4]', [100, -100, -4], [9, 5, 1]],
      ['m[::10**30]', [null, null, B], [0]],
      ['m[::-10**30]', [null, null, -B], [9]],
      ['m[10**30:]', [B], []],
      ['m[-10**30:2]', [-B, 2], [0, 1]],
      ['m[None:None:None]', [null, null, null], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['m[:] with no arguments', [], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['m[None:3]', [null, 3], [0, 1, 2]],
      ['m[3:None:-1]', [3, null, -1], [3, 2, 1, 0]],
      ['m[2n:5n:2n] (bigint bounds)', [2n, 5n, 2n], [2, 4]],
      ['m[-0:]', [-0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['m[2**53:] (huge number)', [2 ** 53], []],
      ['m[:-(2**60):-1]', [undefined, -(2 ** 60), -1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ['m[5:5:-1]', [5, 5, -1], []],
      ['m[-1:-1]', [-1, -1], []],
      ['m[3:-100:-2]', [3, -100, -2], [3, 1]],
      ['m[9::-4]', [9, undefined, -4], [9, 5, 1]],
      ['m[:0:-1]', [null, 0, -1], [9, 8, 7, 6, 5, 4, 3, 2, 1]],
      ['m[-11:11:3]', [-11, 11, 3], [0, 3, 6, 9]],
      ['m[11:-11:-3]', [11, -11, -3], [9, 6, 3, 0]],
      ['m[-0::-1]', [-0, null, -1], [0]],
    ]
    for (const [name, args, want] of rows) {
      it(name, () => {
        const s = (ten().subarray as any)(...args)
        expect(s.tolist()).to.deep.equal(want)
        expect(s.shape).to.deep.equal([want.length])
        expect([...s]).to.deep.equal(want)
      })
    }
  })

  it('an empty view: every slice is empty, with any step (memoryview(b"")[::-1], [5:-5:-2], [:3:2])', () => {
    const m = memoryview(new Uint8Array(0))
    for (const args of [[null, null, -1], [5, -5, -2], [null, 3, 2], [-1, null, -1], [0, 0, 1]]) {
      const s = (m.subarray as any)(...args)
      expect(s.tolist(), String(args)).to.deep.equal([])
      expect(s.shape, String(args)).to.deep.equal([0])
    }
  })

  it('strides are step * itemsize (m.cast("i")[::-2].strides == (-8,))', () => {
    const m = memoryview(new Int32Array([0, 1, 2, 3, 4]))
    expect(m.subarray(null, null, -2).strides).to.deep.equal([-8])
    expect(m.subarray(null, null, -2).tolist()).to.deep.equal([4, 2, 0])
    expect(m.subarray(1, 4, 2).strides).to.deep.equal([8])
  })

  it('slices of slices (m[::2][1:4][::-1], m[::-1][::-2])', () => {
    expect(ten().subarray(null, null, 2).subarray(null, null, -1).tolist()).to.deep.equal([8, 6, 4, 2, 0])
    expect(ten().subarray(null, null, 2).subarray(1, 4).subarray(null, null, -1).tolist()).to.deep.equal([6, 4, 2])
    expect(ten().subarray(null, null, -1).subarray(null, null, -2).tolist()).to.deep.equal([0, 2, 4, 6, 8])
  })

  it('step 0 → RangeError ERR_MEMORYVIEW_OUT_OF_RANGE (slice step cannot be zero)', () => {
    expectError(() => ten().subarray(null, null, 0), RangeError, OUT_OF_RANGE)
    expectError(() => ten().subarray(1, 2, 0n), RangeError, OUT_OF_RANGE)
  })

  it('non-integral bounds → TypeError INVALID_INDEX (slice indices must be integers or None)', () => {
    for (const bad of [1.5, NaN, Infinity, '1', {}]) {
      expectError(() => ten().subarray(bad as any), TypeError, INVALID_INDEX)
      expectError(() => ten().subarray(0, bad as any), TypeError, INVALID_INDEX)
      expectError(() => ten().subarray(0, 1, bad as any), TypeError, INVALID_INDEX)
    }
  })

  it('zero-copy: writes through a slice are visible in the parent and the source, and back', () => {
    const b = new Uint8Array(10)
    const m = memoryview(b)
    const s = m.subarray(8, 2, -2)
    s.set(0, 80)
    s.set(-1, 40)
    expect(m.get(8)).to.equal(80)
    expect(b[4]).to.equal(40)
    b[6] = 60
    expect(s.get(1)).to.equal(60)
    expect(s.obj).to.equal(b)
  })

  it('a slice keeps format, readonly and itemsize', () => {
    const m = memoryview(new Float64Array([1, 2, 3])).toreadonly()
    const s = m.subarray(1)
    expect(s.format).to.equal('d')
    expect(s.itemsize).to.equal(8)
    expect(s.readonly).to.equal(true)
    expect(s.tolist()).to.deep.equal([2, 3])
  })

  it('n-D views slice along the first dimension (m.cast("B",[3,4])[::-1])', () => {
    const m = memoryview(new Uint8Array(Array.from({ length: 12 }, (_, i) => i))).cast('B', [3, 4])
    expect(m.subarray(1).tolist()).to.deep.equal([[4, 5, 6, 7], [8, 9, 10, 11]])
    const r = m.subarray(null, null, -1)
    expect(r.tolist()).to.deep.equal([[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]])
    expect(r.shape).to.deep.equal([3, 4])
    expect(r.strides).to.deep.equal([-4, 1])
    // memoryview(bytes(range(12))).cast('h',[3,2])[::2].tolist() == [[256, 770], [2312, 2826]]
    const h = memoryview(new Uint8Array(Array.from({ length: 12 }, (_, i) => i))).cast('h', [3, 2]).subarray(null, null, 2)
    expect(h.tolist()).to.deep.equal([[256, 770], [2312, 2826]])
  })

  it('0-D views cannot be sliced → TypeError INVALID_INDEX (invalid indexing of 0-dim memory)', () => {
    const z = memoryview(Buffer.from('ab')).cast('h', [])
    expectError(() => z.subarray(), TypeError, INVALID_INDEX)
    expectError(() => z.subarray(0, 1), TypeError, INVALID_INDEX)
    expectError(() => z.subarray(null, null, 0), TypeError, INVALID_INDEX)
  })

  it('a zero stride times a negative step is stride 0, never -0 (python3: broadcast_to(arange(1.), (4,)), m[::-1].strides == (0,))', () => {
    const mem = new Float64Array([1.5, 2.5, 3.5, 4.5])
    const exporter = {
      [BUFFER_PROTOCOL]: () => ({ buffer: mem.buffer, byteOffset: 0, format: 'd', shape: [4], strides: [0], readonly: false, release() {} }),
    }
    const m = memoryview(exporter)
    // The 1-D fast path, a slice of a slice (the strided TypedArray's own step), bigint bounds (the
    // general path), and a 2-D view over zero strides (its first dimension sliced).
    const views = [m.subarray(null, null, -1), m.subarray(0, 3).subarray(null, null, -2), m.subarray(3n, null, -1), memoryview(m).subarray(null, null, -3)]
    for (const v of views) {
      expect(Object.is(v.strides[0], 0), `strides ${v.strides}`).to.equal(true)
      expect(Object.is((v as unknown as { _es0: number })._es0, 0), '_es0').to.equal(true)
      expect(v.tolist()).to.deep.equal(Array(v.shape[0]).fill(1.5))
    }
    const m2 = memoryview({
      [BUFFER_PROTOCOL]: () => ({ buffer: mem.buffer, byteOffset: 0, format: 'd', shape: [3, 2], strides: [0, 8], readonly: false, release() {} }),
    })
    const s2 = m2.subarray(null, null, -1)
    expect(Object.is(s2.strides[0], 0), `strides ${s2.strides}`).to.equal(true)
    expect(s2.tolist()).to.deep.equal([[1.5, 2.5], [1.5, 2.5], [1.5, 2.5]])
  })
})
