/**
 * wait / waitAsync / notify on 'i'/'I' elements of shared memory, across threads and processes
 * (futex on the shared mapping): results as Atomics, cancellation by AbortSignal and by closing
 * the memory, waiters that do not hold thread-pool threads, and processes that end with waits
 * pending.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Worker } from 'node:worker_threads'
import { memoryview, mmap, SharedMemory } from 'memoryview'
import { expectError, ABORTED, FORMAT, INDEX, INVALID_ARG, INVALID_INDEX, INVALID_TYPE, INVALID_VALUE, NOT_SHAREABLE, OUT_OF_RANGE, RELEASED, UNALIGNED } from './helpers/errors'
import { shmPerTest } from './helpers/shm'
import { watchWorker } from './helpers/worker'
import { requireBinding } from '../lib/binding'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')

const createShm = shmPerTest('102')

const native = requireBinding('tests')

function sabView(n = 4) {
  return memoryview(new Int32Array(new SharedArrayBuffer(4 * n)))
}

/** Resolves once `fn()` is true, checking on each turn of the event loop. */
async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((resolve) => setImmediate(resolve))
}

function runFixture(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A bound on the child: a peer stuck in a wait would otherwise outlive the test and keep mocha running.
    const child = spawn(process.execPath, [path.join(fixtures, 'wait-peer.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 50_000, killSignal: 'SIGKILL' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

describe('102 wait / notify', () => {
  describe('results, as Atomics.wait', () => {
    it("wait() returns 'not-equal' when the element differs and 'timed-out' after the timeout", () => {
      const v = sabView()
      v.set(0, 5)
      expect(v.wait(0, 4)).to.equal('not-equal')
      expect(v.wait(0, 5, 0)).to.equal('timed-out')
      expect(v.wait(-4, 5, 5)).to.equal('timed-out')
    })

    it("'I' elements compare as unsigned 32-bit values", () => {
      const v = memoryview(new Uint32Array(new SharedArrayBuffer(8)))
      v.set(1, 0xffffffff)
      expect(v.wait(1, 0xffffffff, 1)).to.equal('timed-out')
      expect(v.wait(1, 0, 1)).to.equal('not-equal')
    })

    it('notify() with nobody waiting returns 0', () => {
      expect(sabView().notify(0)).to.equal(0)
      expect(sabView().notify(0, 0)).to.equal(0)
    })

    it("waitAsync() resolves 'not-equal' at once, 'timed-out' after its timeout, and 'ok' on notify()", async () => {
      const v = sabView()
      v.set(0, 1)
      expect(await v.waitAsync(0, 0)).to.equal('not-equal')
      expect(await v.waitAsync(1, 0, { timeout: 0 })).to.equal('timed-out')
      expect(await v.waitAsync(1, 0, { timeout: 5 })).to.equal('timed-out')
      const p = v.waitAsync(2, 0)
      let woke = 0
      await until(() => (woke += v.notify(2)) > 0)
      expect(woke).to.equal(1)
      expect(await p).to.equal('ok')
    })

    it('notify(index, count) wakes at most count waiters and reports how many woke', async () => {
      const v = sabView()
      const results: string[] = []
      const ps = [0, 1, 2].map(() => v.waitAsync(3, 0).then((r) => results.push(r)))
      // Wake one, then the rest (notify() without a count wakes every waiter).
      let first = 0
      await until(() => (first = v.notify(3, 1)) === 1)
      let rest = 0
      await until(() => (rest += v.notify(3)) === 2)
      await Promise.all(ps)
      expect([first, rest]).to.deep.equal([1, 2])
      expect(results).to.deep.equal(['ok', 'ok', 'ok'])
    })
  })

  describe('which views and arguments', () => {
    it('refuses formats other than i/I (TypeError FORMAT)', () => {
      expectError(() => (memoryview(new Float32Array(new SharedArrayBuffer(8))) as any).wait(0, 0, 0), TypeError, FORMAT)
      expectError(() => (memoryview(new SharedArrayBuffer(8)) as any).notify(0), TypeError, FORMAT)
      expectError(() => (memoryview(new SharedArrayBuffer(8)).cast('>i') as any).notify(0), TypeError, FORMAT)
    })

    it('refuses memory no other thread can share (TypeError NOT_SHAREABLE), as Atomics.wait does', () => {
      expectError(() => memoryview(new Int32Array(4)).wait(0, 0, 0), TypeError, NOT_SHAREABLE)
      expectError(() => memoryview(Buffer.alloc(8)).cast('i').notify(0), TypeError, NOT_SHAREABLE)
      const file = path.join(os.tmpdir(), `mvt102_${process.pid}.bin`)
      fs.writeFileSync(file, Buffer.alloc(4096))
      try {
        const ro = mmap(file)
        expectError(() => ro.buf.cast('i').notify(0), TypeError, NOT_SHAREABLE)
        ro.close()
        const rw = mmap(file, { access: 'write' })
        expect(rw.buf.cast('i').notify(0)).to.equal(0)
        expect(rw.buf.cast('i').wait(0, 0, 1)).to.equal('timed-out')
        // The same memory reached through a TypedArray over the mapping: shareable, as for share() and atomics.
        expect(memoryview(rw.buf.cast('i').toTypedArray() as Int32Array).wait(1, 0, 1)).to.equal('timed-out')
        rw.close()
      } finally {
        fs.unlinkSync(file)
      }
    })

    it('checks the index: integral, in range (negative from the end), 1-D, aligned', () => {
      const v = sabView()
      expectError(() => v.wait(4, 0, 0), RangeError, INDEX)
      expectError(() => v.notify(-5), RangeError, INDEX)
      expectError(() => v.wait(0.5, 0, 0), TypeError, INVALID_INDEX)
      expectError(() => (v as any).notify('0'), TypeError, INVALID_INDEX)
      expectError(() => v.cast('B').cast('i', [2, 2]).notify(0), TypeError, INVALID_INDEX)
      const odd = memoryview(new SharedArrayBuffer(16)).subarray(2, 10).cast('i')
      expectError(() => odd.notify(0), RangeError, UNALIGNED)
      expect(v.wait(3n, 0, 0)).to.equal('timed-out')
    })

    it('accepts shared memory however the view was made (owner, cast, or a TypedArray over it)', () => {
      const shm = createShm()
      expect(shm.buf.cast('i').notify(0)).to.equal(0)
      expect(memoryview(shm).cast('I').wait(1, 0, 0)).to.equal('timed-out')
      const ta = shm.buf.cast('i').toTypedArray() as Int32Array
      expect(memoryview(ta).wait(2, 0, 0)).to.equal('timed-out')
    })

    it('checks expected, timeout and count like a store, with Atomics order (index before value)', () => {
      const v = sabView()
      expectError(() => v.wait(0, 2 ** 31, 0), RangeError, INVALID_VALUE)
      expectError(() => v.wait(0, 0.5, 0), TypeError, INVALID_TYPE)
      expectError(() => v.wait(9, 0.5, 0), RangeError, INDEX)
      expectError(() => v.wait(0, 0, -1), RangeError, OUT_OF_RANGE)
      expectError(() => v.wait(0, 0, NaN), RangeError, OUT_OF_RANGE)
      expectError(() => (v as any).wait(0, 0, '1'), TypeError, INVALID_ARG)
      expectError(() => v.waitAsync(0, 0, { timeout: -1 }), RangeError, OUT_OF_RANGE)
      expectError(() => (v as any).waitAsync(0, 0, { signal: {} }), TypeError, INVALID_ARG)
      expectError(() => v.notify(0, -1), RangeError, OUT_OF_RANGE)
      expectError(() => v.notify(0, 1.5), TypeError, INVALID_ARG)
      expect(v.notify(0, Infinity)).to.equal(0)
    })

    it('refuses a released view (RELEASED)', () => {
      const v = sabView()
      v.release()
      expectError(() => v.wait(0, 0, 0), Error, RELEASED)
      expectError(() => v.waitAsync(0, 0), Error, RELEASED)
      expectError(() => v.notify(0), Error, RELEASED)
    })
  })

  describe('cancelling', () => {
    it('an AbortSignal rejects waitAsync() with ABORTED (cause: the reason), already aborted or later', async () => {
      const v = sabView()
      const early = new AbortController()
      early.abort('before')
      const err1 = await v.waitAsync(0, 0, { signal: early.signal }).then(() => null, (e) => e)
      expect(err1.code).to.equal(ABORTED)
      expect(err1.cause).to.equal('before')
      const late = new AbortController()
      const p = v.waitAsync(0, 0, { signal: late.signal }).then(() => null, (e) => e)
      late.abort('later')
      const err2 = await p
      expect(err2).to.be.instanceOf(Error)
      expect(err2.code).to.equal(ABORTED)
      expect(err2.cause).to.equal('later')
      // The cancelled waiter is gone from the kernel: nobody is left to wake.
      expect(v.notify(0)).to.equal(0)
    })

    it('an aborted waitAsync() rejects only once its thread has left the kernel: a notify() right after wakes nobody (400 rounds)', async () => {
      // Before the fix the Promise rejected at once, and under load a notify() that followed still
      // found the cancelled thread asleep (about 1 round in 20 with both cores busy).
      const v = sabView()
      let counted = 0
      for (let i = 0; i < 400; i++) {
        const ac = new AbortController()
        const p = v.waitAsync(0, 0, { signal: ac.signal }).then(() => null, (e) => e)
        // Every other round gives the waiting thread a turn to reach the kernel first.
        if (i % 2 === 1) await new Promise((r) => setImmediate(r))
        ac.abort('stop')
        const err = await p
        expect(err.code).to.equal(ABORTED)
        counted += v.notify(0)
      }
      expect(counted).to.equal(0)
    })

    it('closing the shared memory rejects its pending waits with RELEASED', async () => {
      const shm = createShm()
      const v = shm.buf.cast('i')
      const p = v.waitAsync(5, 0).then(() => null, (e) => e)
      v.release()
      shm.close()
      const err = await p
      expect(err).to.be.instanceOf(Error)
      expect(err.code).to.equal(RELEASED)
    })

    it('beyond 1024 pending waits, waitAsync() throws RangeError TOO_MANY_WAITS synchronously', async () => {
      const v = sabView()
      const ac = new AbortController()
      setMaxListeners(2000, ac.signal) // one abort listener per wait
      const waits: Promise<unknown>[] = []
      let error: any = null
      // Waits an earlier test aborted settle on a later turn: start from none pending.
      await until(() => native.pendingWaits() === 0)
      for (let i = 0; i < 1100 && error === null; i++) {
        try {
          waits.push(v.waitAsync(0, 0, { signal: ac.signal }).catch((e) => e))
        } catch (e) {
          error = e
        }
      }
      ac.abort()
      await Promise.all(waits)
      expect(error).to.be.instanceOf(RangeError)
      expect(error.code).to.equal('ERR_MEMORYVIEW_TOO_MANY_WAITS')
      expect(waits.length).to.equal(1024)
      await until(() => native.pendingWaits() === 0)
    })

    it('64 pending waits hold no thread-pool thread: fs calls complete while they wait', async () => {
      const v = sabView(64)
      let settled = 0
      const ps = Array.from({ length: 64 }, (_, i) => v.waitAsync(i, 0).then((r) => (settled++, r)))
      // libuv's pool has 4 threads: with a wait on each, these reads would never run.
      const reads = await Promise.all(Array.from({ length: 8 }, () => fs.promises.readFile(__filename)))
      expect(reads.every((b) => b.length > 0)).to.equal(true)
      expect(settled).to.equal(0)
      for (let i = 0; i < 64; i++) await until(() => v.notify(i) === 1)
      expect(await Promise.all(ps)).to.deep.equal(Array(64).fill('ok'))
    })
  })

  describe('across threads and processes', () => {
    it('a worker thread and this thread wake each other on a SharedArrayBuffer', async () => {
      const sab = new SharedArrayBuffer(16)
      const v = memoryview(new Int32Array(sab))
      const worker = new Worker(
        `const { memoryview } = require('memoryview'); const { workerData, parentPort } = require('node:worker_threads')
         const v = memoryview(new Int32Array(workerData))
         const r = v.wait(0, 0, 60000)
         while (v.notify(1) === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
         parentPort.postMessage(r)`,
        { eval: true, workerData: sab },
      )
      const watched = watchWorker(worker)
      await until(() => v.notify(0) === 1)
      expect(await v.waitAsync(1, 0)).to.equal('ok')
      expect(await watched.next()).to.equal('ok')
      expect(await watched.exited).to.equal(0)
    })

    it('two processes wake each other through shared memory (futex without the private flag)', async () => {
      const shm = createShm()
      const v = shm.buf.cast('i')
      const child = runFixture(['sync-wait', shm.name])
      let ended = false
      void child.then(() => { ended = true })
      // notify() reports 1 only once the child sleeps in wait(0, 0): its result must be 'ok'.
      // A child that dies first ends the polling (and fails below) instead of spinning forever.
      await until(() => ended || v.notify(0) === 1)
      expect(await v.waitAsync(1, 0, { timeout: 30_000 })).to.equal('ok')
      const out = await child
      expect(out.code, out.stderr).to.equal(0)
      expect(JSON.parse(out.stdout)).to.deep.equal({ result: 'ok', woke: 1 })
      v.release()
    })

    for (const mode of ['exit-pending', 'throw-pending']) {
      it(`a process that ends with waits pending neither hangs nor crashes (${mode})`, async () => {
        const shm = createShm()
        const out = await runFixture([mode, shm.name])
        expect(out.signal).to.equal(null)
        expect(out.code).to.equal(mode === 'exit-pending' ? 0 : 1)
        if (mode === 'throw-pending') expect(out.stderr).to.contain('boom')
      })
    }

    it('terminating a worker with waits pending neither hangs nor crashes', async () => {
      const shm = createShm()
      const out = await runFixture(['worker-terminate', shm.name])
      expect(out.signal).to.equal(null)
      expect(out.code, out.stderr).to.equal(0)
      expect(out.stdout.trim()).to.equal('terminated')
    })
  })
})
