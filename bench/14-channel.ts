/**
 * Question: how much faster is a Channel between two processes than child_process IPC (and a
 * worker's postMessage), for latency and for throughput; and how long does a notify() take to wake
 * a waiter in another process?
 *
 * Targets (issue 10): a 64-byte ping-pong round trip over a Channel >= 10x lower latency than
 * child_process IPC; 1 MiB messages >= 20x the throughput of child_process IPC. Notify -> wake is
 * reported (p50 and p99), without a target.
 *
 * Method: all measurements are asynchronous, so each case runs a helper process (`--measure`)
 * through spawnSync, which forks the peer (`--child <kind>`) once, warms up, then:
 *  - ping-pong: 3,000 timed round trips (after 500 untimed) of a 64-byte message echoed by the
 *    peer; each round trip timed alone with hrtime; the median and p99 are reported;
 *  - throughput: the time from the first send to the peer's "all received" reply for a fixed
 *    number of messages (the peer touches every message: it sums one byte per 64, one per cache
 *    line, on both sides). One peer process per transport serves a warm-up round and 3 timed
 *    rounds (the best is reported), so that neither side is timed starting a process or compiling;
 *  - notify -> wake: the peer sleeps in wait() (or awaits waitAsync()); the helper writes hrtime
 *    into the shared memory and calls notify(); the peer reads hrtime when it returns (settles). 2,000 wakes, each after the peer is back
 *    asleep (the helper waits for its acknowledgement and 300 µs more).
 */
import { ChildProcess, fork, spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { Channel, SharedMemory } from 'memoryview'
import { KiB, MiB, Row, benchMain, row } from './common'

const ROUND_TRIPS = 3000
const WARMUP = 500

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

function stats(samples: number[]): { p50: number; p99: number } {
  const s = samples.slice().sort((a, b) => a - b)
  return { p50: percentile(s, 50), p99: percentile(s, 99) }
}

const now = (): number => Number(process.hrtime.bigint())

// ---- peers -------------------------------------------------------------------------------------

async function child(kind: string): Promise<void> {
  if (kind === 'channel-echo') {
    const [input, output] = [Channel.attach(JSON.parse(process.argv[4])), Channel.attach(JSON.parse(process.argv[5]))]
    // The synchronous fast paths first, as a latency-minded user writes it.
    for (let m = input.tryReceive() ?? (await input.receive()); m !== null; m = input.tryReceive() ?? (await input.receive())) {
      if (!output.trySend(m)) await output.send(m)
    }
    input.close()
    output.close()
  } else if (kind === 'channel-sink') {
    // One process for every round (an empty message ends a round), as for IPC below: the rounds
    // after the first are timed with both sides' code compiled.
    const input = Channel.attach(JSON.parse(process.argv[4]))
    let bytes = 0
    let sum = 0
    process.send!('ready')
    for (let m = await input.receive(); m !== null; m = await input.receive()) {
      const u8 = m.toTypedArray()
      if (u8.length === 0) {
        process.send!({ bytes, sum })
        bytes = sum = 0
        continue
      }
      for (let i = 0; i < u8.length; i += 64) sum += u8[i]
      bytes += u8.length
    }
    input.close()
    process.disconnect()
  } else if (kind === 'ipc-echo') {
    process.on('message', (m) => process.send!(m))
  } else if (kind === 'ipc-sink') {
    let bytes = 0
    let sum = 0
    process.on('message', (m: Uint8Array | { done: true }) => {
      if (m instanceof Uint8Array) {
        for (let i = 0; i < m.length; i += 64) sum += m[i]
        bytes += m.length
      } else {
        process.send!({ bytes, sum })
        bytes = sum = 0
      }
    })
    process.send!('ready')
  } else if (kind === 'waiter' || kind === 'async-waiter') {
    const shm = new SharedMemory({ name: process.argv[4] })
    const w = shm.buf.cast('i')
    const t = shm.buf.subarray(8, 16).cast('q').toTypedArray()
    const n = Number(process.argv[5])
    const samples: number[] = []
    for (let seq = 1; seq <= n; seq++) {
      if (kind === 'waiter') while (w.get(0) < seq) w.wait(0, seq - 1)
      else while (w.get(0) < seq) await w.waitAsync(0, seq - 1)
      samples.push(now() - Number(Atomics.load(t, 0)))
      Atomics.store(w.toTypedArray() as Int32Array, 1, seq)
      w.notify(1)
    }
    process.send!(stats(samples), () => {
      w.release()
      shm.close()
      process.disconnect()
    })
  }
}

function forkPeer(kind: string, serialization: 'json' | 'advanced', args: string[] = []): ChildProcess {
  return fork(__filename, ['--child', kind, ...args], { serialization })
}

const nextMessage = (cp: ChildProcess): Promise<any> => new Promise((resolve) => cp.once('message', resolve))

// ---- measurements ------------------------------------------------------------------------------

async function pingChannel(): Promise<{ p50: number; p99: number }> {
  const out = Channel.create({ size: 64 * KiB })
  const back = Channel.create({ size: 64 * KiB })
  const cp = forkPeer('channel-echo', 'json', [JSON.stringify(out.share()), JSON.stringify(back.share())])
  const msg = Buffer.alloc(64, 7)
  const samples: number[] = []
  for (let k = 0; k < WARMUP + ROUND_TRIPS; k++) {
    const t0 = now()
    if (!out.trySend(msg)) await out.send(msg)
    const m = back.tryReceive() ?? (await back.receive())
    if (m === null || m.nbytes !== 64) throw new Error('bad echo')
    if (k >= WARMUP) samples.push(now() - t0)
  }
  out.close()
  await back.receive()
  back.close()
  await new Promise((resolve) => cp.once('exit', resolve))
  return stats(samples)
}

async function pingIpc(serialization: 'json' | 'advanced'): Promise<{ p50: number; p99: number }> {
  const cp = forkPeer('ipc-echo', serialization)
  const msg = serialization === 'json' ? 'x'.repeat(64) : Buffer.alloc(64, 7)
  const samples: number[] = []
  for (let k = 0; k < WARMUP + ROUND_TRIPS; k++) {
    const t0 = now()
    const reply = nextMessage(cp)
    cp.send(msg)
    await reply
    if (k >= WARMUP) samples.push(now() - t0)
  }
  cp.disconnect()
  return stats(samples)
}

async function pingWorker(): Promise<{ p50: number; p99: number }> {
  const worker = new Worker(`require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))`, { eval: true })
  const msg = new Uint8Array(64)
  const samples: number[] = []
  for (let k = 0; k < WARMUP + ROUND_TRIPS; k++) {
    const t0 = now()
    const reply = new Promise((resolve) => worker.once('message', resolve))
    worker.postMessage(msg)
    await reply
    if (k >= WARMUP) samples.push(now() - t0)
  }
  await worker.terminate()
  return stats(samples)
}

interface Sink {
  /** Sends `count` messages of `size` bytes, and returns the ns until the peer has touched them all. */
  round(size: number, count: number): Promise<number>
  end(): Promise<void>
}

/**
 * A peer process that receives over a Channel. The clock of a round starts after the peer reported
 * it is ready (attached, its loop running), so that no process start (tens of ms) is timed.
 */
async function channelSink(ring: number): Promise<Sink> {
  const ch = Channel.create({ size: ring })
  const cp = forkPeer('channel-sink', 'json', [JSON.stringify(ch.share())])
  await nextMessage(cp)
  const end = Buffer.alloc(0)
  return {
    async round(size, count) {
      const msg = Buffer.alloc(size, 1)
      const done = nextMessage(cp)
      const t0 = now()
      for (let k = 0; k < count; k++) if (!ch.trySend(msg)) await ch.send(msg)
      if (!ch.trySend(end)) await ch.send(end)
      const r = await done
      const t = now() - t0
      if (r.bytes !== size * count) throw new Error(`channel sink got ${r.bytes} bytes`)
      return t
    },
    async end() {
      const exit = new Promise((resolve) => cp.once('exit', resolve))
      ch.close()
      await exit
    },
  }
}

/** The same over child_process IPC ('advanced' serialization: Buffers travel as bytes). */
async function ipcSink(): Promise<Sink> {
  const cp = forkPeer('ipc-sink', 'advanced')
  await nextMessage(cp)
  return {
    async round(size, count) {
      const msg = Buffer.alloc(size, 1)
      const done = nextMessage(cp)
      const t0 = now()
      for (let k = 0; k < count; k++) {
        // Respect backpressure: process.send() returns false when its queue is full.
        if (!cp.send(msg)) await new Promise<void>((resolve) => setImmediate(resolve))
      }
      cp.send({ done: true })
      const r = await done
      const t = now() - t0
      if (r.bytes !== size * count) throw new Error(`ipc sink got ${r.bytes} bytes`)
      return t
    },
    async end() {
      cp.disconnect()
    },
  }
}

async function notifyWake(n: number, kind: string): Promise<{ p50: number; p99: number }> {
  const shm = new SharedMemory({ create: true, size: 4096 })
  const w = shm.buf.cast('i')
  const words = w.toTypedArray() as Int32Array
  const t = shm.buf.subarray(8, 16).cast('q').toTypedArray()
  const cp = forkPeer(kind, 'json', [shm.name, String(n)])
  const result = nextMessage(cp)
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (let seq = 1; seq <= n; seq++) {
    // Let the waiter get back to sleep, so that every notify() really wakes a sleeper.
    Atomics.wait(pause, 0, 0, 0.3)
    Atomics.store(t, 0, process.hrtime.bigint())
    Atomics.store(words, 0, seq)
    w.notify(0)
    while (Atomics.load(words, 1) < seq) w.wait(1, seq - 1, 1000)
  }
  const r = await result
  w.release()
  shm.close()
  shm.unlink()
  return r
}

async function measure(what: string): Promise<void> {
  let out: unknown
  if (what === 'ping') {
    const channel = await pingChannel()
    const json = await pingIpc('json')
    const advanced = await pingIpc('advanced')
    const worker = await pingWorker()
    out = { channel, json, advanced, worker }
  } else if (what === 'throughput') {
    const res: Record<string, { channel: number; ipc: number; count: number }> = {}
    for (const [size, count] of [[KiB, 20000], [MiB, 200]] as const) {
      const channelPeer = await channelSink(Math.max(4 * size, 256 * KiB))
      const ipcPeer = await ipcSink()
      await channelPeer.round(size, count) // warm-up, both sides
      await ipcPeer.round(size, count)
      let channel = Infinity
      let ipc = Infinity
      for (let r = 0; r < 3; r++) {
        channel = Math.min(channel, await channelPeer.round(size, count))
        ipc = Math.min(ipc, await ipcPeer.round(size, count))
      }
      await channelPeer.end()
      await ipcPeer.end()
      res[size] = { channel, ipc, count }
    }
    out = res
  } else {
    out = { sync: await notifyWake(2000, 'waiter'), async: await notifyWake(2000, 'async-waiter') }
  }
  console.log('@@RESULT ' + JSON.stringify(out))
}

// ---- cases -------------------------------------------------------------------------------------

function run(what: string): any {
  const r = spawnSync(process.execPath, [__filename, '--measure', what], { encoding: 'utf8', maxBuffer: 16 << 20 })
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT '))
  if (r.status !== 0 || line === undefined) throw new Error(`measure ${what} failed (status ${r.status}): ${r.stderr}`)
  return JSON.parse(line.slice('@@RESULT '.length))
}

const mode = process.argv[2]
if (mode === '--child') {
  child(process.argv[3]).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else if (mode === '--measure') {
  measure(process.argv[3]).catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
} else {
  benchMain({
    'ping-pong 64 B': () => {
      const r = run('ping')
      const us = (ns: number): number => ns / 1e3
      return [
        row('64 B round trip p50 vs IPC json', us(r.channel.p50), us(r.json.p50), "IPC 'json' p50", 'µs', { kind: 'ratio', max: 0.1 }),
        row('64 B round trip p50 vs IPC advanced', us(r.channel.p50), us(r.advanced.p50), "IPC 'advanced' p50", 'µs', { kind: 'ratio', max: 0.1 }),
        row('64 B round trip p99 vs IPC json', us(r.channel.p99), us(r.json.p99), "IPC 'json' p99", 'µs', { kind: 'none' }),
        row('64 B round trip p50 vs worker postMessage', us(r.channel.p50), us(r.worker.p50), 'postMessage p50', 'µs', { kind: 'none' }),
      ]
    },
    throughput: () => {
      const r = run('throughput')
      return [KiB, MiB].map((size) => {
        const x = r[size]
        const mbps = (t: number): number => (size * x.count) / MiB / (t / 1e9)
        // Reported as time per MiB so that the ratio reads like the others (lower is better).
        return row(`${size === KiB ? '1 KiB' : '1 MiB'} messages, ms per 100 MiB (${Math.round(mbps(x.channel))} vs ${Math.round(mbps(x.ipc))} MiB/s)`,
          (x.channel / 1e6) * (100 * MiB) / (size * x.count), (x.ipc / 1e6) * (100 * MiB) / (size * x.count), "IPC 'advanced'", 'ms',
          size === MiB ? { kind: 'ratio', max: 0.05 } : { kind: 'none' })
      })
    },
    'notify -> wake': () => {
      const r = run('wake')
      return [
        row('notify -> wait() returns, other process, p50', r.sync.p50 / 1e3, r.sync.p50 / 1e3, 'itself', 'µs', { kind: 'none' }),
        row('notify -> wait() returns, other process, p99', r.sync.p99 / 1e3, r.sync.p99 / 1e3, 'itself', 'µs', { kind: 'none' }),
        row('notify -> waitAsync() settles, other process, p50', r.async.p50 / 1e3, r.async.p50 / 1e3, 'itself', 'µs', { kind: 'none' }),
        row('notify -> waitAsync() settles, other process, p99', r.async.p99 / 1e3, r.async.p99 / 1e3, 'itself', 'µs', { kind: 'none' }),
      ]
    },
  })
}
