/**
 * view.share() and attach(): handing a view to another thread or process as a plain descriptor, and
 * getting an equal view over the same bytes there — in this thread, in worker threads, in child
 * processes and in python3.
 *
 * Every segment a test creates has a name starting with `prefix` and is unlinked afterwards; files
 * live in a temporary directory removed at the end.
 */
import { after, afterEach, describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { MessageChannel, Worker } from 'node:worker_threads'
import {
  MappedFile, MemoryView, SharedMemory, SharedViewDescriptor, allocationGranularity, attach, memoryview, mmap,
} from 'memoryview'
import { expectError, FORMAT, INVALID_DESCRIPTOR, NOT_CLONEABLE, NOT_SHAREABLE, OUT_OF_RANGE, PAST_EOF, RELEASED } from './helpers/errors'
import { watchWorker } from './helpers/worker'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const prefix = `mvt100_${process.pid}_`
let counter = 0
const created = new Set<string>()
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mvt100-'))

function createShm(size: number): SharedMemory {
  const name = `${prefix}${counter++}_${randomBytes(3).toString('hex')}`
  created.add(name)
  return new SharedMemory({ name, create: true, size })
}

/** A file of `size` bytes 0, 1, 2, ... (mod 256). */
function tmpFile(size: number): string {
  const file = path.join(tmp, `f${counter++}.bin`)
  fs.writeFileSync(file, Buffer.from(Array.from({ length: size }, (_, i) => i & 255)))
  return file
}

/** Lines of this process's /proc/self/maps naming `what` (a segment name or a file path). */
function mappingsOf(what: string): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(what)).length
}

/** The layout both views must agree on. */
function layout(v: MemoryView<string>): object {
  return { format: v.format, shape: v.shape, strides: v.strides, readonly: v.readonly, list: v.tolist() }
}

afterEach(() => {
  for (const name of created) {
    try {
      fs.unlinkSync(path.join('/dev/shm', name))
    } catch {
      // Already unlinked by the test.
    }
  }
  created.clear()
})
after(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe('100 share() and attach()', () => {
  describe('share() describes the memory and the layout', () => {
    it("a view over SharedMemory → kind 'shm' with the segment's name, byteOffset from the segment's start", () => {
      using shm = createShm(4096)
      const v = shm.buf.subarray(0, 128).cast('i', [4, 8]).subarray(1, 3)
      const d = v.share()
      expect(d).to.deep.equal({ kind: 'shm', name: shm.name, byteOffset: 32, format: 'i', shape: [2, 8], strides: [32, 4], readonly: false })
    })

    it("a view over a file mapped 'write' → kind 'file', the absolute path, byteOffset from the file's start", () => {
      const g = allocationGranularity()
      const rel = path.relative(process.cwd(), tmpFile(3 * g))
      using mf = mmap(rel, { access: 'write', offset: g })
      const d = mf.buf.subarray(16, 32).toreadonly().share()
      expect(d).to.deep.equal({ kind: 'file', path: path.resolve(rel), byteOffset: g + 16, format: 'B', shape: [16], strides: [1], readonly: true })
    })

    it("a view over a SharedArrayBuffer → kind 'sab' carrying the buffer itself", () => {
      const sab = new SharedArrayBuffer(64)
      const d = memoryview(new Int16Array(sab, 8, 8)).subarray(null, null, -2).share()
      expect(d.kind).to.equal('sab')
      expect((d as { buffer: SharedArrayBuffer }).buffer).to.equal(sab)
      expect({ ...d, buffer: undefined }).to.deep.equal({
        kind: 'sab', buffer: undefined, byteOffset: 22, format: 'h', shape: [4], strides: [-4], readonly: false,
      })
    })

    it('is a plain object that JSON and structuredClone carry (a SharedArrayBuffer by reference)', () => {
      using shm = createShm(4096)
      const d = shm.buf.cast('<q').share()
      expect(Object.getPrototypeOf(d)).to.equal(Object.prototype)
      expect(JSON.parse(JSON.stringify(d))).to.deep.equal(d)
      expect(structuredClone(d)).to.deep.equal(d)
      const sab = new SharedArrayBuffer(8)
      const ds = memoryview(sab).share() as { buffer: SharedArrayBuffer }
      const cloned = structuredClone(ds)
      new Uint8Array(cloned.buffer)[0] = 7
      expect(new Uint8Array(sab)[0]).to.equal(7)
      expect(JSON.parse(JSON.stringify(ds)).buffer).to.deep.equal({})
    })

    it('maps and takes nothing: the sender can release and close as before', () => {
      const shm = createShm(4096)
      const v = shm.buf.cast('i')
      v.share()
      v.release()
      shm.close()
      expect(shm.closed).to.equal(true)
    })
  })

  describe('share() refuses memory other threads and processes cannot see', () => {
    it('heap ArrayBuffers, TypedArrays and Buffers (pooled too) → TypeError ERR_MEMORYVIEW_NOT_SHAREABLE', () => {
      for (const src of [new ArrayBuffer(8), new Int32Array(4), Buffer.alloc(16), Buffer.from('abc'), new DataView(new ArrayBuffer(4))]) {
        const err = expectError(() => memoryview(src).share(), TypeError, NOT_SHAREABLE)
        expect(err.message).to.match(/^memoryview: /)
        expect(err.message).to.contain('SharedArrayBuffer')
      }
    })

    it("files mapped 'read' or 'copy' (private mappings) and files mapped by descriptor → ERR_MEMORYVIEW_NOT_SHAREABLE", () => {
      const file = tmpFile(4096)
      for (const access of ['read', 'copy'] as const) {
        using mf = mmap(file, { access })
        const err = expectError(() => mf.buf.share(), TypeError, NOT_SHAREABLE)
        expect(err.message).to.contain("'write'")
      }
      const fd = fs.openSync(file, 'r+')
      try {
        using mf = mmap(fd, { access: 'write' })
        expectError(() => mf.buf.share(), TypeError, NOT_SHAREABLE)
      } finally {
        fs.closeSync(fd)
      }
    })

    it('a released view, or one whose mapping was closed → ERR_MEMORYVIEW_RELEASED', () => {
      const v = memoryview(new SharedArrayBuffer(4))
      v.release()
      expectError(() => v.share(), Error, RELEASED)
      const shm = createShm(4096)
      const w = shm.buf.cast('i')
      shm.close()
      expectError(() => w.share(), Error, RELEASED)
    })

    it('until shared, postMessage(view) fails with ERR_MEMORYVIEW_NOT_CLONEABLE naming share()', () => {
      const { port1, port2 } = new MessageChannel()
      try {
        const err = expectError(() => port1.postMessage(memoryview(new SharedArrayBuffer(8))), TypeError, NOT_CLONEABLE)
        expect(err.message).to.contain('share()')
        expect(err.message).to.contain('attach(')
      } finally {
        port1.close()
        port2.close()
      }
    })
  })

  describe('attach() gives an equal view over the same bytes, in its own mapping', () => {
    it("'shm': equal layout and values, writes visible both ways, a SharedMemory of its own as obj", () => {
      using shm = createShm(4096)
      const v = shm.buf.subarray(0, 256).cast('h', [8, 16]).subarray(2, 6)
      v.set(0, 3, -5)
      using w = attach(JSON.parse(JSON.stringify(v.share())))
      expect(layout(w)).to.deep.equal(layout(v))
      expect(w.obj).to.be.instanceOf(SharedMemory)
      expect(w.obj).not.to.equal(shm)
      w.set(1, 2, 1234)
      expect(v.get(1, 2)).to.equal(1234)
      v.set(3, 15, -7)
      expect(w.get(3, 15)).to.equal(-7)
    })

    it("'file': the same bytes of the file whatever offset either side mapped", () => {
      const g = allocationGranularity()
      const file = tmpFile(4 * g)
      using mf = mmap(file, { access: 'write', offset: 2 * g })
      const v = mf.buf.subarray(100, 164).cast('I')
      using w = attach(v.share())
      expect(w.obj).to.be.instanceOf(MappedFile)
      expect(layout(w)).to.deep.equal(layout(v))
      w.set(3, 0xdeadbeef)
      expect(v.get(3)).to.equal(0xdeadbeef)
      mf.flush()
      expect(fs.readFileSync(file).readUInt32LE(2 * g + 100 + 12)).to.equal(0xdeadbeef)
    })

    it("'sab': a view over the SharedArrayBuffer itself; negative strides and 0-d views too", () => {
      const sab = new SharedArrayBuffer(64)
      const v = memoryview(new Float64Array(sab)).subarray(6, 1, -2)
      v.set(0, 2.5)
      const w = attach(structuredClone(v.share()))
      expect(layout(w)).to.deep.equal(layout(v))
      // structuredClone gives another SharedArrayBuffer object over the same memory.
      expect(w.obj).to.be.instanceOf(SharedArrayBuffer)
      expect(attach(v.share()).obj).to.equal(sab)
      const z = memoryview(new Int32Array(sab, 4, 1)).cast('B').cast('i', [])
      const wz = attach(z.share())
      expect(wz.ndim).to.equal(0)
      wz.set(99)
      expect(z.get()).to.equal(99)
    })

    it('a readonly descriptor gives a readonly view; an empty view attaches too', () => {
      using shm = createShm(4096)
      using w = attach(shm.buf.toreadonly().share())
      expect(w.readonly).to.equal(true)
      expectError(() => w.set(0, 1), TypeError, 'ERR_MEMORYVIEW_READONLY')
      using e = attach(shm.buf.subarray(10, 10).share())
      expect(e.shape).to.deep.equal([0])
      expect(e.tolist()).to.deep.equal([])
    })

    it('releasing the attached view (and every view derived from it) unmaps; the sender keeps its memory', () => {
      using shm = createShm(4096)
      const before = mappingsOf(shm.name)
      const w = attach(shm.buf.share())
      const owner = w.obj as SharedMemory
      expect(mappingsOf(shm.name)).to.equal(before + 1)
      const sub = w.subarray(1, 3)
      w.release()
      expect(owner.closed).to.equal(false)
      sub.release()
      expect(owner.closed).to.equal(true)
      expect(mappingsOf(shm.name)).to.equal(before)
      shm.buf.set(0, 1)
      expect(shm.buf.get(0)).to.equal(1)
    })

    it('`using` unmaps at the end of the scope; obj.close() closes earlier and releases the view', () => {
      using shm = createShm(4096)
      let owner: SharedMemory
      {
        using w = attach(shm.buf.share())
        owner = w.obj as SharedMemory
      }
      expect(owner.closed).to.equal(true)
      const w2 = attach(shm.buf.share())
      ;(w2.obj as SharedMemory).close()
      expect(w2.released).to.equal(true)
      expectError(() => w2.get(0), Error, RELEASED)
    })

    it('an attached view dropped without release() is unmapped when collected (child process, --expose-gc)', () => {
      using shm = createShm(4096)
      const r = spawnSync(process.execPath, ['--expose-gc', path.join(fixtures, 'share-gc.js'), JSON.stringify(shm.buf.share())], {
        encoding: 'utf8', timeout: 30_000,
      })
      expect(r.stderr).to.equal('')
      expect(r.status).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.include({ before: true, after: false })
      expect(shm.buf.get(0)).to.equal(42)
    })

    it('releasing the last attached view while a pin is held on another view of that memory does not throw; the mapping stays until then', () => {
      using shm = createShm(4096)
      const w = attach(shm.buf.share())
      const owner = w.obj as SharedMemory
      const other = memoryview(w.toTypedArray())
      const pin = other.pin()
      expect(() => w.release()).not.to.throw()
      expect(owner.closed).to.equal(false)
      other.set(1, 7)
      expect(shm.buf.get(1)).to.equal(7)
      pin.release()
      owner.close()
      expectError(() => other.get(1), Error, RELEASED)
    })

    it('closing the sender does not affect the receiver', () => {
      const shm = createShm(4096)
      using w = attach(shm.buf.share())
      shm.buf.set(5, 42)
      shm.close()
      expect(w.get(5)).to.equal(42)
    })

    it('memoryview.attach is attach', () => {
      expect(memoryview.attach).to.equal(attach)
    })
  })

  describe('attach() validates the descriptor before mapping anything', () => {
    const good = (): SharedViewDescriptor => ({ kind: 'sab', buffer: new SharedArrayBuffer(16), byteOffset: 0, format: 'B', shape: [16], strides: [1], readonly: false })
    const bad = (patch: object): SharedViewDescriptor => ({ ...good(), ...patch }) as SharedViewDescriptor

    it('malformed descriptors → TypeError ERR_MEMORYVIEW_INVALID_DESCRIPTOR', () => {
      for (const d of [
        null, 42, 'shm', bad({ kind: 'heap' }), bad({ kind: 'shm' }), bad({ kind: 'shm', name: 'a/b' }), bad({ kind: 'shm', name: '' }),
        bad({ kind: 'file', path: 'relative.bin' }), bad({ kind: 'file', path: '/x\0y' }), bad({ buffer: new ArrayBuffer(16) }),
        bad({ buffer: {} }), bad({ byteOffset: 1.5 }), bad({ byteOffset: '0' }), bad({ format: 1 }), bad({ shape: 16 }),
        bad({ shape: [-1] }), bad({ shape: [1.5] }), bad({ strides: [1, 1] }), bad({ strides: ['1'] }), bad({ readonly: 0 }),
        bad({ readonly: undefined }), bad({ kind: { toString: () => { throw new Error('no') } } }), bad({ kind: Symbol('shm') }),
      ]) {
        expectError(() => attach(d as never), TypeError, INVALID_DESCRIPTOR)
      }
    })

    it('an unknown format → TypeError ERR_MEMORYVIEW_FORMAT', () => {
      expectError(() => attach(bad({ format: 'Z' })), TypeError, FORMAT)
      expectError(() => attach(bad({ format: '2i' })), TypeError, FORMAT)
    })

    it('a negative byteOffset or a view reaching below the start → RangeError ERR_MEMORYVIEW_OUT_OF_RANGE', () => {
      expectError(() => attach(bad({ byteOffset: -1 })), RangeError, OUT_OF_RANGE)
      expectError(() => attach(bad({ byteOffset: 2, shape: [4], strides: [-1] })), RangeError, OUT_OF_RANGE)
    })

    it('a view reaching past the end → RangeError ERR_MEMORYVIEW_PAST_EOF, and nothing is mapped', () => {
      expectError(() => attach(bad({ byteOffset: 1 })), RangeError, PAST_EOF)
      expectError(() => attach(bad({ format: 'i', shape: [5], strides: [4] })), RangeError, PAST_EOF)
      using shm = createShm(4096)
      const before = mappingsOf(shm.name)
      expectError(() => attach({ ...shm.buf.share(), byteOffset: 1 }), RangeError, PAST_EOF)
      expectError(() => attach({ ...shm.buf.cast('q').share(), shape: [513] }), RangeError, PAST_EOF)
      expect(mappingsOf(shm.name)).to.equal(before)
      const file = tmpFile(100)
      using mf = mmap(file, { access: 'write' })
      expectError(() => attach({ ...mf.buf.share(), byteOffset: 50, shape: [51] }), RangeError, PAST_EOF)
      expect(mappingsOf(file)).to.equal(1)
    })

    it('a segment or file that is gone → Error ENOENT (no mapping left behind)', () => {
      const shm = createShm(4096)
      const d = shm.buf.share()
      shm.unlink()
      shm.close()
      const err = expectError(() => attach(d), Error, 'ENOENT')
      expect(err.message).to.match(/^memoryview: /)
      expect(mappingsOf(shm.name)).to.equal(0)
      const file = tmpFile(64)
      const mf = mmap(file, { access: 'write' })
      const df = mf.buf.share()
      mf.close()
      fs.unlinkSync(file)
      expectError(() => attach(df), Error, 'ENOENT')
    })

    it('attach after unlink, in a child process: ENOENT, nothing mapped, clean exit', () => {
      const shm = createShm(4096)
      const d = shm.buf.share()
      shm.unlink()
      shm.close()
      const r = spawnSync(process.execPath, [path.join(fixtures, 'share-attach-unlinked.js'), JSON.stringify(d)], { encoding: 'utf8', timeout: 30_000 })
      expect(r.stderr).to.equal('')
      expect(r.status).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal({ cls: 'Error', code: 'ENOENT', ours: true, mapped: false })
    })
  })

  describe('across threads and processes', () => {
    it("a worker thread attaches 'shm' and 'sab' descriptors posted to it: same layout, writes visible both ways", async () => {
      using shm = createShm(4096)
      const sab = new SharedArrayBuffer(256)
      const views = [shm.buf.subarray(0, 512).cast('i', [16, 8]).subarray(2, 5), memoryview(new Int16Array(sab)).subarray(3, 40, 3)]
      views[0].set(1, 1, 11)
      views[1].set(2, -22)
      for (const v of views) {
        const poke = v.ndim === 2 ? [1, 1] : [2]
        const worker = new Worker(path.join(fixtures, 'share-peer.js'), { workerData: { descriptor: v.share(), poke } })
        const watched = watchWorker(worker)
        const before = v.tolist()
        const seen = await watched.next()
        expect(await watched.exited).to.equal(0)
        expect(seen).to.deep.include({ format: v.format, shape: v.shape, strides: v.strides, readonly: false, list: before })
        expect(v.get(...(poke as [number]))).to.equal(Number((before as number[][]).flat()[v.ndim === 2 ? 9 : 2]) + 1000)
      }
    })

    it("a child process attaches 'shm' and 'file' descriptors from JSON and closes its own mapping", () => {
      using shm = createShm(4096)
      const file = tmpFile(8192)
      using mf = mmap(file, { access: 'write', offset: 0 })
      for (const v of [shm.buf.cast('Q').subarray(1, 9), mf.buf.subarray(4096).cast('h', [32, 64]).toreadonly()]) {
        const poke = v.ndim === 2 ? [0, 0] : [0]
        const before = v.tolist()
        const r = spawnSync(process.execPath, [path.join(fixtures, 'share-peer.js'), JSON.stringify({ descriptor: v.share(), poke })], {
          encoding: 'utf8', timeout: 30_000,
        })
        expect(r.stderr).to.equal('')
        expect(r.status).to.equal(0)
        const seen = JSON.parse(r.stdout)
        expect(seen.format).to.equal(v.format)
        expect(seen.shape).to.deep.equal(v.shape)
        expect(seen.readonly).to.equal(v.readonly)
        expect(seen.ownerClosed).to.equal(true)
        if (v.format === 'Q') {
          expect(seen.list).to.deep.equal((before as bigint[]).map(Number))
          expect(v.get(0)).to.equal((before as bigint[])[0] + 1000n)
        } else {
          expect(seen.list).to.deep.equal(before)
          expect(v.get(0, 0)).to.equal((before as number[][])[0][0])
        }
      }
    })

    it("python3 opens a 'shm' descriptor with SharedMemory(name) and memoryview.cast(format, shape)", () => {
      using shm = createShm(4096)
      const v = shm.buf.subarray(64, 64 + 4 * 12).cast('i', [3, 4])
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) v.set(i, j, i * 10 - j)
      const before = v.tolist()
      const r = spawnSync('python3', [path.join(fixtures, 'share-py-peer.py'), JSON.stringify(v.share())], { encoding: 'utf8', timeout: 60_000 })
      expect(r.stderr).to.equal('')
      expect(r.status).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal({ list: before, format: 'i', shape: [3, 4], readonly: false })
      expect(v.get(0, 0)).to.equal(1000)
      expect(fs.existsSync(path.join('/dev/shm', shm.name))).to.equal(true)
    })
  })
})
