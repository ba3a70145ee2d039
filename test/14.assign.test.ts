import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { expectError, INVALID_SOURCE, NOT_IMPLEMENTED, READONLY, STRUCTURE } from './helpers/errors'

const fresh = () => {
  const b = new Uint8Array(Array.from({ length: 10 }, (_, i) => i))
  return { b, m: memoryview(b) }
}

describe('14 assign (slice assignment)', () => {
  it("m[2:5] = b'abc' writes exactly the slice", () => {
    const { b, m } = fresh()
    m.subarray(2, 5).assign(Buffer.from('abc'))
    expect([...b]).to.deep.equal([0, 1, 97, 98, 99, 5, 6, 7, 8, 9])
  })

  it("m[::2] = b'abcde' (strided destination)", () => {
    const { b, m } = fresh()
    m.subarray(null, null, 2).assign(Buffer.from('abcde'))
    expect([...b]).to.deep.equal([97, 1, 98, 3, 99, 5, 100, 7, 101, 9])
  })

  it('every kind of source is accepted (TypedArray of the same format, ArrayBuffer, DataView, view, readonly view)', () => {
    const { b, m } = fresh()
    m.subarray(0, 2).assign(new ArrayBuffer(2))
    m.subarray(2, 4).assign(new DataView(new Uint8Array([7, 7]).buffer))
    m.subarray(4, 6).assign(memoryview(new Uint8Array([8, 8])).toreadonly())
    m.subarray(6, 8).assign(new SharedArrayBuffer(2))
    m.subarray(8, 10).assign(new Uint8ClampedArray([9, 9]))
    expect([...b]).to.deep.equal([0, 0, 7, 7, 8, 8, 0, 0, 9, 9])
    const h = memoryview(new Int16Array(3))
    h.subarray(0, 2).assign(new Int16Array([-1, 300]))
    expect(h.tolist()).to.deep.equal([-1, 300, 0])
  })

  it("'h' and '@h' are the same structure (m.cast('h')[0:2] = memoryview(b'abcd').cast('@h'))", () => {
    const { m } = fresh()
    const h = m.cast('h')
    h.subarray(0, 2).assign(memoryview(Buffer.from('abcd')).cast('@h'))
    expect(m.tobytes().subarray(0, 4).toString()).to.equal('abcd')
  })

  it('empty to empty (m[5:5] = b"")', () => {
    const { b, m } = fresh()
    m.subarray(5, 5).assign(new Uint8Array(0))
    expect([...b]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  describe('structure check → TypeError ERR_MEMORYVIEW_STRUCTURE (lvalue and rvalue have different structures)', () => {
    const rows: [string, (m: MemoryView) => void][] = [
      ["m[2:5] = b'ab' (length)", (m) => m.subarray(2, 5).assign(Buffer.from('ab'))],
      ["m[5:5] = b'x'", (m) => m.subarray(5, 5).assign(Buffer.from('x'))],
      ["m.cast('h')[0:2] = b'abcd' (format B vs h)", (m) => m.cast('h').subarray(0, 2).assign(Buffer.from('abcd'))],
      ["m.cast('h')[0:2] = memoryview(b'abcd').cast('H')", (m) => m.cast('h').subarray(0, 2).assign(memoryview(Buffer.from('abcd')).cast('H'))],
      ['m.cast("h")[0:2] = Uint16Array (H vs h)', (m) => m.cast('h').subarray(0, 2).assign(new Uint16Array(2))],
      ["m[0:4] = memoryview(b'abcd').cast('B',[2,2]) (ndim)", (m) => m.subarray(0, 4).assign(memoryview(Buffer.from('abcd')).cast('B', [2, 2]))],
      ["m.cast('c')[0:1] = b'a' (c vs B)", (m) => m.cast('c').subarray(0, 1).assign(Buffer.from('a'))],
      ["m[0:0] = memoryview(b'ab').cast('h')[:0] (empty, but formats differ)", (m) => m.subarray(0, 0).assign(memoryview(Buffer.from('ab')).cast('h').subarray(0, 0))],
      ['m[0:2] = Int8Array (b vs B)', (m) => m.subarray(0, 2).assign(new Int8Array(2))],
    ]
    for (const [name, run] of rows) {
      it(name, () => {
        const { b, m } = fresh()
        expectError(() => run(m), TypeError, STRUCTURE)
        expect([...b]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      })
    }
  })

  it('a non-source → TypeError ERR_MEMORYVIEW_INVALID_SOURCE (a bytes-like object is required)', () => {
    for (const bad of [[1, 2], 5, 'ab', null, undefined, {}]) {
      const { b, m } = fresh()
      expectError(() => m.subarray(0, 2).assign(bad as any), TypeError, INVALID_SOURCE)
      expect(b[0]).to.equal(0)
    }
  })

  it('readonly destination → TypeError READONLY, checked before the source', () => {
    const { b, m } = fresh()
    const r = m.toreadonly()
    expectError(() => r.subarray(2, 5).assign(Buffer.from('abc')), TypeError, READONLY)
    // m.toreadonly()[2:5] = [1,2,3] → TypeError: cannot modify read-only memory
    expectError(() => r.subarray(2, 5).assign([1, 2, 3] as any), TypeError, READONLY)
    expectError(() => r.subarray(2, 5).assign(Buffer.from('ab')), TypeError, READONLY)
    expect(b[2]).to.equal(2)
  })

  it('n-D destination → NOT_IMPLEMENTED, checked before the source (restricted to ndim = 1)', () => {
    const { b, m } = fresh()
    const two = m.cast('B', [2, 5])
    expectError(() => two.subarray(0, 1).assign(Buffer.from('abcde')), Error, NOT_IMPLEMENTED)
    expectError(() => two.subarray(0, 1).assign([1] as any), Error, NOT_IMPLEMENTED)
    expectError(() => two.assign(new Uint8Array(10)), Error, NOT_IMPLEMENTED)
    expect(b[0]).to.equal(0)
  })

  describe('overlap-safe copy, both directions (python3 results)', () => {
    const rows: [string, (m: MemoryView) => void, number[]][] = [
      ['m[1:5] = m[0:4] (shift right)', (m) => m.subarray(1, 5).assign(m.subarray(0, 4)), [0, 0, 1, 2, 3, 5, 6, 7, 8, 9]],
      ['m[0:4] = m[1:5] (shift left)', (m) => m.subarray(0, 4).assign(m.subarray(1, 5)), [1, 2, 3, 4, 4, 5, 6, 7, 8, 9]],
      ['m[::-1] = m (reverse in place)', (m) => m.subarray(null, null, -1).assign(m), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ['m[:] = m[::-1]', (m) => m.subarray().assign(m.subarray(null, null, -1)), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      ['m[0:5] = m[4::-1]', (m) => m.subarray(0, 5).assign(m.subarray(4, null, -1)), [4, 3, 2, 1, 0, 5, 6, 7, 8, 9]],
      ['m[0:5] = m[::2]', (m) => m.subarray(0, 5).assign(m.subarray(null, null, 2)), [0, 2, 4, 6, 8, 5, 6, 7, 8, 9]],
      ['m[::2] = m[:5]', (m) => m.subarray(null, null, 2).assign(m.subarray(0, 5)), [0, 1, 1, 3, 2, 5, 3, 7, 4, 9]],
      ['m[::-2] = m[:5]', (m) => m.subarray(null, null, -2).assign(m.subarray(0, 5)), [0, 4, 2, 3, 4, 2, 6, 1, 8, 0]],
      ['m[:] = m (self)', (m) => m.assign(m), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      ['m[1:5] = a TypedArray over m[0:4] of the same buffer', (m) => m.subarray(1, 5).assign(new Uint8Array((m.obj as Uint8Array).buffer, 0, 4)), [0, 0, 1, 2, 3, 5, 6, 7, 8, 9]],
    ]
    for (const [name, run, want] of rows) {
      it(name, () => {
        const { b, m } = fresh()
        run(m)
        expect([...b]).to.deep.equal(want)
      })
    }

    it("overlapping 'h' elements through different views of one buffer (cast)", () => {
      const b = new Uint8Array([1, 0, 2, 0, 3, 0, 4, 0])
      const h = memoryview(b).cast('h')
      h.subarray(1, 4).assign(memoryview(b).subarray(0, 6).cast('h'))
      expect(h.tolist()).to.deep.equal([1, 1, 2, 3])
    })
  })

  it('assign returns nothing useful to chain on, but the view keeps working', () => {
    const { m } = fresh()
    const s = m.subarray(0, 2)
    s.assign(new Uint8Array([5, 6]))
    expect(s.tolist()).to.deep.equal([5, 6])
  })
})
