/**
 * The managed buffer: one snapshot of an exporter's memory shared by every view derived from it
 * (CPython's _PyManagedBufferObject).
 *
 * Ownership rules:
 *   - A ManagedBuffer holds the exporter's memory region (`buffer`, `byteOffset`, `byteLength`) and
 *     the exporter itself (`obj`). Views never own memory; they hold the ManagedBuffer.
 *   - Every view registers itself here when created and unregisters on release(). When the last
 *     registered view goes away (released, or garbage collected without release), the exporter's
 *     `release` hook runs exactly once: this is how a buffer-protocol exporter learns that nobody
 *     uses its descriptor any more.
 *   - `exports` sums the exports (pins, native acquisitions) held on all views of this buffer. The
 *     owner of external memory (a mapped file, shared memory) asks `invalidate()` to refuse closing
 *     while any is held; after invalidate() every view reads as released.
 *
 * Assumptions: `dv` covers exactly the region; a view's offsets are relative to the region start.
 * `dv` becomes null once the buffer is invalidated, and element access relies on that to fail.
 */
import { BufferError, codes } from './errors'
import type { TypedArray, TypedArrayCtor } from './format'

export type Region = ArrayBuffer | SharedArrayBuffer

/** Runs release hooks for views that were garbage collected without release(). */
const collected = new FinalizationRegistry<ManagedBuffer>((mbuf) => mbuf.dropView())

export class ManagedBuffer {
  /** A DataView over exactly the region; null once the buffer is invalidated. */
  dv: DataView | null
  #u8: Uint8Array | null = null
  /** TypedArrays over the region, one per element type, made on first use. */
  private typedViews: Map<TypedArrayCtor, TypedArray | null> | null = null
  /** Registered live views, counted only when a release hook needs to know about the last one. */
  private views = 0
  /** Exports held on views of this buffer. */
  exports = 0
  /** True once the exporter's release hook has run or the owner invalidated the memory. */
  released = false

  /**
   * True for a resizable ArrayBuffer. Its DataView and byte view then track the buffer's length, so
   * that views inside what is left after a shrink keep working; views check their own extent.
   */
  readonly resizable: boolean

  constructor(
    readonly buffer: Region,
    readonly byteOffset: number,
    readonly byteLength: number,
    readonly obj: unknown,
    private hook: (() => void) | null = null,
  ) {
    this.resizable = (buffer as { resizable?: boolean }).resizable === true
    this.dv = this.resizable ? new DataView(buffer, byteOffset) : new DataView(buffer, byteOffset, byteLength)
  }

  /** The bytes of the region, for bulk copies; made on first use to keep view construction cheap. */
  get u8(): Uint8Array {
    return (this.#u8 ??= this.resizable
      ? new Uint8Array(this.buffer, this.byteOffset)
      : new Uint8Array(this.buffer, this.byteOffset, this.byteLength))
  }

  /**
   * A TypedArray of `Ctor` over exactly the region, or null when the region does not start at a
   * multiple of its element size, and for resizable buffers (whose views check their own extent).
   */
  typed(Ctor: TypedArrayCtor): TypedArray | null {
    if (this.resizable) return null
    const cache = (this.typedViews ??= new Map())
    let ta = cache.get(Ctor)
    if (ta === undefined) {
      const size = Ctor.BYTES_PER_ELEMENT
      const start = this.buffer.byteLength === 0 ? 0 : this.byteOffset
      ta = start % size === 0 ? new Ctor(this.buffer, start, Math.floor(this.byteLength / size)) : null
      cache.set(Ctor, ta)
    }
    return ta
  }

  /** Registers a new view; `view` is only used as a GC token. */
  addView(view: object): void {
    if (this.hook === null) return
    this.views++
    collected.register(view, this, view)
  }

  /** Unregisters a released view. */
  removeView(view: object): void {
    if (this.hook === null) return
    collected.unregister(view)
    this.dropView()
  }

  /** @internal */
  dropView(): void {
    if (--this.views === 0) this.runHook()
  }

  private runHook(): void {
    const hook = this.hook
    if (hook === null) return
    this.hook = null
    this.released = true
    hook()
  }

  /**
   * Called by the owner of external memory before it unmaps it: refuses while exports are held,
   * otherwise marks every view over this buffer as released.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while any view has an export.
   */
  invalidate(what = 'memory'): void {
    if (this.exports > 0) {
      const n = this.exports
      throw new BufferError(`memoryview: cannot close ${what}: ${n} exported buffer${n === 1 ? '' : 's'} still held`, codes.EXPORTED)
    }
    this.dv = null
    this.released = true
  }

  /**
   * True when bytes [start, end) of the region can no longer be read: the buffer was detached by a
   * transfer, or a resizable ArrayBuffer shrank below them.
   */
  outOfBounds(start = 0, end = this.byteLength): boolean {
    const dv = this.dv
    if (dv === null) return false
    if (this.resizable) return end > start && this.byteOffset + end > this.buffer.byteLength
    try {
      return dv.byteLength !== this.byteLength
    } catch {
      return true
    }
  }
}
