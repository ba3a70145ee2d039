import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView, Pin, BufferError, BUFFER_PROTOCOL } from 'memoryview'
import type { BufferDescriptor } from 'memoryview'
import { expectError, EXPORTED } from './helpers/errors'

const range = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => i))
const exportOf = (m: MemoryView): Required<BufferDescriptor> => (m as any)[BUFFER_PROTOCOL]()

describe('22 managed buffer and exports', () => {
  describe('derived views survive the release of their parent (python3: p.release(); s.tobytes())', () => {
    const derived: [string, (p: MemoryView) => MemoryView, unknown][] = [
      ['slice p[1:3]', (p) => p.subarray(1, 3), [1, 2]],
      ["cast p.cast('B',[2,3])", (p) => p.cast('B', [2, 3]), [[0, 1, 2], [3, 4, 5]]],
      ['p.toreadonly()', (p) => p.toreadonly(), [0, 1, 2, 3, 4, 5]],
      ['memoryview(p)', (p) => memoryview(p), [0, 1, 2, 3, 4, 5]],
      ['slice of a slice p[::-1][1:3]', (p) => p.subarray(null, null, -1).subarray(1, 3), [4, 3]],
    ]
    for (const [name, derive, want] of derived) {
      it(name, () => {
        const b = range(6)
        const p = memoryview(b)
        const d = derive(p)
        p.release()
        expect(p.released).to.equal(true)
        expect(d.released).to.equal(false)
        expect(d.tolist()).to.deep.equal(want)
        expect(d.obj).to.equal(b)
        b[1] = 100
        b[4] = 100
        expect(JSON.stringify(d.tolist())).to.contain('100')
      })
    }

    it('a view survives the release of every ancestor, and writes still reach the memory', () => {
      const b = range(6)
      const a = memoryview(b)
      const c = a.subarray(1)
      const d = c.cast('B', [5, 1])
      a.release()
      c.release()
      d.set(0, 0, 42)
      expect(b[1]).to.equal(42)
    })

    it('releasing a child does not release its parent', () => {
      const p = memoryview(range(4))
      p.subarray(1).release()
      p.cast('B', [2, 2]).release()
      expect(p.tolist()).to.deep.equal([0, 1, 2, 3])
    })
  })

  describe('pin() (an export of the view)', () => {
    it('returns a Pin; release() while pinned → BufferError ERR_MEMORYVIEW_EXPORTED, view still usable', () => {
      const m = memoryview(range(4))
      const pin = m.pin()
      expect(pin).to.be.instanceOf(Pin)
      const err = expectError(() => m.release(), BufferError, EXPORTED)
      expect(err).to.be.instanceOf(Error)
      // CPython: BufferError: memoryview has 1 exported buffer
      expect(err.message).to.match(/memoryview has 1 exported buffer$/)
      expect(m.released).to.equal(false)
      expect(m.get(3)).to.equal(3)
      m.set(0, 9)
      expect(m.get(0)).to.equal(9)
      pin.release()
      m.release()
      expect(m.released).to.equal(true)
    })

    it('counts: 2 pins → "memoryview has 2 exported buffers", one released → 1', () => {
      const m = memoryview(range(4))
      const a = m.pin()
      const b = m.pin()
      expect(expectError(() => m.release(), BufferError, EXPORTED).message).to.match(/memoryview has 2 exported buffers$/)
      a.release()
      expect(expectError(() => m.release(), BufferError, EXPORTED).message).to.match(/memoryview has 1 exported buffer$/)
      b.release()
      expect(() => m.release()).not.to.throw()
    })

    it('Pin.release() is idempotent: releasing one pin twice does not undo another pin', () => {
      const m = memoryview(range(4))
      const a = m.pin()
      const b = m.pin()
      a.release()
      a.release()
      a[Symbol.dispose]()
      expectError(() => m.release(), BufferError, EXPORTED)
      b[Symbol.dispose]()
      m.release()
      expect(m.released).to.equal(true)
    })

    it('m[Symbol.dispose]() while pinned → BufferError, view still usable', () => {
      const m = memoryview(range(4))
      const pin = m.pin()
      expectError(() => m[Symbol.dispose](), BufferError, EXPORTED)
      expect(m.tolist()).to.deep.equal([0, 1, 2, 3])
      pin.release()
      m[Symbol.dispose]()
      expect(m.released).to.equal(true)
    })

    it('exports are counted per view: a pinned child does not block its parent, nor a pinned parent its child', () => {
      // python3: x = ndarray(p, getbuf=PyBUF_FULL_RO); q.release() succeeds; p.release() raises
      const p = memoryview(range(6))
      const q = p.subarray(1, 3)
      const pinP = p.pin()
      expect(() => q.release()).not.to.throw()
      const r = p.cast('B', [2, 3])
      const pinR = r.pin()
      expectError(() => p.release(), BufferError, EXPORTED)
      pinP.release()
      expect(() => p.release()).not.to.throw()
      expectError(() => r.release(), BufferError, EXPORTED)
      expect(r.tolist()).to.deep.equal([[0, 1, 2], [3, 4, 5]])
      pinR.release()
      r.release()
    })

    it('a pin on a view whose parent is released keeps working', () => {
      const p = memoryview(range(4))
      const c = p.subarray(2)
      p.release()
      const pin = c.pin()
      expectError(() => c.release(), BufferError, EXPORTED)
      pin.release()
      c.release()
    })

    it('memoryview(m) and derived views are not exports of m (CPython registers them with the managed buffer)', () => {
      const m = memoryview(range(4))
      const v = memoryview(m)
      const s = m.subarray(1)
      const r = m.toreadonly()
      const c = m.cast('B', [2, 2])
      expect(() => m.release()).not.to.throw()
      expect([v, s, r, c].map((x) => x.released)).to.deep.equal([false, false, false, false])
    })

    it('pins can be used with using-style disposal and do not leak after the view is released', () => {
      const m = memoryview(range(4))
      {
        const pin = m.pin()
        try {
          expectError(() => m.release(), BufferError, EXPORTED)
        } finally {
          pin[Symbol.dispose]()
        }
      }
      m.release()
      expect(m.released).to.equal(true)
    })
  })

  describe('buffer-protocol export of a view counts as an export', () => {
    it("the descriptor describes the view (element [0,0] offset, negative strides, format, readonly)", () => {
      const ab = new ArrayBuffer(20)
      const m = memoryview(new Uint8Array(ab, 4, 12)).cast('h', [2, 3]).subarray(null, null, -1).toreadonly()
      const d = exportOf(m)
      expect(d.buffer).to.equal(ab)
      expect(d.byteOffset).to.equal(4 + 6)
      expect(d.format).to.equal('h')
      expect([...d.shape]).to.deep.equal([2, 3])
      expect([...d.strides]).to.deep.equal([-6, 2])
      expect(d.readonly).to.equal(true)
      expect(typeof d.release).to.equal('function')
      d.release!()
    })

    it('m[BUFFER_PROTOCOL]() blocks release() until the descriptor is released (idempotently)', () => {
      const m = memoryview(range(4))
      const d = exportOf(m)
      expect(expectError(() => m.release(), BufferError, EXPORTED).message).to.match(/memoryview has 1 exported buffer$/)
      const pin = m.pin()
      d.release!()
      d.release!()
      // The pin is still held: a second call of the descriptor's release() must not count twice.
      expectError(() => m.release(), BufferError, EXPORTED)
      pin.release()
      m.release()
      expect(m.released).to.equal(true)
    })

    it('a view made over a view through the protocol holds an export until it is released', () => {
      const b = range(4)
      const m = memoryview(b)
      const wrapper = { [BUFFER_PROTOCOL]: () => exportOf(m) }
      const w = memoryview(wrapper)
      expect(w.obj).to.equal(wrapper)
      expect(w.tolist()).to.deep.equal([0, 1, 2, 3])
      w.set(0, 50)
      expect(b[0]).to.equal(50)
      expectError(() => m.release(), BufferError, EXPORTED)
      const ws = w.subarray(1)
      w.release()
      // The slice of w still uses the export.
      expectError(() => m.release(), BufferError, EXPORTED)
      ws.release()
      m.release()
      expect(m.released).to.equal(true)
    })
  })

  it('BufferError is an exported Error subclass', () => {
    const e = new BufferError('memoryview: x')
    expect(e).to.be.instanceOf(Error)
    expect(e).to.be.instanceOf(BufferError)
    expect(e.name).to.equal('BufferError')
  })
})
