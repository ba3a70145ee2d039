/**
 * Memory-mapped files, after Python's mmap module: `mmap(pathOrFd, { access, offset, length, size })`.
 *
 * Access modes (Python's ACCESS_READ / ACCESS_WRITE / ACCESS_COPY):
 *   'read'  - `buf` is readonly. The mapping is private and copy-on-write, so even a write through a
 *             TypedArray taken with toTypedArray() neither faults nor reaches the file.
 *   'write' - shared mapping: writes reach the file (flush() forces them to disk).
 *   'copy'  - private copy-on-write mapping: `buf` is writable, writes never reach the file.
 */
import { constants as bufferConstants } from 'node:buffer'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { requireBinding } from './binding'
import { codes, rangeError, typeError } from './errors'
import { ExternalOwner } from './external'

/**
 * How a file is mapped, as Python's `mmap.ACCESS_READ` / `ACCESS_WRITE` / `ACCESS_COPY`: `'read'`
 * (readonly `buf`, private copy-on-write mapping), `'write'` (shared: writes reach the file),
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
   * Bytes to map; 0 or absent maps from `offset` to the end of the file. At most
   * `buffer.constants.MAX_LENGTH` (4 GiB on Node 20): map a bigger file a window at a time.
   */
  length?: number
  /** With access 'write': create the file if missing and extend it to at least `size` bytes first. */
  size?: number
}

const ACCESS: Record<Access, number> = { read: 0, write: 1, copy: 2 }

/**
 * The longest mapping this runtime can hand to JS: its largest ArrayBuffer/Uint8Array
 * (2**32 bytes on Node 20, 2**53 - 1 on Node 22+). Longer mappings are refused with
 * ERR_MEMORYVIEW_TOO_LARGE before anything is mapped or grown.
 * @internal
 */
export const MAX_MAPPING_LENGTH: number = bufferConstants.MAX_LENGTH

/** The granularity mapping offsets must be multiples of (Python's mmap.ALLOCATIONGRANULARITY). */
export function allocationGranularity(): number {
  return requireBinding('mmap').allocationGranularity()
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

/** A mapped file. `buf` is a MemoryView over the mapping; close() unmaps it synchronously. */
export class MappedFile extends ExternalOwner {
  /** The access mode the file was mapped with. */
  readonly access: Access
  /** The path, or the file descriptor, that was mapped. */
  readonly source: string | number

  /** @internal Use {@link mmap}. */
  constructor(buffer: ArrayBuffer, access: Access, source: string | number, fileOffset = 0) {
    super(buffer, 'mapped file', access === 'read')
    this.access = access
    this.source = source
    // For share(): the absolute path (resolved now, so that a later chdir does not change it; null
    // for a file descriptor) and where the mapping starts in the file.
    const state = this._state
    state.originKind = 'file'
    state.originName = typeof source !== 'string' ? '' : isAbsolute(source) ? source : resolvePath(source)
    state.fileOffset = fileOffset
    state.access = access
  }

  /**
   * Python's `mmap.flush(offset, size)`: writes dirty pages of [offset, offset + length) to the file
   * and waits for it (msync MS_SYNC). Does nothing for 'read' and 'copy' mappings, as in Python.
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
    requireBinding('mmap').flush(this._buffer, offset, len)
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
 * Maps a file (a path, a file: URL, or an open file descriptor, which stays the caller's).
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for bad arguments (unknown access, size without 'write').
 * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for negative or too large numbers;
 *   ERR_MEMORYVIEW_UNALIGNED for an offset that is not a multiple of the allocation granularity;
 *   ERR_MEMORYVIEW_EMPTY_FILE for an empty file; ERR_MEMORYVIEW_PAST_EOF for a range past the end;
 *   ERR_MEMORYVIEW_TOO_LARGE when the mapping (`length`, or the file's size after growing to `size`,
 *   minus `offset`) is longer than the runtime's largest buffer, `buffer.constants.MAX_LENGTH`
 *   (4 GiB on Node 20): map a window of the file with `offset` and `length` instead. The file is
 *   not grown then, and a file the call created is removed.
 * @throws {Error} with the errno name as `code` (ENOENT, EACCES, EISDIR, ...) when a system call fails.
 *   A failed call leaves no mapping, file descriptor or new file behind.
 */
export function mmap(pathOrFd: string | URL | number, options: MmapOptions = {}): MappedFile {
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
  if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
  const access = options.access === undefined ? 'read' : options.access
  if (!Object.prototype.hasOwnProperty.call(ACCESS, access)) {
    throw typeError(codes.INVALID_ARG, `access must be 'read', 'write' or 'copy', not ${String(access)}`)
  }
  const offset = options.offset === undefined ? 0 : integerOption('offset', options.offset, 0)
  const length = options.length === undefined ? 0 : integerOption('length', options.length, 0)
  let size = -1
  if (options.size !== undefined) {
    if (access !== 'write') throw typeError(codes.INVALID_ARG, "size (create or extend the file) needs access 'write'")
    size = integerOption('size', options.size, 0)
  }
  if (offset + length > Number.MAX_SAFE_INTEGER) throw rangeError(codes.OUT_OF_RANGE, 'offset + length overflows')
  const binding = requireBinding('mmap')
  const granularity = binding.allocationGranularity()
  if (offset % granularity !== 0) {
    throw rangeError(codes.UNALIGNED, `offset must be a multiple of the allocation granularity (${granularity})`)
  }
  const buffer = binding.mapFile(path, fd, ACCESS[access], offset, length, size, MAX_MAPPING_LENGTH)
  return new MappedFile(buffer, access, path ?? fd, offset)
}
