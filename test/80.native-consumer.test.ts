import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  BUFFER_PROTOCOL, BufferError, MemoryView, NATIVE_API, SharedMemory, bufferFlags, include, memoryview, mmap,
} from 'memoryview'
import type { NativeApi } from 'memoryview'
import { buildConsumer, consumerDir, root, type ConsumerBuild } from './helpers/consumer'
import {
  EXPORTED, INVALID_ARG, INVALID_SOURCE, NOT_CONTIGUOUS, OUT_OF_BOUNDS, READONLY, RELEASED, expectError,
} from './helpers/errors'

// An addon built during this run against include/memoryview.h: example.cc is the README's example,
// consumer.cc adds test helpers. The build (two small targets, -j 2) takes ~5 s here, idle; with
// both cores busy its wall time was 33 s (5.4 s of CPU), so the guard is generous.
const BUILD_TIMEOUT_MS = 360_000
const INVALID_DESCRIPTOR = 'ERR_MEMORYVIEW_INVALID_DESCRIPTOR'

interface Info {
  held: boolean
  byteLength: number
  readonly: boolean
  itemsize: number
  format: string | null
  ndim: number
  shape: number[]
  strides: number[]
  c: boolean
  f: boolean
  bytes: number[]
}
interface Example {
  sum(source: unknown): number
  fill(source: unknown, byte: number, delayMs: number): Promise<void>
  table(rows: number, cols: number): MemoryView
}
interface Consumer {
  info(source: unknown, flags?: number): Info
  hold(source: unknown, flags?: number): number
  write(slot: number, byteIndex: number, value: number): void
  drop(slot: number): void
  moves(source: unknown): Record<string, boolean>
  wrap(kind: string, n: number): MemoryView
  finalized(): { calls: number; bytes: number }
}

const api = (globalThis as unknown as Record<symbol, NativeApi>)[NATIVE_API]
const F = bufferFlags

function runChild(script: string, args: string[] = []): { status: number | null; signal: string | null; out: string } {
  const child = spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8', timeout: 30_000, cwd: root })
  return { status: child.status, signal: child.signal, out: `${child.stdout}\n${child.stderr}` }
}

/** Multiples of 1/4: every sum is exact, whatever the order of additions. */
function quarters(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 4 - 10)
}

function jsSum(m: MemoryView): number {
  return (m.tolist() as unknown[]).flat(64).reduce((a: number, b) => a + (b as number), 0)
}

describe('80 native consumer: include/memoryview.h from another addon', function () {
  this.timeout(20_000)
  let build: ConsumerBuild
  let example: Example
  let consumer: Consumer
  let tmp: string

  before(function () {
    this.timeout(BUILD_TIMEOUT_MS)
    build = buildConsumer()
    /* eslint-disable @typescript-eslint/no-require-imports */
    example = require(build.example) as Example
    consumer = require(build.consumer) as Consumer
    /* eslint-enable @typescript-eslint/no-require-imports */
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-consumer-'))
  })
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('builds with node-gyp against require("memoryview").include in well under 60 s (of CPU time)', () => {
    expect(include).to.equal(path.join(root, 'include'))
    expect(fs.existsSync(path.join(include, 'memoryview.h'))).to.equal(true)
    // CPU time, not wall time: the wall time depends on the machine's load, not on the build.
    expect(build.cpuMs).to.be.above(0)
    expect(build.cpuMs).to.be.below(60_000)
  })

  it('the README example is exactly test/fixtures/consumer/example.cc', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## For native-module authors'))
    const block = /```cpp\n([\s\S]*?)```/.exec(section)
    expect(block, 'a ```cpp block in the section').to.not.equal(null)
    expect(block![1]).to.equal(fs.readFileSync(path.join(consumerDir, 'example.cc'), 'utf8'))
  })

  describe('consume', () => {
    it('sums strided 2-D float64 views (non-contiguous, negative strides) as JS does', () => {
      const data = quarters(6 * 7)
      const m2 = memoryview(data).cast('B').cast('d', [6, 7])
      const exporter = {
        [BUFFER_PROTOCOL]: () => ({ buffer: data.buffer, byteOffset: 8 * (6 * 7 - 1), format: 'd', shape: [6, 7], strides: [-56, -8] }),
      }
      const cases: MemoryView[] = [
        m2,
        m2.subarray(null, null, -1),
        m2.subarray(1, null, 2),
        m2.subarray(null, null, -3),
        memoryview(exporter),
        memoryview({ [BUFFER_PROTOCOL]: () => ({ buffer: data.buffer, byteOffset: 8 * 6, format: 'd', shape: [7, 3], strides: [8, 56 * 2] }) }),
      ]
      let nonContiguous = 0
      for (const m of cases) {
        if (!m.contiguous) nonContiguous++
        expect(example.sum(m), String(m.strides)).to.equal(jsSum(m))
      }
      expect(nonContiguous).to.be.at.least(3)
      expect(cases.some((m) => m.strides.every((s) => s < 0))).to.equal(true)
      expect(example.sum(data)).to.equal(data.reduce((a, b) => a + b, 0))
      expect(example.sum(exporter)).to.equal(jsSum(cases[4]))
      expect(api.held()).to.equal(0)
      for (const m of cases) m.release()
    })

    it('describes every kind of source as memoryview() does (format, shape, strides, bytes)', () => {
      const file = path.join(tmp, 'info.bin')
      fs.writeFileSync(file, Buffer.from([5, 6, 7, 8, 9]))
      const mf = mmap(file)
      const shm = new SharedMemory({ create: true, size: 8 })
      try {
        new Uint8Array(shm.buf.toTypedArray().buffer).set([1, 2, 3])
        const sab = new SharedArrayBuffer(6)
        new Uint8Array(sab).set([1, 2, 3, 4, 5, 6])
        const f64 = quarters(6)
        const sources: unknown[] = [
          Buffer.from('hello'), new Int16Array([1, -2, 3]), new Uint32Array([7, 8]), new BigInt64Array([1n, -1n]),
          new Float32Array([0.5]), new DataView(new ArrayBuffer(4), 1, 2), new ArrayBuffer(3), sab, new Uint8Array(sab, 2),
          memoryview(f64).cast('B').cast('d', [2, 3]).subarray(null, null, -1), memoryview(f64).toreadonly(),
          memoryview(new Uint8Array([1, 2, 3, 4])).cast('i', []), mf, mf.buf, shm,
          { [BUFFER_PROTOCOL]: () => ({ buffer: f64.buffer, byteOffset: 40, format: '<d', shape: [3], strides: [-16] }) },
        ]
        for (const source of sources) {
          const info = consumer.info(source)
          const m = memoryview(source as never)
          const label = `${(source as object).constructor?.name} ${m.format} ${m.shape}`
          expect(info.held, label).to.equal(true)
          expect(info.format, label).to.equal(m.format)
          expect(info.itemsize, label).to.equal(m.itemsize)
          expect(info.ndim, label).to.equal(m.ndim)
          expect(info.shape, label).to.deep.equal(m.shape)
          expect(info.strides, label).to.deep.equal(m.strides)
          expect(info.readonly, label).to.equal(m.readonly)
          expect(info.byteLength, label).to.equal(m.nbytes)
          expect([info.c, info.f], label).to.deep.equal([m.c_contiguous, m.f_contiguous])
          expect(info.bytes, label).to.deep.equal([...m.tobytes()])
          m.release()
        }
        expect(api.held()).to.equal(0)
        mf.close()
      } finally {
        shm.close()
        shm.unlink()
      }
    })

    it('follows PEP 3118 without FORMAT (format null) and without ND (one dimension)', () => {
      const m = memoryview(new Int16Array([1, 2, 3, 4, 5, 6])).cast('B').cast('h', [2, 3])
      const plain = consumer.info(m, F.SIMPLE)
      expect(plain.format).to.equal(null)
      expect([plain.ndim, plain.shape, plain.strides, plain.itemsize]).to.deep.equal([1, [6], [2], 2])
      const nd = consumer.info(m, F.ND | F.FORMAT)
      expect([nd.format, nd.ndim, nd.shape, nd.strides]).to.deep.equal(['h', 2, [2, 3], [6, 2]])
      expect(consumer.info(m, F.ANY_CONTIGUOUS).shape).to.deep.equal([2, 3])
      expect(consumer.info(m.cast('B').cast('h'), F.F_CONTIGUOUS).shape).to.deep.equal([6])
      expect(consumer.info(new Uint8Array(2), F.WRITABLE | F.C_CONTIGUOUS).readonly).to.equal(false)
    })

    it('every unsatisfiable request raises its documented error and leaves no export behind', () => {
      const base = memoryview(quarters(12)).cast('B').cast('d', [3, 4])
      const strided = base.subarray(null, null, -1)
      const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(8, { maxByteLength: 16 })
      const released = memoryview(new Uint8Array(4))
      released.release()
      const file = path.join(tmp, 'closed.bin')
      fs.writeFileSync(file, 'abc')
      const closed = mmap(file)
      const closedBuf = closed.buf
      closed.close()
      const cases: Array<[string, unknown, number, ErrorConstructor | TypeErrorConstructor, string]> = [
        ['WRITABLE on a read-only view', base.toreadonly(), F.WRITABLE | F.STRIDES, TypeError, READONLY],
        ['WRITABLE on a read-only exporter', { [BUFFER_PROTOCOL]: () => ({ buffer: new ArrayBuffer(2), byteOffset: 0, readonly: true }) }, F.WRITABLE, TypeError, READONLY],
        ['C_CONTIGUOUS on a strided view', strided, F.C_CONTIGUOUS, TypeError, NOT_CONTIGUOUS],
        ['F_CONTIGUOUS on a C-only 2-D view', base, F.F_CONTIGUOUS, TypeError, NOT_CONTIGUOUS],
        ['ANY_CONTIGUOUS on a strided view', strided, F.ANY_CONTIGUOUS, TypeError, NOT_CONTIGUOUS],
        ['no STRIDES on a strided view', strided, F.ND | F.FORMAT, TypeError, NOT_CONTIGUOUS],
        ['SIMPLE on a strided view', strided, F.SIMPLE, TypeError, NOT_CONTIGUOUS],
        ['unknown flag bits', base, 0x200, TypeError, INVALID_ARG],
        ['negative flags', base, -1, TypeError, INVALID_ARG],
        ['a number', 42, F.SIMPLE, TypeError, INVALID_SOURCE],
        ['a string', 'bytes', F.SIMPLE, TypeError, INVALID_SOURCE],
        ['a plain object', {}, F.SIMPLE, TypeError, INVALID_SOURCE],
        ['null', null, F.SIMPLE, TypeError, INVALID_SOURCE],
        ['a resizable ArrayBuffer', resizable, F.SIMPLE, TypeError, INVALID_SOURCE],
        ['a released view', released, F.SIMPLE, Error, RELEASED],
        ['a closed mapped file', closed, F.SIMPLE, Error, RELEASED],
        ['the view of a closed mapped file', closedBuf, F.SIMPLE, Error, RELEASED],
      ]
      for (const [label, source, flags, cls, code] of cases) {
        const err = expectError(() => consumer.info(source, flags), cls, code)
        expect(err.message, label).to.match(/^memoryview: /)
        expect(api.held(), label).to.equal(0)
      }
      const transferred = new Uint8Array(8)
      structuredClone(transferred.buffer, { transfer: [transferred.buffer] })
      expectError(() => consumer.info(transferred), Error, OUT_OF_BOUNDS)
      // Nothing leaked an export: every view can still be released.
      strided.release()
      base.release()
    })
  })

  describe('the acquisition is an export', () => {
    it('a held Buffer blocks view.release(); dropping it lets release() succeed', () => {
      const m = memoryview(new Uint8Array(8))
      const slot = consumer.hold(m, F.WRITABLE)
      expectError(() => m.release(), BufferError, EXPORTED)
      consumer.write(slot, 3, 99)
      expect(m.get(3)).to.equal(99)
      consumer.drop(slot)
      consumer.drop(slot)
      m.release()
      expect(m.released).to.equal(true)
      expect(api.held()).to.equal(0)
    })

    it('holding a TypedArray taken from a mapped file, or the file itself, blocks close()', () => {
      const file = path.join(tmp, 'held.bin')
      fs.writeFileSync(file, Buffer.alloc(16))
      const mf = mmap(file, { access: 'write' })
      const ta = mf.buf.toTypedArray()
      for (const source of [ta, mf, mf.buf, memoryview(mf)]) {
        const slot = consumer.hold(source)
        expectError(() => mf.close(), BufferError, EXPORTED)
        expect(mf.closed).to.equal(false)
        consumer.drop(slot)
      }
      mf.close()
      expect(mf.closed).to.equal(true)
    })

    it('fills a writable view from an AsyncWorker: release() and close() throw until the worker is done', async () => {
      const file = path.join(tmp, 'fill.bin')
      fs.writeFileSync(file, Buffer.alloc(4096))
      const mf = mmap(file, { access: 'write' })
      const view = mf.buf.subarray(1024, 3072)
      const done = example.fill(view, 0xab, 150)
      // Checked at every turn until the promise settles, not after a fixed sleep (which a loaded
      // machine can stretch past the worker's end). The worker gives the export back on the JS
      // thread just before it resolves, so "not settled" means "still exported".
      let settled = false
      void done.then(() => { settled = true }, () => { settled = true })
      while (!settled) {
        expectError(() => view.release(), BufferError, EXPORTED)
        expectError(() => mf.close(), BufferError, EXPORTED)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await done
      view.release()
      mf.flush()
      mf.close()
      const bytes = fs.readFileSync(file)
      expect(bytes.subarray(1024, 3072).every((b) => b === 0xab)).to.equal(true)
      expect(bytes.subarray(0, 1024).every((b) => b === 0)).to.equal(true)
      expect(bytes.subarray(3072).every((b) => b === 0)).to.equal(true)
      expect(api.held()).to.equal(0)
    })

    it('fill() refuses read-only and strided views before any work starts', () => {
      const m = memoryview(new Uint8Array(8))
      expectError(() => example.fill(m.toreadonly(), 1, 0), TypeError, READONLY)
      expectError(() => example.fill(m.subarray(null, null, 2), 1, 0), TypeError, NOT_CONTIGUOUS)
      m.release()
    })

    it('moves the RAII object around without losing or doubling the export', () => {
      const m = memoryview(new Uint8Array(4))
      const seen = consumer.moves(m)
      expect(seen).to.deep.equal({
        movedFromEmpty: true, movedToHeld: true, assignedHeld: true, selfAssignHeld: true, reassignedHeld: true, releasedTwice: true,
      })
      m.release()
      expect(api.held()).to.equal(0)
    })

    it('crash-prone orders run cleanly in a child process', () => {
      const script = `
        const assert = require('node:assert')
        const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
        const { memoryview, mmap, SharedMemory } = require(${JSON.stringify(root)})
        const c = require(${JSON.stringify(build.consumer)})
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-c-'))
        process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
        const file = path.join(dir, 'f')
        fs.writeFileSync(file, Buffer.alloc(64, 1))
        const mf = mmap(file, { access: 'write' })
        const slot = c.hold(mf.buf, 1)
        assert.throws(() => mf.close(), { code: 'ERR_MEMORYVIEW_EXPORTED' })
        c.write(slot, 63, 2)
        c.drop(slot); c.drop(slot); c.drop(12345)
        mf.close()
        assert.throws(() => c.info(mf), { code: 'ERR_MEMORYVIEW_RELEASED' })
        assert.throws(() => c.hold(mf.buf), { code: 'ERR_MEMORYVIEW_RELEASED' })
        assert.equal(fs.readFileSync(file)[63], 2)
        const shm = new SharedMemory({ create: true, size: 16 })
        const s2 = c.hold(shm)
        assert.throws(() => shm.close(), { code: 'ERR_MEMORYVIEW_EXPORTED' })
        c.drop(s2); shm.close(); shm.unlink()
        for (let i = 0; i < 1000; i++) c.moves(memoryview(new Uint8Array(8)))
        // Exports still held at exit are dropped with the environment.
        c.hold(new Uint8Array(4)); c.hold(memoryview(new Float64Array(2)))
        console.log('clean')
      `
      const r = runChild(script)
      expect(r.status, r.out).to.equal(0)
      expect(r.signal).to.equal(null)
      expect(r.out).to.contain('clean')
    })

    it('without the package loaded, acquisition fails with ERR_MEMORYVIEW_NOT_LOADED', () => {
      const r = runChild(`
        const c = require(${JSON.stringify(build.consumer)})
        try { c.info(new Uint8Array(2)); console.log('no error') } catch (e) { console.log(e instanceof Error, e.code) }
      `)
      expect(r.status, r.out).to.equal(0)
      expect(r.out).to.contain('true ERR_MEMORYVIEW_NOT_LOADED')
    })
  })

  describe('produce', () => {
    it('wraps native memory without copying: table() and a negative-strided float64 descriptor', () => {
      const t = example.table(3, 4)
      expect(t.format).to.equal('d')
      expect(t.shape).to.deep.equal([3, 4])
      expect(t.tolist()).to.deep.equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
      expect(example.sum(t)).to.equal(66)
      t.set(1, 1, 50)
      expect(consumer.info(t).bytes.slice(40, 48)).to.deep.equal([...new Uint8Array(new Float64Array([50]).buffer)])
      const w = consumer.wrap('reversed2d', 64)
      expect(w.strides).to.deep.equal([-32, -8])
      const bytes = Buffer.from(Array.from({ length: 64 }, (_, i) => i))
      const expected = Array.from({ length: 8 }, (_, i) => bytes.readDoubleLE(8 * (7 - i)))
      expect(w.tolist()).to.deep.equal([expected.slice(0, 4), expected.slice(4)])
      const ro = consumer.wrap('readonly', 4)
      expect(ro.readonly).to.equal(true)
      expectError(() => ro.set(0, 1), TypeError, READONLY)
      expectError(() => consumer.info(ro, F.WRITABLE), TypeError, READONLY)
    })

    it('refuses invalid native descriptors before JS sees them (and never calls their finalizer)', () => {
      const before = consumer.finalized().calls
      for (const kind of ['outside', 'overflow', 'ndim65', 'itemsize0']) {
        expectError(() => consumer.wrap(kind, 16), RangeError, INVALID_DESCRIPTOR)
      }
      expectError(() => consumer.wrap('format', 16), TypeError, INVALID_DESCRIPTOR)
      expectError(() => consumer.wrap('nullshape2', 16), TypeError, INVALID_DESCRIPTOR)
      expect(consumer.finalized().calls).to.equal(before)
    })

    it('closing the owner (view.obj.close()) runs the finalizer now, once; refused while an export is held', () => {
      const script = `
        const assert = require('node:assert')
        const { memoryview, BufferError } = require(${JSON.stringify(root)})
        const c = require(${JSON.stringify(build.consumer)})
        const settle = async () => { for (let i = 0; i < 10; i++) { global.gc(); await new Promise((r) => setImmediate(r)) } }
        ;(async () => {
          const start = c.finalized().calls
          const view = c.wrap('bytes', 8)
          const owner = view.obj
          const slice = view.subarray(2)
          const ta = view.toTypedArray()
          const again = memoryview(owner)
          const pin = slice.pin()
          assert.throws(() => owner.close(), (e) => e instanceof BufferError && e.code === 'ERR_MEMORYVIEW_EXPORTED')
          assert.equal(c.finalized().calls, start, 'refused: nothing freed')
          assert.equal(view.get(0), 0)
          pin.release()
          const slot = c.hold(again)
          assert.throws(() => owner.close(), (e) => e instanceof BufferError && e.code === 'ERR_MEMORYVIEW_EXPORTED')
          c.drop(slot)
          owner.close()
          assert.equal(c.finalized().calls, start + 1, 'freed at close, not at GC')
          assert.equal(owner.closed, true)
          assert.equal(ta.length, 0)
          for (const v of [view, slice, again]) assert.throws(() => v.get(0), { code: 'ERR_MEMORYVIEW_RELEASED' })
          assert.throws(() => memoryview(owner), { code: 'ERR_MEMORYVIEW_RELEASED' })
          owner.close()
          await settle()
          assert.equal(c.finalized().calls, start + 1, 'exactly once, also after GC')
          console.log('closed ok')
        })().catch((e) => { console.error(e); process.exit(1) })
      `
      const r = runChild(script, ['--expose-gc'])
      expect(r.status, r.out).to.equal(0)
      expect(r.out).to.contain('closed ok')
    })

    it('runs the finalizer exactly once per allocation, after the last view and export are gone (--expose-gc)', () => {
      const script = `
        const assert = require('node:assert')
        const { memoryview } = require(${JSON.stringify(root)})
        const c = require(${JSON.stringify(build.consumer)})
        // 20 collections; with a goal, more (bounded) until it is met: finalizers run some turns
        // after the collection, more turns on a loaded machine.
        const settle = async (goal = () => true) => {
          for (let i = 0; i < 20 || (i < 500 && !goal()); i++) { global.gc(); await new Promise((r) => setImmediate(r)) }
        }
        const calls = (n) => () => c.finalized().calls >= n
        ;(async () => {
          let views = []
          for (let i = 1; i <= 50; i++) views.push(c.wrap('bytes', i))
          const derived = views[0].subarray(0, 1)
          let pinned = memoryview(views[1]).pin()
          let slot = c.hold(views[2].cast('B'))
          let expectedBytes = 0
          for (let i = 1; i <= 50; i++) expectedBytes += i
          views = null
          await settle(calls(47))
          const a = c.finalized()
          assert.equal(a.calls, 47, 'everything but the views with a derived view, a pin and a native export')
          pinned.release(); pinned = null
          c.drop(slot)
          await settle(calls(49))
          assert.equal(c.finalized().calls, 49)
          assert.equal(derived.get(0), 0)
          await settle()
          assert.equal(c.finalized().calls, 49, 'a derived view keeps the memory')
          derived.release()
          await settle(calls(50))
          const z = c.finalized()
          assert.equal(z.calls, 50)
          assert.equal(z.bytes, expectedBytes)
          await settle()
          assert.equal(c.finalized().calls, 50, 'exactly once')
          console.log('finalized', z.calls)
        })().catch((e) => { console.error(e); process.exit(1) })
      `
      const r = runChild(script, ['--expose-gc'])
      expect(r.status, r.out).to.equal(0)
      expect(r.out).to.contain('finalized 50')
    })
  })
})
