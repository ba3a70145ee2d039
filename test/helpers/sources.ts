/**
 * Every kind of source a MemoryView can be made from, as factories over given bytes.
 *
 * Ownership rules: a factory copies the bytes into fresh memory of its kind and returns
 * `memory`, a Uint8Array over exactly the bytes the view will see, so a test can check that
 * the view is zero-copy in both directions. `dispose()` (when present) frees what the factory
 * made (a mapping, a shared-memory segment); tests call it in `finally`.
 *
 * Adding a source kind is one entry in SOURCE_KINDS. External memory (a mapped file, shared
 * memory) is a kind like any other: `source` and `obj` are the owner (MappedFile, SharedMemory),
 * `memory` is a TypedArray over the mapping, and `dispose()` closes the owner and removes the
 * file or segment.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { memoryview, mmap, allocationGranularity, BUFFER_PROTOCOL, MemoryView, SharedMemory } from 'memoryview'
import type { Source } from 'memoryview'

export interface MadeSource {
  /** What is passed to memoryview(). */
  source: Source | MemoryView
  /** What `memoryview(source).obj` must be. */
  obj: unknown
  /** A live window over exactly the view's bytes. */
  memory: Uint8Array
  dispose?: () => void
}

export interface SourceKind {
  name: string
  /** `format` of memoryview(source). */
  format: string
  itemsize: number
  /** Builds a source holding `bytes` (length a multiple of itemsize). */
  make(bytes: Uint8Array): MadeSource
}

/** Gap placed before the data of every ArrayBufferView, so a lost byteOffset shows. */
export const VIEW_OFFSET = 8

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView & { length: number }
  BYTES_PER_ELEMENT: number
  name: string
}

function backing(bytes: Uint8Array, shared: boolean): { buffer: ArrayBufferLike; memory: Uint8Array } {
  const size = VIEW_OFFSET + bytes.length + 8
  const buffer = shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)
  const whole = new Uint8Array(buffer)
  // Poison the bytes around the data; a view must never read them.
  whole.fill(0xee)
  const memory = new Uint8Array(buffer, VIEW_OFFSET, bytes.length)
  memory.set(bytes)
  return { buffer, memory }
}

function typedKind(ctor: TypedArrayCtor, format: string, shared = false): SourceKind {
  return {
    name: shared ? `${ctor.name} on SharedArrayBuffer` : ctor.name,
    format,
    itemsize: ctor.BYTES_PER_ELEMENT,
    make(bytes) {
      const { buffer, memory } = backing(bytes, shared)
      const source = new ctor(buffer, VIEW_OFFSET, bytes.length / ctor.BYTES_PER_ELEMENT)
      return { source, obj: source, memory }
    },
  }
}

/** A buffer-protocol exporter over `memory`, counting acquire and release calls. */
export function makeExporter(
  memory: Uint8Array,
  desc: { format?: string; shape?: number[]; strides?: number[]; byteOffset?: number; readonly?: boolean } = {},
): { exporter: Source; calls: { acquire: number; release: number } } {
  const calls = { acquire: 0, release: 0 }
  const exporter = {
    [BUFFER_PROTOCOL]() {
      calls.acquire++
      return {
        buffer: memory.buffer,
        byteOffset: desc.byteOffset ?? memory.byteOffset,
        format: desc.format ?? 'B',
        shape: desc.shape ?? [memory.length],
        strides: desc.strides ?? [1],
        readonly: desc.readonly ?? false,
        release() {
          calls.release++
        },
      }
    },
  }
  return { exporter, calls }
}

function newResizable(length: number, maxByteLength: number): ArrayBuffer {
  return new (ArrayBuffer as any)(length, { maxByteLength })
}

function newGrowable(length: number, maxByteLength: number): SharedArrayBuffer {
  return new (SharedArrayBuffer as any)(length, { maxByteLength })
}

let tempDir: string | null = null
let tempFiles = 0

/** A fresh path in a directory of this process's own, removed when the process exits. */
export function tempPath(stem: string): string {
  if (tempDir === null) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-test-'))
    tempDir = dir
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  }
  return path.join(tempDir, `${stem}-${process.pid}-${tempFiles++}`)
}

/** Closes an owner of external memory, then runs `cleanup` even when close() refused. */
function closeThen(owner: { close(): void }, cleanup: () => void): () => void {
  return () => {
    try {
      owner.close()
    } finally {
      cleanup()
    }
  }
}

/**
 * A 'write' mapping of a temp file. The data sits one allocation granule into the file, between
 * poison bytes, and is mapped with `offset` and `length`, so a lost offset or an overlong
 * mapping shows.
 */
export const MAPPED_FILE_KIND: SourceKind = {
  name: "mapped file ('write', offset one granule)",
  format: 'B',
  itemsize: 1,
  make(bytes) {
    const granule = allocationGranularity()
    const file = tempPath('mapped')
    const contents = Buffer.alloc(granule + bytes.length + 8, 0xee)
    contents.set(bytes, granule)
    fs.writeFileSync(file, contents)
    const owner = mmap(file, { access: 'write', offset: granule, length: bytes.length })
    const memory = owner.buf.toTypedArray() as Uint8Array
    return { source: owner, obj: owner, memory, dispose: closeThen(owner, () => fs.rmSync(file, { force: true })) }
  },
}

/** A POSIX shared-memory segment of exactly the data's size. */
export const SHARED_MEMORY_KIND: SourceKind = {
  name: 'SharedMemory segment',
  format: 'B',
  itemsize: 1,
  make(bytes) {
    const owner = new SharedMemory({ create: true, size: bytes.length })
    const memory = owner.buf.toTypedArray() as Uint8Array
    memory.set(bytes)
    return {
      source: owner,
      obj: owner,
      memory,
      dispose: closeThen(owner, () => owner.unlink()),
    }
  },
}

export const SOURCE_KINDS: SourceKind[] = [
  {
    name: 'Buffer',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const { buffer, memory } = backing(bytes, false)
      const source = Buffer.from(buffer, VIEW_OFFSET, bytes.length)
      return { source, obj: source, memory }
    },
  },
  typedKind(Uint8Array, 'B'),
  typedKind(Uint8ClampedArray, 'B'),
  typedKind(Int8Array, 'b'),
  typedKind(Int16Array, 'h'),
  typedKind(Uint16Array, 'H'),
  typedKind(Int32Array, 'i'),
  typedKind(Uint32Array, 'I'),
  typedKind(BigInt64Array as unknown as TypedArrayCtor, 'q'),
  typedKind(BigUint64Array as unknown as TypedArrayCtor, 'Q'),
  typedKind(Float32Array, 'f'),
  typedKind(Float64Array, 'd'),
  ...('Float16Array' in globalThis ? [typedKind((globalThis as any).Float16Array, 'e')] : []),
  typedKind(Int16Array, 'h', true),
  typedKind(Float64Array, 'd', true),
  {
    name: 'DataView',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const { buffer, memory } = backing(bytes, false)
      const source = new DataView(buffer, VIEW_OFFSET, bytes.length)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'ArrayBuffer',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const source = new ArrayBuffer(bytes.length)
      const memory = new Uint8Array(source)
      memory.set(bytes)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'SharedArrayBuffer',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const source = new SharedArrayBuffer(bytes.length)
      const memory = new Uint8Array(source)
      memory.set(bytes)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'resizable ArrayBuffer',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const source = newResizable(bytes.length, bytes.length * 2 + 16)
      const memory = new Uint8Array(source, 0, bytes.length)
      memory.set(bytes)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'length-tracking Int32Array on a resizable ArrayBuffer',
    format: 'i',
    itemsize: 4,
    make(bytes) {
      const rab = newResizable(VIEW_OFFSET + bytes.length, VIEW_OFFSET + bytes.length * 2 + 16)
      const source = new Int32Array(rab, VIEW_OFFSET)
      const memory = new Uint8Array(rab, VIEW_OFFSET, bytes.length)
      memory.set(bytes)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'growable SharedArrayBuffer',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const source = newGrowable(bytes.length, bytes.length * 2 + 16)
      const memory = new Uint8Array(source, 0, bytes.length)
      memory.set(bytes)
      return { source, obj: source, memory }
    },
  },
  {
    name: 'MemoryView',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const { buffer, memory } = backing(bytes, false)
      const root = Buffer.from(buffer, VIEW_OFFSET, bytes.length)
      // A view over a view shares the root's obj (CPython's managed buffer).
      return { source: memoryview(root), obj: root, memory }
    },
  },
  {
    name: "MemoryView cast to 'h'",
    format: 'h',
    itemsize: 2,
    make(bytes) {
      const { buffer, memory } = backing(bytes, false)
      const root = new Uint8Array(buffer, VIEW_OFFSET, bytes.length)
      return { source: memoryview(root).cast('h'), obj: root, memory }
    },
  },
  {
    name: 'buffer-protocol object',
    format: 'B',
    itemsize: 1,
    make(bytes) {
      const { memory } = backing(bytes, false)
      const { exporter } = makeExporter(memory)
      return { source: exporter, obj: exporter, memory }
    },
  },
  {
    name: "buffer-protocol object, format 'I'",
    format: 'I',
    itemsize: 4,
    make(bytes) {
      const { memory } = backing(bytes, true)
      const { exporter } = makeExporter(memory, { format: 'I', shape: [bytes.length / 4], strides: [4] })
      return { source: exporter, obj: exporter, memory }
    },
  },
  MAPPED_FILE_KIND,
  SHARED_MEMORY_KIND,
]

/** Runs `fn` with a fresh source of `kind` holding `bytes`, disposing of it afterwards. */
export function withSource<T>(kind: SourceKind, bytes: Uint8Array, fn: (made: MadeSource) => T): T {
  const made = kind.make(bytes)
  try {
    return fn(made)
  } finally {
    made.dispose?.()
  }
}
