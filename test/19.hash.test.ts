import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { expectError, HASH, RELEASED } from './helpers/errors'

const ro = (s: string | number[]) => memoryview(typeof s === 'string' ? Buffer.from(s) : new Uint8Array(s)).toreadonly()

describe('19 hash', () => {
  describe('preconditions (CPython order: released, writable, format)', () => {
    it('a writable view → TypeError ERR_MEMORYVIEW_HASH (cannot hash writable memoryview object)', () => {
      expectError(() => memoryview(Buffer.from('abc')).hash(), TypeError, HASH)
    })

    it("a readonly view of another format → HASH (hashing is restricted to formats 'B', 'b' or 'c')", () => {
      for (const f of ['h', 'i', 'd', '?', 'e', 'q', '>h']) {
        expectError(() => ro('abcdefgh').cast(f).hash(), TypeError, HASH)
      }
    })

    it("writable is checked before the format (hash(memoryview(bytearray(4)).cast('h')))", () => {
      expectError(() => memoryview(new Uint8Array(4)).cast('h').hash(), TypeError, HASH)
      expectError(() => memoryview(new Int16Array(2)).hash(), TypeError, HASH)
    })

    it('released is checked first → ERR_MEMORYVIEW_RELEASED', () => {
      const m = memoryview(Buffer.from('ab'))
      m.release()
      expectError(() => m.hash(), Error, RELEASED)
    })

    it("API.md difference 4: obj need not be hashable (3.11: hash(memoryview(bytearray(b'ab')).toreadonly()) → TypeError)", () => {
      expect(Number.isInteger(memoryview(new Uint8Array([1, 2])).toreadonly().hash())).to.equal(true)
    })
  })

  describe('equal bytes → equal hash', () => {
    const rows: [string, () => MemoryView, () => MemoryView][] = [
      ['two sources with the same bytes', () => ro('abcdef'), () => memoryview(new Uint8Array(Buffer.from('abcdef')).buffer).toreadonly()],
      ["'B' and 'c' (hash(m.cast('c')) == hash(m))", () => ro('abcdef'), () => ro('abcdef').cast('c')],
      ["'B' and 'b'", () => ro([200, 1, 2]), () => ro([200, 1, 2]).cast('b')],
      ["'B' and '@B'", () => ro('abcdef'), () => ro('abcdef').cast('@B')],
      ["2-D and 1-D (hash(m.cast('B',[2,3])) == hash(b'abcdef'))", () => ro('abcdef').cast('B', [2, 3]), () => ro('abcdef')],
      ["negative stride (hash(m[::-2]) == hash(b'fdb'))", () => ro('abcdef').subarray(null, null, -2), () => ro('fdb')],
      ['0-D and 1-D of one byte', () => ro('a').cast('B', []), () => ro('a')],
      ['empty and empty', () => ro(''), () => ro('x').subarray(1)],
      ['readonly buffer-protocol exporter', () => ro('xyz'), () => memoryview({ [Symbol.for('memoryview.buffer')]: () => ({ buffer: new Uint8Array(Buffer.from('xyz')).buffer, byteOffset: 0, format: 'B', shape: [3], strides: [1], readonly: true }) } as any)],
    ]
    for (const [name, a, b] of rows) {
      it(name, () => {
        const h = a().hash()
        expect(typeof h).to.equal('number')
        expect(Number.isInteger(h)).to.equal(true)
        expect(b().hash()).to.equal(h)
      })
    }
  })

  it('different bytes give different hashes (a sample)', () => {
    const hashes = new Set(['', 'a', 'b', 'ab', 'ba', 'abc', 'abd', '\x00', '\x00\x00'].map((s) => ro(s).hash()))
    expect(hashes.size).to.equal(9)
  })

  it('the hash is computed once and kept (CPython caches it), also after release', () => {
    const b = new Uint8Array(Buffer.from('abc'))
    const w = memoryview(b)
    const r = w.toreadonly()
    const h = r.hash()
    b[0] = 0x7a
    expect(r.hash()).to.equal(h)
    r.release()
    expect(r.hash()).to.equal(h)
    expect(ro('zbc').hash()).not.to.equal(h)
  })

  it('a view released before hashing → RELEASED', () => {
    const r = ro('abc')
    r.release()
    expectError(() => r.hash(), Error, RELEASED)
  })
})
