// Types of wait/notify (i10b) and Channel: wait/notify only on 32-bit integer views, Channel messages
// are byte views.
import { Channel, memoryview, MemoryView, SharedMemory } from 'memoryview'
import type { ChannelDescriptor, WaitResult } from 'memoryview'
import { type Equal, expectType } from './util'

const i32 = memoryview(new Int32Array(new SharedArrayBuffer(16)))
expectType<Equal<ReturnType<typeof i32.wait>, WaitResult>>(true)
expectType<Equal<WaitResult, 'ok' | 'not-equal' | 'timed-out'>>(true)
const r: Promise<WaitResult> = i32.waitAsync(0, 0, { timeout: 10, signal: new AbortController().signal })
void r
const woke: number = memoryview(new Uint32Array(new SharedArrayBuffer(8))).notify(-1)
void woke
i32.wait(0n, 0n)

const f64 = memoryview(new Float64Array(new SharedArrayBuffer(16)))
// @ts-expect-error wait() is only for 'i'/'I' views
f64.wait(0, 0)
// @ts-expect-error notify() is only for 'i'/'I' views
memoryview(new SharedArrayBuffer(8)).notify(0)
// @ts-expect-error the timeout is an option object for waitAsync
i32.waitAsync(0, 0, 5)

const shm = new SharedMemory({ create: true, size: 64 })
shm.buf.cast('i').notify(0)

const ch = Channel.create({ size: 1024 })
const d: ChannelDescriptor = ch.share()
expectType<Equal<typeof d.kind, 'shm'>>(true)
const other = Channel.attach(d)
const sent: boolean = ch.trySend(new Uint8Array(4))
void sent
const m = other.tryReceive()
expectType<Equal<typeof m, MemoryView<'B'> | null>>(true)
const p: Promise<MemoryView<'B'> | null> = other.receive({ signal: AbortSignal.timeout(10) })
void p
void ch.send(memoryview(new Float32Array(2)))
// @ts-expect-error messages are bytes, not strings
ch.trySend('text')
// @ts-expect-error size is required
Channel.create({})
