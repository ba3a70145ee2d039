/**
 * Error classes and stable codes.
 *
 * Every error thrown by this package is a built-in class (`TypeError`, `RangeError`, `Error`) or the
 * exported {@link BufferError}, with a stable `code` and a message starting with `memoryview: `.
 * CPython's exception types map onto them as API.md describes: TypeError → TypeError, IndexError and
 * OverflowError → RangeError, ValueError → RangeError (numbers out of range), TypeError (wrong kinds)
 * or Error (state), BufferError → BufferError, NotImplementedError → Error.
 */
import { types } from 'node:util'

/** The stable error codes. Codes are public API: add freely, never rename. */
export const codes = {
  /** Any use of a released view (CPython: ValueError). */
  RELEASED: 'ERR_MEMORYVIEW_RELEASED',
  /** A store through a readonly view (TypeError). */
  READONLY: 'ERR_MEMORYVIEW_READONLY',
  /** An index out of bounds (CPython: IndexError). */
  INDEX: 'ERR_MEMORYVIEW_INDEX',
  /** release()/close() while exports are held (BufferError). */
  EXPORTED: 'ERR_MEMORYVIEW_EXPORTED',
  /** What CPython refuses with NotImplementedError. */
  NOT_IMPLEMENTED: 'ERR_MEMORYVIEW_NOT_IMPLEMENTED',
  /** Not a bytes-like object (TypeError). */
  INVALID_SOURCE: 'ERR_MEMORYVIEW_INVALID_SOURCE',
  /** An index or slice key of the wrong kind or count (TypeError). */
  INVALID_INDEX: 'ERR_MEMORYVIEW_INVALID_INDEX',
  /** A stored value out of range for the format (RangeError). */
  INVALID_VALUE: 'ERR_MEMORYVIEW_INVALID_VALUE',
  /** A stored value of the wrong kind for the format (TypeError). */
  INVALID_TYPE: 'ERR_MEMORYVIEW_INVALID_TYPE',
  /** Slice assignment between different structures (TypeError). */
  STRUCTURE: 'ERR_MEMORYVIEW_STRUCTURE',
  /** An unsupported or malformed format string (TypeError). */
  FORMAT: 'ERR_MEMORYVIEW_FORMAT',
  /** A cast() that CPython's rules refuse (TypeError). */
  CAST: 'ERR_MEMORYVIEW_CAST',
  /** A numeric argument out of range: shape elements, ndim, slice step 0 (RangeError). */
  OUT_OF_RANGE: 'ERR_MEMORYVIEW_OUT_OF_RANGE',
  /** An argument of the wrong kind or value (TypeError). */
  INVALID_ARG: 'ERR_MEMORYVIEW_INVALID_ARG',
  /** hash() preconditions: readonly view, format B/b/c (TypeError). */
  HASH: 'ERR_MEMORYVIEW_HASH',
  /** toTypedArray() of a non-contiguous view (TypeError). */
  NOT_CONTIGUOUS: 'ERR_MEMORYVIEW_NOT_CONTIGUOUS',
  /** The memory under a view shrank or was detached by someone else (Error). */
  OUT_OF_BOUNDS: 'ERR_MEMORYVIEW_OUT_OF_BOUNDS',
  /** A native feature was used but the addon could not be loaded (Error). */
  NATIVE_UNAVAILABLE: 'ERR_MEMORYVIEW_NATIVE_UNAVAILABLE',
  /** Memory not aligned for the TypedArray asked for, or an mmap offset off the granularity (RangeError). */
  UNALIGNED: 'ERR_MEMORYVIEW_UNALIGNED',
  /** mmap() of a whole file that is empty (RangeError; Python: "cannot mmap an empty file"). */
  EMPTY_FILE: 'ERR_MEMORYVIEW_EMPTY_FILE',
  /** An mmap() offset or length past the end of the file (RangeError). */
  PAST_EOF: 'ERR_MEMORYVIEW_PAST_EOF',
  /** A malformed descriptor handed across the native boundary (TypeError or RangeError). */
  INVALID_DESCRIPTOR: 'ERR_MEMORYVIEW_INVALID_DESCRIPTOR',
  /** include/memoryview.h used in a realm where `require('memoryview')` never ran (Error). */
  NOT_LOADED: 'ERR_MEMORYVIEW_NOT_LOADED',
  /** include/memoryview.h and the loaded package speak different versions of the native API (Error). */
  NATIVE_API_VERSION: 'ERR_MEMORYVIEW_NATIVE_API_VERSION',
  /** The runtime refuses external ArrayBuffers (Electron's memory cage), so Wrap() cannot work (Error). */
  EXTERNAL_UNSUPPORTED: 'ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED',
  /**
   * Not thrown: the `code` of the process warning emitted when an exporter's `release()` throws
   * after its last view was garbage collected (there is no caller left to throw to).
   */
  RELEASE_FAILED: 'ERR_MEMORYVIEW_RELEASE_FAILED',
  /** A native object's method called on a foreign receiver ("Illegal invocation", TypeError). */
  INVALID_THIS: 'ERR_INVALID_THIS',
  /**
   * More bytes than the runtime lets one buffer hold (`buffer.constants.MAX_LENGTH`): a mapped file,
   * a shared-memory segment, a `memoryview::Wrap()` or a tolist()/tobytes()/hex() result, refused
   * before anything is mapped, grown or allocated (RangeError).
   */
  TOO_LARGE: 'ERR_MEMORYVIEW_TOO_LARGE',
  /**
   * structuredClone() or postMessage() of a view, mapped file or shared memory (TypeError): post
   * `view.share()` instead and call `attach()` on the other side for a view of the same bytes.
   */
  NOT_CLONEABLE: 'ERR_MEMORYVIEW_NOT_CLONEABLE',
  /**
   * A data file that is not well formed (Error; numpy: ValueError), refused before anything stays
   * mapped or open: a `.npy` file or `.npz` member with a bad magic, version or header, a header that is
   * not a plain Python literal, a bad shape or data past the end of the file; an `.npz` that is not a
   * readable zip archive; a safetensors header size past the file or above 100,000,000 bytes, a header
   * that is not a UTF-8 JSON object, a malformed tensor entry, shape × dtype size different from the
   * tensor's bytes, tensors that overlap, leave gaps or do not end at the end of the file.
   */
  BAD_HEADER: 'ERR_MEMORYVIEW_BAD_HEADER',
  /**
   * A data file's dtype that a view cannot represent (numpy object, structured, complex, strings,
   * datetime, void) or that the format does not define (safetensors), named in the message; or
   * saveNpy() of a format with no numpy dtype (TypeError). Nothing is mapped.
   */
  UNSUPPORTED_DTYPE: 'ERR_MEMORYVIEW_UNSUPPORTED_DTYPE',
  /** An `.npz` member stored compressed (`np.savez_compressed`), which cannot be mapped (Error). */
  COMPRESSED: 'ERR_MEMORYVIEW_COMPRESSED',
  /** A name that is not in an archive, e.g. `npz.get('missing')` (RangeError; Python: KeyError). */
  NOT_FOUND: 'ERR_MEMORYVIEW_NOT_FOUND',
  /**
   * resize() of memory that cannot be resized: a 'read' or 'copy' mapped file (TypeError, as Python's
   * mmap.resize) or shared memory (Error; Python's SharedMemory has no resize either).
   */
  NOT_RESIZABLE: 'ERR_MEMORYVIEW_NOT_RESIZABLE',
  /**
   * share(), an atomic operation or wait()/waitAsync()/notify() on memory another thread or process
   * cannot see (TypeError; `Atomics.wait` refuses the same): an
   * ArrayBuffer on the JS heap (every TypedArray, Buffer and pooled Buffer made the ordinary way), a
   * private mapping (mmap 'read' or 'copy': its pages differ per process), memory wrapped by a native
   * addon; and share() of a file mapped by file descriptor (no path to open). The message says what to
   * use instead: a SharedArrayBuffer, SharedMemory, or a file mapped 'write' by path.
   */
  NOT_SHAREABLE: 'ERR_MEMORYVIEW_NOT_SHAREABLE',
  /**
   * An atomic operation on a view whose format has none (TypeError): only the integer formats
   * `b B h H i I q Q` in native byte order (alone or with `@`, `=` or `<` on little-endian machines).
   */
  NOT_ATOMIC: 'ERR_MEMORYVIEW_NOT_ATOMIC',
  /** A waitAsync(), Channel send() or receive() whose AbortSignal aborted (Error; `cause`: the reason). */
  ABORTED: 'ERR_MEMORYVIEW_ABORTED',
  /** More than 1024 pending waitAsync() calls in one thread, or the system refused a waiter thread (RangeError). */
  TOO_MANY_WAITS: 'ERR_MEMORYVIEW_TOO_MANY_WAITS',
  /**
   * A Channel send after either side closed it, or any operation on a Channel this side closed
   * (Error). A receive after the other side closed drains, then returns null instead.
   */
  CHANNEL_CLOSED: 'ERR_MEMORYVIEW_CHANNEL_CLOSED',
  /**
   * The other end of a Channel is a process that died without closing it (SIGKILL, crash), detected
   * within 100 ms by a waiting send()/receive(), and at once by trySend() on a full ring and
   * tryReceive() on an empty one (Error).
   */
  PEER_GONE: 'ERR_MEMORYVIEW_PEER_GONE',
  /** A Channel message longer than the ring can ever hold (`channel.maxMessageSize`); nothing is written (RangeError). */
  MESSAGE_TOO_LARGE: 'ERR_MEMORYVIEW_MESSAGE_TOO_LARGE',
  /**
   * Channel.attach() of a descriptor that is malformed or names memory that is not a channel of this
   * protocol version (TypeError for a malformed descriptor, Error for the memory), or of a channel
   * whose second end is already attached (Error). Nothing stays mapped.
   */
  CHANNEL_INVALID: 'ERR_MEMORYVIEW_CHANNEL_INVALID',
} as const

/** The union of every code in {@link codes}: the `code` of every error this package throws. */
export type ErrorCode = (typeof codes)[keyof typeof codes]

/**
 * The errno names a system error from `mmap()`, `MappedFile` or `SharedMemory` can carry as its
 * `code` (with `errno`, negative as in Node's own errors, and `syscall`): every error the
 * manual pages of the calls made (open, fstat, ftruncate, posix_fallocate, fcntl, mmap, msync,
 * shm_open, shm_unlink) list. A literal union rather than any `E…` string, so that a typo such as
 * `'ENOENTT'` is a compile error in {@link isMemoryViewError}.
 */
export type SystemErrorCode =
  | 'EACCES' | 'EAGAIN' | 'EBADF' | 'EBUSY' | 'EDQUOT' | 'EEXIST' | 'EFAULT' | 'EFBIG' | 'EINTR'
  | 'EINVAL' | 'EIO' | 'EISDIR' | 'ELOOP' | 'EMFILE' | 'ENAMETOOLONG' | 'ENFILE' | 'ENODEV'
  | 'ENOENT' | 'ENOMEM' | 'ENOSPC' | 'ENOSYS' | 'ENOTDIR' | 'ENOTSUP' | 'ENXIO' | 'EOPNOTSUPP'
  | 'EOVERFLOW' | 'EPERM' | 'EROFS' | 'ESPIPE' | 'ESTALE' | 'ETXTBSY' | 'EWOULDBLOCK'

/**
 * The shape of every error this package throws: a `TypeError`, `RangeError`, `Error` or
 * {@link BufferError} whose `code` is one of {@link codes} (or, for system errors, an errno name
 * with `errno` and `syscall`). Narrow a caught `unknown` to it with {@link isMemoryViewError}.
 */
export interface MemoryViewError<C extends ErrorCode | SystemErrorCode = ErrorCode | SystemErrorCode> extends Error {
  /** The stable code: one of {@link codes}, or an errno name for a failed system call. */
  readonly code: C
  /** System errors only: the negative errno (as Node's own system errors). */
  readonly errno?: number
  /** System errors only: the system call that failed (`'open'`, `'mmap'`, `'shm_open'`, …). */
  readonly syscall?: string
  /** System errors with a file: the path. */
  readonly path?: string
}

/**
 * The brand every error created by this package carries: a non-enumerable own property keyed by a
 * registered symbol, so that errors from another copy of the package (another version in the same
 * process, another realm) are recognised too.
 */
const ERROR_BRAND: unique symbol = Symbol.for('memoryview.error') as never

// Node's own builtins use ERR_INVALID_THIS too: only the brand tells ours apart.
const PACKAGE_CODES: ReadonlySet<string> = new Set(Object.values(codes).filter((c) => c !== codes.INVALID_THIS))

/** @internal Marks an error as this package's (see {@link isMemoryViewError}); returns it. */
export function brand<E extends Error>(err: E): E {
  Object.defineProperty(err, ERROR_BRAND, { value: true, configurable: true })
  return err
}

/**
 * Whether `err` is an error this package threw, optionally with the given `code`; narrows a caught
 * `unknown` so that `err.code` has the literal type:
 * ```ts
 * try { mmap(path) } catch (err) {
 *   if (isMemoryViewError(err, 'ENOENT')) console.log(err.syscall)
 *   else if (isMemoryViewError(err)) console.log(err.code) // ErrorCode | SystemErrorCode
 *   else throw err
 * }
 * ```
 * Recognised: every error the package creates (branded when created, including errors from its
 * native addon and system errors from mmap/shared memory), and any `Error` whose `code` is an
 * `ERR_MEMORYVIEW_*` code (errors made by include/memoryview.h inside another addon). An error of
 * the same class and code made by someone else (Node's own `ENOENT` from `fs`) is not recognised.
 * Never throws, never runs a getter of `err`.
 * @param code a code to match: a compile error unless it is one of {@link codes} or a {@link SystemErrorCode}.
 */
export function isMemoryViewError<C extends ErrorCode | SystemErrorCode = ErrorCode | SystemErrorCode>(
  err: unknown,
  code?: C,
): err is MemoryViewError<C> {
  // A Proxy's traps may throw: a guard answers false instead.
  try {
    if (!types.isNativeError(err) && !(err instanceof Error)) return false
    const own = Object.getOwnPropertyDescriptor(err, 'code')
    if (own === undefined || !('value' in own) || typeof own.value !== 'string') return false
    if (code !== undefined && own.value !== code) return false
    return Object.getOwnPropertyDescriptor(err, ERROR_BRAND)?.value === true || PACKAGE_CODES.has(own.value)
  } catch {
    return false
  }
}

/**
 * Python's BufferError: raised when a view (or the owner of external memory) is asked to release
 * while buffers exported from it are still held.
 */
export class BufferError extends Error {
  /** The stable code, `ERR_MEMORYVIEW_EXPORTED` for every BufferError this package throws. */
  readonly code: ErrorCode
  /**
   * @param message the message (this package's own start with `memoryview: `).
   * @param code the code; `ERR_MEMORYVIEW_EXPORTED` by default.
   */
  constructor(message: string, code: ErrorCode = codes.EXPORTED) {
    super(message)
    this.code = code
    brand(this)
  }
}
Object.defineProperty(BufferError.prototype, 'name', { value: 'BufferError', configurable: true, writable: true })

type ErrorClass = new (message: string) => Error

function make<T extends Error>(Cls: ErrorClass, code: string, message: string): T {
  const err = new Cls(`memoryview: ${message}`) as T & { code: string }
  err.code = code
  return brand(err)
}

/**
 * @internal What lib/binding.ts hands the addon instead of the built-in classes: a function that
 * native code calls with `new` and that returns a branded instance of the built-in class itself
 * (a constructor returning an object makes `new` return that object), so native errors stay plain
 * `TypeError`/`RangeError`/`Error` instances and are recognised by {@link isMemoryViewError}.
 */
export function brandingConstructor(Cls: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor): (message: string) => Error {
  return function (message: string): Error {
    return brand(new Cls(message))
  }
}

export const typeError = (code: string, message: string): TypeError => make(TypeError, code, message)
export const rangeError = (code: string, message: string): RangeError => make(RangeError, code, message)
export const plainError = (code: string, message: string): Error => make(Error, code, message)

export const releasedError = (): Error =>
  plainError(codes.RELEASED, 'operation forbidden on released memoryview object')
export const readonlyError = (): TypeError => typeError(codes.READONLY, 'cannot modify read-only memory')
export const notImplemented = (message: string): Error => plainError(codes.NOT_IMPLEMENTED, message)
export const outOfBoundsError = (): Error =>
  plainError(
    codes.OUT_OF_BOUNDS,
    'the underlying buffer was detached or shrunk below the extent of this view',
  )

/**
 * The first own property (`_noclone`) of every managed buffer, Pin, ExternalOwner (a mapped file or
 * shared memory) and SafetensorsFile; a view's first property is its managed buffer, so a view
 * reaches it through that. structuredClone() and postMessage() serialise a plain object's own
 * enumerable properties in order, so they reach this object's getter first and fail with our error
 * instead of V8's DataCloneError naming an internal function. One frozen object shared by all, so
 * each pays one property store for it (a view none). A NativeMemory has no such property (only
 * private fields): it clones as an empty object.
 */
export const NOT_CLONEABLE_GUARD: object = Object.freeze(
  Object.defineProperty({}, 'memoryview', {
    enumerable: true,
    get(): never {
      throw typeError(
        codes.NOT_CLONEABLE,
        'a MemoryView, Pin, MappedFile or SharedMemory cannot be cloned or posted; post view.share() ' +
          'instead (a plain descriptor of shared memory, a file mapped \'write\' or a SharedArrayBuffer) ' +
          'and call attach(descriptor) on the other side for a view of the same bytes',
      )
    },
  }),
)

/** Python's name for the type of a JS value, used in messages that mirror CPython's wording. */
export function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object' || typeof value === 'function') {
    // Building a message must not fail in its turn: a Proxy or a getter on `constructor` may throw.
    try {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      return typeof name === 'string' && name !== '' ? name : typeof value
    } catch {
      return typeof value
    }
  }
  return typeof value
}
