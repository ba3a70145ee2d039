/**
 * Error classes and stable codes.
 *
 * Every error thrown by this package is a built-in class (`TypeError`, `RangeError`, `Error`) or the
 * exported {@link BufferError}, with a stable `code` and a message starting with `memoryview: `.
 * CPython's exception types map onto them as API.md describes: TypeError → TypeError, IndexError and
 * OverflowError → RangeError, ValueError → RangeError (numbers out of range), TypeError (wrong kinds)
 * or Error (state), BufferError → BufferError, NotImplementedError → Error.
 */

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
   * structuredClone() or postMessage() of a view, mapped file or shared memory (TypeError): share the
   * memory (a SharedArrayBuffer, the shared memory's name, the file's path) and build a view there.
   */
  NOT_CLONEABLE: 'ERR_MEMORYVIEW_NOT_CLONEABLE',
  /**
   * resize() of memory that cannot be resized: a 'read' or 'copy' mapped file (TypeError, as Python's
   * mmap.resize) or shared memory (Error; Python's SharedMemory has no resize either).
   */
  NOT_RESIZABLE: 'ERR_MEMORYVIEW_NOT_RESIZABLE',
} as const

export type ErrorCode = (typeof codes)[keyof typeof codes]

/**
 * Python's BufferError: raised when a view (or the owner of external memory) is asked to release
 * while buffers exported from it are still held.
 */
export class BufferError extends Error {
  readonly code: string
  constructor(message: string, code: string = codes.EXPORTED) {
    super(message)
    this.code = code
  }
}
Object.defineProperty(BufferError.prototype, 'name', { value: 'BufferError', configurable: true, writable: true })

type ErrorClass = new (message: string) => Error

function make<T extends Error>(Cls: ErrorClass, code: string, message: string): T {
  const err = new Cls(`memoryview: ${message}`) as T & { code: string }
  err.code = code
  return err
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
 * The first own property of every view and owner of external memory. structuredClone() and
 * postMessage() serialise a plain object's own enumerable properties in order, so they reach this
 * object's getter first and fail with our error instead of V8's DataCloneError naming an internal
 * function. One frozen object shared by all, so a view pays one property store for it.
 */
export const NOT_CLONEABLE_GUARD: object = Object.freeze(
  Object.defineProperty({}, 'memoryview', {
    enumerable: true,
    get(): never {
      throw typeError(
        codes.NOT_CLONEABLE,
        'a MemoryView, Pin, MappedFile or SharedMemory cannot be cloned or posted; share the memory instead ' +
          '(post the SharedArrayBuffer, or open the same SharedMemory by name / mmap the same file in the ' +
          'other thread) and build a view there',
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
