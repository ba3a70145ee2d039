import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView, BUFFER_PROTOCOL } from 'memoryview'

interface Attrs {
  format: string
  itemsize: number
  ndim: number
  shape: number[]
  strides: number[]
  nbytes: number
  c: boolean
  f: boolean
  contiguous: boolean
  readonly: boolean
  length: number
}

function attrs(m: MemoryView): Attrs {
  return {
    format: m.format,
    itemsize: m.itemsize,
    ndim: m.ndim,
    shape: [...m.shape],
    strides: [...m.strides],
    nbytes: m.nbytes,
    c: m.c_contiguous,
    f: m.f_contiguous,
    contiguous: m.contiguous,
    readonly: m.readonly,
    length: m.length,
  }
}

const base = () => memoryview(new Uint8Array(Array.from({ length: 12 }, (_, i) => i)))

// Every row was produced by python3: attrs(v) == (format, itemsize, ndim, shape, strides,
// suboffsets, nbytes, c_contiguous, f_contiguous, contiguous, readonly), plus len(v).
const table: [string, () => MemoryView, Attrs][] = [
  ['1-D bytes  (m)', base,
    { format: 'B', itemsize: 1, ndim: 1, shape: [12], strides: [1], nbytes: 12, c: true, f: true, contiguous: true, readonly: false, length: 12 }],
  ["2-D  (m.cast('B',[3,4]))", () => base().cast('B', [3, 4]),
    { format: 'B', itemsize: 1, ndim: 2, shape: [3, 4], strides: [4, 1], nbytes: 12, c: true, f: false, contiguous: true, readonly: false, length: 3 }],
  ["2-D 'h'  (m.cast('h',[2,3]))", () => base().cast('h', [2, 3]),
    { format: 'h', itemsize: 2, ndim: 2, shape: [2, 3], strides: [6, 2], nbytes: 12, c: true, f: false, contiguous: true, readonly: false, length: 2 }],
  ["3-D  (m.cast('B',[2,3,2]))", () => base().cast('B', [2, 3, 2]),
    { format: 'B', itemsize: 1, ndim: 3, shape: [2, 3, 2], strides: [6, 2, 1], nbytes: 12, c: true, f: false, contiguous: true, readonly: false, length: 2 }],
  ["0-D  (memoryview(b'ab').cast('h',[])); len() == 1 in 3.11", () => memoryview(Buffer.from('ab')).cast('h', []),
    { format: 'h', itemsize: 2, ndim: 0, shape: [], strides: [], nbytes: 2, c: true, f: true, contiguous: true, readonly: false, length: 1 }],
  ['strided  (m[::2])', () => base().subarray(null, null, 2),
    { format: 'B', itemsize: 1, ndim: 1, shape: [6], strides: [2], nbytes: 6, c: false, f: false, contiguous: false, readonly: false, length: 6 }],
  ['negative stride  (m[::-1])', () => base().subarray(null, null, -1),
    { format: 'B', itemsize: 1, ndim: 1, shape: [12], strides: [-1], nbytes: 12, c: false, f: false, contiguous: false, readonly: false, length: 12 }],
  ["negative stride 'i'  (m.cast('i')[::-1])", () => base().cast('i').subarray(null, null, -1),
    { format: 'i', itemsize: 4, ndim: 1, shape: [3], strides: [-4], nbytes: 12, c: false, f: false, contiguous: false, readonly: false, length: 3 }],
  ['one element, negative stride is contiguous  (m[1:2][::-1])', () => base().subarray(1, 2).subarray(null, null, -1),
    { format: 'B', itemsize: 1, ndim: 1, shape: [1], strides: [-1], nbytes: 1, c: true, f: true, contiguous: true, readonly: false, length: 1 }],
  ["one element, stride 8  (m.cast('i')[1::2])", () => base().cast('i').subarray(1, null, 2),
    { format: 'i', itemsize: 4, ndim: 1, shape: [1], strides: [8], nbytes: 4, c: true, f: true, contiguous: true, readonly: false, length: 1 }],
  ["column  (m.cast('B',[12,1])) is C and F", () => base().cast('B', [12, 1]),
    { format: 'B', itemsize: 1, ndim: 2, shape: [12, 1], strides: [1, 1], nbytes: 12, c: true, f: true, contiguous: true, readonly: false, length: 12 }],
  ["row  (m.cast('B',[1,12])) is C and F", () => base().cast('B', [1, 12]),
    { format: 'B', itemsize: 1, ndim: 2, shape: [1, 12], strides: [12, 1], nbytes: 12, c: true, f: true, contiguous: true, readonly: false, length: 1 }],
  ["empty  (memoryview(b''))", () => memoryview(new Uint8Array(0)),
    { format: 'B', itemsize: 1, ndim: 1, shape: [0], strides: [1], nbytes: 0, c: true, f: true, contiguous: true, readonly: false, length: 0 }],
  ['empty slice  (m[5:5])', () => base().subarray(5, 5),
    { format: 'B', itemsize: 1, ndim: 1, shape: [0], strides: [1], nbytes: 0, c: true, f: true, contiguous: true, readonly: false, length: 0 }],
  ['empty slice, step -1 is not contiguous  (m[5:5:-1])', () => base().subarray(5, 5, -1),
    { format: 'B', itemsize: 1, ndim: 1, shape: [0], strides: [-1], nbytes: 0, c: false, f: false, contiguous: false, readonly: false, length: 0 }],
  ["2-D, every other row  (m.cast('B',[4,3])[::2])", () => base().cast('B', [4, 3]).subarray(null, null, 2),
    { format: 'B', itemsize: 1, ndim: 2, shape: [2, 3], strides: [6, 1], nbytes: 6, c: false, f: false, contiguous: false, readonly: false, length: 2 }],
  ["2-D, rows reversed  (m.cast('B',[4,3])[::-1])", () => base().cast('B', [4, 3]).subarray(null, null, -1),
    { format: 'B', itemsize: 1, ndim: 2, shape: [4, 3], strides: [-3, 1], nbytes: 12, c: false, f: false, contiguous: false, readonly: false, length: 4 }],
  ["2-D with a zero in shape  (m.cast('B',[4,3])[1:1])", () => base().cast('B', [4, 3]).subarray(1, 1),
    { format: 'B', itemsize: 1, ndim: 2, shape: [0, 3], strides: [3, 1], nbytes: 0, c: true, f: true, contiguous: true, readonly: false, length: 0 }],
  ["2-D, one row  (m.cast('B',[4,3])[1:2])", () => base().cast('B', [4, 3]).subarray(1, 2),
    { format: 'B', itemsize: 1, ndim: 2, shape: [1, 3], strides: [3, 1], nbytes: 3, c: true, f: true, contiguous: true, readonly: false, length: 1 }],
  ['readonly  (m.toreadonly())', () => base().toreadonly(),
    { format: 'B', itemsize: 1, ndim: 1, shape: [12], strides: [1], nbytes: 12, c: true, f: true, contiguous: true, readonly: true, length: 12 }],
  ["Fortran-ordered descriptor  (numpy: np.zeros((3,4),'u1',order='F'))", () => {
    const ab = new ArrayBuffer(12)
    return memoryview({ [BUFFER_PROTOCOL]: () => ({ buffer: ab, byteOffset: 0, format: 'B', shape: [3, 4], strides: [1, 3], readonly: false }) })
  },
    { format: 'B', itemsize: 1, ndim: 2, shape: [3, 4], strides: [1, 3], nbytes: 12, c: false, f: true, contiguous: true, readonly: false, length: 3 }],
]

describe('11 attributes', () => {
  describe('every attribute on every layout', () => {
    for (const [name, make, expected] of table) {
      it(name, () => {
        const m = make()
        expect(attrs(m)).to.deep.equal(expected)
        // memoryview(...).suboffsets == () for every view made from JS memory.
        expect(m.suboffsets).to.deep.equal([])
        expect(m.released).to.equal(false)
      })
    }
  })

  describe('shape, strides and suboffsets are frozen arrays', () => {
    for (const key of ['shape', 'strides', 'suboffsets'] as const) {
      it(key, () => {
        const m = base().cast('B', [3, 4])
        const arr = m[key] as readonly number[]
        expect(Array.isArray(arr)).to.equal(true)
        expect(Object.isFrozen(arr)).to.equal(true)
        const before = [...arr]
        expect(() => { (arr as number[])[0] = 99 }).to.throw(TypeError)
        expect(() => { (arr as number[]).push(1) }).to.throw(TypeError)
        expect([...m[key]]).to.deep.equal(before)
        for (const v of m[key]) expect(Number.isInteger(v)).to.equal(true)
      })
    }
  })

  it('attributes are getters, not writable properties', () => {
    const m = base()
    for (const key of ['obj', 'nbytes', 'readonly', 'format', 'itemsize', 'ndim', 'shape', 'strides', 'suboffsets',
      'c_contiguous', 'f_contiguous', 'contiguous', 'length', 'released']) {
      const before = (m as any)[key]
      expect(() => { (m as any)[key] = 123 }, key).to.throw(TypeError)
      expect((m as any)[key], key).to.deep.equal(before)
    }
  })

  it('obj is the source for 1-D views, and the root source for derived views', () => {
    const b = Buffer.alloc(12)
    const m = memoryview(b)
    expect(m.obj).to.equal(b)
    expect(m.subarray(1, 3).obj).to.equal(b)
    expect(m.cast('B', [3, 4]).obj).to.equal(b)
    expect(m.toreadonly().obj).to.equal(b)
    expect(memoryview(m).obj).to.equal(b)
    expect(memoryview(memoryview(m.subarray(2))).obj).to.equal(b)
  })

  it('released is false until release(), then true', () => {
    const m = base()
    expect(m.released).to.equal(false)
    m.release()
    expect(m.released).to.equal(true)
  })
})
