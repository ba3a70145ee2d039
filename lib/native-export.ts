/**
 * The JS side of native exports: handing a view's memory to native code as a pinned, validated
 * strided descriptor (PEP 3118's "exported buffer").
 *
 * Ownership rules: `exportToNative(source)` takes one buffer-protocol export of a MemoryView (the
 * source itself when it is one, else a private view over the source). While the handle is held,
 * that view counts one export, so its `release()` throws BufferError `ERR_MEMORYVIEW_EXPORTED`.
 * The native Export owns the descriptor's `release` hook and calls it exactly once: from
 * `handle.release()`, or, when the handle is garbage collected unreleased, from the event loop
 * (never from inside GC). The hook releases the view's export and then the private view, if any.
 */
import {
  requireBinding,
  type NativeBuffer,
  type NativeDescriptor,
  type NativeExport,
} from './binding'
import { MemoryView, memoryview } from './memoryview'
import { BUFFER_PROTOCOL, type BufferDescriptor } from './sources'

export type { NativeDescriptor } from './binding'


/**
 * A native export of a view. Also a buffer-protocol exporter itself: `memoryview(handle)` builds a
 * view from the descriptor native code holds ("takes one back").
 */
export class NativeExportHandle implements Disposable {
  readonly #native: NativeExport

  /** @internal Use {@link exportToNative}. */
  constructor(native: NativeExport) {
    this.#native = native
  }

  /** @internal The native Export object, for other modules of this package. */
  get native(): NativeExport {
    return this.#native
  }

  /** Whether `release()` ran (or the export was collected). */
  get released(): boolean {
    return this.#native.released
  }

  /** Data address of element `[0, ..., 0]` as native code sees it; `0n` once released. */
  get address(): bigint {
    return this.#native.address
  }

  /**
   * The descriptor as native code validated and holds it, with fresh arrays.
   * @throws Error `ERR_MEMORYVIEW_RELEASED` once released.
   */
  describe(): NativeDescriptor {
    return this.#native.describe()
  }

  /** Buffer protocol: the descriptor native code holds (no release hook: the handle owns that). */
  [BUFFER_PROTOCOL](): NativeDescriptor {
    return this.#native.describe()
  }

  /** Releases the export (the view can be released again afterwards); idempotent. */
  release(): void {
    this.#native.release()
  }

  /** `using` releases the export, as {@link NativeExportHandle.release} does. */
  [Symbol.dispose](): void {
    this.release()
  }
}

/**
 * Exports `source` to native code: a MemoryView, or anything `memoryview()` accepts.
 * @throws Error `ERR_MEMORYVIEW_NATIVE_UNAVAILABLE` when the addon could not be loaded.
 * @throws TypeError `ERR_MEMORYVIEW_INVALID_SOURCE` (from `memoryview()`) for other values, Error
 *   `ERR_MEMORYVIEW_RELEASED` for a released view, and TypeError/RangeError
 *   `ERR_MEMORYVIEW_INVALID_DESCRIPTOR` when an exporter's descriptor does not describe memory
 *   inside its buffer.
 */
export function exportToNative(source: unknown): NativeExportHandle {
  const binding = requireBinding('exportToNative()')
  const own = source instanceof MemoryView ? undefined : memoryview(source as never)
  const view = own ?? (source as MemoryView)
  let descriptor: BufferDescriptor
  try {
    descriptor = view[BUFFER_PROTOCOL]() as BufferDescriptor
  } catch (err) {
    own?._drop()
    throw err
  }
  let done = false
  const release = (): void => {
    if (done) return
    done = true
    try {
      descriptor.release?.()
    } finally {
      // The view this call made for itself was never handed out: _drop(), not release(), which would
      // store to its fast-path fields and make them mutable in every view (see MemoryView._drop).
      own?._drop()
    }
  }
  try {
    const native = new binding.Export({
      buffer: descriptor.buffer,
      byteOffset: descriptor.byteOffset,
      format: descriptor.format ?? view.format,
      itemsize: descriptor.itemsize ?? view.itemsize,
      shape: [...(descriptor.shape ?? view.shape)],
      strides: [...(descriptor.strides ?? view.strides)],
      readonly: descriptor.readonly ?? view.readonly,
      release,
    })
    return new NativeExportHandle(native)
  } catch (err) {
    release()
    throw err
  }
}
