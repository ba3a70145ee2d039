// Compile-time tests: owners of external memory, native-author exports, errors and codes.
import {
  BufferError, MappedFile, NATIVE_API, NativeExportHandle, NativeMemory, SharedMemory, allocationGranularity, bufferFlags,
  codes, exportToNative, include, isMemoryViewError, memoryview, mmap, nativeAvailable, nativeLoadError, BUFFER_PROTOCOL,
} from 'memoryview'
import type {
  Access, BufferDescriptor, ErrorCode, MappedFileJSON, MemoryView, MemoryViewError, MmapOptions, NativeApi,
  NativeDescriptor, SharedMemoryJSON, SharedMemoryOptions, Source, SystemErrorCode,
} from 'memoryview'
import { type Equal, expectType } from './util'

// ---------------------------------------------------------------- mmap and MappedFile
const opts: MmapOptions = { access: 'write', offset: 0, length: 16, size: 16 }
const acc: Access = 'copy'
// @ts-expect-error access is 'read' | 'write' | 'copy'
const badOpts: MmapOptions = { access: 'rw' }
const mf: MappedFile = mmap('/tmp/x', opts)
mmap(3)
mmap(new URL('file:///tmp/x'))
expectType<Equal<typeof mf.buf, MemoryView<'B'>>>(true)
expectType<Equal<ReturnType<typeof memoryview<MappedFile>>, MemoryView<'B'>>>(true)
const size: number = mf.size
mf.flush()
mf.flush(0, 16)
const mfj: MappedFileJSON = mf.toJSON()
mf.lease().release()
mf.close()
mf[Symbol.dispose]()
const gran: number = allocationGranularity()

// ---------------------------------------------------------------- SharedMemory
const so: SharedMemoryOptions = { name: 'x', create: true, size: 16 }
// @ts-expect-error size is a number
const badSo: SharedMemoryOptions = { size: '16' }
const shm = new SharedMemory(so)
new SharedMemory()
expectType<Equal<typeof shm.buf, MemoryView<'B'>>>(true)
expectType<Equal<ReturnType<typeof memoryview<SharedMemory>>, MemoryView<'B'>>>(true)
const nm: string = shm.name
const sj: SharedMemoryJSON = shm.toJSON()
shm.lease().release()
shm.close()
shm.unlink()

// ---------------------------------------------------------------- buffer protocol and native authors
const desc: BufferDescriptor = { buffer: new ArrayBuffer(8), byteOffset: 0, format: 'd', shape: [1], strides: [8], readonly: false, release() {} }
const exporter = { [BUFFER_PROTOCOL]: () => desc }
const src: Source = exporter
expectType<Equal<ReturnType<typeof memoryview<typeof exporter>>, MemoryView>>(true)
const literalExporter = { [BUFFER_PROTOCOL]: () => ({ buffer: new ArrayBuffer(8), byteOffset: 0, format: '<d' as const }) }
expectType<Equal<ReturnType<typeof memoryview<typeof literalExporter>>, MemoryView<'<d'>>>(true)
const noFormat = { [BUFFER_PROTOCOL]: () => ({ buffer: new ArrayBuffer(8), byteOffset: 0 }) }
expectType<Equal<ReturnType<typeof memoryview<typeof noFormat>>, MemoryView<'B'>>>(true)
const handle: NativeExportHandle = exportToNative(new Float64Array(1))
const nd: NativeDescriptor = handle.describe()
const addr: bigint = handle.address
const rel: boolean = handle.released
handle.release()
const flags: number = bufferFlags.WRITABLE | bufferFlags.STRIDES
const api = (globalThis as unknown as Record<typeof NATIVE_API, NativeApi>)[NATIVE_API]
const ver: number = api.version
declare const mem: NativeMemory
mem.close()
mem[Symbol.dispose]()
const closed: boolean = mem.closed
const memBuffer: ArrayBuffer | SharedArrayBuffer = mem.buffer
expectType<Equal<ReturnType<typeof memoryview<NativeMemory>>, MemoryView>>(true)
const wrapped: MemoryView = api.wrap(new ArrayBuffer(8), 0, 'd', 8, [1], [8], false)
const loaded: boolean = nativeAvailable()
const why: Error | undefined = nativeLoadError()
const inc: string = include

// ---------------------------------------------------------------- errors
expectType<Equal<ErrorCode, (typeof codes)[keyof typeof codes]>>(true)
expectType<Equal<typeof codes.RELEASED, 'ERR_MEMORYVIEW_RELEASED'>>(true)
expectType<Equal<BufferError['code'], ErrorCode>>(true)
// @ts-expect-error a BufferError's code is one of the package's codes
new BufferError('memoryview: x', 'ERR_NOT_OURS')
new BufferError('memoryview: x', codes.EXPORTED)
declare const caught: unknown
// @ts-expect-error `code` does not exist on unknown
caught.code
if (isMemoryViewError(caught)) {
  expectType<Equal<typeof caught.code, ErrorCode | SystemErrorCode>>(true)
  const e: Error = caught
  const m: string = caught.message
}
if (isMemoryViewError(caught, 'ENOENT')) {
  expectType<Equal<typeof caught.code, 'ENOENT'>>(true)
  const sc: string | undefined = caught.syscall
  const en: number | undefined = caught.errno
}
if (isMemoryViewError(caught, codes.RELEASED)) expectType<Equal<typeof caught, MemoryViewError<'ERR_MEMORYVIEW_RELEASED'>>>(true)
// @ts-expect-error a literal that is not a code
isMemoryViewError(caught, 'ERR_MEMORYVIEW_RELESED')
// @ts-expect-error a typo'd errno name
isMemoryViewError(caught, 'ENOENTT')
try {
  mmap('/missing')
} catch (err) {
  if (isMemoryViewError(err, 'ENOENT') || isMemoryViewError(err, codes.EMPTY_FILE)) expectType<Equal<typeof err.code, 'ENOENT' | 'ERR_MEMORYVIEW_EMPTY_FILE'>>(true)
}

export { memBuffer, wrapped, acc, badOpts, size, mfj, gran, badSo, nm, sj, src, nd, addr, rel, flags, ver, closed, loaded, why, inc }
