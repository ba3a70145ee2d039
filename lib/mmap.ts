/**
 * Memory-mapped files, after Python's mmap module: `mmap(pathOrFd, { access, offset, length, size })`.
 *
 * Access modes (Python's ACCESS_READ / ACCESS_WRITE / ACCESS_COPY):
 *   'read'  - `buf` is readonly. The mapping is private and copy-on-write, so even a write through a
 *             TypedArray taken with toTypedArray() neither faults nor reaches the file. On Linux it
 *             reserves no swap for such copies (MAP_NORESERVE), so a file longer than RAM plus swap
 *             maps too; 'copy' mappings keep the reservation.
 *   'write' - shared mapping: writes reach the file (flush() forces them to disk).
 *   'copy'  - private copy-on-write mapping: `buf` is writable, writes never reach the file.
 */
import { constants as bufferConstants } from 'node:buffer'
import { closeSync, fstatSync, openSync } from 'node:fs'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { NativeBinding, requireBinding } from './binding'
import { codes, rangeError, typeError } from './errors'
import { ExternalOwner, NO_WINDOWS, OwnedExternalMemory, WindowMapping } from './external'
import { ManagedBuffer, registerExternal } from './managed-buffer'
import type { MemoryView } from './memoryview'

/**
 * How a file is mapped, as Python's `mmap.ACCESS_READ` / `ACCESS_WRITE` / `ACCESS_COPY`: `'read'`
 * (readonly `buf`, private copy-on-write mapping that reserves no swap on Linux), `'write'` (shared: writes reach the file),
 * `'copy'` (private copy-on-write: writable `buf`, writes never reach the file).
 */
export type Access = 'read' | 'write' | 'copy'

/** The options of {@link mmap}. */
export interface MmapOptions {
  /** Default 'read'. */
  access?: Access
  /** Where the mapping starts in the file: a multiple of {@link allocationGranularity}. Default 0. */
  offset?: number
  /**
   * Bytes to map; 0 or absent maps from `offset` to the end of the file. An explicit length is at
   * most `buffer.constants.MAX_LENGTH` (4 GiB on Node 20). A file whose rest (from `offset`) is
   * longer than that is still opened, but has no `buf`: reach it with {@link MappedFile.window}.
   */
  length?: number
  /** With access 'write': create the file if missing and extend it to at least `size` bytes first. */
  size?: number
}

const ACCESS: Record<Access, number> = { read: 0, write: 1, copy: 2 }

/**
 * @internal Where mapFileIo() and openSharedMemoryId() write a new mapping's id and length (`[0]`,
 * `[1]`), and where mmap() hands mapFileIo() its numbers (`[2]` to `[7]`: fd, access, offset, length,
 * size, maxLength; one Node-API call reads them all, where six arguments took six): one array for
 * the process, written right before and read right after each call, so that opening allocates
 * nothing for it.
 */
export const mapped = new Float64Array(8)
/** `mapped`'s ArrayBuffer, which mapFileIo() takes (reading an ArrayBuffer costs native code less than a TypedArray). */
const mappedBuffer = mapped.buffer

/**
 * The longest mapping this runtime can hand to JS: its largest ArrayBuffer/Uint8Array
 * (2**32 bytes on Node 20, 2**53 - 1 on Node 22+). Longer mappings are refused with
 * ERR_MEMORYVIEW_TOO_LARGE before anything is mapped or grown.
 * @internal
 */
export const MAX_MAPPING_LENGTH: number = bufferConstants.MAX_LENGTH

/** Paging advice for {@link MappedFile.advise}, Python's `mmap.MADV_*` (madvise(2)). */
export type Advice = 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed'

// The numbering native/platform.h's Advice enum uses.
const ADVICE: Record<Advice, number> = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4 }

/** Closes the file descriptor a windowed MappedFile opened, when it is collected without close(). */
const openFds = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd)
  } catch {
    // Already closed: nothing is left to release.
  }
})

/** The granularity mapping offsets must be multiples of (Python's mmap.ALLOCATIONGRANULARITY). */
export function allocationGranularity(): number {
  return granularityOf(requireBinding('mmap'))
}

/** The allocation granularity, asked of the addon once (it is fixed for the process). */
let granularity = 0
function granularityOf(binding: NativeBinding): number {
  if (granularity === 0) granularity = binding.allocationGranularity()
  return granularity
}

function integerOption(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw typeError(codes.INVALID_ARG, `${name} must be an integer, not ${typeof value}`)
  }
  if (value < min || value > Number.MAX_SAFE_INTEGER) {
    throw rangeError(codes.OUT_OF_RANGE, `${name} must be between ${min} and ${Number.MAX_SAFE_INTEGER}, got ${value}`)
  }
  return value
}

/** The JSON form of a mapped file ({@link MappedFile.toJSON}). */
export interface MappedFileJSON {
  /** Always `'MappedFile'`. */
  type: 'MappedFile'
  /** The path, or the file descriptor, that was mapped. */
  source: string | number
  /** The access mode. */
  access: Access
  /** Bytes mapped. */
  size: number
  /** True after close(). */
  closed: boolean
}

/**
 * A mapped file. `buf` is a MemoryView over the mapping; close() unmaps it synchronously.
 *
 * The ArrayBuffer over the mapping is made the first time the memory is needed (`buf`, lease(),
 * window(), resize(), advise(), prefetch(), resident(), flush() of a 'write' mapping), not by
 * {@link mmap}: V8 counts it as external memory and starts a garbage collection for one of 64 MiB
 * or more, so a file opened and closed untouched costs only the system calls.
 *
 * A file longer than the runtime's largest buffer (`buffer.constants.MAX_LENGTH`, 4 GiB on Node 20)
 * is opened without a whole mapping: `buf` throws ERR_MEMORYVIEW_TOO_LARGE and
 * {@link MappedFile.window} maps the part asked for; advise(), prefetch() and resident() work on the
 * file's pages, resize() and lease() are refused. Such a file keeps a file descriptor of its own
 * (opened from the path; a caller's fd stays the caller's) until close().
 */
export class MappedFile extends ExternalOwner {
  /** The access mode the file was mapped with. */
  readonly access: Access
  /** The path, or the file descriptor, that was mapped. */
  readonly source: string | number
  /** Where the mapping starts in the file (the `offset` option). */
  readonly #base: number
  /** With windows only: the descriptor windows are mapped from (-1 when the whole file is mapped). */
  #fd: number
  /** True when the descriptor is ours to close. */
  readonly #ownFd: boolean

  /** @internal Use {@link mmap}. `id` > 0: a lazy mapping of `size` bytes (see ExternalOwner). */
  constructor(buffer: ArrayBuffer | null, access: Access, source: string | number, base = 0, size = 0, fd = -1, ownFd = false, id = 0) {
    super(buffer, 'mapped file', access === 'read', size, id)
    this.access = access
    this.source = source
    this.#base = base
    this.#fd = fd
    this.#ownFd = ownFd
    if (ownFd) openFds.register(this, fd, this)
    // For share(): the absolute path (resolved now, so that a later chdir does not change it; '' for
    // a file descriptor) and where the mapping starts in the file.
    const state = this._state
    state.originKind = 'file'
    // A leading '/' is absolute on every platform (path.isAbsolute() says so on Windows too): the
    // usual absolute path skips isAbsolute()'s argument validation.
    state.originName =
      typeof source !== 'string' ? '' : source.charCodeAt(0) === 47 || isAbsolute(source) ? source : resolvePath(source)
    state.fileOffset = base
    state.access = access
  }

  /** @internal */
  override _tooLargeForBuf(): Error {
    return rangeError(
      codes.TOO_LARGE,
      `this mapped file has ${this._size} bytes, more than this runtime's largest buffer ` +
        `(${MAX_MAPPING_LENGTH} bytes, buffer.constants.MAX_LENGTH), so it has no buf: ` +
        'use window(offset, length) for views of its parts',
    )
  }

  /**
   * Python's `mmap.flush(offset, size)`: writes dirty pages of [offset, offset + length) to the file
   * and waits for it (msync MS_SYNC). Does nothing for 'read' and 'copy' mappings, as in Python.
   * On a file reached through windows, flushes the windows that are mapped.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE when the range is outside the mapping.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close(); an errno-named error if msync fails.
   */
  flush(offset = 0, length?: number): void {
    this._checkOpen()
    const size = this.size
    integerOption('offset', offset, 0)
    const len = length === undefined ? size - offset : integerOption('length', length, 0)
    if (len < 0 || size - offset < len) throw rangeError(codes.OUT_OF_RANGE, 'flush values out of range')
    if (this.access !== 'write') return
    const binding = requireBinding('mmap')
    if (this._buffer !== null) {
      binding.flush(this._buffer, offset, len)
      return
    }
    for (const w of this._windows) {
      const lo = Math.max(offset, w.offset)
      const hi = Math.min(offset + len, w.offset + w.buffer.byteLength)
      if (lo < hi) binding.flush(w.buffer, lo - w.offset, hi - lo)
    }
  }

  /**
   * A MemoryView (format 'B') over bytes [offset, offset + length) of the mapping (of the file, when
   * it was mapped from offset 0). When the whole mapping fits in one view this is
   * `buf.subarray(offset, offset + length)`; for a file bigger than that, the window is a mapping
   * of its own, unmapped when its view and every view derived from it are released (or garbage
   * collected), or when the file is closed; TypedArrays taken from it read as empty from then on.
   * Windows of a 'copy' (or 'read') file bigger than one view are separate private mappings: a
   * change made in one is not seen by another. close() refuses while a window has an export.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG when offset or length is not an integer.
   * @throws {RangeError} ERR_MEMORYVIEW_UNALIGNED when offset is not a multiple of
   *   {@link allocationGranularity}; ERR_MEMORYVIEW_OUT_OF_RANGE when length is 0 or the range is
   *   outside the mapping; ERR_MEMORYVIEW_TOO_LARGE when length is over `buffer.constants.MAX_LENGTH`.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close(); an errno-named error if mmap fails.
   */
  window(offset: number, length: number): MemoryView {
    this._checkOpen()
    integerOption('offset', offset, 0)
    integerOption('length', length, 0)
    const binding = requireBinding('mmap')
    const granularity = granularityOf(binding)
    if (offset % granularity !== 0) {
      throw rangeError(codes.UNALIGNED, `window offset must be a multiple of the allocation granularity (${granularity})`)
    }
    if (length === 0 || offset > this._size || this._size - offset < length) {
      throw rangeError(codes.OUT_OF_RANGE, `window [${offset}, ${offset + length}) is empty or outside the mapping (${this._size} bytes)`)
    }
    if (length > MAX_MAPPING_LENGTH) {
      throw rangeError(codes.TOO_LARGE, `a window of ${length} bytes is longer than this runtime's largest buffer (${MAX_MAPPING_LENGTH} bytes)`)
    }
    if (this._buffer !== null) return this.buf.subarray(offset, offset + length)
    const buffer = binding.mapFile(null, this.#fd, ACCESS[this.access], this.#base + offset, length, -1, MAX_MAPPING_LENGTH)
    // The window's own state knows its place in the file, so that share() of a view of it works.
    const state = new OwnedExternalMemory('mapped file window')
    state.copyOrigin(this._state, offset)
    const w: WindowMapping = { buffer, offset, state }
    if (this._windows === NO_WINDOWS) this._windows = new Set()
    this._windows.add(w)
    registerExternal(buffer, w.state)
    // Runs when the window's last view is released or collected. An export taken through another
    // view of the same memory (memoryview(ta).pin()) keeps the window mapped until close().
    const mbuf = new ManagedBuffer(buffer, 0, length, this, () => {
      if (w.state.exports === 0) this._unmapWindow(w)
    })
    return this._byteView(mbuf)
  }

  /**
   * Python's `mmap.resize(newsize)` for a 'write' mapping: sets the file's size to
   * `offset + newSize` (the mapping's offset in the file plus the new length) and maps it anew. The
   * old `buf`, every view derived from it and every TypedArray over it are released (views throw
   * ERR_MEMORYVIEW_RELEASED, TypedArrays read as empty); `buf` then covers the new size. Growth
   * allocates the new blocks first, so a full disk fails here with ENOSPC rather than with SIGBUS
   * later; a failed resize leaves the old mapping, its views and the file as they were.
   * A mapping from a path reopens that path, which must still name the same file (else ESTALE).
   * @throws {TypeError} ERR_MEMORYVIEW_NOT_RESIZABLE for a 'read' or 'copy' mapping (as Python);
   *   ERR_MEMORYVIEW_INVALID_ARG when newSize is not an integer.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a lease, pin or native export is held.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for newSize <= 0; ERR_MEMORYVIEW_TOO_LARGE when
   *   newSize, or the file now, is longer than `buffer.constants.MAX_LENGTH` (resize needs `buf`).
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close(); ENOSPC, ESTALE or another errno-named
   *   error when a system call fails.
   */
  resize(newSize: number): void {
    // Python's order: closed, then exports, then the access mode, then the size.
    this._checkOpen()
    this._refuseWhileExported('resize')
    if (this.access !== 'write') {
      throw typeError(codes.NOT_RESIZABLE, "mmap can't resize a readonly or copy-on-write memory map")
    }
    if (typeof newSize !== 'number' || !Number.isInteger(newSize)) {
      throw typeError(codes.INVALID_ARG, `newSize must be an integer, not ${typeof newSize}`)
    }
    if (newSize <= 0 || newSize > Number.MAX_SAFE_INTEGER - this.#base) {
      throw rangeError(codes.OUT_OF_RANGE, `new size out of range (a mapping needs 1 to ${Number.MAX_SAFE_INTEGER - this.#base} bytes), got ${newSize}`)
    }
    if (newSize > MAX_MAPPING_LENGTH || this._buffer === null) {
      throw rangeError(
        codes.TOO_LARGE,
        `cannot resize to ${newSize} bytes: resize() keeps the whole file in one view, and this runtime's ` +
          `largest buffer is ${MAX_MAPPING_LENGTH} bytes (buffer.constants.MAX_LENGTH)`,
      )
    }
    const path = typeof this.source === 'string' ? this.source : null
    const fd = typeof this.source === 'number' ? this.source : -1
    const fresh = requireBinding('mmap').resizeMapping(this._buffer, path, fd, newSize, MAX_MAPPING_LENGTH)
    // The old buffer is detached and unmapped; its record is closed so its views read as released.
    this._state.closed = true
    this._adopt(fresh)
  }

  /**
   * Python's `mmap.madvise(option, start, length)` with the option named: tells the kernel how the
   * pages of [offset, offset + length) will be used. `length` is clamped to the end of the mapping
   * and defaults to all of it. 'dontneed' drops the pages: a 'write' mapping reads them back from
   * the file, a 'copy' mapping loses its changes there (as in Python). On a file without `buf`
   * (bigger than one view) the advice goes to the file's pages in the page cache instead
   * (posix_fadvise), whatever windows are mapped. macOS differs: 'dontneed' is only a hint there
   * (the pages keep their contents, a 'copy' mapping keeps its changes, and they are merely
   * reclaimed first), and on a file without `buf` only 'willneed' does anything (read-ahead with
   * fcntl F_RDADVISE; macOS has no posix_fadvise): the other advice succeeds and does nothing.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for an unknown advice or a non-integer offset/length.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE when offset is not inside the mapping or length
   *   is negative; ERR_MEMORYVIEW_UNALIGNED when offset is not a multiple of
   *   {@link allocationGranularity}.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close(); an errno-named error if madvise fails.
   */
  advise(advice: Advice, offset = 0, length?: number): void {
    this._checkOpen()
    if (typeof advice !== 'string' || !Object.prototype.hasOwnProperty.call(ADVICE, advice)) {
      throw typeError(codes.INVALID_ARG, `advice must be one of ${Object.keys(ADVICE).join(', ')}, not ${String(advice)}`)
    }
    const [off, len] = this.#range('advise', offset, length)
    const granularity = granularityOf(requireBinding('mmap'))
    if (off % granularity !== 0) {
      throw rangeError(codes.UNALIGNED, `advise offset must be a multiple of the allocation granularity (${granularity})`)
    }
    if (this._buffer === null) requireBinding('mmap').fileAdvise(this.#fd, this.#base + off, len, ADVICE[advice])
    else requireBinding('mmap').advise(this._buffer, off, len, ADVICE[advice])
  }

  /**
   * Pages [offset, offset + length) of the mapping in on a worker thread (libuv's pool):
   * MADV_WILLNEED, then one read per page. Await it before a synchronous scan of a cold file, so
   * the scan does not stall the event loop on page faults. `length` is clamped to the end of the
   * mapping and defaults to all of it. Holds a lease meanwhile: close() and resize() refuse until
   * the promise settles. On a file without `buf` (bigger than one view) the range of the file is
   * paged in through a mapping of its own, which the windows mapped later find in the page cache;
   * no lease is taken then. Whether the pages stay in memory afterwards is up to the kernel.
   * @returns a promise that resolves to undefined, or rejects with the errors below.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for a non-integer offset or length.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE when offset is not inside the mapping or length
   *   is negative.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   */
  async prefetch(offset = 0, length?: number): Promise<void> {
    this._checkOpen()
    const [off, len] = this.#range('prefetch', offset, length)
    if (this._buffer === null) {
      await requireBinding('mmap').filePrefetch(this.#fd, this.#base + off, len)
      return
    }
    const lease = this.lease()
    try {
      await requireBinding('mmap').prefetch(this._buffer, off, len)
    } finally {
      lease.release()
    }
  }

  /**
   * How many bytes of [offset, offset + length) are in memory now (mincore(2): pages in the page
   * cache count, whether or not this mapping has touched them). `length` is clamped to the end of
   * the mapping and defaults to all of it. Works on a file without `buf` too.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for a non-integer offset or length.
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE when offset is not inside the mapping or length
   *   is negative.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   */
  resident(offset = 0, length?: number): number {
    this._checkOpen()
    const [off, len] = this.#range('resident', offset, length)
    if (this._buffer === null) return requireBinding('mmap').fileResident(this.#fd, this.#base + off, len)
    return requireBinding('mmap').resident(this._buffer, off, len)
  }

  /** [offset, clamped length] for advise/prefetch/resident, validated as Python's madvise does. */
  #range(what: string, offset: number, length: number | undefined): [number, number] {
    if (typeof offset !== 'number' || !Number.isInteger(offset)) {
      throw typeError(codes.INVALID_ARG, `offset must be an integer, not ${typeof offset}`)
    }
    if (length !== undefined && (typeof length !== 'number' || !Number.isInteger(length))) {
      throw typeError(codes.INVALID_ARG, `length must be an integer, not ${typeof length}`)
    }
    if (offset < 0 || offset >= this._size) throw rangeError(codes.OUT_OF_RANGE, `${what} start out of bounds`)
    if (length !== undefined && length < 0) throw rangeError(codes.OUT_OF_RANGE, `${what} length invalid`)
    const rest = this._size - offset
    return [offset, length === undefined || length > rest ? rest : length]
  }

  /**
   * Detaches every JS view over the file (windows included) and unmaps it, synchronously, and
   * closes the descriptor a file bigger than one view was opened with. Idempotent.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a lease, pin or native export is held on
   *   `buf` or any window; nothing is unmapped then.
   */
  override close(): void {
    super.close()
    if (this.#ownFd && this.#fd >= 0) {
      openFds.unregister(this)
      const fd = this.#fd
      this.#fd = -1
      closeSync(fd)
    }
  }

  /** `MappedFile("path", access='read', size=4096)`, or `…, closed)` after close(). */
  override toString(): string {
    const state = this.closed ? 'closed' : `size=${this.size}`
    return `MappedFile(${JSON.stringify(this.source)}, access='${this.access}', ${state})`
  }

  /** What `util.inspect()` and `console.log()` show: the same as {@link MappedFile.toString}. */
  [inspect.custom](): string {
    return this.toString()
  }

  /**
   * What `JSON.stringify(mappedFile)` writes: `{ type: 'MappedFile', source, access, size, closed }`
   * (`source` is the path or the file descriptor). Never the data; never throws.
   */
  toJSON(): MappedFileJSON {
    return { type: 'MappedFile', source: this.source, access: this.access, size: this.size, closed: this.closed }
  }
}

/**
 * Maps a file (a path, a file: URL, or an open file descriptor, which stays the caller's). The
 * mapping is made now; the ArrayBuffer over it when {@link MappedFile.buf} (or another member that
 * needs the memory) is first used.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for bad arguments (unknown access, size without 'write').
 * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for negative or too large numbers;
 *   ERR_MEMORYVIEW_UNALIGNED for an offset that is not a multiple of the allocation granularity;
 *   ERR_MEMORYVIEW_EMPTY_FILE for an empty file; ERR_MEMORYVIEW_PAST_EOF for a range past the end;
 *   ERR_MEMORYVIEW_TOO_LARGE when an explicit `length`, or the file's size after growing to `size`
 *   minus `offset`, is longer than the runtime's largest buffer, `buffer.constants.MAX_LENGTH`
 *   (4 GiB on Node 20). The file is not grown then, and a file the call created is removed.
 *   Without `length` and `size`, a longer file is opened all the same, without `buf`: use
 *   {@link MappedFile.window}.
 * @throws {Error} with the errno name as `code` (ENOENT, EACCES, EISDIR, ...) when a system call fails.
 *   A failed call leaves no mapping, file descriptor or new file behind.
 */
export function mmap(pathOrFd: string | URL | number, options?: MmapOptions): MappedFile {
  let path: string | null = null
  let fd = -1
  if (typeof pathOrFd === 'string') {
    if (pathOrFd === '' || pathOrFd.includes('\0')) throw typeError(codes.INVALID_ARG, 'path must be a non-empty string without null bytes')
    path = pathOrFd
  } else if (pathOrFd instanceof URL) {
    path = fileURLToPath(pathOrFd)
  } else if (typeof pathOrFd === 'number') {
    fd = integerOption('fd', pathOrFd, 0)
    if (fd > 2147483647) throw rangeError(codes.OUT_OF_RANGE, 'fd is not a valid file descriptor')
  } else {
    throw typeError(codes.INVALID_ARG, `mmap() needs a path, a file: URL or a file descriptor, not ${typeof pathOrFd}`)
  }
  // No options (the usual call) reads no option and allocates no `{}` for them.
  let access: Access = 'read'
  let offset = 0
  let length = 0
  let size = -1
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
    const a = options.access === undefined ? 'read' : options.access
    // Three comparisons rather than hasOwnProperty.call(ACCESS, a), which also took a value that
    // converts to one of the names (['read'], new String('copy'), an object whose toString()
    // returns 'write') and left it as `access`: only the three strings are modes.
    if (a !== 'read' && a !== 'write' && a !== 'copy') {
      throw typeError(codes.INVALID_ARG, `access must be 'read', 'write' or 'copy', not ${String(a)}`)
    }
    access = a
    offset = options.offset === undefined ? 0 : integerOption('offset', options.offset, 0)
    length = options.length === undefined ? 0 : integerOption('length', options.length, 0)
    if (options.size !== undefined) {
      if (access !== 'write') throw typeError(codes.INVALID_ARG, "size (create or extend the file) needs access 'write'")
      size = integerOption('size', options.size, 0)
    }
    if (offset + length > Number.MAX_SAFE_INTEGER) throw rangeError(codes.OUT_OF_RANGE, 'offset + length overflows')
  }
  const binding = requireBinding('mmap')
  // Offset 0 (the usual case) is aligned whatever the granularity: no native call to ask it.
  if (offset !== 0) {
    const granularity = granularityOf(binding)
    if (offset % granularity !== 0) {
      throw rangeError(codes.UNALIGNED, `offset must be a multiple of the allocation granularity (${granularity})`)
    }
  }
  try {
    // The mapping's ArrayBuffer is made when a view first needs it (see ExternalOwner).
    mapped[2] = fd
    mapped[3] = ACCESS[access]
    mapped[4] = offset
    mapped[5] = length
    mapped[6] = size
    mapped[7] = MAX_MAPPING_LENGTH
    binding.mapFileIo(path, mappedBuffer)
    return new MappedFile(null, access, path ?? fd, offset, mapped[1], -1, false, mapped[0])
  } catch (err) {
    // The rest of the file is longer than one buffer: open it for windows instead. An explicit
    // length or a size to grow to stays refused (nothing was mapped or grown).
    if ((err as { code?: unknown }).code !== codes.TOO_LARGE || length !== 0 || size !== -1) throw err
  }
  return openForWindows(path, fd, access, offset)
}

/** A MappedFile without a whole mapping, for a file too big for one buffer (see MappedFile.window). */
function openForWindows(path: string | null, fd: number, access: Access, offset: number): MappedFile {
  const own = fd < 0
  const useFd = own ? openSync(path!, access === 'write' ? 'r+' : 'r') : fd
  try {
    const size = fstatSync(useFd).size - offset
    if (!(size > MAX_MAPPING_LENGTH)) {
      // The file changed between the two looks; report it as the mapping would have.
      throw rangeError(codes.TOO_LARGE, 'the file changed size while it was being opened')
    }
    return new MappedFile(null, access, path ?? fd, offset, size, useFd, own)
  } catch (err) {
    if (own) closeSync(useFd)
    throw err
  }
}
