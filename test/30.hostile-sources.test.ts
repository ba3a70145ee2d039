/**
 * Hostile sources: own properties, swapped prototypes, Proxies, descriptor getters that change
 * their answer or detach the buffer, exporters whose release() throws, and views describing more
 * than can be built. None of them may move a view's memory, crash the process or give an uncoded
 * error.
 */
import { describe, it, before } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { constants as bufferConstants } from 'node:buffer'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'
import { BUFFER_PROTOCOL, NATIVE_API, bufferFlags, memoryview } from 'memoryview'
import type { NativeApi } from 'memoryview'
import { buildConsumer, root } from './helpers/consumer'
import { INVALID_SOURCE, OUT_OF_BOUNDS, expectError } from './helpers/errors'

const TOO_LARGE = 'ERR_MEMORYVIEW_TOO_LARGE'
const OUT_OF_RANGE = 'ERR_MEMORYVIEW_OUT_OF_RANGE'
const api = (globalThis as unknown as Record<symbol, NativeApi>)[NATIVE_API]
const entry = join(__dirname, '..', 'lib', 'index.js')
const fixtures = join(root, 'test', 'fixtures')

/** An exporter of `descriptor()` (called anew on every memoryview()). */
const exporter = (descriptor: () => object): object => ({ [BUFFER_PROTOCOL]: descriptor })
/** A view of `shape` over 8 bytes, every stride 0: any size with next to no memory. */
// V8's FixedArray::kMaxLength on 64-bit: the longest JS array (lib/memoryview.ts, MAX_LIST_LENGTH).
const MAX_LIST_LENGTH = 134_217_725

const zeroStrided = (shape: number[], format = 'B'): ReturnType<typeof memoryview> =>
  memoryview(exporter(() => ({ buffer: new ArrayBuffer(8), byteOffset: 0, format, shape, strides: shape.map(() => 0) })) as never)

describe('30 hostile sources', () => {
  describe('own properties and prototypes of built-ins never move a view\'s memory', () => {
    it('a Uint8Array with an own byteOffset: set(0) writes the array\'s first byte, not the buffer\'s', () => {
      const ab = new ArrayBuffer(64)
      const u = new Uint8Array(ab, 16, 8)
      Object.defineProperty(u, 'byteOffset', { value: 0 })
      memoryview(u).set(0, 1)
      const bytes = new Uint8Array(ab)
      expect(bytes[0]).to.equal(0)
      expect(bytes[16]).to.equal(1)
    })

    it('own buffer and byteLength on a TypedArray are ignored: the view covers exactly the array', () => {
      const ab = new ArrayBuffer(64)
      const u = new Int16Array(ab, 8, 4)
      Object.defineProperty(u, 'buffer', { value: new ArrayBuffer(1024) })
      Object.defineProperty(u, 'byteLength', { value: 1024 })
      const m = memoryview(u)
      expect(m.shape).to.deep.equal([4])
      expect(m.obj).to.equal(u)
      m.set(3, -1)
      expect(new Int16Array(ab)[7]).to.equal(-1)
      expectError(() => m.set(4, 1), RangeError, 'ERR_MEMORYVIEW_INDEX')
    })

    it('own buffer, byteOffset and byteLength on a DataView are ignored', () => {
      const ab = new ArrayBuffer(32)
      const dv = new DataView(ab, 4, 4)
      for (const key of ['buffer', 'byteOffset', 'byteLength']) Object.defineProperty(dv, key, { value: key === 'buffer' ? new ArrayBuffer(99) : 0 })
      const m = memoryview(dv)
      expect(m.nbytes).to.equal(4)
      m.set(0, 9)
      expect(new Uint8Array(ab)[4]).to.equal(9)
      expect(new Uint8Array(ab)[0]).to.equal(0)
    })

    it('an ArrayBuffer with an own byteLength of 0 is viewed whole; tobytes() and toTypedArray() work', () => {
      const ab = new Uint8Array([1, 2, 3, 4]).buffer
      Object.defineProperty(ab, 'byteLength', { value: 0 })
      const m = memoryview(ab)
      expect(m.nbytes).to.equal(4)
      expect([...m.tobytes()]).to.deep.equal([1, 2, 3, 4])
      const t = m.toTypedArray()
      expect(Buffer.isBuffer(t)).to.equal(true)
      expect([...(t as Buffer)]).to.deep.equal([1, 2, 3, 4])
      expect(m.hex()).to.equal('01020304')
    })

    it('a TypedArray whose prototype was swapped is viewed as what it really is', () => {
      const u = new Float64Array([1.5, 2.5])
      Object.setPrototypeOf(u, DataView.prototype)
      const m = memoryview(u)
      expect(m.format).to.equal('d')
      expect(m.tolist()).to.deep.equal([1.5, 2.5])
    })

    it('Proxies of built-ins and objects that only inherit from them are not sources', () => {
      const fakes = [
        new Proxy(new ArrayBuffer(8), {}),
        new Proxy(new Uint8Array(8), {}),
        Object.create(ArrayBuffer.prototype),
        Object.create(SharedArrayBuffer.prototype),
        Object.create(Uint8Array.prototype),
      ]
      for (const fake of fakes) expectError(() => memoryview(fake), TypeError, INVALID_SOURCE)
    })

    it('hex() takes the separator\'s real length, not an own length property', () => {
      const m = memoryview(new Uint8Array([1, 2]))
      const empty = new Uint8Array(0)
      Object.defineProperty(empty, 'length', { value: 1 })
      expectError(() => m.hex(empty), TypeError, 'ERR_MEMORYVIEW_INVALID_ARG')
      expectError(() => m.hex(Object.create(Uint8Array.prototype)), TypeError, 'ERR_MEMORYVIEW_INVALID_ARG')
      expect(m.hex(Buffer.from('-'))).to.equal('01-02')
    })

    it('a \'c\' store takes the value\'s real length: an empty Uint8Array with an own length of 1 is refused', () => {
      const m = memoryview(Buffer.from('ab')).cast('c')
      const empty = new Uint8Array(0)
      Object.defineProperty(empty, 'length', { value: 1 })
      expectError(() => m.set(0, empty), RangeError, 'ERR_MEMORYVIEW_INVALID_VALUE')
      expectError(() => m.set(0, Object.create(Uint8Array.prototype)), TypeError, 'ERR_MEMORYVIEW_INVALID_TYPE')
      expect([...m.tobytes()]).to.deep.equal([0x61, 0x62])
      m.set(0, Buffer.from('z'))
      expect(m.tobytes().toString()).to.equal('zb')
    })
  })

  describe('resizable memory stays resizable, whatever own properties say', () => {
    const resizable = (): ArrayBuffer => new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(16, { maxByteLength: 64 })

    it('native acquire refuses the disguised buffer and a Uint8Array over it with an own buffer; views still see a shrink', () => {
      const ab = resizable()
      Object.defineProperty(ab, 'resizable', { value: false })
      const u = new Uint8Array(resizable())
      Object.defineProperty(u, 'buffer', { value: new ArrayBuffer(16) })
      const held = api.held()
      expectError(() => api.acquire(ab, bufferFlags.WRITABLE), TypeError, INVALID_SOURCE)
      expectError(() => api.acquire(u, bufferFlags.WRITABLE), TypeError, INVALID_SOURCE)
      expect(api.held()).to.equal(held)
      const m = memoryview(ab)
      ;(ab as unknown as { resize(n: number): void }).resize(0)
      expectError(() => m.get(15), Error, OUT_OF_BOUNDS)
      expectError(() => m.set(0, 1), Error, OUT_OF_BOUNDS)
    })

    describe('acquired from a native addon, shrunk, then written (a segfault before): exits cleanly', function () {
      this.timeout(120_000)
      let consumer = ''
      before(() => {
        consumer = buildConsumer(true).consumer
      })
      for (const mode of ['ab', 'ta']) {
        it(mode === 'ab' ? 'the ArrayBuffer itself' : 'a Uint8Array over it with an own buffer', () => {
          const r = spawnSync(process.execPath, [join(fixtures, 'hostile-native-resize.js'), entry, consumer, mode], { encoding: 'utf8', timeout: 60_000 })
          expect(r.signal, r.stderr).to.equal(null)
          expect(r.status, r.stderr).to.equal(0)
          expect(r.stdout.trim()).to.equal(`refused ${INVALID_SOURCE}`)
        })
      }
    })
  })

  describe('buffer-protocol descriptors are read once, then validated', () => {
    /** A descriptor whose every field is a getter counting its reads; `values` gives the answer per read. */
    function counting(values: Record<string, (read: number) => unknown>): { d: object; reads: Record<string, number> } {
      const reads: Record<string, number> = {}
      const d = {}
      for (const [key, value] of Object.entries(values)) {
        reads[key] = 0
        Object.defineProperty(d, key, { enumerable: true, get: () => value(reads[key]++) })
      }
      return { d, reads }
    }

    it('each field is read exactly once, and the first answers are the ones used', () => {
      const buffer = new ArrayBuffer(16)
      let released = 0
      const { d, reads } = counting({
        buffer: () => buffer,
        byteOffset: () => 0,
        format: (n) => (n === 0 ? 'B' : 'd'),
        itemsize: (n) => (n === 0 ? 1 : 8),
        shape: (n) => (n === 0 ? [2, 8] : [2 ** 20, 2 ** 20]),
        strides: (n) => (n === 0 ? [8, 1] : [2 ** 20, 1]),
        readonly: (n) => n !== 0,
        release: () => () => released++,
      })
      const m = memoryview(exporter(() => d) as never)
      expect(reads).to.deep.equal({ buffer: 1, byteOffset: 1, format: 1, itemsize: 1, shape: 1, strides: 1, readonly: 1, release: 1 })
      expect([m.format, m.itemsize, m.readonly]).to.deep.equal(['B', 1, false])
      expect(m.shape).to.deep.equal([2, 8])
      expect(m.strides).to.deep.equal([8, 1])
      m.set(1, 7, 5)
      expect(new Uint8Array(buffer)[15]).to.equal(5)
      m.release()
      expect(released).to.equal(1)
    })

    it('shape is copied by reading its length and each element once: no methods, no species constructor', () => {
      const keys: string[] = []
      let length = 0
      let first = 0
      const shape = new Proxy([4], {
        get(target, key, receiver) {
          keys.push(String(key))
          if (key === 'length') return length++ === 0 ? 1 : 64
          if (key === '0') return first++ === 0 ? 4 : 2 ** 40
          return Reflect.get(target, key, receiver)
        },
      })
      const m = memoryview(exporter(() => ({ buffer: new ArrayBuffer(4), byteOffset: 0, shape, strides: [1] })) as never)
      expect(keys).to.deep.equal(['length', '0'])
      expect(m.shape).to.deep.equal([4])
    })

    it('more than 64 dimensions are refused without reading the elements', () => {
      let reads = 0
      const shape = new Proxy(new Array(65).fill(1), { get: (t, k, r) => (k === 'length' ? 65 : (reads++, Reflect.get(t, k, r))) })
      expectError(() => memoryview(exporter(() => ({ buffer: new ArrayBuffer(4), byteOffset: 0, shape })) as never), RangeError, OUT_OF_RANGE)
      expect(reads).to.equal(0)
    })

    it('a getter that detaches the buffer after it was read gives OUT_OF_BOUNDS and releases the descriptor', () => {
      let released = 0
      const src = exporter(() => {
        const buffer = new ArrayBuffer(16)
        return {
          buffer,
          byteOffset: 0,
          get strides() {
            structuredClone(buffer, { transfer: [buffer] })
            return [1]
          },
          shape: [16],
          release: () => released++,
        }
      })
      expectError(() => memoryview(src as never), Error, OUT_OF_BOUNDS)
      expect(released).to.equal(1)
    })
  })

  describe('an exporter whose release() throws when its views are garbage collected', () => {
    it('gives a process warning (ERR_MEMORYVIEW_RELEASE_FAILED), and the process lives on (--expose-gc)', () => {
      const r = spawnSync(process.execPath, ['--expose-gc', join(fixtures, 'gc-release-throws.js'), entry], { encoding: 'utf8', timeout: 60_000 })
      expect(r.signal, r.stderr).to.equal(null)
      expect(r.status, r.stderr).to.equal(0)
      const { calls, warnings } = JSON.parse(r.stdout) as { calls: number; warnings: { code: string; detail: string }[] }
      expect(calls).to.equal(10)
      expect(warnings).to.have.length(10)
      expect(warnings[0].detail).to.equal('release failed on purpose')
    })
  })

  describe('results too large to build are refused before allocating (CPython: MemoryError)', () => {
    it('tolist() of 2**32 and 2**31 rows: longer than any JS array (V8 would spend minutes, then fail)', () => {
      for (const rows of [2 ** 32, 2 ** 31, MAX_LIST_LENGTH + 1]) {
        const err = expectError(() => zeroStrided([rows]).tolist(), RangeError, TOO_LARGE)
        expect(err.message).to.contain(String(rows)).and.to.contain(String(MAX_LIST_LENGTH))
      }
    })

    it('tolist() that would need more JS heap than is left: bigints, nested and empty arrays count', () => {
      const { heap_size_limit: limit } = getHeapStatistics()
      // 2**14 x 2**14 bigints need more than 2**28 x 40 bytes: past any default heap limit.
      expect(2 ** 28 * 40).to.be.greaterThan(limit)
      const err = expectError(() => zeroStrided([2 ** 14, 2 ** 14], 'q').tolist(), RangeError, TOO_LARGE)
      expect(err.message).to.contain('--max-old-space-size')
      expectError(() => zeroStrided([2 ** 40, 0]).tolist(), RangeError, TOO_LARGE)
      expectError(() => zeroStrided([2 ** 20, 2 ** 20, 0]).tolist(), RangeError, TOO_LARGE)
      expect(zeroStrided([0, 2 ** 40]).tolist()).to.deep.equal([])
      expect(zeroStrided([2, 3]).tolist()).to.deep.equal([[0, 0, 0], [0, 0, 0]])
    })

    it('tolist() of results that fit is not refused: 2**22 doubles, 2**11 x 2**11 bytes', () => {
      expect((zeroStrided([2 ** 22], 'd').tolist() as number[]).length).to.equal(2 ** 22)
      expect((zeroStrided([2 ** 11, 2 ** 11]).tolist() as number[][])[2047].length).to.equal(2 ** 11)
    })

    // The limit depends on the Node version, and so does the smallest copy to refuse: 2**34 bytes is
    // past Node 20's 2**32 but within Node 22's 2**53 - 1 (there it would allocate 16 GiB).
    const beyondLimit = (): { shape: number[]; nbytes: number } => {
      const limits: Record<number, { shape: number[]; nbytes: number }> = {
        [2 ** 32]: { shape: [2 ** 17, 2 ** 17], nbytes: 2 ** 34 },
        [2 ** 53 - 1]: { shape: [2 ** 26, 2 ** 27], nbytes: 2 ** 53 },
      }
      const limit = limits[bufferConstants.MAX_LENGTH]
      expect(limit, `buffer.constants.MAX_LENGTH ${bufferConstants.MAX_LENGTH} on ${process.version}`).to.not.equal(undefined)
      return limit
    }

    it('buffer.constants.MAX_LENGTH is 2**32 on Node 20 and 2**53 - 1 on Node 22 and newer', () => {
      const major = Number(process.versions.node.split('.')[0])
      expect(bufferConstants.MAX_LENGTH).to.equal(major < 22 ? 2 ** 32 : 2 ** 53 - 1)
    })

    it('tobytes() beyond buffer.constants.MAX_LENGTH, in every order', () => {
      const { shape, nbytes } = beyondLimit()
      for (const order of ['C', 'F', 'A'] as const) {
        const err = expectError(() => zeroStrided(shape).tobytes(order), RangeError, TOO_LARGE)
        expect(err.message).to.contain(String(nbytes)).and.to.contain(String(bufferConstants.MAX_LENGTH))
      }
    })

    it('valueOf() (Buffer.from(view)) and hash() copy the same bytes as tobytes(): refused beyond MAX_LENGTH too', () => {
      const big = zeroStrided(beyondLimit().shape)
      expectError(() => big.valueOf(), RangeError, TOO_LARGE)
      expectError(() => big.toreadonly().hash(), RangeError, TOO_LARGE)
    })

    it('hex() beyond buffer.constants.MAX_STRING_LENGTH, separators included', () => {
      const err = expectError(() => zeroStrided([2 ** 28]).hex(), RangeError, TOO_LARGE)
      expect(err.message).to.contain(String(bufferConstants.MAX_STRING_LENGTH))
      // 3n - 1 characters with a separator after every byte: too long, though 2n would fit.
      const n = Math.floor((bufferConstants.MAX_STRING_LENGTH + 1) / 3) + 1
      expect(2 * n).to.be.below(bufferConstants.MAX_STRING_LENGTH)
      expectError(() => zeroStrided([n]).hex(':'), RangeError, TOO_LARGE)
      expectError(() => zeroStrided([n]).hex(':', -1), RangeError, TOO_LARGE)
    })
  })
})
