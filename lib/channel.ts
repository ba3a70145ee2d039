/**
 * Channel: a bounded queue of byte messages in shared memory, between one producer and one
 * consumer, each in any thread or process (or a Python process: test/fixtures/channel_peer.py).
 *
 * ## Byte layout (protocol version 1) — the one written description; the README links here
 *
 * One shared-memory segment (the name in the descriptor; POSIX shared memory, on Windows a named
 * file mapping) of `256 + capacity` bytes. Every header field is a little-endian unsigned 32-bit
 * integer at a 4-byte aligned offset, read and written with sequentially consistent atomic
 * operations (JS `Atomics`):
 *
 * | offset | field | written by |
 * |---|---|---|
 * | 0   | magic `0x4843564d` (the bytes `MVCH`) | creator, before sharing |
 * | 4   | version `1` | creator |
 * | 8   | capacity: ring bytes, a power of two >= 64 | creator |
 * | 12  | data offset: `256` | creator |
 * | 16  | producer end: 0 unclaimed, 1 creator, 2 attacher (compare-exchange from 0 on first send) | either |
 * | 20  | consumer end: the same, claimed on first receive | either |
 * | 24  | attached: 0, then 1 (compare-exchange by the one attacher) | attacher |
 * | 64  | end 1 (creator) pid | creator |
 * | 68  | end 1 closed flag (0/1) | creator |
 * | 96  | end 2 (attacher) pid | attacher |
 * | 100 | end 2 closed flag | attacher |
 * | 128 | tail: write position (free-running, modulo 2**32) | producer |
 * | 132 | tail sequence: +1 after each publish and on any close — the consumer's futex word | producer, closer |
 * | 136 | consumer waiting flag: nonzero while the consumer sleeps on the tail sequence | consumer (set), producer (may clear) |
 * | 192 | head: read position (free-running, modulo 2**32) | consumer |
 * | 196 | head sequence: +1 after each advance of head and on any close — the producer's futex word | consumer, closer |
 * | 200 | producer waiting: 0, or while the producer sleeps on the head sequence, the free ring bytes it waits for (>= 1) | producer (set), consumer (may clear) |
 * | 256 | the ring: `capacity` bytes | |
 *
 * Positions run freely and wrap modulo 2**32; the byte offset of position `p` in the ring is
 * `p & (capacity - 1)`, and `(tail - head) mod 2**32` bytes are in use. A record starts at an
 * 8-byte aligned offset: a u32 length `n`, then `n` bytes, padded to `align8(4 + n)` bytes. A record
 * never wraps: when it does not fit between its offset and the end of the ring, the producer writes
 * the wrap marker `0xffffffff` as the length there and advances tail to the ring's start (the
 * consumer skips to it), then writes the record at offset 0. Messages longer than `capacity - 4`
 * bytes are refused.
 *
 * Memory ordering: the producer writes a record's bytes, then publishes it by storing tail, then
 * adds 1 to the tail sequence, then, if the consumer waiting flag is nonzero, wakes the tail
 * sequence (futex). The consumer reads tail before the record's bytes, and stores head only after it
 * is done with them (when the next message is received, or at close); after storing head it adds 1
 * to the head sequence, then, if the producer waiting word is nonzero and at least that many bytes
 * are now free (`capacity - (tail - head)`), wakes the head sequence. Waking early is harmless (the
 * sleeper re-checks and sleeps again), so a side may wake on any nonzero value.
 * A side about to sleep reads the sequence word, checks the ring, stores its waiting word, and
 * sleeps on the sequence value it read before the check (the kernel compares it), so a publish or
 * advance in between is never missed. Sleeps are bounded (100 ms), so a peer that cannot wake
 * (e.g. Python, which polls) is still seen within that time.
 * Batched wake-ups: the waker may take the waiting word back to 0 with an atomic exchange and wake
 * only when the exchange returned nonzero, so that one sleep costs one wake-up however many messages
 * follow (the sleeper stores it again before each sleep); a peer without atomic read-modify-write
 * (the Python one) leaves it set and wakes at each publish while it is set.
 *
 * Closing: a side stores 1 in its end's closed flag, adds 1 to both sequences and wakes both. The
 * other side drains what was published, then sees "closed" (receive resolves null; send throws
 * ERR_MEMORYVIEW_CHANNEL_CLOSED). Liveness: each end's pid; a peer whose pid no longer exists
 * (`kill(pid, 0)` fails with ESRCH) and that never closed is gone: ERR_MEMORYVIEW_PEER_GONE.
 * Segment lifetime: the attacher removes the segment's name (shm_unlink) right after attaching,
 * and the creator at close() if nobody attached and the ring is empty (messages sent before the
 * other end attached stay deliverable); so once both ends are attached a crash of either leaves
 * nothing in /dev/shm. (Windows has no names to remove: a segment lives while a process has it open.)
 */
import { BufferError, codes, plainError, rangeError, typeError } from './errors'
import { ManagedBuffer } from './managed-buffer'
import { MemoryView } from './memoryview'
import type { MemoryView as PublicMemoryView } from './index'
import { SharedMemory } from './shm'
import { abortedError, notifyWord, waitWord } from './wait'

const MAGIC = 0x4843564d
const VERSION = 1
const DATA = 256
const WRAP = 0xffffffff
/** Longest sleep before a waiting side re-checks the peer (polling peers, dead peers). */
const SLICE_MS = 100
/**
 * How long send()/receive() poll the ring before they sleep (200 µs), in performance.now() milliseconds.
 * Longer than a wake-up through the waiter thread and the event loop (tens of µs on a busy machine,
 * often more): with a shorter poll, two sides in ping-pong fall into a mode where each sleeps on
 * every message and waits for the other's wake-up (64-byte round trips of 100-190 µs instead of
 * 5-10, in about a third of the runs at 50 µs on a loaded 2-core machine; in none of 16 at 200 µs).
 */
const SPIN_MS = 0.2

// Header words (byte offset / 4).
const W_MAGIC = 0
const W_VERSION = 1
const W_CAPACITY = 2
const W_DATA = 3
const W_PRODUCER = 4
const W_CONSUMER = 5
const W_ATTACHED = 6
const W_PID = [0, 16, 24] // by end: 64, 96
const W_CLOSED = [0, 17, 25] // 68, 100
const W_TAIL = 32
const W_TAIL_SEQ = 33
const W_CONSUMER_WAITING = 34
const W_HEAD = 48
const W_HEAD_SEQ = 49
const W_PRODUCER_WAITING = 50

/** The options of {@link Channel.create}. */
export interface ChannelOptions {
  /** Ring bytes: an integer from 64 to 2**30, rounded up to a power of two ({@link Channel.capacity}). */
  size: number
}

/** What {@link Channel.share} returns and {@link Channel.attach} takes: plain data, safe to post or JSON-encode. */
export interface ChannelDescriptor {
  /** Always `'shm'`: the channel lives in a {@link SharedMemory} segment. */
  kind: 'shm'
  /** The shared-memory segment's name, without the leading slash (Python's `SharedMemory(name)`). */
  name: string
  /** Always `'memoryview.channel'`. */
  protocol: 'memoryview.channel'
  /** The protocol version, 1. */
  version: number
  /** Ring bytes. */
  capacity: number
  /** Segment bytes: `256 + capacity`. */
  size: number
}

/** Bytes a message can be given as. */
export type ChannelMessage = ArrayBufferView | ArrayBuffer | SharedArrayBuffer | PublicMemoryView<string>

/** The options of {@link Channel.send} and {@link Channel.receive}. */
export interface ChannelWaitOptions {
  /** Aborting it rejects with ERR_MEMORYVIEW_ABORTED (`cause`: the reason); nothing is sent or taken. */
  signal?: AbortSignal
}

const align8 = (n: number): number => (n + 7) & ~7

function bytesOf(message: unknown): Uint8Array {
  if (message instanceof MemoryView) {
    if (message.c_contiguous && message._fmt.typed !== null) {
      const ta = message.toTypedArray() as ArrayBufferView
      return new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength)
    }
    return message.tobytes()
  }
  if (ArrayBuffer.isView(message)) return new Uint8Array(message.buffer, message.byteOffset, message.byteLength)
  if (message instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && message instanceof SharedArrayBuffer)) {
    return new Uint8Array(message)
  }
  throw typeError(codes.INVALID_ARG, 'a message must be bytes: an ArrayBufferView, ArrayBuffer, SharedArrayBuffer or MemoryView')
}

function signalOf(options: ChannelWaitOptions | undefined, method: string): AbortSignal | undefined {
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, `${method}(): options must be an object`)
  const { signal } = options
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw typeError(codes.INVALID_ARG, `${method}(): signal must be an AbortSignal`)
  return signal
}

function pidAlive(pid: number): boolean {
  if (pid === 0 || pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/**
 * A bounded queue of byte messages in shared memory between one producer and one consumer.
 * Messages arrive whole and in order, with no copy through the kernel: the producer copies a message
 * into the ring once, and the consumer reads it in place. The end that first sends is the producer,
 * the end that first receives the consumer.
 *
 * ```js
 * const ch = Channel.create({ size: 1 << 16 })
 * worker.postMessage(ch.share())        // the other side: Channel.attach(descriptor)
 * await ch.send(Buffer.from('hello'))
 * ```
 */
export class Channel implements Disposable {
  readonly #shm: SharedMemory
  readonly #i32: Int32Array
  readonly #u32: Uint32Array
  readonly #u8: Uint8Array
  readonly #dv: DataView
  readonly #buf: MemoryView<'B'>
  readonly #end: 1 | 2
  readonly #peer: 1 | 2
  readonly #capacity: number
  readonly #mask: number
  #closed = false
  /** W_PRODUCER or W_CONSUMER once this end has sent or received. */
  #role = 0
  #current: MemoryView<'B'> | null = null
  #currentSize = 0

  private constructor(shm: SharedMemory, end: 1 | 2) {
    this.#shm = shm
    // A SharedMemory always maps its whole segment (it refuses sizes past one buffer), so _buffer is set.
    const buffer = shm._buffer!
    this.#i32 = new Int32Array(buffer, 0, DATA / 4)
    this.#u32 = new Uint32Array(buffer, 0, DATA / 4)
    this.#u8 = new Uint8Array(buffer)
    this.#dv = new DataView(buffer)
    // The channel is the received views' `obj`, so that `m.obj.close()` closes this end properly. With
    // the SharedMemory there, it unmapped the ring under the channel, whose every later call (close()
    // included) then failed on the detached header with an uncoded TypeError, and the peer never saw
    // a close. The ManagedBuffer still counts exports in the segment's state (close() checks them).
    this.#buf = shm._byteView(new ManagedBuffer(buffer, 0, buffer.byteLength, this))
    this.#end = end
    this.#peer = end === 1 ? 2 : 1
    this.#capacity = this.#u32[W_CAPACITY]
    this.#mask = this.#capacity - 1
  }

  /**
   * Creates a channel in a new shared-memory segment of `256 + capacity` bytes; hand
   * {@link Channel.share}'s descriptor to the other side.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for options that are not `{ size: integer }`.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for a size outside [64, 2**30].
   * @throws {Error} ERR_MEMORYVIEW_NATIVE_UNAVAILABLE without the native addon; a system error
   *   (e.g. ENOSPC) when the segment cannot be created.
   */
  static create(options: ChannelOptions): Channel {
    if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'Channel.create() needs { size }')
    const { size } = options
    if (typeof size !== 'number' || !Number.isInteger(size)) throw typeError(codes.INVALID_ARG, "Channel.create(): 'size' must be an integer")
    if (size < 64 || size > 2 ** 30) throw rangeError(codes.OUT_OF_RANGE, `Channel.create(): 'size' must be from 64 to 2**30 bytes, got ${size}`)
    let capacity = 64
    while (capacity < size) capacity *= 2
    const shm = new SharedMemory({ create: true, size: DATA + capacity })
    const u32 = new Uint32Array(shm._buffer!, 0, DATA / 4)
    u32[W_VERSION] = VERSION
    u32[W_CAPACITY] = capacity
    u32[W_DATA] = DATA
    u32[W_PID[1]] = process.pid
    // The magic last: a header that shows it is complete.
    Atomics.store(new Int32Array(shm._buffer!, 0, 1), W_MAGIC, MAGIC | 0)
    return new Channel(shm, 1)
  }

  /**
   * Opens the other end of a channel from its descriptor (in another thread, process, or the same
   * one). A channel has two ends: attach once.
   * @throws {TypeError} ERR_MEMORYVIEW_CHANNEL_INVALID for a descriptor that is not a channel descriptor.
   * @throws {Error} ERR_MEMORYVIEW_CHANNEL_INVALID when the memory is not a channel of protocol
   *   version 1, or its second end is already attached; ENOENT when the segment is gone (the
   *   creator closed it, or it was attached already). Nothing stays mapped.
   */
  static attach(descriptor: ChannelDescriptor): Channel {
    const d = descriptor as Partial<ChannelDescriptor> | null
    if (d === null || typeof d !== 'object' || d.kind !== 'shm' || typeof d.name !== 'string' || d.name === '') {
      throw typeError(codes.CHANNEL_INVALID, "Channel.attach() needs the descriptor from channel.share(): { kind: 'shm', name, ... }")
    }
    const shm = new SharedMemory({ name: d.name })
    try {
      const invalid = (why: string): Error => plainError(codes.CHANNEL_INVALID, `Channel.attach(): ${why}`)
      if (shm.size < DATA + 64) throw invalid('the shared memory is too small to be a channel')
      const i32 = new Int32Array(shm._buffer!, 0, DATA / 4)
      const u32 = new Uint32Array(shm._buffer!, 0, DATA / 4)
      if (Atomics.load(i32, W_MAGIC) !== (MAGIC | 0)) throw invalid(`'${d.name}' is not a channel`)
      if (u32[W_VERSION] !== VERSION) throw invalid(`protocol version ${u32[W_VERSION]} is not supported (this is version ${VERSION})`)
      const capacity = u32[W_CAPACITY]
      if (capacity < 64 || (capacity & (capacity - 1)) !== 0 || DATA + capacity > shm.size || u32[W_DATA] !== DATA) {
        throw invalid('the channel header is corrupt')
      }
      if (Atomics.compareExchange(i32, W_ATTACHED, 0, 1) !== 0) throw invalid('the channel already has two ends')
      Atomics.store(i32, W_PID[2], process.pid)
    } catch (err) {
      shm.close()
      throw err
    }
    // Both ends are mapped: the name is no longer needed, and removing it now means a crash of
    // either process leaves nothing behind.
    try {
      shm.unlink()
    } catch {
      /* already removed by the creator's close() */
    }
    return new Channel(shm, 2)
  }

  /**
   * The descriptor the other side passes to {@link Channel.attach}: `{ kind: 'shm', name, protocol,
   * version, capacity, size }`, plain data.
   * @throws {Error} ERR_MEMORYVIEW_CHANNEL_CLOSED after close().
   */
  share(): ChannelDescriptor {
    this.#checkOpen()
    return {
      kind: 'shm',
      name: this.#shm.name,
      protocol: 'memoryview.channel',
      version: VERSION,
      capacity: this.#capacity,
      size: this.#shm.size,
    }
  }

  /** Ring bytes (a power of two). */
  get capacity(): number {
    return this.#capacity
  }

  /** The longest message the ring can ever hold: `capacity - 4` bytes. */
  get maxMessageSize(): number {
    return this.#capacity - 4
  }

  /** True after this side's close(). */
  get closed(): boolean {
    return this.#closed
  }

  /** True once the other side closed (what is left can still be received). */
  get peerClosed(): boolean {
    return !this.#closed && Atomics.load(this.#i32, W_CLOSED[this.#peer]) !== 0
  }

  /**
   * Copies one message into the ring, whole, if there is room now.
   * @returns true when sent, false when the ring is full (nothing was written).
   * @throws {Error} ERR_MEMORYVIEW_CHANNEL_CLOSED after either side closed; ERR_MEMORYVIEW_PEER_GONE
   *   when the ring is full and the consumer's process died (a send into a ring with room succeeds:
   *   the message is there for a consumer that drains); ERR_MEMORYVIEW_CHANNEL_INVALID when the other end is the
   *   producer.
   * @throws {RangeError} ERR_MEMORYVIEW_MESSAGE_TOO_LARGE for a message longer than {@link Channel.maxMessageSize}.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for a message that is not bytes.
   */
  trySend(message: ChannelMessage): boolean {
    if (this.#put(message) === 0) return true
    // Checked only when full (a system call): a dead consumer would otherwise look like a slow one.
    this.#checkPeerAlive()
    return false
  }

  /**
   * Sends one message, waiting for room (without blocking the event loop).
   * @returns a Promise that resolves when the message is in the ring, and rejects with what
   *   {@link Channel.trySend} throws, with ERR_MEMORYVIEW_CHANNEL_CLOSED when either side closes
   *   while it waits, ERR_MEMORYVIEW_PEER_GONE within 100 ms of the consumer's process dying, and
   *   ERR_MEMORYVIEW_ABORTED when `signal` aborts. Nothing is half-written.
   */
  async send(message: ChannelMessage, options?: ChannelWaitOptions): Promise<void> {
    const signal = signalOf(options, 'send')
    for (;;) {
      if (signal?.aborted) throw abortedError(signal, 'send()')
      // Read before the attempt: the sleep below compares it, so an advance after it is not missed.
      const seq = Atomics.load(this.#i32, W_HEAD_SEQ)
      const need = this.#put(message)
      if (need === 0) return
      await this.#waitForRoom(seq, need, signal)
    }
  }

  /**
   * The next message, as a zero-copy view of its bytes in the ring (its `obj` is this channel), or
   * null when there is none now (or none will come: see {@link Channel.peerClosed}). The view is
   * valid until the next tryReceive()/receive() or close() on this side, which release it and give
   * its space back to the producer.
   * @throws {Error} ERR_MEMORYVIEW_CHANNEL_CLOSED after this side's close(); ERR_MEMORYVIEW_PEER_GONE
   *   when the ring is empty and the producer's process died; ERR_MEMORYVIEW_CHANNEL_INVALID when the
   *   other end is the consumer.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while the previous message's view, or a view derived
   *   from it (`subarray()`, `cast()`), has an export (a pin): nothing is taken then.
   */
  tryReceive(): MemoryView<'B'> | null {
    this.#startReceive()
    // The closed flag before tail: a close after the last publish is seen only with that publish.
    const peerClosed = Atomics.load(this.#i32, W_CLOSED[this.#peer]) !== 0
    const message = this.#take()
    if (message === null && !peerClosed) this.#checkPeerAlive()
    return message
  }

  /**
   * The next message (see {@link Channel.tryReceive}), waiting for one without blocking the event loop.
   * @returns a Promise of the message's view, or of null once the other side closed and every
   *   message was received; it rejects with ERR_MEMORYVIEW_PEER_GONE within 100 ms of the producer's
   *   process dying (after what it published was received), ERR_MEMORYVIEW_CHANNEL_CLOSED when this
   *   side closes while it waits, ERR_MEMORYVIEW_ABORTED when `signal` aborts.
   */
  async receive(options?: ChannelWaitOptions): Promise<MemoryView<'B'> | null> {
    const signal = signalOf(options, 'receive')
    for (;;) {
      if (signal?.aborted) throw abortedError(signal, 'receive()')
      const seq = Atomics.load(this.#i32, W_TAIL_SEQ)
      this.#startReceive()
      const peerClosed = Atomics.load(this.#i32, W_CLOSED[this.#peer]) !== 0
      const message = this.#take()
      if (message !== null) return message
      if (peerClosed) return null
      await this.#waitForMessage(seq, signal)
    }
  }

  /**
   * Closes this end: the other side drains what was sent, then sees the channel closed. Releases
   * the last received view and unmaps the memory. Idempotent.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a received view, or a view derived from one,
   *   has an export; nothing is closed then (the other side does not see a close).
   */
  close(): void {
    if (this.#closed) return
    // Refused before anything changes (the peer would otherwise see a close that did not happen):
    // an export on any view of a received message, not only on the message's own view, keeps the
    // segment mapped, and the SharedMemory's close() below would throw after the closed flag is set.
    this.#refuseWhileExported()
    this.#current?.release()
    this.#current = null
    const i32 = this.#i32
    Atomics.store(i32, W_CLOSED[this.#end], 1)
    Atomics.add(i32, W_TAIL_SEQ, 1)
    Atomics.add(i32, W_HEAD_SEQ, 1)
    notifyWord(i32, W_TAIL_SEQ, Infinity)
    notifyWord(i32, W_HEAD_SEQ, Infinity)
    this.#closed = true
    // The creator removes the name only when nobody attached and nothing waits to be received:
    // messages sent before the consumer attached are still delivered (the attacher removes it).
    const unlink = this.#end === 1 && Atomics.load(i32, W_ATTACHED) === 0 &&
      Atomics.load(i32, W_TAIL) === Atomics.load(i32, W_HEAD)
    // Settles this side's pending sleeps with RELEASED, which send()/receive() report as closed.
    this.#shm.close()
    if (unlink) {
      try {
        this.#shm.unlink()
      } catch {
        /* the attacher removed it */
      }
    }
  }

  /** `using ch = Channel.create(...)` closes it. */
  [Symbol.dispose](): void {
    this.close()
  }

  #checkOpen(): void {
    if (this.#closed) throw plainError(codes.CHANNEL_CLOSED, 'operation on a channel this side closed')
  }

  #claim(word: number, what: string): void {
    if (this.#role === word) return
    // An end is the producer or the consumer, never both.
    if (this.#role !== 0) throw plainError(codes.CHANNEL_INVALID, `cannot ${what}: this end already does the opposite (a channel carries messages one way)`)
    const owner = Atomics.compareExchange(this.#i32, word, 0, this.#end)
    if (owner !== 0 && owner !== this.#end) {
      throw plainError(codes.CHANNEL_INVALID, `cannot ${what}: the other end already does (a channel carries messages one way)`)
    }
    this.#role = word
  }

  /**
   * BufferError ERR_MEMORYVIEW_EXPORTED while any view over this end's mapping (a received message,
   * or a view derived from one) has an export. A field read: the segment has no windows.
   */
  #refuseWhileExported(): void {
    const n = this.#shm._state.exports
    if (n !== 0) {
      throw new BufferError(
        `memoryview: ${n} exported buffer${n === 1 ? ' is' : 's are'} held on a received message (or a view of it); ` +
          'release the Pin (or end the native export) first',
        codes.EXPORTED,
      )
    }
  }

  #checkPeerAlive(): void {
    const pid = Atomics.load(this.#i32, W_PID[this.#peer]) >>> 0
    if (!pidAlive(pid) && Atomics.load(this.#i32, W_CLOSED[this.#peer]) === 0) {
      throw plainError(codes.PEER_GONE, `the other end of the channel (process ${pid}) died without closing it`)
    }
  }

  /**
   * Copies `message` into the ring as one record: 0 when sent, else (the ring is full) the free bytes
   * the next attempt needs, with nothing written but possibly a wrap marker. Throws what trySend()
   * throws, except PEER_GONE (the callers decide when a full ring is worth a liveness check).
   */
  #put(message: ChannelMessage): number {
    this.#checkOpen()
    const bytes = bytesOf(message)
    this.#claim(W_PRODUCER, 'send')
    if (Atomics.load(this.#i32, W_CLOSED[this.#peer]) !== 0) throw plainError(codes.CHANNEL_CLOSED, 'send on a channel the other side closed')
    const len = bytes.length
    const record = align8(4 + len)
    if (record > this.#capacity) {
      throw rangeError(codes.MESSAGE_TOO_LARGE, `a message of ${len} bytes does not fit a ring of ${this.#capacity} bytes (at most ${this.maxMessageSize})`)
    }
    let tail = this.#u32[W_TAIL]
    let free = this.#capacity - ((tail - (Atomics.load(this.#i32, W_HEAD) >>> 0)) >>> 0)
    let off = tail & this.#mask
    const toEnd = this.#capacity - off
    if (record > toEnd) {
      if (free < toEnd) return toEnd
      this.#dv.setUint32(DATA + off, WRAP, true)
      tail = (tail + toEnd) >>> 0
      free -= toEnd
      off = 0
      this.#publish(tail)
    }
    if (record > free) return record
    this.#dv.setUint32(DATA + off, len, true)
    // One memcpy (a TypedArray set() of bytes), whatever the size.
    this.#u8.set(bytes, DATA + off + 4)
    this.#publish((tail + record) >>> 0)
    return 0
  }

  /** The checks and the release of the previous message that come before taking one. */
  #startReceive(): void {
    this.#checkOpen()
    this.#claim(W_CONSUMER, 'receive')
    this.#releaseCurrent()
  }

  /** The next record as a view (skipping a wrap marker), or null when the ring is empty. */
  #take(): MemoryView<'B'> | null {
    for (;;) {
      const tail = Atomics.load(this.#i32, W_TAIL) >>> 0
      let head = this.#u32[W_HEAD]
      if (tail === head) return null
      const off = head & this.#mask
      const len = this.#dv.getUint32(DATA + off, true)
      if (len === WRAP) {
        head = (head + this.#capacity - off) >>> 0
        this.#advance(head)
        continue
      }
      const start = DATA + off + 4
      this.#current = this.#buf.subarray(start, start + len)
      this.#currentSize = align8(4 + len)
      return this.#current
    }
  }

  #publish(tail: number): void {
    const i32 = this.#i32
    Atomics.store(i32, W_TAIL, tail | 0)
    Atomics.add(i32, W_TAIL_SEQ, 1)
    // One wake-up per sleep: the exchange takes the flag back, so a consumer that sleeps while many
    // messages are published costs one system call, and a busy one (flag 0) none.
    if (Atomics.load(i32, W_CONSUMER_WAITING) !== 0 && Atomics.exchange(i32, W_CONSUMER_WAITING, 0) !== 0) {
      notifyWord(i32, W_TAIL_SEQ, 1)
    }
  }

  #advance(head: number): void {
    const i32 = this.#i32
    Atomics.store(i32, W_HEAD, head | 0)
    Atomics.add(i32, W_HEAD_SEQ, 1)
    // A sleeping producer says how much room it needs: waking it for less would only put it back to
    // sleep (a thread and an event-loop turn on its side for nothing).
    const need = Atomics.load(i32, W_PRODUCER_WAITING) >>> 0
    if (need !== 0 && this.#capacity - ((Atomics.load(i32, W_TAIL) - head) >>> 0) >= need &&
      Atomics.exchange(i32, W_PRODUCER_WAITING, 0) !== 0) {
      notifyWord(i32, W_HEAD_SEQ, 1)
    }
  }

  #releaseCurrent(): void {
    if (this.#current === null) return
    // Before the view's own release() (which only sees exports on that view): a pin on a view derived
    // from it (subarray(), cast()) holds the same ring bytes, which the advance below would hand to
    // the producer to overwrite.
    this.#refuseWhileExported()
    this.#current.release()
    this.#current = null
    this.#advance((this.#u32[W_HEAD] + this.#currentSize) >>> 0)
  }

  /**
   * send()'s wait for `need` free bytes, `seq` being the head sequence read before the failed attempt:
   * it polls for SPIN_MS, then sleeps until the consumer has freed that much.
   */
  async #waitForRoom(seq: number, need: number, signal: AbortSignal | undefined): Promise<void> {
    const i32 = this.#i32
    const closed = W_CLOSED[this.#peer]
    const tail = this.#u32[W_TAIL]
    const until = performance.now() + SPIN_MS
    let free = this.#capacity - ((tail - (Atomics.load(i32, W_HEAD) >>> 0)) >>> 0)
    for (let k = 1; free < need && Atomics.load(i32, closed) === 0; k++) {
      if ((k & 31) === 0 && performance.now() > until) break
      free = this.#capacity - ((tail - (Atomics.load(i32, W_HEAD) >>> 0)) >>> 0)
    }
    if (free >= need || Atomics.load(i32, closed) !== 0) return
    this.#checkPeerAlive()
    await this.#sleep(W_PRODUCER_WAITING, need, W_HEAD_SEQ, seq, signal)
  }

  /** receive()'s wait for a publish (or a close), `seq` being the tail sequence read before the ring was found empty. */
  async #waitForMessage(seq: number, signal: AbortSignal | undefined): Promise<void> {
    const i32 = this.#i32
    const until = performance.now() + SPIN_MS
    for (let k = 1; Atomics.load(i32, W_TAIL_SEQ) === seq; k++) {
      if ((k & 31) === 0 && performance.now() > until) break
    }
    if (Atomics.load(i32, W_TAIL_SEQ) !== seq) return
    this.#checkPeerAlive()
    await this.#sleep(W_CONSUMER_WAITING, 1, W_TAIL_SEQ, seq, signal)
  }

  /**
   * Sleeps on `seqWord` while it is `seq` (at most SLICE_MS), announcing it by storing `flag` in
   * `flagWord`. The flag only now, after the poll, so that the peer makes no wake-up call per
   * message while this side polls; waitWord() compares the sequence again, atomically in the kernel.
   */
  async #sleep(flagWord: number, flag: number, seqWord: number, seq: number, signal: AbortSignal | undefined): Promise<void> {
    const i32 = this.#i32
    Atomics.store(i32, flagWord, flag)
    let result
    try {
      result = await waitWord(i32, seqWord, seq, SLICE_MS, signal)
    } catch (err) {
      if (this.#closed) throw plainError(codes.CHANNEL_CLOSED, 'the channel was closed by this side while waiting')
      throw err
    } finally {
      if (!this.#closed) Atomics.store(i32, flagWord, 0)
    }
    // Woken by this side's own close() (its notify can beat the unmap's cancellation).
    if (this.#closed) throw plainError(codes.CHANNEL_CLOSED, 'the channel was closed by this side while waiting')
    // A whole slice without news: the peer may be dead. Checked now, not after the next poll, so
    // that the documented bound (100 ms) holds.
    if (result === 'timed-out') this.#checkPeerAlive()
  }
}
