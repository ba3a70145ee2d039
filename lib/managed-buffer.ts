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
 *   - External memory (a mapped file, shared memory) has one ExternalMemory record per ArrayBuffer
 *     over it, kept in a private field of the buffer (see ExternalTag), so every ManagedBuffer over
 *     that ArrayBuffer (also one made from a TypedArray the user took from a view) shares it. It
 *     counts the exports held on all those views; its owner closes it only when there are none, and
 *     after that every view reads as released.
 *
 * Assumptions: `dv` covers exactly the region (a resizable buffer's tracks the buffer's length; a
 * fixed-length buffer found detached when it is first asked for gets an empty stand-in); a view's
 * offsets are relative to the region start.
 * Closing external memory detaches its ArrayBuffer, so every DataView and TypedArray access to it
 * fails; views then report ERR_MEMORYVIEW_RELEASED through `released`.
 */
import { BufferError, NOT_CLONEABLE_GUARD, codes } from './errors'
import type { TypedArray, TypedArrayCtor } from './format'
import { abByteLength, bufferByteLength, isArrayBuffer, isDetached, isResizableArrayBuffer } from './intrinsics'

export type Region = ArrayBuffer | SharedArrayBuffer

/**
 * The state of external memory that its owner can close: exports held on any view over it, and
 * whether it is closed.
 */
export class ExternalMemory {
  exports = 0
  closed = false

  constructor(readonly what: string) {}

  /**
   * Called by the owner before it unmaps the memory.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while any view over the memory has an export.
   */
  close(): void {
    if (this.closed) return
    if (this.exports > 0) {
      const n = this.exports
      throw new BufferError(
        `memoryview: cannot close ${this.what}: ${n} exported buffer${n === 1 ? ' is' : 's are'} still held; ` +
          'release the Pin returned by lease() or pin() (or end the native export), then close() again',
        codes.EXPORTED,
      )
    }
    this.closed = true
  }
}

/** What a detached fixed-length region reads through: every access to it throws. */
const EMPTY_DV = new DataView(new ArrayBuffer(0))

/** A base class whose constructor returns `target`, so that a subclass adds its private fields to it. */
class Stamp {
  constructor(target: object) {
    return target
  }
}

/**
 * The ExternalMemory record of a buffer, kept in a private field of the buffer itself (the
 * constructor adds it through Stamp) rather than in a WeakMap: WeakMap.set() with a new buffer as
 * key cost about 500 ns (V8's ephemeron write barrier, then every scavenge's ephemeron pass), a
 * quarter of what making a mapped file's buffer on first use costs in JS (issue 9). The field is
 * invisible to other code (no property, no symbol) and goes with the buffer. A buffer that refuses
 * new fields (a runtime that applies non-extensibility to private fields, on a frozen buffer a
 * native exporter handed in) falls back to a WeakMap.
 */
class ExternalTag extends Stamp {
  #state: ExternalMemory

  private constructor(buffer: Region, state: ExternalMemory) {
    super(buffer)
    this.#state = state
  }

  static set(buffer: Region, state: ExternalMemory): void {
    if (#state in buffer) {
      ;(buffer as unknown as ExternalTag).#state = state
      return
    }
    try {
      new ExternalTag(buffer, state)
    } catch {
      fallback ??= new WeakMap()
      fallback.set(buffer, state)
    }
  }

  static of(buffer: Region): ExternalMemory | undefined {
    if (#state in buffer) return (buffer as unknown as ExternalTag).#state
    return fallback === null ? undefined : fallback.get(buffer)
  }
}

/** The records of buffers that could not take a private field (see ExternalTag); null until one. */
let fallback: WeakMap<Region, ExternalMemory> | null = null

/** Marks `buffer` as external memory with the given state (done once, by its owner). */
export function registerExternal(buffer: Region, state: ExternalMemory): void {
  ExternalTag.set(buffer, state)
}

/** The ExternalMemory record of `buffer`, if it is external memory. */
export function externalOf(buffer: Region): ExternalMemory | undefined {
  return ExternalTag.of(buffer)
}

/**
 * Runs release hooks for views that were garbage collected without release(). There is no caller to
 * throw to there, and an exception thrown from a finalization callback would kill the process, so a
 * hook that throws becomes a process warning, as in native/export.cc's deferred release.
 */
const collected = new FinalizationRegistry<ManagedBuffer>((mbuf) => {
  try {
    mbuf.dropView()
  } catch (err) {
    emitReleaseWarning(err)
  }
})

function emitReleaseWarning(err: unknown): void {
  let detail: string
  try {
    detail = err instanceof Error ? err.message : String(err)
  } catch {
    detail = 'the thrown value could not be converted to a string'
  }
  try {
    process.emitWarning('memoryview: the release() of a garbage collected view\'s exporter threw', { code: codes.RELEASE_FAILED, detail })
  } catch {
    // Nothing is left to report to (emitWarning replaced or throwing); the hook has run once.
  }
}

/**
 * Gives ManagedBuffer its first own property: a base class's fields are defined before the
 * subclass's constructor parameters are stored, which TypeScript otherwise stores first.
 */
class NotCloneable {
  /**
   * The first own property on purpose: a view's first property is its managed buffer, so
   * structuredClone()/postMessage() of a view reach this guard before anything else (before
   * copying or failing on the buffer) and throw ERR_MEMORYVIEW_NOT_CLONEABLE (see NOT_CLONEABLE_GUARD).
   */
  readonly _noclone: object = NOT_CLONEABLE_GUARD
}

export class ManagedBuffer extends NotCloneable {
  /**
   * The DataView behind `dv`: undefined until first asked for, since most views read through
   * TypedArrays and making one costs view creation about a quarter of its time (memoryview(typedArray)).
   */
  private dvMade: DataView | null | undefined
  #u8: Uint8Array | null = null
  /**
   * TypedArrays over the region, one per element type, made on first use: the last one asked for in
   * two fields (every view of one format asks for the same one, and a Map per buffer would cost
   * view creation an allocation), the others in a Map.
   */
  private typedCtor: TypedArrayCtor | null = null
  private typedLast: TypedArray | null = null
  private typedViews: Map<TypedArrayCtor, TypedArray | null> | null = null
  /** Registered live views, counted only when a release hook needs to know about the last one. */
  private views = 0
  /** Exports held on views of this buffer. */
  exports = 0
  /** True once the exporter's release hook has run. */
  private hookRan = false
  /** The owner's state when the memory is external, else null. */
  readonly external: ExternalMemory | null

  /**
   * True for a resizable ArrayBuffer. Its DataView and byte view then track the buffer's length, so
   * that views inside what is left after a shrink keep working; views check their own extent.
   */
  readonly resizable: boolean

  /** True for an ArrayBuffer (which can be detached), false for a SharedArrayBuffer. */
  private readonly detachable: boolean

  constructor(
    readonly buffer: Region,
    readonly byteOffset: number,
    readonly byteLength: number,
    readonly obj: unknown,
    /**
     * The exporter's release hook until it has run, else null. Views are counted (addView()) only
     * while it is set; the view constructor tests it itself, so that for the common source with no
     * hook the call is never made and V8 spends none of its inlining budget on addView().
     */
    public hook: (() => void) | null = null,
  ) {
    super()
    // The intrinsic getter: an own `resizable: false` on a resizable buffer must not pass for fixed.
    this.detachable = isArrayBuffer(buffer)
    this.resizable = this.detachable && isResizableArrayBuffer(buffer as ArrayBuffer)
    this.external = externalOf(buffer) ?? null
    // A resizable buffer's DataView is made now, while its offset is inside the buffer: made after a
    // shrink below it, the constructor would throw. A fixed-length buffer can only be detached, which
    // newDataView() handles.
    this.dvMade = this.resizable ? new DataView(buffer, byteOffset) : undefined
  }

  /**
   * A DataView over exactly the region (null only in the released views' sentinel): made on first use
   * for a fixed-length buffer (an empty one if it is detached by then), in the constructor for a
   * resizable one.
   */
  get dv(): DataView | null {
    const dv = this.dvMade
    return dv !== undefined ? dv : (this.dvMade = this.newDataView())
  }

  set dv(dv: DataView | null) {
    this.dvMade = dv
  }

  /**
   * The DataView of a fixed-length region. A detached buffer takes no new DataView: an empty one
   * stands in, on which every access throws as on a DataView over the detached memory, and the
   * caller's error path (outOfBounds()) then reports the detachment.
   */
  private newDataView(): DataView {
    if (isDetached(this.buffer)) return EMPTY_DV
    return new DataView(this.buffer, this.byteOffset, this.byteLength)
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
    if (Ctor === this.typedCtor) return this.typedLast
    if (this.resizable) return null
    let ta = this.typedViews?.get(Ctor)
    if (ta === undefined) {
      const size = Ctor.BYTES_PER_ELEMENT
      // Detached memory (a TypedArray cannot be made over it) has no TypedArray; not cached, since
      // a view made now must still find its memory gone through the slow path.
      if (this.outOfBounds()) return null
      ta = this.byteOffset % size === 0 ? new Ctor(this.buffer, this.byteOffset, Math.floor(this.byteLength / size)) : null
    }
    // The one being replaced goes to the Map, also when `Ctor` came from there: else it is lost and made again.
    if (this.typedCtor !== null) (this.typedViews ??= new Map()).set(this.typedCtor, this.typedLast)
    this.typedCtor = Ctor
    this.typedLast = ta
    return ta
  }

  /** True once the exporter's release hook has run or the owner of external memory closed it. */
  get released(): boolean {
    return this.hookRan || (this.external !== null && this.external.closed)
  }

  /** Counts an export taken (+1) or given back (-1) on a view of this buffer. */
  addExport(delta: number): void {
    this.exports += delta
    if (this.external !== null) this.external.exports += delta
  }

  /** Registers a new view; `view` is only used as a GC token. Callers may skip it while `hook` is null. */
  addView(view: object): void {
    if (this.hook === null) return
    this.views++
    collected.register(view, this, view)
  }

  /**
   * Unregisters a released view. Once per view: every counted view is registered with itself as the
   * token, and unregister() answers false for one already taken off (a second _drop() of a view).
   */
  removeView(view: object): void {
    if (this.hook === null || !collected.unregister(view)) return
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
    this.hookRan = true
    hook()
  }

  /**
   * True when bytes [start, end) of the region can no longer be read: the buffer was detached by a
   * transfer, or a resizable ArrayBuffer shrank below them.
   */
  outOfBounds(start = 0, end = this.byteLength): boolean {
    if (this.dvMade === null) return false
    if (this.resizable) return end > start && this.byteOffset + end > bufferByteLength(this.buffer)
    // A fixed-length buffer loses bytes only by being detached, which leaves its intrinsic byteLength
    // 0: a cheaper test than isDetached() when the region ends past byte 0.
    if (!this.detachable) return false
    return this.byteOffset + this.byteLength > 0 ? abByteLength(this.buffer as ArrayBuffer) === 0 : isDetached(this.buffer)
  }
}
