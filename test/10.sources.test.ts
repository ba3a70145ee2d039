import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView, BUFFER_PROTOCOL } from 'memoryview'
import { SOURCE_KINDS, makeExporter } from './helpers/sources'
import { pattern, decodeAll } from './helpers/formats'
import { expectError, INVALID_SOURCE, OUT_OF_BOUNDS, READONLY } from './helpers/errors'

function resizable(length: number, maxByteLength: number): ArrayBuffer & { resize(n: number): void } {
  return new (ArrayBuffer as any)(length, { maxByteLength })
}

describe('10 sources', () => {
  describe('every source kind gives a 1-D view of its memory', () => {
    for (const kind of SOURCE_KINDS) {
      it(`${kind.name} → format '${kind.format}', itemsize ${kind.itemsize}, obj`, () => {
        const bytes = pattern(kind.itemsize * 5)
        const made = kind.make(bytes)
        try {
          const m = memoryview(made.source)
          expect(m).to.be.instanceOf(MemoryView)
          expect(m.format).to.equal(kind.format)
          expect(m.itemsize).to.equal(kind.itemsize)
          expect(m.ndim).to.equal(1)
          expect(m.shape).to.deep.equal([5])
          expect(m.strides).to.deep.equal([kind.itemsize])
          expect(m.nbytes).to.equal(bytes.length)
          expect(m.readonly).to.equal(false)
          expect(m.obj).to.equal(made.obj)
          expect(m.tolist()).to.deep.equal(decodeAll(kind.format, bytes))
        } finally {
          made.dispose?.()
        }
      })
    }
  })

  describe('format per constructor (API.md table)', () => {
    const table: [string, () => any, string, number][] = [
      ['Buffer', () => Buffer.alloc(8), 'B', 1],
      ['Uint8Array', () => new Uint8Array(8), 'B', 1],
      ['Uint8ClampedArray', () => new Uint8ClampedArray(8), 'B', 1],
      ['DataView', () => new DataView(new ArrayBuffer(8)), 'B', 1],
      ['ArrayBuffer', () => new ArrayBuffer(8), 'B', 1],
      ['SharedArrayBuffer', () => new SharedArrayBuffer(8), 'B', 1],
      ['Int8Array', () => new Int8Array(8), 'b', 1],
      ['Int16Array', () => new Int16Array(4), 'h', 2],
      ['Uint16Array', () => new Uint16Array(4), 'H', 2],
      ['Int32Array', () => new Int32Array(2), 'i', 4],
      ['Uint32Array', () => new Uint32Array(2), 'I', 4],
      ['BigInt64Array', () => new BigInt64Array(1), 'q', 8],
      ['BigUint64Array', () => new BigUint64Array(1), 'Q', 8],
      ['Float32Array', () => new Float32Array(2), 'f', 4],
      ['Float64Array', () => new Float64Array(1), 'd', 8],
    ]
    if ('Float16Array' in globalThis) table.push(['Float16Array', () => new (globalThis as any).Float16Array(4), 'e', 2])
    for (const [name, make, format, itemsize] of table) {
      it(`${name} → '${format}'`, () => {
        const m = memoryview(make())
        expect(m.format).to.equal(format)
        expect(m.itemsize).to.equal(itemsize)
        expect(m.nbytes).to.equal(8)
      })
    }

    it('new MemoryView(x) is the same as memoryview(x)', () => {
      const b = Buffer.from([1, 2, 3])
      const a = new MemoryView(b)
      const c = memoryview(b)
      expect(a).to.be.instanceOf(MemoryView)
      expect(a.tolist()).to.deep.equal(c.tolist())
      expect(a.obj).to.equal(c.obj)
    })

    it('an empty source gives shape [0]', () => {
      // memoryview(b'').shape == (0,)
      const m = memoryview(new ArrayBuffer(0))
      expect(m.shape).to.deep.equal([0])
      expect(m.nbytes).to.equal(0)
      expect(m.tolist()).to.deep.equal([])
    })
  })

  describe('non-sources → TypeError ERR_MEMORYVIEW_INVALID_SOURCE', () => {
    // memoryview(1) → TypeError: memoryview: a bytes-like object is required, not 'int'
    const bad: [string, unknown][] = [
      ['undefined', undefined],
      ['null', null],
      ['a number', 1],
      ['a bigint', 1n],
      ['a boolean', true],
      ['a string', 'abc'],
      ['a symbol', Symbol('x')],
      ['a plain object', {}],
      ['an array of bytes', [1, 2, 3]],
      ['a function', () => 0],
      ['a Map', new Map()],
      ['an object whose protocol member is not a function', { [BUFFER_PROTOCOL]: 1 }],
      ['an object with a protocol-like string key', { 'memoryview.buffer': () => ({}) }],
    ]
    for (const [name, value] of bad) {
      it(name, () => {
        expectError(() => memoryview(value as any), TypeError, INVALID_SOURCE)
        expectError(() => new MemoryView(value as any), TypeError, INVALID_SOURCE)
      })
    }
    it('no argument at all', () => {
      expectError(() => (memoryview as any)(), TypeError, INVALID_SOURCE)
    })
  })

  describe('buffer-protocol objects', () => {
    it('the descriptor is read once; release() is called once, when the last view is released', () => {
      const memory = new Uint8Array(pattern(12))
      const { exporter, calls } = makeExporter(memory)
      const m = memoryview(exporter)
      expect(calls).to.deep.equal({ acquire: 1, release: 0 })
      // Derived views register with the same managed buffer; they do not acquire again.
      const s = m.subarray(2, 6)
      const c = m.cast('B', [3, 4])
      const v = memoryview(m)
      const r = m.toreadonly()
      expect(calls.acquire).to.equal(1)
      m.release()
      s.release()
      c.release()
      v.release()
      expect(calls.release).to.equal(0)
      r.release()
      expect(calls).to.deep.equal({ acquire: 1, release: 1 })
      r.release()
      m.release()
      expect(calls.release).to.equal(1)
    })

    it('temporary uses (assign source, equals other) acquire and release the exporter once each', () => {
      const memory = new Uint8Array([1, 2, 3])
      const { exporter, calls } = makeExporter(memory)
      const m = memoryview(new Uint8Array(3))
      m.assign(exporter)
      expect([...m.tobytes()]).to.deep.equal([1, 2, 3])
      expect(calls).to.deep.equal({ acquire: 1, release: 1 })
      expect(m.equals(exporter)).to.equal(true)
      expect(calls).to.deep.equal({ acquire: 2, release: 2 })
      expect(memoryview(new Uint8Array(2)).equals(exporter)).to.equal(false)
      expect(calls).to.deep.equal({ acquire: 3, release: 3 })
    })

    it('a view the package ends for itself (_drop(), as for temporaries) is counted off once, however often it is ended', () => {
      // _drop() leaves the view's fields as they are (no released marker: a store would make the field
      // mutable in every view), so the managed buffer itself must not count the same view twice.
      const { exporter, calls } = makeExporter(new Uint8Array(4))
      const m = memoryview(exporter)
      const w = memoryview(m) as unknown as { _drop(): void }
      w._drop()
      w._drop()
      expect(calls.release).to.equal(0)
      expect(m.get(0)).to.equal(0)
      m.release()
      expect(calls).to.deep.equal({ acquire: 1, release: 1 })
    })

    it('a view over an exporter reads and writes its memory (zero-copy)', () => {
      const memory = new Uint8Array([1, 2, 3, 4])
      const { exporter } = makeExporter(memory)
      const m = memoryview(exporter)
      expect(m.obj).to.equal(exporter)
      m.set(0, 9)
      expect(memory[0]).to.equal(9)
      memory[3] = 7
      expect(m.get(3)).to.equal(7)
    })

    it('format, shape and strides come from the descriptor (2-D, negative strides)', () => {
      // Rows reversed: element [0,0] is at byte 8, row stride -4, column stride 1.
      const memory = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      const { exporter } = makeExporter(memory, { format: 'B', shape: [3, 4], strides: [-4, 1], byteOffset: 8 })
      const m = memoryview(exporter)
      expect(m.ndim).to.equal(2)
      expect(m.shape).to.deep.equal([3, 4])
      expect(m.strides).to.deep.equal([-4, 1])
      expect(m.c_contiguous).to.equal(false)
      expect(m.tolist()).to.deep.equal([[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]])
      expect(m.get(0, 0)).to.equal(8)
      expect(m.get(2, 3)).to.equal(3)
    })

    it("format 'd' from a descriptor", () => {
      const f = new Float64Array([1.5, -2.25])
      const { exporter } = makeExporter(new Uint8Array(f.buffer), { format: 'd', shape: [2], strides: [8] })
      const m = memoryview(exporter)
      expect(m.format).to.equal('d')
      expect(m.itemsize).to.equal(8)
      expect(m.tolist()).to.deep.equal([1.5, -2.25])
    })

    it('readonly: true in the descriptor gives a readonly view', () => {
      const memory = new Uint8Array([1, 2])
      const { exporter } = makeExporter(memory, { readonly: true })
      const m = memoryview(exporter)
      expect(m.readonly).to.equal(true)
      expectError(() => m.set(0, 5), TypeError, READONLY)
      expect(memory[0]).to.equal(1)
    })

    it('a descriptor reaching outside its buffer is refused with a coded error, never read', () => {
      const memory = new Uint8Array(4)
      for (const desc of [
        { shape: [5], strides: [1] },
        { shape: [2], strides: [4] },
        { shape: [2], strides: [-1] },
        { byteOffset: 4, shape: [1], strides: [1] },
      ]) {
        const { exporter } = makeExporter(memory, desc)
        let err: any
        try {
          memoryview(exporter)
        } catch (e) {
          err = e
        }
        expect(err, JSON.stringify(desc)).to.be.instanceOf(Error)
        expect(String(err.code)).to.match(/^ERR_MEMORYVIEW_/)
      }
    })
  })

  describe('resizable ArrayBuffer', () => {
    it('the view keeps its shape when the buffer grows, and stays correct', () => {
      const rab = resizable(8, 32)
      new Uint8Array(rab).set([1, 2, 3, 4, 5, 6, 7, 8])
      const m = memoryview(rab)
      rab.resize(32)
      expect(m.shape).to.deep.equal([8])
      expect(m.tolist()).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8])
      m.set(7, 80)
      expect(new Uint8Array(rab)[7]).to.equal(80)
      expect(new Uint8Array(rab)[8]).to.equal(0)
    })

    it('shrunk below the view: every access throws ERR_MEMORYVIEW_OUT_OF_BOUNDS', () => {
      const rab = resizable(8, 16)
      new Uint8Array(rab).set([1, 2, 3, 4, 5, 6, 7, 8])
      const m = memoryview(rab)
      rab.resize(4)
      expectError(() => m.get(0), Error, OUT_OF_BOUNDS)
      expectError(() => m.get(7), Error, OUT_OF_BOUNDS)
      expectError(() => m.set(0, 1), Error, OUT_OF_BOUNDS)
      expectError(() => m.tobytes(), Error, OUT_OF_BOUNDS)
      expectError(() => m.tolist(), Error, OUT_OF_BOUNDS)
      expectError(() => m.hex(), Error, OUT_OF_BOUNDS)
      expectError(() => [...m], Error, OUT_OF_BOUNDS)
      expectError(() => m.toTypedArray(), Error, OUT_OF_BOUNDS)
      expectError(() => memoryview(new Uint8Array(8)).subarray().assign(m), Error, OUT_OF_BOUNDS)
      expectError(() => m.subarray().assign(new Uint8Array(8)), Error, OUT_OF_BOUNDS)
      // The bytes that are still there were not touched by the failed store.
      expect([...new Uint8Array(rab)]).to.deep.equal([1, 2, 3, 4])
    })

    it('a slice inside what is left keeps working after the shrink', () => {
      const rab = resizable(8, 16)
      new Uint8Array(rab).set([1, 2, 3, 4, 5, 6, 7, 8])
      const m = memoryview(rab)
      const head = m.subarray(0, 3)
      rab.resize(4)
      expect(head.tolist()).to.deep.equal([1, 2, 3])
      head.set(2, 30)
      expect(new Uint8Array(rab)[2]).to.equal(30)
      expectError(() => m.subarray(4, 8).get(0), Error, OUT_OF_BOUNDS)
    })

    it('grown back: the view works again and reads the (zero-filled) memory', () => {
      const rab = resizable(8, 16)
      new Uint8Array(rab).set([1, 2, 3, 4, 5, 6, 7, 8])
      const m = memoryview(rab)
      rab.resize(2)
      expectError(() => m.get(0), Error, OUT_OF_BOUNDS)
      rab.resize(8)
      expect(m.tolist()).to.deep.equal([1, 2, 0, 0, 0, 0, 0, 0])
      m.set(7, 9)
      expect(new Uint8Array(rab)[7]).to.equal(9)
    })

    it('length-tracking TypedArray: the view snapshots the current length', () => {
      const rab = resizable(8, 32)
      const ta = new Uint16Array(rab)
      ta.set([1, 2, 3, 4])
      const m = memoryview(ta)
      expect(m.format).to.equal('H')
      expect(m.shape).to.deep.equal([4])
      rab.resize(16)
      // A view's shape never changes (as CPython); a new view sees the new length.
      expect(m.shape).to.deep.equal([4])
      expect(m.tolist()).to.deep.equal([1, 2, 3, 4])
      expect(memoryview(ta).shape).to.deep.equal([8])
      rab.resize(4)
      expectError(() => m.get(3), Error, OUT_OF_BOUNDS)
      expectError(() => m.get(0), Error, OUT_OF_BOUNDS)
    })

    it('length-tracking TypedArray with an offset, shrunk below its offset', () => {
      const rab = resizable(16, 32)
      const ta = new Int32Array(rab, 8)
      ta.set([-1, -2])
      const m = memoryview(ta)
      expect(m.tolist()).to.deep.equal([-1, -2])
      rab.resize(4)
      expectError(() => m.tolist(), Error, OUT_OF_BOUNDS)
      rab.resize(16)
      expect(m.tolist()).to.deep.equal([0, 0])
    })

    it('a detached ArrayBuffer: access throws ERR_MEMORYVIEW_OUT_OF_BOUNDS', () => {
      const ab = new ArrayBuffer(8)
      const m = memoryview(ab)
      structuredClone(ab, { transfer: [ab] })
      expectError(() => m.get(0), Error, OUT_OF_BOUNDS)
      expectError(() => m.tobytes(), Error, OUT_OF_BOUNDS)
      expectError(() => m.set(0, 1), Error, OUT_OF_BOUNDS)
    })
  })
})
