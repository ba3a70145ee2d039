// Compile-time tests of the public types (tsc --noEmit -p test/types, run by `npm test`).
// Positive lines must compile; each `@ts-expect-error` line must NOT compile (tsc fails with
// "Unused '@ts-expect-error' directive" when one starts compiling). Nothing here runs.
import {
  BUFFER_PROTOCOL, MemoryView, Pin, memoryview,
} from 'memoryview'
import type {
  BufferDescriptor, FormatOfSource, FormatString, Index, MemoryViewConstructor, MemoryViewJSON,
  NestedList, StoreValueOf, TypedArrayOf, Value, ValueOf,
} from 'memoryview'
import { type Equal, expectType } from './util'

declare const n: number

// ---------------------------------------------------------------- memoryview(x) infers the format
expectType<Equal<typeof memoryview extends (s: never) => unknown ? true : false, true>>(true)
expectType<Equal<ReturnType<typeof f>, MemoryView<'d'>>>(true)
function f() { return memoryview(new Float64Array(n)) }
const viewOf = <S extends Parameters<typeof memoryview>[0]>(s: S) => memoryview(s)
expectType<Equal<typeof viewOf extends unknown ? FormatOfSource<Buffer> : never, 'B'>>(true)
expectType<Equal<FormatOfSource<Uint8Array>, 'B'>>(true)
expectType<Equal<FormatOfSource<Uint8ClampedArray>, 'B'>>(true)
expectType<Equal<FormatOfSource<DataView>, 'B'>>(true)
expectType<Equal<FormatOfSource<ArrayBuffer>, 'B'>>(true)
expectType<Equal<FormatOfSource<SharedArrayBuffer>, 'B'>>(true)
expectType<Equal<FormatOfSource<Int8Array>, 'b'>>(true)
expectType<Equal<FormatOfSource<Int16Array>, 'h'>>(true)
expectType<Equal<FormatOfSource<Uint16Array>, 'H'>>(true)
expectType<Equal<FormatOfSource<Int32Array>, 'i'>>(true)
expectType<Equal<FormatOfSource<Uint32Array>, 'I'>>(true)
expectType<Equal<FormatOfSource<BigInt64Array>, 'q'>>(true)
expectType<Equal<FormatOfSource<BigUint64Array>, 'Q'>>(true)
expectType<Equal<FormatOfSource<Float32Array>, 'f'>>(true)
expectType<Equal<FormatOfSource<Float64Array>, 'd'>>(true)
expectType<Equal<FormatOfSource<MemoryView<'<h'>>, '<h'>>(true)
expectType<Equal<FormatOfSource<ArrayBufferView>, FormatString>>(true)
expectType<Equal<FormatOfSource<{ [Symbol.iterator]: 1 } & { [k: symbol]: () => { buffer: ArrayBuffer; byteOffset: number; format: '<d' } }>, FormatString>>(true)

const bytes = memoryview(Buffer.alloc(8))
expectType<Equal<typeof bytes, MemoryView<'B'>>>(true)
expectType<Equal<typeof bytes, MemoryView<'B'>>>(true)
const d = new MemoryView(new Float64Array(4))
expectType<Equal<typeof d, MemoryView<'d'>>>(true)
expectType<Equal<MemoryView<FormatOfSource<typeof d>>, MemoryView<'d'>>>(true)
expectType<Equal<typeof memoryview extends unknown ? ReturnType<MemoryViewConstructor['prototype']['toreadonly']> : 0, MemoryView>>(true)
const q = memoryview(new BigInt64Array(2))
expectType<Equal<typeof q, MemoryView<'q'>>>(true)
expectType<Equal<typeof q, ReturnType<typeof memoryview<BigInt64Array>>>>(true)
// @ts-expect-error not a source
memoryview('abc')
// @ts-expect-error not a source
new MemoryView(42)

// MemoryView with no type argument: the union; every typed view is assignable to it.
const any: MemoryView = d
const anyToo: MemoryView = q
expectType<Equal<MemoryView, MemoryView<FormatString>>>(true)
// @ts-expect-error a MemoryView<'q'> is not a MemoryView<'d'>
const notD: MemoryView<'d'> = q
expectType<Equal<ReturnType<typeof memoryview<any>>, MemoryView>>(true)
const u: unknown = d
if (u instanceof MemoryView) expectType<Equal<typeof u, MemoryView>>(true)

// ---------------------------------------------------------------- element types
let sum = 0
sum += d.get(0)
for (const x of d) sum += x
expectType<Equal<ReturnType<typeof q.get>, bigint>>(true)
expectType<Equal<ReturnType<MemoryView<'?'>['get']>, boolean>>(true)
expectType<Equal<ReturnType<MemoryView<'c'>['get']>, Buffer>>(true)
expectType<Equal<ReturnType<MemoryView['get']>, Value>>(true)
expectType<Equal<ReturnType<MemoryView<string>['get']>, Value>>(true)
const hex: string = bytes.get(0).toString(16)
// @ts-expect-error a bigint is not a number
sum += q.get(0)
// Byte-order and '@' prefixes keep the value type.
expectType<Equal<ValueOf<'<d'>, number>>(true)
expectType<Equal<ValueOf<'>q'>, bigint>>(true)
expectType<Equal<ValueOf<'@Q'>, bigint>>(true)
expectType<Equal<ValueOf<'=?'>, boolean>>(true)
expectType<Equal<ValueOf<'!c'>, Buffer>>(true)
for (const ch of ['b', 'B', 'h', 'H', 'i', 'I', 'f', 'd', 'e'] as const) expectType<Equal<ValueOf<typeof ch>, number>>(true)
for (const ch of ['l', 'L', 'q', 'Q', 'n', 'N', 'P'] as const) expectType<Equal<ValueOf<typeof ch>, bigint>>(true)

// Indices: number | bigint, any count (checked at run time).
d.get()
d.get(1n)
d.get(0, 1, 2, 3n)
const idx: Index = 1n
d.get(idx)
// @ts-expect-error an index is a number or bigint
d.get('0')

// ---------------------------------------------------------------- set(): the store type of the format
d.set(1.5)
d.set(0, 1.5)
d.set(0, 1n)
d.set(0, true)
d.set(0, 1, 2.5)
d.set(0, 1n, 2, 3, 4.5)
q.set(0, 5n)
q.set(0, 5)
memoryview(Buffer.alloc(1)).cast('c').set(0, Buffer.from('a'))
memoryview(Buffer.alloc(1)).cast('?').set(0, true)
// @ts-expect-error the catch-all is gone
d.set('a', 'b', 'c', 'd')
// @ts-expect-error no value
d.set()
// @ts-expect-error a string is not a number
d.set(0, '1')
// @ts-expect-error 'c' stores a 1-byte Uint8Array, not a number
memoryview(Buffer.alloc(1)).cast('c').set(0, 1)
// @ts-expect-error the value comes last
d.set(0, 1, 2, '3')
expectType<Equal<StoreValueOf<'d'>, number | bigint | boolean>>(true)
expectType<Equal<StoreValueOf<'c'>, Uint8Array>>(true)
expectType<Equal<StoreValueOf<FormatString>, number | bigint | boolean | Uint8Array>>(true)

// ---------------------------------------------------------------- tolist(), toTypedArray()
expectType<Equal<ReturnType<typeof d.tolist>, number | NestedList<number>>>(true)
const rows = d.tolist()
if (Array.isArray(rows)) expectType<Equal<typeof rows, NestedList<number>>>(true)
else sum += rows
expectType<Equal<ReturnType<typeof d.toTypedArray>, Float64Array>>(true)
expectType<Equal<ReturnType<typeof bytes.toTypedArray>, Buffer>>(true)
expectType<Equal<TypedArrayOf<'c'>, Buffer>>(true)
expectType<Equal<TypedArrayOf<'b'>, Int8Array>>(true)
expectType<Equal<TypedArrayOf<'h'>, Int16Array>>(true)
expectType<Equal<TypedArrayOf<'H'>, Uint16Array>>(true)
expectType<Equal<TypedArrayOf<'i'>, Int32Array>>(true)
expectType<Equal<TypedArrayOf<'I'>, Uint32Array>>(true)
expectType<Equal<TypedArrayOf<'q' | 'l' | 'n'>, BigInt64Array>>(true)
expectType<Equal<TypedArrayOf<'Q' | 'L' | 'N' | 'P'>, BigUint64Array>>(true)
expectType<Equal<TypedArrayOf<'f'>, Float32Array>>(true)
expectType<Equal<TypedArrayOf<'<d'>, Float64Array>>(true)
expectType<Equal<TypedArrayOf<'?'>, never>>(true)
expectType<Equal<TypedArrayOf<'<l'>, never>>(true)
// This project's lib (ES2022) has no Float16Array: 'e' falls back to ArrayBufferView.
expectType<Equal<TypedArrayOf<'e'>, ArrayBufferView>>(true)
d.toTypedArray()[0] = 1.5

// ---------------------------------------------------------------- cast(), other view-returning members
expectType<Equal<typeof q, ReturnType<typeof bytes.cast<'q'>>>>(true)
const c1 = bytes.cast('<d')
expectType<Equal<typeof c1, MemoryView<'<d'>>>(true)
const c2 = bytes.cast('i', [2])
expectType<Equal<typeof c2, MemoryView<'i'>>>(true)
declare const dyn: string
const c3 = bytes.cast(dyn)
expectType<Equal<typeof c3, MemoryView>>(true)
// @ts-expect-error a typo in a literal format
bytes.cast('Z')
// @ts-expect-error 'n' has no byte-order form
bytes.cast('<n')
// @ts-expect-error the shape is an array of numbers
bytes.cast('B', 3)
expectType<Equal<ReturnType<typeof d.subarray>, MemoryView<'d'>>>(true)
expectType<Equal<ReturnType<typeof d.toreadonly>, MemoryView<'d'>>>(true)
d.subarray(1n, null, -1)
d.subarray(undefined, 2)
expectType<Equal<typeof d.format, 'd'>>(true)
expectType<Equal<typeof c3.format, FormatString>>(true)

// ---------------------------------------------------------------- the other members
const attrs: [unknown, number, boolean, number, number, readonly number[], readonly number[], readonly number[], boolean, boolean, boolean, number, boolean] =
  [d.obj, d.nbytes, d.readonly, d.itemsize, d.ndim, d.shape, d.strides, d.suboffsets, d.c_contiguous, d.f_contiguous, d.contiguous, d.length, d.released]
const b: Buffer = d.tobytes('F')
d.tobytes()
// @ts-expect-error orders are 'C', 'F', 'A'
d.tobytes('X')
const h: string = d.hex(':', 2)
d.hex(Buffer.from('-'))
const eq: boolean = d.equals(new Float64Array(4))
const hsh: number = bytes.toreadonly().hash()
bytes.subarray(0, 2).assign(Buffer.alloc(2))
const pin: Pin = d.pin()
pin.release()
const pr: boolean = pin.released
{
  using p2 = d.pin()
  using v2 = memoryview(new Uint8Array(1))
}
d.release()
d[Symbol.dispose]()
const json: MemoryViewJSON = d.toJSON()
const exported: BufferDescriptor = d[BUFFER_PROTOCOL]()
const copy: Buffer = d.valueOf()
const ro: MemoryView<'B'> = memoryview(bytes.toreadonly())
const str: string = String(d) + d.toString()

export { any, anyToo, notD, hex, attrs, b, h, eq, hsh, pr, json, str, exported, copy, ro }
