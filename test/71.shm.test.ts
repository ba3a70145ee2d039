/**
 * SharedMemory: Python's multiprocessing.shared_memory semantics and naming, and real sharing —
 * with CPython processes in both directions, with worker threads and with a second Node process.
 *
 * Every segment a test creates has a name starting with `prefix` (or is generated and recorded), is
 * unlinked in afterEach whatever happened, and the last test checks /dev/shm holds none of them.
 */
import { after, afterEach, describe, it } from 'mocha'
import { expect } from 'chai'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as util from 'node:util'
import { Worker } from 'node:worker_threads'
import { BufferError, memoryview, MemoryView, SharedMemory } from 'memoryview'
import { expectError, EXPORTED, RELEASED } from './helpers/errors'
import { watchWorker } from './helpers/worker'

const INVALID_ARG = 'ERR_MEMORYVIEW_INVALID_ARG'
const OUT_OF_RANGE = 'ERR_MEMORYVIEW_OUT_OF_RANGE'
const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const prefix = `mvt71_${process.pid}_`
let counter = 0
/** Names to unlink after the current test (generated names are added when seen). */
const created = new Set<string>()
/** Every name any test used, for the final check. */
const everCreated = new Set<string>()

/** A fresh explicit name, recorded for cleanup. */
function freshName(): string {
  const name = `${prefix}${counter++}_${randomBytes(3).toString('hex')}`
  created.add(name)
  everCreated.add(name)
  return name
}

/** Creates a segment and records its name for cleanup. */
function createShm(size: number, name?: string): SharedMemory {
  const shm = new SharedMemory(name === undefined ? { create: true, size } : { name, create: true, size })
  created.add(shm.name)
  everCreated.add(shm.name)
  return shm
}

function unlinkQuietly(name: string): void {
  try {
    fs.unlinkSync(path.join('/dev/shm', name))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

function segmentExists(name: string): boolean {
  return fs.existsSync(path.join('/dev/shm', name))
}

function randomHex(n: number): string {
  return randomBytes(n).toString('hex')
}

/** Runs python3 with a fixture; returns stdout lines once it exits. */
function python(args: string[], input?: string) {
  return spawnSync('python3', args, { encoding: 'utf8', timeout: 60_000, input })
}

describe('71 SharedMemory', () => {
  afterEach(() => {
    for (const name of created) unlinkQuietly(name)
    created.clear()
  })

  describe('71 SharedMemory: Python semantics', () => {
    it('generates names like Python (psm_ + 8 hex digits), reported without a slash; each one fresh', () => {
      const a = createShm(16)
      const b = createShm(16)
      try {
        expect(a.name).to.match(/^psm_[0-9a-f]{8}$/)
        expect(b.name).to.match(/^psm_[0-9a-f]{8}$/)
        expect(a.name).not.to.equal(b.name)
        expect(segmentExists(a.name)).to.equal(true)
        expect(a.size).to.equal(16)
      } finally {
        a.close()
        b.close()
        a.unlink()
        b.unlink()
      }
      expect(segmentExists(a.name)).to.equal(false)
    })

    it('uses an explicit name as given, and a second handle by that name shares the bytes', () => {
      const name = freshName()
      const a = createShm(64, name)
      const b = new SharedMemory({ name })
      try {
        expect(a.name).to.equal(name)
        expect(b.name).to.equal(name)
        expect(segmentExists(name)).to.equal(true)
        a.buf.set(5, 0xab)
        expect(b.buf.get(5)).to.equal(0xab)
        b.buf.subarray(10, 13).assign(Buffer.from([1, 2, 3]))
        expect([...a.buf.subarray(10, 13)]).to.deep.equal([1, 2, 3])
        expect(a.buf.get(0)).to.equal(0) // a new segment is zero-filled
      } finally {
        a.close()
        b.close()
      }
    })

    it('creating an existing name fails with EEXIST; opening a missing one with ENOENT', () => {
      const name = freshName()
      const a = createShm(8, name)
      try {
        const exists = expectError(() => new SharedMemory({ name, create: true, size: 8 }), Error, 'EEXIST') as any
        expect(exists.errno).to.be.a('number').below(0)
        expect(exists.syscall).to.be.a('string')
        a.buf.set(0, 42) // the failed create did not disturb the existing segment
        expect(new SharedMemory({ name }).buf.get(0)).to.equal(42)
      } finally {
        a.close()
      }
      expectError(() => new SharedMemory({ name: freshName() }), Error, 'ENOENT')
      expectError(() => new SharedMemory({ name: freshName(), create: false, size: 8 }), Error, 'ENOENT')
    })

    it('size rules: negative → RangeError, 0 when creating → RangeError, non-integer → TypeError', () => {
      expectError(() => new SharedMemory({ create: true, size: -1 }), RangeError, OUT_OF_RANGE)
      expectError(() => new SharedMemory({ name: freshName(), size: -1 }), RangeError, OUT_OF_RANGE)
      expectError(() => new SharedMemory({ create: true, size: 0 }), RangeError, OUT_OF_RANGE)
      expectError(() => new SharedMemory({ create: true }), RangeError, OUT_OF_RANGE)
      expectError(() => new SharedMemory({ create: true, size: 1.5 }), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory({ create: true, size: NaN }), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory({ create: true, size: '8' as any }), TypeError, INVALID_ARG)
      // Nothing was created by the refused calls.
      expect(fs.readdirSync('/dev/shm').filter((n) => n.startsWith(prefix))).to.deep.equal([])
    })

    it('omitting the name without create is a TypeError; bad option kinds too', () => {
      expectError(() => new SharedMemory(), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory({}), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory({ create: false, size: 8 }), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory(null as any), TypeError, INVALID_ARG)
      expectError(() => new SharedMemory({ name: 5 as any, create: true, size: 8 }), TypeError, INVALID_ARG)
    })

    it("names the OS refuses fail as Python's OSError does (EINVAL)", () => {
      expectError(() => new SharedMemory({ name: '', create: true, size: 8 }), Error, 'EINVAL')
      expectError(() => new SharedMemory({ name: `${prefix}a/b`, create: true, size: 8 }), Error, 'EINVAL')
    })

    it("opening uses the segment's own size, whatever size is passed", () => {
      const name = freshName()
      const a = createShm(3000, name)
      const small = new SharedMemory({ name, size: 1 })
      const large = new SharedMemory({ name, size: 1 << 20 })
      try {
        expect(small.size).to.equal(3000)
        expect(small.buf.shape).to.deep.equal([3000])
        expect(large.size).to.equal(3000)
        expect(large.buf.nbytes).to.equal(3000)
      } finally {
        for (const s of [a, small, large]) s.close()
      }
    })

    it('an existing empty segment is refused (RangeError, as Python refuses to map an empty file)', () => {
      const name = freshName()
      fs.writeFileSync(path.join('/dev/shm', name), '')
      expect(() => new SharedMemory({ name })).to.throw(RangeError)
    })

    it('unlink removes the name: a second unlink and a later open give ENOENT; open mappings keep working', () => {
      const name = freshName()
      const a = createShm(32, name)
      const b = new SharedMemory({ name })
      try {
        a.unlink()
        expect(segmentExists(name)).to.equal(false)
        expectError(() => a.unlink(), Error, 'ENOENT')
        expectError(() => b.unlink(), Error, 'ENOENT')
        expectError(() => new SharedMemory({ name }), Error, 'ENOENT')
        // Both mappings still share the (now nameless) memory.
        a.buf.set(31, 7)
        expect(b.buf.get(31)).to.equal(7)
        b.buf.set(0, 9)
        expect(a.buf.get(0)).to.equal(9)
        expect(a.closed).to.equal(false)
        // The name can be reused for a new, different segment.
        const c = createShm(8, name)
        expect(c.size).to.equal(8)
        expect(c.buf.get(0)).to.equal(0)
        c.close()
      } finally {
        a.close()
        b.close()
      }
    })

    it('close() is idempotent, detaches every view and leaves the segment in place', () => {
      const name = freshName()
      const shm = createShm(16, name)
      const buf = shm.buf
      const slice = buf.subarray(2, 10)
      const cast = buf.cast('I')
      const ta = buf.toTypedArray() as Uint8Array
      const other = memoryview(ta)
      const dv = new DataView(ta.buffer)
      expect(shm.closed).to.equal(false)
      shm.close()
      shm.close()
      expect(shm.closed).to.equal(true)
      expect(ta.length).to.equal(0)
      expect(ta.buffer.byteLength).to.equal(0)
      expect(() => dv.getUint8(0)).to.throw(TypeError) // a DataView over a detached buffer
      for (const m of [buf, slice, cast, other]) {
        expect(m.released).to.equal(true)
        expectError(() => m.get(0), Error, RELEASED)
        expectError(() => m.tobytes(), Error, RELEASED)
      }
      expectError(() => shm.buf, Error, RELEASED)
      expectError(() => shm.lease(), Error, RELEASED)
      expectError(() => memoryview(shm), Error, RELEASED)
      expect(shm.size).to.equal(16)
      expect(shm.name).to.equal(name)
      expect(segmentExists(name)).to.equal(true)
      shm.unlink() // unlink still works after close, as in Python
      expect(segmentExists(name)).to.equal(false)
    })

    it('using (Symbol.dispose) closes but does not unlink', () => {
      const name = freshName()
      let escaped: SharedMemory
      {
        using shm = createShm(8, name)
        shm.buf.set(1, 99)
        escaped = shm
      }
      expect(escaped.closed).to.equal(true)
      expectError(() => escaped.buf, Error, RELEASED)
      expect(segmentExists(name)).to.equal(true)
      const again = new SharedMemory({ name })
      expect(again.buf.get(1)).to.equal(99)
      again[Symbol.dispose]()
      expect(again.closed).to.equal(true)
      expect(segmentExists(name)).to.equal(true)
    })

    it("buf is a writable 'B' view of shape [size]; memoryview(shm) shares it", () => {
      const shm = createShm(24)
      try {
        const buf = shm.buf
        expect(buf).to.be.instanceOf(MemoryView)
        expect(shm.buf).to.equal(buf)
        expect(buf.format).to.equal('B')
        expect(buf.itemsize).to.equal(1)
        expect(buf.shape).to.deep.equal([24])
        expect(buf.strides).to.deep.equal([1])
        expect(buf.readonly).to.equal(false)
        expect(buf.nbytes).to.equal(24)
        const m = memoryview(shm)
        expect(m.obj).to.equal(shm)
        expect(m.shape).to.deep.equal([24])
        m.set(3, 200)
        expect(buf.get(3)).to.equal(200)
        // A view of the owner blocks close while it holds a pin, and is released by close otherwise.
        m.release()
        const n = memoryview(shm)
        shm.close()
        expect(n.released).to.equal(true)
      } finally {
        shm.close()
      }
    })

    it('a lease (or a pin on any view) blocks close() with BufferError; nothing is unmapped', () => {
      const shm = createShm(16)
      const ta = shm.buf.toTypedArray() as Uint8Array
      ta[0] = 5
      const lease = shm.lease()
      const err = expectError(() => shm.close(), BufferError, EXPORTED)
      expect(err).to.be.instanceOf(Error)
      expect(shm.closed).to.equal(false)
      expect(ta.length).to.equal(16)
      expect(shm.buf.get(0)).to.equal(5)
      lease.release()
      const pin = shm.buf.subarray(4, 8).pin()
      expectError(() => shm.close(), BufferError, EXPORTED)
      expect(shm.closed).to.equal(false)
      pin[Symbol.dispose]()
      shm.close()
      expect(shm.closed).to.equal(true)
      expect(ta.length).to.equal(0)
      expect(lease.released).to.equal(true)
    })

    it('util.inspect shows the name and size, and the closed state', () => {
      const shm = createShm(10)
      const open = util.inspect(shm)
      expect(open).to.contain(shm.name)
      expect(open).to.contain('10')
      expect(open).not.to.contain('closed')
      shm.close()
      expect(util.inspect(shm)).to.contain(shm.name)
      expect(util.inspect(shm)).to.contain('closed')
    })
  })

  describe('71 SharedMemory ↔ CPython processes', () => {
    it('Python creates and writes; Node opens by name, reads, writes back; Python sees it', async () => {
      const size = 300
      const child = spawn('python3', [path.join(fixtures, 'shm-py-create.py'), String(size)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      // Python prints the generated name once the segment holds its bytes. Settled by the events
      // themselves (attached before any can fire), not by polling on a timer.
      let firstLine!: (line: string) => void
      let exitedEarly!: (err: Error) => void
      const named = new Promise<string>((resolve, reject) => { firstLine = resolve; exitedEarly = reject })
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        const nl = stdout.indexOf('\n')
        if (nl >= 0) firstLine(stdout.slice(0, nl))
      })
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
        child.on('close', (code, signal) => {
          exitedEarly(new Error(`python exited before printing a name: ${stderr}`)) // no-op once named
          resolve({ code, signal })
        })
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      let name = ''
      try {
        name = await named
        created.add(name)
        expect(name).to.match(/^psm_[0-9a-f]{8}$/)
        const shm = new SharedMemory({ name })
        const offset = 123
        const data = randomHex(40)
        try {
          expect(shm.size).to.equal(size)
          const expected = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff))
          expect(shm.buf.tobytes().equals(expected)).to.equal(true)
          shm.buf.subarray(offset, offset + 40).assign(Buffer.from(data, 'hex'))
        } finally {
          shm.close()
        }
        child.stdin.end(`${offset} ${data}\n`)
        const { code, signal } = await exited
        expect(stderr).to.equal('')
        expect({ code, signal }).to.deep.equal({ code: 0, signal: null })
        const report = JSON.parse(stdout.trim().split('\n').pop()!)
        expect(report.ok).to.equal(true)
        expect(report.seen.slice(offset * 2, offset * 2 + 80)).to.equal(data)
        // Python created the segment and unlinked it: the name is gone for Node too.
        expectError(() => new SharedMemory({ name }), Error, 'ENOENT')
      } finally {
        clearTimeout(timer)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await exited
      }
    })

    it('Node creates and writes; Python attaches by name, reads, writes; Node sees it and the segment survives', () => {
      const shm = createShm(256)
      try {
        const mine = randomBytes(256)
        shm.buf.assign(mine)
        const theirs = randomHex(50)
        const r = python([path.join(fixtures, 'shm-py-attach.py'), shm.name, '200', theirs])
        expect(r.stderr).to.equal('')
        expect(r.status, r.stderr).to.equal(0)
        const report = JSON.parse(r.stdout)
        expect(report).to.deep.equal({ name: shm.name, size: 256, seen: mine.toString('hex') })
        expect(shm.buf.subarray(200, 250).tobytes().toString('hex')).to.equal(theirs)
        expect(shm.buf.subarray(0, 200).tobytes().equals(mine.subarray(0, 200))).to.equal(true)
        expect(shm.buf.subarray(250).tobytes().equals(mine.subarray(250))).to.equal(true)
        // Python's resource tracker was told the segment is not its own: it still exists.
        expect(segmentExists(shm.name)).to.equal(true)
        const again = new SharedMemory({ name: shm.name })
        expect(again.buf.subarray(200, 250).tobytes().toString('hex')).to.equal(theirs)
        again.close()
      } finally {
        shm.close()
        shm.unlink()
      }
    })

    it('Node creates with an explicit name; Python computes over it with a memoryview cast', () => {
      const name = freshName()
      const shm = createShm(8 * 16, name)
      try {
        const values = Array.from({ length: 16 }, () => Math.random() * 1000)
        const doubles = shm.buf.cast('d').toTypedArray() as Float64Array
      doubles.set(values)
        const code = [
          'import sys',
          'from multiprocessing import resource_tracker, shared_memory',
          'shm = shared_memory.SharedMemory(name=sys.argv[1])',
          "resource_tracker.unregister(shm._name, 'shared_memory')",
          "d = shm.buf.cast('d')",
          'print(repr(sum(d)), shm.size)',
          'd[0] = -1.5',
          'd.release()',
          'shm.close()',
        ].join('\n')
        const r = python(['-c', code, name])
        expect(r.stderr).to.equal('')
        expect(r.status, r.stderr).to.equal(0)
        // Python's sum of doubles, left to right, is the same IEEE computation as ours.
        const sum = values.reduce((a, b) => a + b, 0)
        const [pySum, pySize] = r.stdout.trim().split(' ')
        expect(Number(pySum)).to.equal(sum)
        expect(Number(pySize)).to.equal(128)
        expect(shm.buf.cast('d').get(0)).to.equal(-1.5)
        expect(segmentExists(name)).to.equal(true)
      } finally {
        shm.close()
      }
    })
  })

  describe('71 SharedMemory across threads and Node processes', () => {
    it('a worker opens the segment by name: each side sees the other one\'s writes', async () => {
      const shm = createShm(64)
      const worker = new Worker(path.join(fixtures, 'shm-worker.js'), { workerData: { name: shm.name } })
      // Listeners go on now; a worker that fails or exits early rejects the awaited message.
      const { next, exited } = watchWorker(worker)
      try {
        expect(await next()).to.deep.equal({ ready: true })
        const first = randomBytes(32)
        shm.buf.subarray(0, 32).assign(first)
        worker.postMessage({ op: 'read' })
        const seen = await next()
        expect(seen.size).to.equal(64)
        expect(seen.seen.slice(0, 64)).to.equal(first.toString('hex'))
        const theirs = randomHex(16)
        worker.postMessage({ op: 'write', offset: 40, hex: theirs })
        expect(await next()).to.deep.equal({ written: true })
        expect(shm.buf.subarray(40, 56).tobytes().toString('hex')).to.equal(theirs)
        // A later main-thread write is visible too (no copy was taken at open).
        shm.buf.set(63, 0x5a)
        worker.postMessage({ op: 'read' })
        expect((await next()).seen.slice(126)).to.equal('5a')
        worker.postMessage({ op: 'close' })
        expect(await next()).to.deep.equal({ closed: true })
        expect(await exited).to.equal(0)
        // The worker's close() unmapped its own mapping only.
        expect(shm.closed).to.equal(false)
        expect(shm.buf.subarray(40, 56).tobytes().toString('hex')).to.equal(theirs)
      } finally {
        await worker.terminate()
        shm.close()
      }
    })

    it('a child node process opens the segment by name and writes; the parent sees it', () => {
      const shm = createShm(4096)
      try {
        const mine = randomBytes(4096)
        shm.buf.assign(mine)
        const theirs = randomHex(100)
        const r = spawnSync(process.execPath, [path.join(fixtures, 'shm-child.js'), shm.name, '3000', theirs], {
          encoding: 'utf8',
          timeout: 60_000,
        })
        expect(r.stderr).to.equal('')
        expect(r.status, r.stderr).to.equal(0)
        expect(JSON.parse(r.stdout)).to.deep.equal({ name: shm.name, size: 4096, seen: mine.toString('hex') })
        expect(shm.buf.subarray(3000, 3100).tobytes().toString('hex')).to.equal(theirs)
        expect(shm.buf.subarray(0, 3000).tobytes().equals(mine.subarray(0, 3000))).to.equal(true)
        expect(segmentExists(shm.name)).to.equal(true)
      } finally {
        shm.close()
        shm.unlink()
      }
    })
  })

  after(() => {
    // Nothing this file created is left in /dev/shm, whatever happened.
    const leftovers = fs.readdirSync('/dev/shm').filter((n) => n.startsWith(prefix) || everCreated.has(n))
    for (const n of leftovers) unlinkQuietly(n)
    expect(leftovers).to.deep.equal([])
  })
})
