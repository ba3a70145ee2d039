/**
 * Plain-JS conversions (defects issue): Buffer.from(view) is bytes(m); Array.from, spread and
 * TypedArray constructors are list(m) or fail with a code, never silently wrong bytes; string forms
 * stay the repr; toJSON() of views, mapped files and shared memory is small and never throws;
 * structuredClone/postMessage refuse with ERR_MEMORYVIEW_NOT_CLONEABLE.
 * Expected values were produced by python3 (3.11) on this machine, shown next to each.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as util from 'node:util'
import { MessageChannel, Worker } from 'node:worker_threads'
import { memoryview, mmap, MemoryView, SharedMemory } from 'memoryview'
import { expectError, INVALID_INDEX, NOT_IMPLEMENTED, RELEASED } from './helpers/errors'

const NOT_CLONEABLE = 'ERR_MEMORYVIEW_NOT_CLONEABLE'

// data = bytes([0x37,0x05,0xff,0x80,0x01,0x00,0x61,0x7f,0x00,0x00,0xf0,0x3f,0x02,0x00,0x00,0x80])
const DATA = [0x37, 0x05, 0xff, 0x80, 0x01, 0x00, 0x61, 0x7f, 0x00, 0x00, 0xf0, 0x3f, 0x02, 0x00, 0x00, 0x80]
const view = (): MemoryView => memoryview(Buffer.from(DATA))
const bytes = (...b: number[]): Buffer => Buffer.from(b)
/** A view where TypeScript's TypedArray constructors want an ArrayLike<number> (they take any iterable). */
const any = (m: MemoryView): any => m

/** list(memoryview(data).cast(fmt)) from python3. */
const LISTS: [format: string, list: unknown[]][] = [
  ['B', DATA],
  ['b', [55, 5, -1, -128, 1, 0, 97, 127, 0, 0, -16, 63, 2, 0, 0, -128]],
  ['h', [1335, -32513, 1, 32609, 0, 16368, 2, -32768]],
  ['d', [3.730569402506191e305, -4.7739724643e-314]],
  ['q', [9178617522016945463n, -9223372027192147968n]],
  ['?', DATA.map((b) => b !== 0)],
  ['c', DATA.map((b) => bytes(b))],
]

describe('32 plain-JS conversions, JSON form, cloning', () => {
  describe('Buffer.from(view) is bytes(m)', () => {
    it('bytes(memoryview(b)) — was a Buffer of zeros', () => {
      expect(Buffer.from(memoryview(bytes(1, 2, 3, 4)))).to.deep.equal(bytes(1, 2, 3, 4))
    })

    for (const fmt of ['B', 'b', 'h', 'H', 'i', 'I', 'd', 'q', 'Q', 'e', 'c', '?', '<h', '>h', '>d', '=q']) {
      it(`bytes(m.cast('${fmt}')) is the raw bytes`, () => {
        expect(Buffer.from(view().cast(fmt))).to.deep.equal(Buffer.from(DATA))
      })
    }

    it("bytes(m[::3]) of a strided view → 378061000280", () => {
      expect(Buffer.from(view().subarray(null, null, 3)).toString('hex')).to.equal('378061000280')
    })

    it("bytes(m.cast('h')[::-2]) of a reversed view → 0080f03f617fff80", () => {
      expect(Buffer.from(view().cast('h').subarray(null, null, -2)).toString('hex')).to.equal('0080f03f617fff80')
    })

    it("bytes(m.cast('B', [4, 4])) of a 2-D view: C order", () => {
      expect(Buffer.from(view().cast('B', [4, 4]))).to.deep.equal(Buffer.from(DATA))
    })

    it("bytes(m[:2].cast('h', [])) of a 0-d view → 3705", () => {
      expect(Buffer.from(view().subarray(0, 2).cast('h', [])).toString('hex')).to.equal('3705')
    })

    it('bytes of an empty view is empty', () => {
      expect(Buffer.from(memoryview(new Uint8Array(0))).length).to.equal(0)
    })

    it('is a copy: writing it changes neither the view nor a readonly source', () => {
      const src = Buffer.from(DATA)
      const ro = memoryview(src).toreadonly()
      const b = Buffer.from(ro)
      b[0] = 0
      expect(ro.get(0)).to.equal(0x37)
      expect(src[0]).to.equal(0x37)
      const v = ro.valueOf()
      v[0] = 0
      expect(src[0]).to.equal(0x37)
    })

    it('a released view throws ERR_MEMORYVIEW_RELEASED, never zeros', () => {
      const m = view()
      m.release()
      expectError(() => Buffer.from(m), Error, RELEASED)
    })
  })

  describe('string forms stay the repr and never copy', () => {
    it("'' + m, `${m}`, m == String(m), +m", () => {
      const m = view()
      const repr = String(m)
      expect(repr).to.match(/^<memory at 0x[0-9a-f]+>$/)
      expect('' + m).to.equal(repr)
      expect(`${m}`).to.equal(repr)
      expect(m == (repr as unknown)).to.equal(true) // eslint-disable-line eqeqeq
      expect(+m).to.be.NaN
    })

    it('no primitive conversion calls valueOf() (which copies the memory)', () => {
      const m = view()
      m.valueOf = () => {
        throw new Error('valueOf called')
      }
      expect('' + m).to.equal(m.toString())
      expect(+m).to.be.NaN
      expect(m == (m.toString() as unknown)).to.equal(true) // eslint-disable-line eqeqeq
    })

    it('a released view converts to its released repr', () => {
      const m = view()
      m.release()
      expect('' + m).to.match(/^<released memory at 0x[0-9a-f]+>$/)
    })
  })

  describe('Array.from(m), [...m], new TypedArray(m) are list(m)', () => {
    for (const [fmt, list] of LISTS) {
      it(`list(m.cast('${fmt}'))`, () => {
        const m = view().cast(fmt)
        expect(Array.from(m)).to.deep.equal(list)
        expect([...m]).to.deep.equal(list)
      })
    }

    it("new Uint8Array / Int8Array of 'B' 'b' '?' views: each element converted as from an array", () => {
      expect(Array.from(new Uint8Array(any(view())))).to.deep.equal(DATA)
      expect(Array.from(new Int8Array(any(view().cast('b'))))).to.deep.equal(LISTS[1][1])
      expect(Array.from(new Uint8Array(any(view().cast('?'))))).to.deep.equal(DATA.map((b) => (b !== 0 ? 1 : 0)))
    })

    it("new Uint8Array of an 'h' view wraps each element as JS does (list(m), not bytes(m))", () => {
      const m = memoryview(new Int16Array([-1, 300]))
      expect(Array.from(new Uint8Array(any(m)))).to.deep.equal([255, 44])
      expect(Array.from(new Int16Array(any(m)))).to.deep.equal([-1, 300])
    })

    it("new Float64Array of a 'd' view is its values", () => {
      expect(Array.from(new Float64Array(any(view().cast('d'))))).to.deep.equal(LISTS[3][1])
    })

    it("new Uint8Array of a 'c' view is its bytes — was 0 for every byte that is not a digit", () => {
      expect(Array.from(new Uint8Array(any(view().cast('c'))))).to.deep.equal(DATA)
      expect(Array.from(Uint8Array.from(any(view().cast('c'))))).to.deep.equal(DATA)
    })

    it("'c' elements stay 1-byte Buffers (get, tolist, iteration) that print and compare as before", () => {
      const m = view().cast('c')
      for (const e of [m.get(6), (m.tolist() as Buffer[])[6], [...m][6]]) {
        expect(Buffer.isBuffer(e)).to.equal(true)
        expect(e).to.deep.equal(Buffer.from('a'))
        expect((e as Buffer).equals(Buffer.from('a'))).to.equal(true)
        expect(util.inspect(e)).to.equal('<Buffer 61>')
        expect(String(e)).to.equal('a')
        expect(+(e as Buffer)).to.equal(0x61)
        expect(Buffer.isBuffer((e as Buffer).subarray(0))).to.equal(true)
      }
    })

    it("bigint formats fill BigInt64Array/BigUint64Array; other TypedArrays throw (no silent data)", () => {
      expect(Array.from(new BigInt64Array(any(view().cast('q'))))).to.deep.equal(LISTS[4][1])
      expect(Array.from(new BigUint64Array(any(view().cast('Q'))))).to.deep.equal([9178617522016945463n, 9223372046517403648n])
      expect(() => new Uint8Array(any(view().cast('q')))).to.throw(TypeError)
      expect(() => new Float64Array(any(view().cast('Q')))).to.throw(TypeError)
    })

    it("a strided view: list(m[::3]) → [55, 128, 97, 0, 2, 128]", () => {
      const m = view().subarray(null, null, 3)
      expect(Array.from(m)).to.deep.equal([55, 128, 97, 0, 2, 128])
      expect(Array.from(new Uint8Array(any(m)))).to.deep.equal([55, 128, 97, 0, 2, 128])
    })

    it('a view with a byte-order prefix: list(m) of big-endian data', () => {
      expect(Array.from(memoryview(bytes(1, 2, 0xff, 0xfe)).cast('>h'))).to.deep.equal([0x0102, -2])
    })

    it('a multi-dimensional view → ERR_MEMORYVIEW_NOT_IMPLEMENTED (CPython: NotImplementedError)', () => {
      const m = view().cast('B', [4, 4])
      expectError(() => Array.from(m), Error, NOT_IMPLEMENTED)
      expectError(() => [...m], Error, NOT_IMPLEMENTED)
      expectError(() => new Uint8Array(any(m)), Error, NOT_IMPLEMENTED)
    })

    it('a 0-d view → TypeError ERR_MEMORYVIEW_INVALID_INDEX (CPython: invalid indexing of 0-dim memory)', () => {
      const m = view().subarray(0, 2).cast('h', [])
      expectError(() => Array.from(m), TypeError, INVALID_INDEX)
      expectError(() => new Uint8Array(any(m)), TypeError, INVALID_INDEX)
    })

    it('a released view → ERR_MEMORYVIEW_RELEASED', () => {
      const m = view()
      m.release()
      expectError(() => Array.from(m), Error, RELEASED)
      expectError(() => new Uint8Array(any(m)), Error, RELEASED)
    })
  })

  describe('toJSON()', () => {
    it('a view: its layout, no data, no internal fields', () => {
      const m = view().cast('h', [2, 4])
      expect(m.toJSON()).to.deep.equal({
        type: 'memoryview', format: 'h', itemsize: 2, shape: [2, 4], strides: [8, 2], readonly: false, nbytes: 16,
      })
      expect(JSON.parse(JSON.stringify(m))).to.deep.equal(m.toJSON())
      expect(JSON.stringify({ m })).to.equal(`{"m":${JSON.stringify(m.toJSON())}}`)
    })

    it('a strided readonly view', () => {
      expect(view().toreadonly().subarray(1, null, 5).toJSON()).to.deep.equal({
        type: 'memoryview', format: 'B', itemsize: 1, shape: [3], strides: [5], readonly: true, nbytes: 3,
      })
    })

    it('a 4-byte slice of an 8 MiB Buffer stringifies short and fast (was 16.7M characters)', () => {
      const big = Buffer.alloc(8 << 20, 0x41)
      const m = memoryview(big).subarray(100, 104)
      const t0 = process.hrtime.bigint()
      const s = JSON.stringify(m)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      expect(s.length).to.be.below(300)
      expect(s).not.to.contain('_')
      expect(ms).to.be.below(100)
    })

    it('after release: { type, released: true }, and toJSON() does not throw', () => {
      const m = view()
      m.release()
      expect(JSON.stringify(m)).to.equal('{"type":"memoryview","released":true}')
    })
  })

  describe('mapped files and shared memory', () => {
    let dir: string
    let file: string
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv28-'))
      file = path.join(dir, 'data.bin')
      fs.writeFileSync(file, Buffer.from(DATA))
    })
    after(() => fs.rmSync(dir, { recursive: true, force: true }))

    it("MappedFile: toJSON() { type, source, access, size, closed }; String() is the inspect form", () => {
      const mf = mmap(file)
      try {
        expect(JSON.parse(JSON.stringify(mf))).to.deep.equal({ type: 'MappedFile', source: file, access: 'read', size: 16, closed: false })
        expect(String(mf)).to.equal(`MappedFile(${JSON.stringify(file)}, access='read', size=16)`)
        expect(String(mf)).to.equal(util.inspect(mf))
      } finally {
        mf.close()
      }
      expect(mf.toJSON()).to.deep.equal({ type: 'MappedFile', source: file, access: 'read', size: 16, closed: true })
      expect(`${mf}`).to.equal(`MappedFile(${JSON.stringify(file)}, access='read', closed)`)
    })

    it('MappedFile opened by fd: source is the fd', () => {
      const fd = fs.openSync(file, 'r')
      try {
        const mf = mmap(fd)
        expect(mf.toJSON().source).to.equal(fd)
        mf.close()
      } finally {
        fs.closeSync(fd)
      }
    })

    it('a readonly view over a mapped file: Buffer.from is bytes(m), a writable copy; list(m) too', () => {
      const mf = mmap(file)
      try {
        const b = Buffer.from(mf.buf)
        expect(b).to.deep.equal(Buffer.from(DATA))
        b[0] = 0
        expect(mf.buf.get(0)).to.equal(0x37)
        expect(Array.from(mf.buf)).to.deep.equal(DATA)
        expect(mf.buf.toJSON()).to.deep.equal({
          type: 'memoryview', format: 'B', itemsize: 1, shape: [16], strides: [1], readonly: true, nbytes: 16,
        })
      } finally {
        mf.close()
      }
    })

    it('a view over a closed mapping: toJSON() says released, Buffer.from throws RELEASED', () => {
      const mf = mmap(file)
      const v = memoryview(mf).subarray(2)
      mf.close()
      expect(v.toJSON()).to.deep.equal({ type: 'memoryview', released: true })
      expectError(() => Buffer.from(v), Error, RELEASED)
    })

    it("SharedMemory: toJSON() { type, name, size, closed }; String() is the inspect form", () => {
      const shm = new SharedMemory({ create: true, size: 64 })
      try {
        expect(JSON.parse(JSON.stringify(shm))).to.deep.equal({ type: 'SharedMemory', name: shm.name, size: 64, closed: false })
        expect(String(shm)).to.equal(`SharedMemory('${shm.name}', size=64)`)
        expect(String(shm)).to.equal(util.inspect(shm))
        expect(JSON.stringify(shm.buf).length).to.be.below(300)
      } finally {
        shm.close()
        shm.unlink()
      }
      expect(shm.toJSON().closed).to.equal(true)
      expect(String(shm)).to.equal(`SharedMemory('${shm.name}', size=64, closed)`)
    })

    it('structuredClone of a MappedFile or SharedMemory → ERR_MEMORYVIEW_NOT_CLONEABLE (the mapping is not copied)', () => {
      const mf = mmap(file)
      const shm = new SharedMemory({ create: true, size: 64 })
      try {
        expectError(() => structuredClone(mf), TypeError, NOT_CLONEABLE)
        expectError(() => structuredClone(shm), TypeError, NOT_CLONEABLE)
        expectError(() => structuredClone(mf.buf), TypeError, NOT_CLONEABLE)
      } finally {
        mf.close()
        shm.close()
        shm.unlink()
      }
    })
  })

  describe('structuredClone / postMessage refuse with ERR_MEMORYVIEW_NOT_CLONEABLE', () => {
    it('structuredClone(view) — was a DataCloneError naming an internal function', () => {
      const err = expectError(() => structuredClone(view()), TypeError, NOT_CLONEABLE)
      // The message is the point here: it says what to do instead.
      expect(err.message).to.match(/^memoryview: /)
      expect(err.message).to.contain('SharedArrayBuffer')
      expect(err.message).not.to.contain('=>')
    })

    it('structuredClone of a view nested in a message, of a released view, of a slice', () => {
      const m = view()
      expectError(() => structuredClone({ data: [1, m] }), TypeError, NOT_CLONEABLE)
      expectError(() => structuredClone(m.subarray(1, 3)), TypeError, NOT_CLONEABLE)
      m.release()
      expectError(() => structuredClone(m), TypeError, NOT_CLONEABLE)
    })

    it('structuredClone of a Pin (an export of this process) — was a silent {}', () => {
      const pin = view().pin()
      expectError(() => structuredClone(pin), TypeError, NOT_CLONEABLE)
      pin.release()
      expectError(() => structuredClone(pin), TypeError, NOT_CLONEABLE)
    })

    it('port.postMessage(view) on a MessageChannel', () => {
      const { port1, port2 } = new MessageChannel()
      try {
        expectError(() => port1.postMessage(view()), TypeError, NOT_CLONEABLE)
        expectError(() => port1.postMessage({ m: view() }), TypeError, NOT_CLONEABLE)
      } finally {
        port1.close()
        port2.close()
      }
    })

    it('worker.postMessage(view) to a real Worker; the SharedArrayBuffer is what to post instead', async () => {
      const worker = new Worker(
        "const { parentPort } = require('node:worker_threads');" +
          'parentPort.on("message", (sab) => parentPort.postMessage(new Uint8Array(sab)[1]))',
        { eval: true },
      )
      try {
        const sab = new SharedArrayBuffer(4)
        const m = memoryview(sab)
        m.set(1, 42)
        expectError(() => worker.postMessage(m), TypeError, NOT_CLONEABLE)
        // The listener is attached before the message is posted, so the reply cannot be missed.
        const reply = new Promise((resolve, reject) => {
          worker.once('message', resolve)
          worker.once('error', reject)
        })
        worker.postMessage(sab)
        expect(await reply).to.equal(42)
      } finally {
        await worker.terminate()
      }
    })

    it('the guard costs nothing visible: inspect, JSON and the repr do not show it', () => {
      const m = view()
      expect(util.inspect(m)).not.to.contain('memoryview:')
      expect(util.inspect({ m })).to.contain('<memory at 0x')
      expect(JSON.stringify(m)).not.to.contain('noclone')
    })
  })
})
