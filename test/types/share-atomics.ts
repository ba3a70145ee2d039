// Compile-time tests of share(), attach() and the atomics (tsc --noEmit -p test/types).
// Positive lines must compile; each `@ts-expect-error` line must NOT compile. Nothing here runs.
import { MemoryView, attach, memoryview } from 'memoryview'
import type {
  AtomicFormat, AtomicValueOf, SharedArrayBufferDescriptor, SharedMemoryDescriptor, SharedViewDescriptor,
} from 'memoryview'
import { type Equal, expectType } from './util'

declare const sab: SharedArrayBuffer

// ---------------------------------------------------------------- share() / attach()
const i32 = memoryview(new Int32Array(sab))
const d = i32.share()
expectType<Equal<typeof d, SharedViewDescriptor<'i'>>>(true)
if (d.kind === 'shm') expectType<Equal<typeof d.name, string>>(true)
if (d.kind === 'file') expectType<Equal<typeof d.path, string>>(true)
if (d.kind === 'sab') expectType<Equal<typeof d.buffer, SharedArrayBuffer>>(true)
expectType<Equal<ReturnType<typeof attach<'i'>>, MemoryView<'i'>>>(true)
const back = attach(d)
expectType<Equal<typeof back, MemoryView<'i'>>>(true)
expectType<Equal<typeof memoryview.attach, typeof attach>>(true)
const fromJson = attach(JSON.parse('{}') as SharedMemoryDescriptor)
expectType<Equal<typeof fromJson, MemoryView>>(true)
const sabDesc: SharedArrayBufferDescriptor = { kind: 'sab', buffer: sab, byteOffset: 0, format: 'B', shape: [1], strides: [1], readonly: false }
attach(sabDesc)
// @ts-expect-error kind 'shm' needs a name
attach({ kind: 'shm', byteOffset: 0, format: 'B', shape: [1], strides: [1], readonly: false })

// ---------------------------------------------------------------- atomics: number for 32-bit and smaller, bigint for 64-bit
expectType<Equal<ReturnType<typeof i32.add>, number>>(true)
expectType<Equal<typeof i32.compareExchange extends (i: number, e: number, r: number) => number ? true : false, true>>(true)
const n1: number = i32.add(0, 1)
const n2: number = i32.load(-1)
const n3: number = i32.compareExchange(0, 1, 2)
const q = memoryview(new BigInt64Array(sab))
const b1: bigint = q.add(0, 1n)
const b2: bigint = q.exchange(0, 5)
const m2 = memoryview(sab).cast('<H', [2, 2])
const n4: number = m2.add(1, 1, 3)
const n5: number = m2.load(1, 1)
expectType<Equal<AtomicValueOf<'=Q'>, bigint>>(true)
expectType<Equal<AtomicValueOf<'@b'>, number>>(true)
expectType<Equal<AtomicValueOf<'d'>, never>>(true)
expectType<Equal<AtomicValueOf<string>, number | bigint>>(true)
expectType<Equal<'>i' extends AtomicFormat ? true : false, false>>(true)
const any = memoryview(sab).cast('i' as string)
const nb: number | bigint = any.add(0, 1)
const f64 = memoryview(new Float64Array(sab))
// @ts-expect-error float formats have no atomics
f64.add(0, 1)
// @ts-expect-error values are what set() takes: numbers, bigints, booleans, never strings
i32.store(0, '1')
// Views stay covariant in their format with the new members.
const wide: MemoryView = f64
void [n1, n2, n3, b1, b2, n4, n5, nb, wide, back]
