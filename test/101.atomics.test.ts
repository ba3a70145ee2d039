/**
 * Per-element atomics — load store add sub and or xor exchange compareExchange — on integer views
 * over SharedArrayBuffers, SharedMemory and files mapped 'write': values and return values as JS
 * Atomics, indices and value errors as get()/set(), refusals with codes, and atomicity across
 * processes.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { MemoryView, SharedMemory, memoryview, mmap } from 'memoryview'
import { expectError, INDEX, INVALID_ARG, INVALID_INDEX, INVALID_TYPE, INVALID_VALUE, NOT_ATOMIC, NOT_IMPLEMENTED, NOT_SHAREABLE, READONLY, RELEASED, UNALIGNED } from './helpers/errors'
import { shmPerTest } from './helpers/shm'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const createShm = shmPerTest('101')

/** Runs `count` processes of test/fixtures/atomics-child.js and resolves when all exited 0. */
function runChildren(count: number, mode: 'add' | 'lock', view: MemoryView<string>, iterations: number): Promise<void> {
  const descriptor = JSON.stringify(view.share())
  const exits = Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(fixtures, 'atomics-child.js'), mode, descriptor, String(iterations)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (b) => (stderr += b))
    child.on('error', reject)
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`child exited ${code} ${signal}: ${stderr}`))))
  }))
  return Promise.all(exits).then(() => undefined)
}

describe('101 atomics', () => {
  describe('each operation returns what JS Atomics returns', () => {
    const INT_FORMATS: Array<[string, number | bigint, number | bigint]> = [
      ['b', -128, 127], ['B', 0, 255], ['h', -32768, 32767], ['H', 0, 65535], ['i', -(2 ** 31), 2 ** 31 - 1],
      ['I', 0, 2 ** 32 - 1], ['q', -(2n ** 63n), 2n ** 63n - 1n], ['Q', 0n, 2n ** 64n - 1n],
    ]
    for (const [letter, min, max] of INT_FORMATS) {
      for (const prefix of ['', '@', '=', '<']) {
        const format = prefix + letter
        it(`'${format}': the previous value from add sub and or xor exchange compareExchange; wrap-around at the format's range`, () => {
          const big = letter === 'q' || letter === 'Q'
          const n = (x: number): number | bigint => (big ? BigInt(x) : x)
          const v = memoryview(new SharedArrayBuffer(32)).cast(format)
          expect(v.store(1, 6)).to.equal(n(6))
          expect(v.load(1)).to.equal(n(6))
          expect(v.add(1, 5)).to.equal(n(6))
          expect(v.sub(1, 1)).to.equal(n(11))
          expect(v.and(1, 12)).to.equal(n(10))
          expect(v.or(1, 3)).to.equal(n(8))
          expect(v.xor(1, 1)).to.equal(n(11))
          expect(v.exchange(1, 20)).to.equal(n(10))
          expect(v.compareExchange(1, 19, 30)).to.equal(n(20))
          expect(v.get(1)).to.equal(n(20))
          expect(v.compareExchange(1, 20, 30)).to.equal(n(20))
          expect(v.get(1)).to.equal(n(30))
          v.set(0, max as never)
          expect(v.add(0, 1)).to.equal(max)
          expect(v.get(0)).to.equal(min)
          expect(v.sub(0, 1)).to.equal(min)
          expect(v.get(0)).to.equal(max)
        })
      }
    }

    it('store() returns the value stored, as Atomics.store (exchange() returns the previous one)', () => {
      const v = memoryview(new Int32Array(new SharedArrayBuffer(8)))
      v.set(0, 5)
      expect(v.store(0, 9)).to.equal(9)
      expect(v.store(0, true)).to.equal(1)
      expect(v.exchange(0, 2)).to.equal(1)
    })

    it('64-bit formats take numbers, bigints and booleans and return bigints', () => {
      const v = memoryview(new BigUint64Array(new SharedArrayBuffer(16)))
      expect(v.add(0, 2 ** 40)).to.equal(0n)
      expect(v.add(0, 1n)).to.equal(2n ** 40n)
      expect(v.add(0, true)).to.equal(2n ** 40n + 1n)
      expect(v.load(0)).to.equal(2n ** 40n + 2n)
    })
  })

  describe('indices as get()/set()', () => {
    it('negative indices count from the end; bigint indices work', () => {
      const v = memoryview(new Int32Array(new SharedArrayBuffer(16)))
      v.add(-1, 7)
      expect(v.get(3)).to.equal(7)
      expect(v.load(-1)).to.equal(7)
      expect(v.add(3n, 1)).to.equal(7)
      expect(v.load(-4n)).to.equal(0)
    })

    it('out of bounds → RangeError ERR_MEMORYVIEW_INDEX; non-integral → TypeError ERR_MEMORYVIEW_INVALID_INDEX', () => {
      const v = memoryview(new Int32Array(new SharedArrayBuffer(16)))
      for (const i of [4, -5, 4n, 2 ** 40]) {
        expectError(() => v.add(i, 1), RangeError, INDEX)
        expectError(() => v.load(i), RangeError, INDEX)
      }
      for (const i of [1.5, NaN, '1', null]) {
        expectError(() => v.add(i as never, 1), TypeError, INVALID_INDEX)
        expectError(() => v.load(i as never), TypeError, INVALID_INDEX)
      }
      expect(v.tolist()).to.deep.equal([0, 0, 0, 0])
    })

    it('n-D views take one index per dimension; 0-d views none; strided views work', () => {
      const sab = new SharedArrayBuffer(48)
      const m = memoryview(sab).cast('i', [3, 4])
      expect(m.add(2, -1, 5)).to.equal(0)
      expect(m.get(2, 3)).to.equal(5)
      expect(m.compareExchange(2, 3, 5, 6)).to.equal(5)
      expect(m.load(2, 3)).to.equal(6)
      expectError(() => m.load(1), Error, NOT_IMPLEMENTED)
      expectError(() => m.add(1, 2, 3, 4), TypeError, INVALID_INDEX)
      const z = memoryview(sab).cast('i').subarray(0, 1).cast('B').cast('i', [])
      expect(z.add(3)).to.equal(0)
      expect(z.load()).to.equal(3)
      const strided = memoryview(sab).cast('i').subarray(1, null, 3)
      expect(strided.add(1, 10)).to.equal(0)
      expect(memoryview(sab).cast('i').get(4)).to.equal(10)
    })

    it('missing values → TypeError ERR_MEMORYVIEW_INVALID_ARG', () => {
      const v = memoryview(new Int32Array(new SharedArrayBuffer(16))) as MemoryView<string>
      expectError(() => (v.add as (...a: unknown[]) => unknown)(), TypeError, INVALID_ARG)
      expectError(() => (v.compareExchange as (...a: unknown[]) => unknown)(0), TypeError, INVALID_ARG)
    })
  })

  describe('values as set(): nothing is written when a value is refused', () => {
    it('out of range → RangeError ERR_MEMORYVIEW_INVALID_VALUE; wrong kind → TypeError ERR_MEMORYVIEW_INVALID_TYPE', () => {
      const v = memoryview(new Uint8Array(new SharedArrayBuffer(4)))
      v.set(0, 9)
      expectError(() => v.add(0, 256), RangeError, INVALID_VALUE)
      expectError(() => v.sub(0, -1), RangeError, INVALID_VALUE)
      expectError(() => v.store(0, 0.5), TypeError, INVALID_TYPE)
      expectError(() => v.exchange(0, '1' as never), TypeError, INVALID_TYPE)
      expectError(() => v.compareExchange(0, 9, 300), RangeError, INVALID_VALUE)
      expectError(() => v.compareExchange(0, -1, 1), RangeError, INVALID_VALUE)
      const q = memoryview(new BigInt64Array(new SharedArrayBuffer(8)))
      expectError(() => q.add(0, 2n ** 63n), RangeError, INVALID_VALUE)
      expect(v.get(0)).to.equal(9)
      expect(q.get(0)).to.equal(0n)
    })

    it('a readonly view refuses every write with TypeError ERR_MEMORYVIEW_READONLY but loads', () => {
      const sab = new SharedArrayBuffer(16)
      const w = memoryview(new Int32Array(sab))
      w.add(0, 1) // the writable view over the same memory is verified first: the fast path must not let the readonly one write
      const r = w.toreadonly()
      for (const op of ['store', 'add', 'sub', 'and', 'or', 'xor', 'exchange'] as const) expectError(() => r[op](0, 1), TypeError, READONLY)
      expectError(() => r.compareExchange(0, 1, 2), TypeError, READONLY)
      expect(r.load(0)).to.equal(1)
    })

    it('a released view, or one over a closed mapping → ERR_MEMORYVIEW_RELEASED', () => {
      const v = memoryview(new Int32Array(new SharedArrayBuffer(16)))
      v.add(0, 1)
      v.release()
      expectError(() => v.add(0, 1), Error, RELEASED)
      expectError(() => v.load(0), Error, RELEASED)
      const shm = createShm(4096)
      const s = shm.buf.cast('i')
      s.add(0, 1)
      shm.close()
      expectError(() => s.add(0, 1), Error, RELEASED)
      expectError(() => s.load(0), Error, RELEASED)
    })
  })

  describe('refusals', () => {
    it('formats without atomics (floats, ?, c, non-native byte order) → TypeError ERR_MEMORYVIEW_NOT_ATOMIC', () => {
      const sab = new SharedArrayBuffer(16)
      for (const format of ['f', 'd', 'e', '?', 'c', '>i', '!h', '<f']) {
        const v = memoryview(sab).cast(format)
        expectError(() => (v as MemoryView<string>).add(0, 1), TypeError, NOT_ATOMIC)
        expectError(() => (v as MemoryView<string>).load(0), TypeError, NOT_ATOMIC)
      }
    })

    it('memory other processes cannot see (heap, mmap read/copy) → TypeError ERR_MEMORYVIEW_NOT_SHAREABLE', () => {
      for (const v of [memoryview(new Int32Array(4)), memoryview(Buffer.alloc(8)), memoryview(Buffer.from('abcd'))]) {
        expectError(() => (v as MemoryView<string>).add(0, 1), TypeError, NOT_SHAREABLE)
        expectError(() => (v as MemoryView<string>).load(0), TypeError, NOT_SHAREABLE)
      }
      const file = path.join(os.tmpdir(), `mvt101_${process.pid}.bin`)
      fs.writeFileSync(file, Buffer.alloc(64))
      try {
        for (const access of ['read', 'copy'] as const) {
          using mf = mmap(file, { access })
          expectError(() => mf.buf.cast('i').load(0), TypeError, NOT_SHAREABLE)
        }
      } finally {
        fs.rmSync(file)
      }
    })

    it('elements not aligned to their size → RangeError ERR_MEMORYVIEW_UNALIGNED', () => {
      const bytes = memoryview(new SharedArrayBuffer(32))
      const v = bytes.subarray(2, 18).cast('i')
      expectError(() => v.add(0, 1), RangeError, UNALIGNED)
      expectError(() => v.load(0), RangeError, UNALIGNED)
      const h = memoryview(new SharedArrayBuffer(32)).subarray(1, 17).cast('h')
      expectError(() => h.add(0, 1), RangeError, UNALIGNED)
      expect(bytes.tobytes().every((b) => b === 0)).to.equal(true)
    })
  })

  describe('over shared memory and files mapped write', () => {
    it("SharedMemory, a file mapped 'write' and an attached view see each other's atomics", () => {
      using shm = createShm(4096)
      const a = shm.buf.cast('q')
      using b = memoryview.attach(a.share())
      expect(a.add(3, 5n)).to.equal(0n)
      expect(b.add(3, 5n)).to.equal(5n)
      expect(a.load(3)).to.equal(10n)
      const file = path.join(os.tmpdir(), `mvt101w_${process.pid}.bin`)
      fs.writeFileSync(file, Buffer.alloc(64))
      try {
        using mf = mmap(file, { access: 'write' })
        const w = mf.buf.cast('I')
        expect(w.or(2, 0x80000000)).to.equal(0)
        mf.flush()
        expect(fs.readFileSync(file).readUInt32LE(8)).to.equal(0x80000000)
      } finally {
        fs.rmSync(file)
      }
    })

    it('4 processes × 1,000,000 add(0, 1) on one SharedMemory counter end at exactly 4,000,000', async function () {
      this.timeout(120_000)
      const shm = createShm(4096)
      const counter = shm.buf.subarray(0, 8).cast('i')
      await runChildren(4, 'add', counter, 1_000_000)
      expect(counter.get(0)).to.equal(4_000_000)
    })

    it('a compareExchange spin lock protects a non-atomic read-modify-write across 4 processes: no update lost', async function () {
      this.timeout(120_000)
      const shm = createShm(4096)
      const v = shm.buf.subarray(0, 8).cast('i')
      await runChildren(4, 'lock', v, 100_000)
      expect(v.tolist()).to.deep.equal([0, 400_000])
    })
  })
})
