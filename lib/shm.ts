/**
 * Shared memory with Python's multiprocessing.shared_memory semantics and naming, so that a Node
 * process and a Python process opening the same name see the same bytes: POSIX shared memory
 * (shm_open) on Linux and macOS, named file mappings on Windows (see lib/platform.ts).
 */
import { inspect } from 'node:util'
import { requireBinding } from './binding'
import { codes, plainError, rangeError, typeError } from './errors'
import { ExternalOwner } from './external'
import { MAX_MAPPING_LENGTH, mapped } from './mmap'
import { checkShmName, shmNaming } from './platform'

/** The options of the {@link SharedMemory} constructor (Python's `name`, `create`, `size`). */
export interface SharedMemoryOptions {
  /**
   * Without the leading slash; generated like Python's when creating without one: `'psm_'` + 8 hex
   * digits, on Windows `'wnsm_'` + 8 hex digits. At most 30 UTF-8 bytes on macOS (ENAMETOOLONG
   * otherwise); on Linux up to 255.
   */
  name?: string
  /** Create a new segment (fails with EEXIST if the name exists). Default false: open an existing one. */
  create?: boolean
  /**
   * Bytes, when creating (must be > 0, and at most `buffer.constants.MAX_LENGTH`: 4 GiB on Node 20).
   * Ignored when opening: the segment's own size is used (on Windows rounded up to whole 4 KiB
   * pages, as Python reports it there).
   */
  size?: number
  /**
   * When creating: allocate the segment's memory up front (default `true`), so that a full /dev/shm
   * fails here with `ENOSPC`. `false` skips that (a 64 MiB segment is then created in microseconds
   * instead of milliseconds), at a risk the caller takes on: if /dev/shm fills up later, the first
   * write to a page that cannot be backed kills the process with SIGBUS, and this package's promise
   * that no JavaScript call crashes the process no longer holds for that segment. Ignored when opening.
   * Ignored on Windows, where a segment is always committed when created (its whole size is charged
   * against the system's commit limit, so an impossible size fails with `ENOMEM` at creation; pages
   * are only zeroed on first touch, so creation is fast either way).
   * On macOS it changes nothing either way: a segment there is swappable memory, sized once with
   * ftruncate, that cannot be preallocated, and there is no fixed-size /dev/shm to fill up.
   */
  reserve?: boolean
}

/** The JSON form of shared memory ({@link SharedMemory.toJSON}). */
export interface SharedMemoryJSON {
  /** Always `'SharedMemory'`. */
  type: 'SharedMemory'
  /** The segment's name, without the leading slash. */
  name: string
  /** Bytes mapped. */
  size: number
  /** True after close(). */
  closed: boolean
}

/**
 * Python's `multiprocessing.shared_memory.SharedMemory(name, create, size)`.
 * `close()` (and `using`) detaches every view and unmaps; `unlink()` removes the segment.
 * The segment is mapped by the constructor; the ArrayBuffer over it is made when `buf` (or lease())
 * is first used: V8 counts it as external memory and starts a garbage collection for one of 64 MiB
 * or more, so a segment created, closed and unlinked untouched costs only the system calls.
 */
export class SharedMemory extends ExternalOwner {
  readonly #name: string

  /**
   * @throws {RangeError} ERR_MEMORYVIEW_OUT_OF_RANGE for a negative size, or size 0 when creating;
   *   ERR_MEMORYVIEW_TOO_LARGE when the segment (`size` when creating, the existing segment's size
   *   when opening) is longer than the runtime's largest buffer, `buffer.constants.MAX_LENGTH`
   *   (4 GiB on Node 20). Nothing is created or mapped then: use smaller segments.
   * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG when `name` is omitted without `create`, is not a
   *   string, or contains a NUL character, or `reserve` is not a boolean.
   * @throws {Error} EEXIST when creating an existing name, ENOENT when opening a missing one;
   *   ENAMETOOLONG for a name the system cannot hold. On macOS that is a name over 30 UTF-8 bytes
   *   (31 with the slash, PSHMNAMLEN), refused before any system call; generated names (12 bytes)
   *   always fit.
   */
  constructor(options: SharedMemoryOptions = {}) {
    if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
    const { name, create = false, size = 0, reserve = true } = options
    if (typeof size !== 'number' || !Number.isInteger(size)) throw typeError(codes.INVALID_ARG, "'size' must be an integer")
    if (!(size >= 0) || size > Number.MAX_SAFE_INTEGER) throw rangeError(codes.OUT_OF_RANGE, "'size' must be a positive integer")
    if (create && size === 0) throw rangeError(codes.OUT_OF_RANGE, "'size' must be a positive number different from zero")
    if (name === undefined && !create) throw typeError(codes.INVALID_ARG, "'name' can only be omitted if create is true")
    if (typeof reserve !== 'boolean') throw typeError(codes.INVALID_ARG, `'reserve' must be a boolean, not ${typeof reserve}`)
    if (name !== undefined && typeof name !== 'string') throw typeError(codes.INVALID_ARG, "'name' must be a string")
    // shm_open() would use the name up to the NUL and report a segment that is not the one made.
    if (name !== undefined && name.includes('\0')) throw typeError(codes.INVALID_ARG, "'name' must not contain null bytes")
    // Before the size limit: shm_open() is the first call that would fail.
    if (name !== undefined) checkShmName(name)
    if (create && size > MAX_MAPPING_LENGTH) {
      throw rangeError(
        codes.TOO_LARGE,
        `cannot create a shared memory segment of ${size} bytes: this runtime's largest buffer is ` +
          `${MAX_MAPPING_LENGTH} bytes (buffer.constants.MAX_LENGTH); use segments of at most that size`,
      )
    }
    const binding = requireBinding('shared memory')
    const naming = shmNaming()
    let chosen = name ?? naming.generate()
    for (;;) {
      try {
        // The mapping's ArrayBuffer is made when a view first needs it (see ExternalOwner): a
        // segment of 64 MiB or more would otherwise start a garbage collection here.
        binding.openSharedMemoryId(naming.nativeName(chosen), create, size, MAX_MAPPING_LENGTH, reserve, mapped)
        break
      } catch (err) {
        // A generated name that happens to exist: try another, as Python does.
        if (name === undefined && (err as { code?: string }).code === 'EEXIST') {
          chosen = naming.generate()
          continue
        }
        throw err
      }
    }
    super(null, 'shared memory', false, mapped[1], mapped[0])
    this.#name = chosen
    this._state.originKind = 'shm'
    this._state.originName = chosen
  }

  /** The segment's name, without the leading slash (as Python reports it). */
  get name(): string {
    return this.#name
  }

  /**
   * Removes the segment's name (shm_unlink); processes that still have it mapped keep their memory.
   * On Windows it does nothing and never throws, as Python's `unlink()` there: a segment has no
   * name to remove and lives exactly while some process has it open (until its last `close()`).
   * @throws {Error} ENOENT when it was already unlinked (not on Windows).
   */
  unlink(): void {
    const naming = shmNaming()
    if (!naming.canUnlink) return
    requireBinding('shared memory').unlinkSharedMemory(naming.nativeName(this.#name))
  }

  /** `SharedMemory('psm_0123abcd', size=4096)`, or `…, closed)` after close(). */
  override toString(): string {
    return `SharedMemory('${this.#name}', size=${this.size}${this.closed ? ', closed' : ''})`
  }

  /**
   * Refused: shared memory keeps the size it was created with, as Python's SharedMemory does (other
   * processes map it at that size). Create a new segment of the size needed instead.
   * @throws {Error} ERR_MEMORYVIEW_NOT_RESIZABLE always.
   */
  resize(newSize: number): never {
    throw plainError(
      codes.NOT_RESIZABLE,
      `shared memory cannot be resized (asked for ${String(newSize)} bytes): other processes map it at its ` +
        'size; create a new SharedMemory of the size needed',
    )
  }

  /** What `util.inspect()` and `console.log()` show: the same as {@link SharedMemory.toString}. */
  [inspect.custom](): string {
    return this.toString()
  }

  /**
   * What `JSON.stringify(shm)` writes: `{ type: 'SharedMemory', name, size, closed }`. Never the
   * data; never throws.
   */
  toJSON(): SharedMemoryJSON {
    return { type: 'SharedMemory', name: this.#name, size: this.size, closed: this.closed }
  }
}
