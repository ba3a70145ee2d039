/**
 * Channel: a bounded one-way queue of byte messages in shared memory — create/share/attach,
 * whole in-order messages across wrap-around, full rings, close-then-drain, dead peers (SIGKILL,
 * also mid-send), and peers in a worker thread, another Node process and a Python process
 * (test/fixtures/channel_peer.py, which implements the protocol from its written layout).
 */
import { afterEach, describe, it } from 'mocha'
import { expect } from 'chai'
import { ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Worker } from 'node:worker_threads'
import { BufferError, Channel, SharedMemory } from 'memoryview'
import { expectError, ABORTED, CHANNEL_CLOSED, CHANNEL_INVALID, EXPORTED, INVALID_ARG, MESSAGE_TOO_LARGE, OUT_OF_RANGE, PEER_GONE, RELEASED } from './helpers/errors'
import { watchWorker } from './helpers/worker'
import { requireBinding } from '../lib/binding'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const liveMappings = (): number => requireBinding('test').liveMappings()

const open: Channel[] = []
const names = new Set<string>()
const children: ChildProcess[] = []
function create(size = 256): Channel {
  const ch = Channel.create({ size })
  open.push(ch)
  names.add(ch.share().name)
  return ch
}
function attach(ch: Channel): Channel {
  const other = Channel.attach(ch.share())
  open.push(other)
  return other
}
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const ch of open.splice(0)) ch.close()
})

const text = (m: { tobytes(): Buffer } | null): string | null => (m === null ? null : m.tobytes().toString())

function spawnPeer(args: string[], command = process.execPath, script = 'channel-peer.js') {
  const child = spawn(command, [path.join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stdout = ''
  let stderr = ''
  const lines: Array<() => void> = []
  child.stdout!.on('data', (d) => {
    stdout += d
    for (const wake of lines.splice(0)) wake()
  })
  child.stderr!.on('data', (d) => (stderr += d))
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => {
      // Wakes printed(): a peer that ends without printing what it awaits fails it at once.
      for (const wake of lines.splice(0)) wake()
      resolve({ code, signal })
    }),
  )
  return {
    child,
    closed,
    stdout: () => stdout,
    stderr: () => stderr,
    /** Resolves once stdout contains `s` (checked on every chunk). */
    async printed(s: string): Promise<void> {
      while (!stdout.includes(s)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`peer exited: ${stderr}`)
        await new Promise<void>((resolve) => lines.push(resolve))
      }
    },
  }
}

/** The bytes of flood message k (test/fixtures/channel-peer.js). */
function floodMessage(k: number): Buffer {
  const n = 1 + ((k * 7919) % 3000)
  const m = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) m[i] = (k + i) & 255
  return m
}

describe('103 Channel', () => {
  describe('create, share, attach', () => {
    it('share() is a plain descriptor; capacity is the size rounded up to a power of two', () => {
      const ch = create(100)
      const d = ch.share()
      expect(d).to.deep.equal({ kind: 'shm', name: d.name, protocol: 'memoryview.channel', version: 1, capacity: 128, size: 384 })
      expect(JSON.parse(JSON.stringify(d))).to.deep.equal(d)
      expect(ch.capacity).to.equal(128)
      expect(ch.maxMessageSize).to.equal(124)
    })

    it('checks the options', () => {
      expectError(() => Channel.create({ size: 63 }), RangeError, OUT_OF_RANGE)
      expectError(() => Channel.create({ size: 2 ** 30 + 1 }), RangeError, OUT_OF_RANGE)
      expectError(() => Channel.create({ size: 1.5 }), TypeError, INVALID_ARG)
      expectError(() => (Channel.create as any)(), TypeError, INVALID_ARG)
    })

    it('refuses descriptors that are not a channel, and memory that is not one, leaving nothing mapped', () => {
      expectError(() => (Channel.attach as any)({ kind: 'file', name: 'x' }), TypeError, CHANNEL_INVALID)
      expectError(() => (Channel.attach as any)(null), TypeError, CHANNEL_INVALID)
      const shm = new SharedMemory({ create: true, size: 4096 })
      try {
        expectError(() => Channel.attach({ ...create().share(), name: shm.name }), Error, CHANNEL_INVALID)
      } finally {
        shm.close()
        shm.unlink()
      }
    })

    it('attach() removes the name: a second attach, or one after the creator closed unattached, fails with ENOENT', () => {
      const ch = create()
      attach(ch)
      expect(fs.existsSync(`/dev/shm/${ch.share().name}`)).to.equal(false)
      expectError(() => Channel.attach(ch.share()), Error, 'ENOENT')
      const lonely = Channel.create({ size: 64 })
      const d = lonely.share()
      lonely.close()
      expectError(() => Channel.attach(d), Error, 'ENOENT')
    })

    it('a channel carries messages one way: the end that receives cannot send (CHANNEL_INVALID)', () => {
      const a = create()
      const b = attach(a)
      expect(a.trySend(Buffer.from('x'))).to.equal(true)
      expectError(() => b.trySend(Buffer.from('y')), Error, CHANNEL_INVALID)
      expectError(() => a.tryReceive(), Error, CHANNEL_INVALID)
    })
  })

  describe('messages', () => {
    it('arrive whole and in order across many wrap-arounds, zero-length ones included', async () => {
      const a = create(256)
      const b = attach(a)
      const got: string[] = []
      const receiving = (async () => {
        for (let m = await b.receive(); m !== null; m = await b.receive()) got.push(m.tobytes().toString('hex'))
      })()
      const sent: string[] = []
      for (let k = 0; k < 2000; k++) {
        const m = Buffer.alloc(k % 97, k & 255)
        sent.push(m.toString('hex'))
        await a.send(m)
      }
      a.close()
      await receiving
      expect(got).to.deep.equal(sent)
    })

    it('accepts any bytes: Buffer, TypedArray, DataView, ArrayBuffer, MemoryView (strided too)', () => {
      const a = create()
      const b = attach(a)
      const { memoryview } = require('memoryview')
      a.trySend(new Uint16Array([0x0201]))
      a.trySend(new DataView(new Uint8Array([3, 4]).buffer))
      a.trySend(new Uint8Array([5]).buffer)
      a.trySend(memoryview(Buffer.from([6, 0, 7])).subarray(null, null, 2))
      expectError(() => (a as any).trySend('text'), TypeError, INVALID_ARG)
      const got = [0, 1, 2, 3].map(() => [...b.tryReceive()!.tobytes()])
      expect(got).to.deep.equal([[1, 2], [3, 4], [5], [6, 7]])
    })

    it('tryReceive() is a view in place, released by the next receive; null when empty', () => {
      const a = create()
      const b = attach(a)
      expect(b.tryReceive()).to.equal(null)
      a.trySend(Buffer.from('first'))
      a.trySend(Buffer.from('second'))
      const first = b.tryReceive()!
      expect(first.format).to.equal('B')
      expect(first.tobytes().toString()).to.equal('first')
      expect(text(b.tryReceive())).to.equal('second')
      expect(first.released).to.equal(true)
      expectError(() => first.tobytes(), Error, RELEASED)
      expect(b.tryReceive()).to.equal(null)
    })

    it('a pinned message view blocks the next receive with BufferError, taking nothing', () => {
      const a = create()
      const b = attach(a)
      a.trySend(Buffer.from('one'))
      a.trySend(Buffer.from('two'))
      const pin = b.tryReceive()!.pin()
      expectError(() => b.tryReceive(), BufferError, EXPORTED)
      pin.release()
      expect(text(b.tryReceive())).to.equal('two')
    })

    it('a pin on a view derived from the message blocks the next receive too: its bytes are not given back to the producer', () => {
      const a = create(64)
      const b = attach(a)
      expect(a.trySend(Buffer.alloc(20, 1))).to.equal(true)
      expect(a.trySend(Buffer.alloc(20, 2))).to.equal(true)
      const part = b.tryReceive()!.subarray(4, 8)
      const pin = part.pin()
      try {
        expectError(() => b.tryReceive(), BufferError, EXPORTED)
        expect(a.trySend(Buffer.alloc(20, 3))).to.equal(false) // the first record's space is still taken
        expect([...part]).to.deep.equal([1, 1, 1, 1])
      } finally {
        pin.release()
      }
      expect([...b.tryReceive()!.tobytes()][0]).to.equal(2)
      expect(a.trySend(Buffer.alloc(20, 3))).to.equal(true)
    })

    it('trySend() returns false when full and writes nothing; send() waits for room', async () => {
      const a = create(64)
      const b = attach(a)
      let n = 0
      while (a.trySend(Buffer.alloc(20, n))) n++
      expect(n).to.equal(2) // 24-byte records: two fit in 64 bytes, a third does not
      let sent = false
      const pending = a.send(Buffer.alloc(20, 9)).then(() => (sent = true))
      await new Promise((resolve) => setImmediate(resolve))
      expect(sent).to.equal(false)
      expect([...b.tryReceive()!.tobytes()][0]).to.equal(0)
      expect([...b.tryReceive()!.tobytes()][0]).to.equal(1) // gives the first record's space back
      await pending
      expect([...b.tryReceive()!.tobytes()][0]).to.equal(9)
    })

    it('a message longer than the ring can hold fails with MESSAGE_TOO_LARGE, writing nothing', async () => {
      const a = create(64)
      const b = attach(a)
      expect(a.trySend(Buffer.alloc(60))).to.equal(true) // exactly capacity - 4
      expect(b.tryReceive()!.nbytes).to.equal(60)
      expectError(() => a.trySend(Buffer.alloc(61)), RangeError, MESSAGE_TOO_LARGE)
      const err = await a.send(Buffer.alloc(1000)).then(() => null, (e) => e)
      expect(err).to.be.instanceOf(RangeError)
      expect(err.code).to.equal(MESSAGE_TOO_LARGE)
      expect(b.tryReceive()).to.equal(null)
    })
  })

  describe('wake-ups (the waiting words at offsets 136 and 200 of the layout)', () => {
    /** The channel's header words, through a second mapping of its segment (opened before attach() removes the name). */
    function headerOf(ch: Channel): { words: Uint32Array; shm: SharedMemory } {
      const shm = new SharedMemory({ name: ch.share().name })
      return { words: shm.buf.cast('I').toTypedArray() as Uint32Array, shm }
    }

    it("a publish takes a sleeping consumer's flag back: one wake-up per sleep, none owed after it", async () => {
      const a = create()
      const { words, shm } = headerOf(a)
      const b = attach(a)
      try {
        const p = b.receive() // the ring is empty: it polls, then sleeps (asynchronously)
        expect(words[34]).to.equal(1) // offset 136: the consumer sleeps
        expect(a.trySend(Buffer.from('one'))).to.equal(true)
        expect(words[34]).to.equal(0) // taken back with the wake-up
        expect(a.trySend(Buffer.from('two'))).to.equal(true) // the consumer is not asleep: no wake-up
        expect(text(await p)).to.equal('one')
        expect(text(b.tryReceive())).to.equal('two')
      } finally {
        shm.close()
      }
    })

    it('a sleeping producer states the free bytes it needs, and is woken only once that much is free', async () => {
      const a = create(256)
      const { words, shm } = headerOf(a)
      const b = attach(a)
      try {
        for (let k = 0; k < 8; k++) expect(a.trySend(Buffer.alloc(28, k))).to.equal(true) // 8 records of 32 bytes: full
        let sent = false
        const p = a.send(Buffer.alloc(124, 9)).then(() => (sent = true)) // a 128-byte record
        expect(words[50]).to.equal(128) // offset 200: the producer sleeps until 128 bytes are free
        const got = [b.tryReceive()!.get(0)]
        for (let k = 1; k < 4; k++) {
          got.push(b.tryReceive()!.get(0)) // gives record k - 1 back: 32, 64, 96 bytes free
          expect(words[50]).to.equal(128) // not enough: not woken
        }
        got.push(b.tryReceive()!.get(0)) // 128 bytes free
        expect(words[50]).to.equal(0) // taken back with the wake-up
        await p
        expect(sent).to.equal(true)
        for (let m = b.tryReceive(); m !== null; m = b.tryReceive()) got.push(m.get(0))
        expect(got).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 9])
      } finally {
        shm.close()
      }
    })
  })

  describe('close', () => {
    it('the consumer drains what was sent before the producer closed, then gets null', async () => {
      const a = create()
      const b = attach(a)
      a.trySend(Buffer.from('x'))
      a.trySend(Buffer.from('y'))
      a.close()
      expect(b.peerClosed).to.equal(true)
      expect(text(await b.receive())).to.equal('x')
      expect(text(b.tryReceive())).to.equal('y')
      expect(await b.receive()).to.equal(null)
      expect(b.tryReceive()).to.equal(null)
    })

    it('messages sent and closed before the consumer attached are still delivered', async () => {
      const a = Channel.create({ size: 256 })
      names.add(a.share().name)
      const d = a.share()
      a.trySend(Buffer.from('early'))
      a.close()
      const b = Channel.attach(d)
      open.push(b)
      expect(text(await b.receive())).to.equal('early')
      expect(await b.receive()).to.equal(null)
    })

    it('a pending receive() resolves null when the producer closes', async () => {
      const a = create()
      const b = attach(a)
      const p = b.receive()
      await new Promise((resolve) => setImmediate(resolve))
      a.close()
      expect(await p).to.equal(null)
    })

    it('sends after either side closed fail with CHANNEL_CLOSED, pending ones included', async () => {
      const a = create(64)
      const b = attach(a)
      a.trySend(Buffer.alloc(28))
      a.trySend(Buffer.alloc(28))
      const pending = a.send(Buffer.alloc(28)).then(() => null, (e) => e)
      b.close()
      const err = await pending
      expect(err.code).to.equal(CHANNEL_CLOSED)
      expectError(() => a.trySend(Buffer.alloc(1)), Error, CHANNEL_CLOSED)
      a.close()
      expectError(() => a.trySend(Buffer.alloc(1)), Error, CHANNEL_CLOSED)
      expect(a.closed).to.equal(true)
    })

    it("this side's close() rejects its own pending receive with CHANNEL_CLOSED and releases the last view", async () => {
      const a = create()
      const b = attach(a)
      a.trySend(Buffer.from('kept'))
      const m = b.tryReceive()!
      const p = b.receive().then(() => null, (e) => e)
      b.close()
      expect((await p).code).to.equal(CHANNEL_CLOSED)
      expect(m.released).to.equal(true)
      expectError(() => b.tryReceive(), Error, CHANNEL_CLOSED)
      expectError(() => b.share(), Error, CHANNEL_CLOSED)
    })

    it('close() while a view of the last message (or one derived from it) has an export: BufferError EXPORTED, nothing closed, on either side', () => {
      const a = create()
      const b = attach(a)
      a.trySend(Buffer.from('held'))
      const m = b.tryReceive()!
      for (const pin of [m.pin(), m.subarray(1, 3).pin()]) {
        try {
          expectError(() => b.close(), BufferError, EXPORTED)
          expect([b.closed, a.peerClosed, m.released]).to.deep.equal([false, false, false])
          expect(text(m)).to.equal('held')
        } finally {
          pin.release()
        }
      }
      expect(b.share().kind).to.equal('shm') // still open (share() throws CHANNEL_CLOSED after close())
      const live = liveMappings()
      b.close()
      expect([b.closed, a.peerClosed, m.released, liveMappings()]).to.deep.equal([true, true, true, live - 1])
      expectError(() => b.tryReceive(), Error, CHANNEL_CLOSED)
    })

    it("a received view's obj is the channel: obj.close() closes this end as close() does (the peer sees it)", () => {
      const a = create()
      const b = attach(a)
      a.trySend(Buffer.from('one'))
      const m = b.tryReceive()!
      expect(m.obj === b).to.equal(true)
      ;(m.obj as Channel).close()
      expect([b.closed, a.peerClosed, m.released]).to.deep.equal([true, true, true])
      expectError(() => b.tryReceive(), Error, CHANNEL_CLOSED)
      expectError(() => a.trySend(Buffer.from('two')), Error, CHANNEL_CLOSED)
    })

    it('an AbortSignal rejects receive() and send() with ABORTED', async () => {
      const a = create()
      const b = attach(a)
      const ac = new AbortController()
      const p = b.receive({ signal: ac.signal }).then(() => null, (e) => e)
      ac.abort('stop')
      const err = await p
      expect(err.code).to.equal(ABORTED)
      expect(err.cause).to.equal('stop')
      expect((await a.send(Buffer.alloc(1), { signal: ac.signal }).then(() => null, (e) => e)).code).to.equal(ABORTED)
    })

    it('`using` closes the channel', () => {
      let ch: Channel
      {
        using c = Channel.create({ size: 64 })
        ch = c
      }
      expect(ch.closed).to.equal(true)
    })
  })

  describe('peers in other threads and processes', () => {
    it('a worker thread echoes messages back', async () => {
      const toWorker = create(1024)
      const back = create(1024)
      const worker = new Worker(
        `const { Channel } = require('memoryview'); const { workerData } = require('node:worker_threads')
         ;(async () => {
           const input = Channel.attach(workerData[0]), output = Channel.attach(workerData[1])
           for (let m = await input.receive(); m !== null; m = await input.receive()) await output.send(m)
           input.close(); output.close()
         })()`,
        { eval: true, workerData: [toWorker.share(), back.share()] },
      )
      const watched = watchWorker(worker)
      for (let k = 0; k < 500; k++) {
        await toWorker.send(Buffer.from(`message ${k}`))
        expect(text(await back.receive())).to.equal(`message ${k}`)
      }
      toWorker.close()
      expect(await back.receive()).to.equal(null)
      expect(await watched.exited).to.equal(0)
    })

    it('another Node process echoes messages back, whole and in order', async () => {
      const out = create(4096)
      const back = create(4096)
      const peer = spawnPeer(['echo', JSON.stringify(out.share()), JSON.stringify(back.share())])
      const received: Buffer[] = []
      const receiving = (async () => {
        for (let m = await back.receive(); m !== null; m = await back.receive()) received.push(m.tobytes())
      })()
      const sent: Buffer[] = []
      for (let k = 0; k < 1000; k++) {
        const m = floodMessage(k).subarray(0, k % 700)
        sent.push(m)
        await out.send(m)
      }
      out.close()
      await receiving
      expect(received.length).to.equal(sent.length)
      expect(received.every((m, i) => m.equals(sent[i]))).to.equal(true)
      expect((await peer.closed).code, peer.stderr()).to.equal(0)
    })

    it('a Python process speaks the protocol both ways (stdlib only)', async () => {
      const out = create(512)
      const back = create(512)
      const peer = spawnPeer([out.share().name, back.share().name], 'python3', 'channel_peer.py')
      const sent = Array.from({ length: 300 }, (_, k) => `py ${k} ${'z'.repeat(k % 90)}`)
      const got: string[] = []
      const receiving = (async () => {
        for (let m = await back.receive(); m !== null; m = await back.receive()) got.push(m.tobytes().toString())
      })()
      for (const s of sent) await out.send(Buffer.from(s))
      out.close()
      await receiving
      expect(got).to.deep.equal(sent.map((s) => [...s].reverse().join('')))
      const exit = await peer.closed
      expect(exit.code, peer.stderr()).to.equal(0)
      expect(peer.stdout().trim()).to.equal('300')
    })
  })

  describe('a peer that dies', () => {
    it('the consumer receives what a killed producer published, then PEER_GONE within the documented bound', async () => {
      const ch = create()
      const peer = spawnPeer(['produce-hang', JSON.stringify(ch.share())])
      await peer.printed('sent')
      peer.child.kill('SIGKILL')
      await peer.closed
      const got = []
      for (let i = 0; i < 5; i++) got.push(text(await ch.receive()))
      expect(got).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4'])
      expectError(() => ch.tryReceive(), Error, PEER_GONE)
      const start = Date.now()
      const err = await ch.receive().then(() => null, (e) => e)
      expect(err.code).to.equal(PEER_GONE)
      expect(Date.now() - start).to.be.below(1000)
    })

    it('a pending receive() rejects with PEER_GONE when the producer is killed while it waits', async () => {
      const ch = create()
      const peer = spawnPeer(['produce-hang', JSON.stringify(ch.share())])
      await peer.printed('sent')
      for (let i = 0; i < 5; i++) await ch.receive()
      const pending = ch.receive().then(() => null, (e) => e)
      peer.child.kill('SIGKILL')
      expect((await pending).code).to.equal(PEER_GONE)
    })

    it('a send() waiting for room rejects with PEER_GONE when the consumer is killed', async () => {
      const ch = create(64)
      const peer = spawnPeer(['consume-hang', JSON.stringify(ch.share())])
      await ch.send(Buffer.from('hello'))
      await peer.printed('got')
      while (ch.trySend(Buffer.alloc(20)));
      const pending = ch.send(Buffer.alloc(20)).then(() => null, (e) => e)
      peer.child.kill('SIGKILL')
      expect((await pending).code).to.equal(PEER_GONE)
      expectError(() => ch.trySend(Buffer.alloc(1)), Error, PEER_GONE)
    })

    it('a producer killed mid-send leaves only whole messages: every one received is exact', async () => {
      const ch = create(8192)
      const peer = spawnPeer(['flood', JSON.stringify(ch.share())])
      let k = 0
      let failure: { code?: string } | null = null
      for (;;) {
        let m
        try {
          m = await ch.receive()
        } catch (err) {
          failure = err as { code?: string }
          break
        }
        expect(m).to.not.equal(null)
        expect(m!.tobytes().equals(floodMessage(k)), `message ${k}`).to.equal(true)
        k++
        if (k === 200) peer.child.kill('SIGKILL')
      }
      expect(failure!.code).to.equal(PEER_GONE)
      expect(k).to.be.at.least(200)
    })
  })

  it('leaves no segment behind in /dev/shm', () => {
    for (const ch of open.splice(0)) ch.close()
    const left = [...names].filter((n) => fs.existsSync(`/dev/shm/${n}`))
    expect(left).to.deep.equal([])
  })
})
