/**
 * Lazy mapping buffers (issue 9): mmap() and SharedMemory make the external ArrayBuffer over their
 * mapping only when a view first needs it. V8 counts an external ArrayBuffer as external memory and
 * starts a garbage collection for one of 64 MiB or more, so an owner opened and closed without
 * touching its bytes must make none. Which path an owner took is read from V8's own count,
 * `v8.getHeapStatistics().external_memory`, not from timings.
 * Also here: the lazy native calls of ABI 8 (mapFileId, openSharedMemoryId, mappingBuffer,
 * unmapId) refuse what would put two buffers over one mapping or unmap memory a buffer still
 * reaches; a bufferless owner dropped unclosed is unmapped by GC, and a worker's at its exit.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as v8 from 'node:v8'
import { Worker } from 'node:worker_threads'
import { mmap, SharedMemory } from 'memoryview'
import { requireBinding } from '../lib/binding'
import { expectError, INVALID_ARG, RELEASED } from './helpers/errors'
import { watchWorker } from './helpers/worker'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
const entry = require.resolve('memoryview')
const external = (): number => (v8.getHeapStatistics() as v8.HeapInfo & { external_memory: number }).external_memory
const liveMappings = (): number => requireBinding('test').liveMappings()

describe('79 lazy mapping buffers: no ArrayBuffer until a view needs one', () => {
  let dir: string
  let bigFile: string
  let smallFile: string
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-79-'))
    bigFile = path.join(dir, 'big.bin')
    const fd = fs.openSync(bigFile, 'w')
    fs.ftruncateSync(fd, SIZE) // sparse: opening it reads no data
    fs.closeSync(fd)
    smallFile = path.join(dir, 'small.bin')
    fs.writeFileSync(smallFile, Buffer.from([1, 2, 3, 4]))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('which path an owner takes', () => {
    it('SharedMemory 64 MiB (reserve: false) created, inspected and closed untouched adds no external memory', () => {
      const base = external()
      const shm = new SharedMemory({ create: true, size: SIZE, reserve: false })
      try {
        expect(shm.size).to.equal(SIZE)
        expect(shm.toJSON()).to.deep.equal({ type: 'SharedMemory', name: shm.name, size: SIZE, closed: false })
        expect(String(shm)).to.equal(`SharedMemory('${shm.name}', size=${SIZE})`)
        expect(external() - base).to.be.below(SIZE / 2)
      } finally {
        shm.close()
        shm.unlink()
      }
      expect(external() - base).to.be.below(SIZE / 2)
    })

    it('mmap() of a 64 MiB file opened and closed untouched adds no external memory', () => {
      const base = external()
      const m = mmap(bigFile)
      expect(m.size).to.equal(SIZE)
      expect(external() - base).to.be.below(SIZE / 2)
      m.close()
      expect(external() - base).to.be.below(SIZE / 2)
    })

    it('buf makes the buffer (counted once), close() detaches it (uncounted again)', () => {
      const base = external()
      const m = mmap(bigFile)
      const view = m.buf
      expect(external() - base).to.be.at.least(SIZE)
      expect(m.buf).to.equal(view) // the same view: one buffer per mapping
      expect(external() - base).to.be.below(2 * SIZE)
      m.close()
      expect(external() - base).to.be.below(SIZE / 2)
      expectError(() => view.get(0), Error, RELEASED)
    })

    it('buf after an untouched close() throws ERR_MEMORYVIEW_RELEASED (no buffer is made then)', () => {
      const base = external()
      const m = mmap(bigFile)
      m.close()
      expectError(() => m.buf, Error, RELEASED)
      expectError(() => m.lease(), Error, RELEASED)
      expect(external() - base).to.be.below(SIZE / 2)
    })

    it('the bytes are the file\'s whenever the buffer is made', () => {
      const file = path.join(dir, 'later.bin')
      fs.writeFileSync(file, Buffer.from([1, 2, 3, 4]))
      const m = mmap(file, { access: 'write' })
      try {
        fs.writeFileSync(file, Buffer.from([9, 8, 7, 6])) // after mapping, before any view
        expect([...m.buf]).to.deep.equal([9, 8, 7, 6])
      } finally {
        m.close()
      }
    })
  })

  describe('a runtime that refuses the buffer (simulated: Electron\'s memory cage cannot run here)', () => {
    it('the first buf throws the refusal, nothing stays mapped, and the owner then reads as closed (RELEASED, not TOO_LARGE)', () => {
      const binding = requireBinding('test')
      const real = binding.mappingBuffer
      const live = liveMappings()
      // What native mappingBuffer() does when napi_create_external_arraybuffer fails: unmaps, throws.
      binding.mappingBuffer = (id: number) => {
        binding.unmapId(id)
        throw Object.assign(new Error('memoryview: this runtime does not allow external ArrayBuffers'), { code: 'ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED' })
      }
      try {
        for (const open of [() => mmap(smallFile), () => new SharedMemory({ create: true, size: 4096 })]) {
          const owner = open()
          expect(liveMappings()).to.equal(live + 1)
          expectError(() => owner.buf, Error, 'ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED')
          expect([liveMappings(), owner.closed]).to.deep.equal([live, true])
          expectError(() => owner.buf, Error, RELEASED)
          expectError(() => owner.lease(), Error, RELEASED)
          owner.close()
          if (owner instanceof SharedMemory) owner.unlink()
        }
      } finally {
        binding.mappingBuffer = real
      }
    })
  })

  describe('the native calls (ABI 8)', () => {
    const binding = () => requireBinding('test')
    const open = (): number => {
      const out = new Float64Array(2)
      binding().mapFileId(smallFile, -1, 0, 0, 0, -1, 2 ** 32, out)
      expect(out[1]).to.equal(4)
      return out[0]
    }

    it('mappingBuffer() makes one buffer per mapping: a second call is TypeError ERR_MEMORYVIEW_INVALID_ARG', () => {
      const id = open()
      const buffer = binding().mappingBuffer(id, false)
      expect(new Uint8Array(buffer)).to.deep.equal(new Uint8Array([1, 2, 3, 4]))
      expectError(() => binding().mappingBuffer(id, false), TypeError, INVALID_ARG)
      expect(binding().unmap(buffer)).to.equal(true)
    })

    it('unmapId() of a mapping that has a buffer does nothing (false); unmap(buffer) detaches and unmaps', () => {
      const live = liveMappings()
      const id = open()
      const buffer = binding().mappingBuffer(id, false)
      expect(binding().unmapId(id)).to.equal(false)
      expect(liveMappings()).to.equal(live + 1)
      expect(new Uint8Array(buffer)[0]).to.equal(1) // still mapped and readable
      expect(binding().unmap(buffer)).to.equal(true)
      expect(buffer.byteLength).to.equal(0)
      expect(liveMappings()).to.equal(live)
    })

    it('unmapId() unmaps a bufferless mapping once; mappingBuffer() after it is Error ERR_MEMORYVIEW_RELEASED', () => {
      const live = liveMappings()
      const id = open()
      expect(liveMappings()).to.equal(live + 1)
      expect(binding().unmapId(id)).to.equal(true)
      expect(binding().unmapId(id)).to.equal(false)
      expect(liveMappings()).to.equal(live)
      expectError(() => binding().mappingBuffer(id, false), Error, RELEASED)
    })

    it('ids that are not of a mapping: TypeError ERR_MEMORYVIEW_INVALID_ARG for non-ids, false/RELEASED for unknown ones', () => {
      for (const bad of [0, -1, 1.5, NaN, '1', undefined]) {
        expectError(() => binding().unmapId(bad as never), TypeError, INVALID_ARG)
        expectError(() => binding().mappingBuffer(bad as never, false), TypeError, INVALID_ARG)
      }
      expect(binding().unmapId(2 ** 52)).to.equal(false)
      expectError(() => binding().mappingBuffer(2 ** 52, false), Error, RELEASED)
    })

    it('a bad out array is TypeError ERR_MEMORYVIEW_INVALID_ARG and maps nothing', () => {
      const live = liveMappings()
      for (const out of [undefined, new Float64Array(1), new Float32Array(2), [0, 0]]) {
        expectError(() => binding().mapFileId(smallFile, -1, 0, 0, 0, -1, 2 ** 32, out as never), TypeError, INVALID_ARG)
        expectError(() => binding().openSharedMemoryId('/mv79x', true, 8, 2 ** 32, false, out as never), TypeError, INVALID_ARG)
      }
      expect(liveMappings()).to.equal(live)
      expect(fs.existsSync('/dev/shm/mv79x')).to.equal(false)
    })

    it('another thread cannot reach a mapping by its id: unmapId is false, mappingBuffer RELEASED', async () => {
      const id = open()
      try {
        const code = `
          const { parentPort, workerData } = require('node:worker_threads')
          const path = require('node:path')
          const binding = require(path.join(path.dirname(workerData.entry), 'binding.js')).requireBinding('test')
          let buffer = 'none'
          try { binding.mappingBuffer(workerData.id, false); buffer = 'made' } catch (err) { buffer = err.code }
          parentPort.postMessage({ unmapped: binding.unmapId(workerData.id), buffer })
        `
        const worker = new Worker(code, { eval: true, workerData: { entry, id } })
        const watched = watchWorker(worker)
        expect(await watched.next()).to.deep.equal({ unmapped: false, buffer: RELEASED })
        expect(await watched.exited).to.equal(0)
      } finally {
        expect(binding().unmapId(id)).to.equal(true)
      }
    })
  })

  describe('owners never closed', () => {
    it('bufferless owners dropped without close() are unmapped by GC (mmap in every mode, shared memory)', () => {
      const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, '..', '..', 'test', 'fixtures', 'lazy-mapping-gc.js'), entry, path.join(dir, 'gc.bin')], {
        encoding: 'utf8',
        timeout: 60000,
      })
      expect(r.signal, `child killed by ${r.signal}; stderr: ${r.stderr}`).to.equal(null)
      expect(r.status, `child exit ${r.status}; stderr: ${r.stderr}`).to.equal(0)
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
      expect(out).to.deep.equal({ afterOpen: 3, mapsAfterOpen: 3, afterGc: 0, mapsAfterGc: 0, shmOpen: 1, shmAfterGc: 0, shmData: 42, final: 0 })
    })

    it('a worker that exits with bufferless owners open leaves no mapping behind', async () => {
      const live = liveMappings()
      const code = `
        const { parentPort, workerData } = require('node:worker_threads')
        const { mmap, SharedMemory } = require(workerData.entry)
        globalThis.kept = [mmap(workerData.file), mmap(workerData.file, { access: 'copy' }), new SharedMemory({ create: true, size: 4096 })]
        globalThis.kept[2].unlink()
        parentPort.postMessage('open')
      `
      const worker = new Worker(code, { eval: true, workerData: { entry, file: smallFile } })
      const watched = watchWorker(worker)
      expect(await watched.next()).to.equal('open')
      expect(await watched.exited).to.equal(0)
      expect(liveMappings()).to.equal(live)
    })

    it('a worker that exits with owners open whose buffer was made (one leased) leaves no mapping behind', async () => {
      const live = liveMappings()
      const code = `
        const { parentPort, workerData } = require('node:worker_threads')
        const { mmap, SharedMemory } = require(workerData.entry)
        const owners = [mmap(workerData.file), mmap(workerData.file, { access: 'copy' }), new SharedMemory({ create: true, size: 4096 })]
        owners[2].unlink()
        globalThis.kept = [owners, owners.map((o) => o.buf.toTypedArray()), owners[0].lease()]
        parentPort.postMessage(owners.map((o) => o.buf.get(0)))
      `
      const worker = new Worker(code, { eval: true, workerData: { entry, file: smallFile } })
      const watched = watchWorker(worker)
      expect(await watched.next()).to.deep.equal([1, 1, 0])
      expect(await watched.exited).to.equal(0)
      expect(liveMappings()).to.equal(live)
    })
  })
})
