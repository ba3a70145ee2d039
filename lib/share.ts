/**
 * Handing views to other threads and processes: `view.share()` describes the memory under a view as a
 * plain, structured-cloneable object, and `attach(descriptor)` builds an equal view over the same
 * bytes in the receiving thread or process.
 *
 * Ownership rules:
 *   - share() maps nothing and takes nothing: the descriptor names memory (a shared-memory segment by
 *     name, a file by absolute path, a SharedArrayBuffer by reference) and a layout within it. The
 *     sender's view, mapping and owner stay the sender's.
 *   - attach() maps its own mapping (a SharedMemory or MappedFile of its own, the view's `obj`). It is
 *     closed when the last view derived from the attached view is released (`release()`, `using`) or
 *     garbage collected, or earlier by `view.obj.close()`. A failed attach leaves nothing mapped.
 *
 * Assumptions: a descriptor is untrusted input (it may come from another process, or from JSON): every
 * field is read once and validated — kind, name or path, byteOffset, format, shape, strides against
 * the segment's or file's size — before anything is mapped, and once more against the mapping's size.
 */
import { statSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { codes, rangeError, typeError } from './errors'
import { ExternalOwner, ownedStateOf } from './external'
import { parseSingleFormat } from './format'
import type { Format } from './format'
import { bufferByteLength, isSharedArrayBuffer } from './intrinsics'
import { ManagedBuffer, externalOf } from './managed-buffer'
import { MemoryView } from './memoryview'
import { allocationGranularity, mmap } from './mmap'
import { shmSizePath } from './platform'
import { SharedMemory } from './shm'
import { MAX_NDIM } from './sources'
import { extent } from './shape'
import type { FormatString } from './value-types'

/** What every {@link SharedViewDescriptor} holds: the layout of the view within the shared memory. */
export interface SharedViewLayout<F extends string = FormatString> {
  /**
   * Where element [0, ..., 0] is: from the start of the segment ('shm'), of the file ('file'), or of
   * the SharedArrayBuffer ('sab'). With negative strides the view reaches below it.
   */
  byteOffset: number
  /** The view's format (`view.format`). */
  format: F
  /** The view's shape. */
  shape: number[]
  /** The view's strides in bytes. */
  strides: number[]
  /** Whether the attached view is readonly. */
  readonly: boolean
}

/**
 * A view over POSIX shared memory ({@link SharedMemory}): `name` is the segment's name without the
 * leading slash, the name Python's `multiprocessing.shared_memory.SharedMemory(name)` opens.
 */
export interface SharedMemoryDescriptor<F extends string = FormatString> extends SharedViewLayout<F> {
  /** The kind of memory. */
  kind: 'shm'
  /** The segment's name, without the leading slash. */
  name: string
}

/**
 * A view over a file mapped with access 'write' (a shared mapping): `path` is absolute and
 * `byteOffset` counts from the start of the file, whatever offset the sender mapped.
 */
export interface SharedFileDescriptor<F extends string = FormatString> extends SharedViewLayout<F> {
  /** The kind of memory. */
  kind: 'file'
  /** The file's absolute path. */
  path: string
}

/**
 * A view over a SharedArrayBuffer, carried by reference: `postMessage()` and `structuredClone()`
 * keep it shared, but JSON cannot carry it (`JSON.stringify` writes `buffer` as `{}`).
 */
export interface SharedArrayBufferDescriptor<F extends string = FormatString> extends SharedViewLayout<F> {
  /** The kind of memory. */
  kind: 'sab'
  /** The memory itself (shared by reference when the descriptor is posted). */
  buffer: SharedArrayBuffer
}

/**
 * What `view.share()` returns and `attach()` takes: a plain object that `postMessage()`,
 * `structuredClone()` and (except kind 'sab') `JSON.stringify()` carry, describing which memory a
 * view is over and its layout there.
 */
export type SharedViewDescriptor<F extends string = FormatString> =
  | SharedMemoryDescriptor<F>
  | SharedFileDescriptor<F>
  | SharedArrayBufferDescriptor<F>

const INSTEAD =
  'put the data in memory other threads and processes can map: a SharedArrayBuffer, a SharedMemory, ' +
  "or a file mapped with access 'write' (copy it there with view.assign() or Buffer.copy)"

/** @internal Why the memory under `buffer` cannot be shared, or null when it can. */
export function unshareableReason(buffer: ArrayBuffer | SharedArrayBuffer): string | null {
  if (isSharedArrayBuffer(buffer)) return null
  const origin = ownedStateOf(buffer)
  if (origin?.originKind === 'shm') return null
  if (origin?.originKind === 'file') {
    if (origin.access === 'write') return null
    return `a file mapped with access '${origin.access}' is a private mapping whose bytes differ per process; map it with access 'write' to share it`
  }
  if (externalOf(buffer) !== undefined) return 'this external memory belongs to this process only'
  return 'an ArrayBuffer on the JS heap (an ordinary TypedArray, Buffer or pooled Buffer) lives in this thread only'
}

/** @internal The descriptor of a view's memory and layout: `view.share()`. */
export function shareView<F extends string>(view: MemoryView<F>): SharedViewDescriptor<F> {
  view._checkReleased()
  const mbuf = view._mbuf
  const buffer = mbuf.buffer
  const layout: SharedViewLayout<F> = {
    byteOffset: mbuf.byteOffset + view._off,
    format: view._fmt.str as F,
    shape: view._shape.slice(),
    strides: view._strides.slice(),
    readonly: view._readonly,
  }
  if (isSharedArrayBuffer(buffer)) return { kind: 'sab', buffer, ...layout }
  const origin = ownedStateOf(buffer)
  if (origin?.originKind === 'shm') return { kind: 'shm', name: origin.originName, ...layout }
  if (origin?.originKind === 'file' && origin.access === 'write') {
    if (origin.originName === '') {
      throw typeError(codes.NOT_SHAREABLE, 'cannot share a view of a file mapped by file descriptor: another process cannot open it; mmap() the file by path')
    }
    return { kind: 'file', path: origin.originName, ...layout, byteOffset: origin.fileOffset + layout.byteOffset }
  }
  throw typeError(codes.NOT_SHAREABLE, `cannot share this view: ${unshareableReason(buffer)}; ${INSTEAD}`)
}

const invalid = (what: string): TypeError => typeError(codes.INVALID_DESCRIPTOR, `invalid shared view descriptor: ${what}`)
const isIntegral = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

/** Copies a shape or strides array, reading its length and each element once. */
function dims(a: unknown, what: string): number[] {
  if (!Array.isArray(a)) throw invalid(`${what} must be an array`)
  const n: unknown = a.length
  if (!isIntegral(n) || n > MAX_NDIM) throw invalid(`${what} must have at most ${MAX_NDIM} entries`)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const v: unknown = a[i]
    if (!isIntegral(v)) throw invalid(`${what} must hold integers`)
    out[i] = v
  }
  return out
}

/** A validated descriptor: every field read once. */
interface Checked {
  kind: 'shm' | 'file' | 'sab'
  name: string
  path: string
  buffer: SharedArrayBuffer | null
  byteOffset: number
  format: Format
  shape: number[]
  strides: number[]
  readonly: boolean
  /** The bytes the view reaches, relative to the start of the memory: [start, end). */
  start: number
  end: number
}

function check(d: unknown): Checked {
  if (d === null || typeof d !== 'object') throw invalid('expected the object view.share() returned')
  const { kind, name, path, buffer, byteOffset, format, shape: rawShape, strides: rawStrides, readonly } = d as Record<string, unknown>
  if (kind !== 'shm' && kind !== 'file' && kind !== 'sab') {
    // Never String() a value from outside: its toString may throw.
    throw invalid(`kind must be 'shm', 'file' or 'sab', not ${typeof kind === 'string' ? `'${kind}'` : typeof kind}`)
  }
  if (kind === 'shm' && (typeof name !== 'string' || name === '' || name.includes('\0') || name.includes('/'))) {
    throw invalid("kind 'shm' needs the segment's name: a non-empty string without '/' or null bytes")
  }
  if (kind === 'file' && (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0'))) {
    throw invalid("kind 'file' needs the file's absolute path, without null bytes")
  }
  if (kind === 'sab' && !isSharedArrayBuffer(buffer)) {
    throw invalid("kind 'sab' needs the SharedArrayBuffer as 'buffer' (JSON cannot carry it: post the descriptor instead)")
  }
  if (!isIntegral(byteOffset)) throw invalid('byteOffset must be an integer')
  if (byteOffset < 0) throw rangeError(codes.OUT_OF_RANGE, `invalid shared view descriptor: byteOffset must not be negative, got ${byteOffset}`)
  if (typeof format !== 'string') throw invalid('format must be a string')
  const fmt = parseSingleFormat(format)
  if (fmt === null) throw typeError(codes.FORMAT, `invalid shared view descriptor: unknown or unsupported format '${format}'`)
  const shape = dims(rawShape, 'shape')
  const strides = dims(rawStrides, 'strides')
  if (shape.some((n) => n < 0)) throw invalid('shape must hold non-negative integers')
  if (strides.length !== shape.length) throw invalid('strides must have one entry per dimension')
  if (typeof readonly !== 'boolean') throw invalid('readonly must be a boolean')
  const [low, high] = extent(shape, strides, fmt.itemsize)
  const start = byteOffset + low
  const end = byteOffset + high
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0) {
    throw rangeError(codes.OUT_OF_RANGE, 'invalid shared view descriptor: the view reaches below the start of the memory')
  }
  return {
    kind, name: name as string, path: path as string, buffer: kind === 'sab' ? (buffer as SharedArrayBuffer) : null,
    byteOffset, format: fmt, shape, strides, readonly, start, end,
  }
}

function pastEnd(c: Checked, size: number): RangeError {
  const what = c.kind === 'shm' ? `shared memory '${c.name}'` : c.kind === 'file' ? `file ${c.path}` : 'the SharedArrayBuffer'
  return rangeError(codes.PAST_EOF, `invalid shared view descriptor: the view reaches byte ${c.end} but ${what} has ${size} bytes`)
}

/** The size of a file or (Linux) shared-memory segment before mapping it, or -1 when unknown. */
function sizeBeforeMapping(c: Checked): number {
  const file = c.kind === 'file' ? c.path : shmSizePath(c.name)
  if (file === null) return -1
  try {
    return statSync(file).size
  } catch {
    // Missing: mapping reports it with the errno name (ENOENT) and maps nothing.
    return -1
  }
}

/**
 * Builds a view equal to the one a descriptor from `view.share()` describes, over the same
 * bytes, in this thread or process: writes are visible both ways. For 'shm' and 'file' the view is
 * over a mapping of its own (its `obj`, a {@link SharedMemory} or {@link MappedFile}), unmapped when
 * the last view derived from it is released (`release()`, `using`) or garbage collected, or by
 * `view.obj.close()`; for 'sab' it is over the SharedArrayBuffer itself. The sender's view and
 * mapping are not affected.
 * @param descriptor what `view.share()` returned (posted, cloned, or parsed from JSON for 'shm'/'file').
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_DESCRIPTOR for a malformed descriptor (unknown kind,
 *   missing name/path/buffer, non-integer byteOffset, shape or strides, readonly not a boolean);
 *   ERR_MEMORYVIEW_FORMAT for a format views do not support.
 * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for a negative byteOffset or a view reaching below
 *   the start of the memory; ERR_MEMORYVIEW_PAST_EOF when it reaches past the end of the segment,
 *   file or SharedArrayBuffer.
 * @throws {Error} ENOENT (and other errno names) when the segment or file cannot be opened. Nothing is
 *   mapped when attach() throws.
 */
export function attach<F extends string = FormatString>(descriptor: SharedViewDescriptor<F>): MemoryView<F> {
  const c = check(descriptor)
  const init = { offset: 0, format: c.format, shape: c.shape, strides: c.strides, readonly: c.readonly }
  // An empty view reaches no byte: like an empty buffer-protocol view, it sits at the memory's start.
  const empty = c.end <= c.start
  if (c.kind === 'sab') {
    const buffer = c.buffer!
    const size = bufferByteLength(buffer)
    if (c.end > size) throw pastEnd(c, size)
    return MemoryView._derive<F>({ ...init, mbuf: new ManagedBuffer(buffer, 0, size, buffer), offset: empty ? 0 : c.byteOffset })
  }
  const known = sizeBeforeMapping(c)
  if (known >= 0 && c.end > known) throw pastEnd(c, known)
  let owner: ExternalOwner
  let base = 0
  if (c.kind === 'shm') {
    owner = new SharedMemory({ name: c.name })
  } else {
    // Map only the pages the view reaches; the offset must be a multiple of the granularity.
    const granularity = allocationGranularity()
    base = empty ? 0 : c.start - (c.start % granularity)
    const length = empty ? Math.min(Math.max(known, 1), granularity) : c.end - base
    owner = mmap(c.path, { access: 'write', offset: base, length })
  }
  // The memory may have shrunk between the check and the mapping (or was not stat-able).
  if (!empty && c.end - base > owner.size) {
    const size = owner.size + base
    owner.close()
    throw pastEnd(c, size)
  }
  const close = (): void => {
    try {
      owner.close()
    } catch {
      // An export (pin) is still held on another view of this mapping: garbage collection of the
      // mapping's ArrayBuffer unmaps it once that is released too.
    }
  }
  // attach() maps only the pages the view reaches, which a view (at most one buffer long) always
  // fits in; a mapping opened for windows instead would mean the descriptor lied about its extent.
  const buffer = owner._buffer
  if (buffer === null) {
    owner.close()
    throw rangeError(codes.TOO_LARGE, `the descriptor reaches ${owner._size} bytes, more than one buffer can hold`)
  }
  const mbuf = new ManagedBuffer(buffer, 0, owner._size, owner, close)
  return MemoryView._derive<F>({ ...init, mbuf, offset: empty ? 0 : c.byteOffset - base })
}

declare module './memoryview' {
  interface MemoryView<F extends string = FormatString> {
    /**
     * A plain descriptor of this view's memory and layout, for another thread or process:
     * `postMessage(view.share())` (or JSON, except for a SharedArrayBuffer) and `attach()` there give
     * an equal view over the same bytes. Maps nothing and takes nothing: releasing or closing this
     * view later does not affect the receiver's mapping.
     * @throws {TypeError} ERR_MEMORYVIEW_NOT_SHAREABLE for memory other threads and processes cannot
     *   see: an ArrayBuffer on the JS heap (ordinary TypedArrays, Buffers, pooled Buffers), a file
     *   mapped 'read' or 'copy' (private mappings), a file mapped by file descriptor, memory wrapped by
     *   a native addon. The message says what to use instead.
     * @throws {Error} ERR_MEMORYVIEW_RELEASED after release() or when the mapping was closed.
     */
    share(): SharedViewDescriptor<F>
  }
}

function share(this: MemoryView<string>): SharedViewDescriptor<string> {
  return shareView(this)
}
// Non-enumerable like class methods.
Object.defineProperty(MemoryView.prototype, 'share', { value: share, writable: true, configurable: true, enumerable: false })
