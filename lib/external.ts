/**
 * What mapped files and shared memory have in common: a native mapping exposed as an external
 * ArrayBuffer, one `buf` view over it, and a close() that refuses while exports are held and
 * otherwise detaches every JS view and unmaps synchronously.
 *
 * Ownership rules: the owner (MappedFile, SharedMemory) holds the native mapping's id until the first
 * view needs the memory, then the mapping's one ArrayBuffer (made by mappingBuffer()) and the view
 * `buf`. close() first asks the ExternalMemory records (one per ArrayBuffer, shared by every managed
 * buffer over it: the whole mapping's and each window's) whether any export is held, then has native
 * code detach each ArrayBuffer and munmap it, or, when no ArrayBuffer was made, unmap by id
 * (unmapId()). resize() replaces the ArrayBuffer and its record: the old record is closed, so views
 * over the old mapping read as released.
 * An owner that is never closed is unmapped when it is garbage collected (the `bufferless`
 * FinalizationRegistry, which a bufferless owner joins when the microtask queue next runs after it
 * was opened, if it is still open then) while it has no ArrayBuffer, else when its ArrayBuffer is;
 * at the environment's teardown (a worker exiting) native code unmaps both kinds.
 */
import { BufferError, NOT_CLONEABLE_GUARD, codes, plainError, rangeError } from './errors'
import { ExternalMemory, ManagedBuffer, externalOf, registerExternal } from './managed-buffer'
import { MemoryView, Pin } from './memoryview'
import { parseSingleFormat } from './format'
import { requireBinding } from './binding'
import { BUFFER_PROTOCOL, BufferDescriptor, OWNED_VIEW } from './sources'

/**
 * The state of memory an ExternalOwner maps, with where the memory comes from, so that share() can
 * name the shared memory or file under any view of it through the record each ArrayBuffer already
 * carries (registerExternal()). Primitive fields on purpose: when the records were kept in a WeakMap
 * keyed by the buffer, a state referring to its owner (which holds the buffer) kept the buffers alive
 * through scavenges, and even one more object per mapping made 100,000 open/close cycles grow the
 * heap (test/73).
 * @internal
 */
export class OwnedExternalMemory extends ExternalMemory {
  /** 'shm' or 'file' once the owner said which; '' for other owners. */
  originKind: '' | 'shm' | 'file' = ''
  /** The segment's name, or the file's absolute path ('' for a file mapped by descriptor). */
  originName = ''
  /** Where a file mapping starts in the file. */
  fileOffset = 0
  /** A file mapping's access mode. */
  access = ''

  /** Takes `other`'s origin: the same memory mapped anew (resize()) or in part (a window). */
  copyOrigin(other: OwnedExternalMemory, extraFileOffset = 0): void {
    this.originKind = other.originKind
    this.originName = other.originName
    this.fileOffset = other.fileOffset + extraFileOffset
    this.access = other.access
  }
}

/** @internal The state of the external memory under `buffer` when an owner mapped it, else null. */
export function ownedStateOf(buffer: ArrayBuffer | SharedArrayBuffer): OwnedExternalMemory | null {
  const state = externalOf(buffer)
  return state instanceof OwnedExternalMemory ? state : null
}

/**
 * A piece of a file mapped on its own (MappedFile.window() of a file too big for one view): its
 * ArrayBuffer and the state that counts exports on views over it.
 * @internal
 */
export interface WindowMapping {
  buffer: ArrayBuffer
  /** Where the window starts in the owner's mapping. */
  offset: number
  state: ExternalMemory
}

/** @internal The `_windows` of every owner without windows; never added to. */
export const NO_WINDOWS: ReadonlySet<WindowMapping> = new Set<WindowMapping>()

/**
 * Unmaps the mapping of an owner collected without close() while it still had no ArrayBuffer
 * (unmapId() does nothing when it has one: the buffer's own finalizer unmaps it then).
 */
const bufferless = new FinalizationRegistry<number>((id) => {
  requireBinding('mmap').unmapId(id)
})

/**
 * Bufferless owners not yet registered with `bufferless`. Registering with an unregister token and
 * unregistering at close() cost about 200 ns a cycle, more than the rest of mmap() and close() in
 * JS together (issue 9), so an owner joins this list instead and is registered only if it is still
 * open, and still bufferless, when the microtask queue next runs: one opened and closed in the same
 * synchronous run of code, the usual case, never registers. An owner dropped unclosed is still
 * unmapped by garbage collection, only never before the code that opened it yields, which was
 * already so (cleanup callbacks run in a later task; V8 keeps a registered target through
 * scavenges): at most one collection later than before.
 * Each owner knows its index here (`_pending`), so close() takes it out in O(1).
 */
const pendingOwners: ExternalOwner[] = []
let registerQueued = false

function registerPending(): void {
  registerQueued = false
  for (const owner of pendingOwners) owner._registerBufferless()
  pendingOwners.length = 0
}

/**
 * The common base of {@link index!MappedFile} and {@link index!SharedMemory}: a mapping with one `buf` view,
 * leases, the buffer protocol and a synchronous close(). Not constructed directly.
 */
export abstract class ExternalOwner implements Disposable {
  /**
   * @internal The first own property on purpose: structuredClone()/postMessage() meet it before any
   * other and throw ERR_MEMORYVIEW_NOT_CLONEABLE.
   */
  readonly _noclone: object = NOT_CLONEABLE_GUARD
  /**
   * The external ArrayBuffer over the mapping once made (detached by close() and by resize(), which
   * replaces it); null before it is made, and when the memory is too big for one buffer and is
   * mapped in windows.
   */
  #ab: ArrayBuffer | null = null
  /** The native mapping's id while no ArrayBuffer has been made over it, else 0. */
  #id = 0
  /** @internal */ _size: number
  /** @internal The state of `_buffer` (a new one after each resize()). */ _state: OwnedExternalMemory
  /**
   * @internal Windows mapped on their own and not yet unmapped (see MappedFile.window()); the shared
   * empty NO_WINDOWS until the first window, so that opening allocates no set.
   */
  _windows: Set<WindowMapping> = NO_WINDOWS as Set<WindowMapping>
  readonly #readonly: boolean
  #buf: MemoryView<'B'> | null = null
  #closed = false
  /** @internal Where this owner is in `pendingOwners`, or -1 (registered with `bufferless`, or neither). */
  _pending = -1

  /**
   * @internal `buffer` null and `id` 0: nothing is mapped whole (a file bigger than one buffer),
   * `size` bytes are reached through windows. `id` > 0: a mapping of `size` bytes made by mapFileIo()
   * or openSharedMemoryId(), whose ArrayBuffer is made when first needed.
   */
  constructor(buffer: ArrayBuffer | null, what: string, readonly: boolean, size = 0, id = 0) {
    this.#readonly = readonly
    this._size = size
    this._state = new OwnedExternalMemory(what)
    if (buffer !== null) this._adopt(buffer)
    else if (id > 0) {
      this.#id = id
      this._pending = pendingOwners.push(this) - 1
      if (!registerQueued) {
        registerQueued = true
        queueMicrotask(registerPending)
      }
    }
  }

  /** @internal Called for a pending owner when the microtask queue runs: registers it if still bufferless. */
  _registerBufferless(): void {
    this._pending = -1
    if (this.#id !== 0) bufferless.register(this, this.#id, this)
  }

  /** The mapping is no longer bufferless (it got its buffer, or it is unmapped): forgets it. */
  #forgetBufferless(): void {
    const at = this._pending
    if (at < 0) {
      bufferless.unregister(this)
      return
    }
    // Swap-remove: the last pending owner takes this one's place.
    const last = pendingOwners.pop()!
    if (last !== this) {
      pendingOwners[at] = last
      last._pending = at
    }
    this._pending = -1
  }

  /**
   * @internal The external ArrayBuffer over the whole mapping, made now if it was not yet; null when
   * the memory is mapped in windows. After close(), the (detached) buffer if one was made, else null.
   */
  get _buffer(): ArrayBuffer | null {
    if (this.#id !== 0 && !this.#closed) this.#makeBuffer()
    return this.#ab
  }

  /** Makes the mapping's one ArrayBuffer, and `buf` over it. */
  #makeBuffer(): void {
    const id = this.#id
    this.#id = 0
    // From here the buffer's finalizer unmaps an owner never closed. Left registered, the owner
    // would also be kept through every scavenge (V8 holds a registered target until a full GC),
    // with its views and buffer: 100,000 open/buf/close cycles grew the heap to 56 MB.
    this.#forgetBufferless()
    let buffer: ArrayBuffer
    try {
      buffer = requireBinding('mmap').mappingBuffer(id, this._state.what === 'shared memory')
    } catch (err) {
      // The runtime refused the buffer (Electron's memory cage), and native code has unmapped the
      // memory: the owner is closed from here on (RELEASED), not an owner without `buf` (TOO_LARGE).
      this.#closed = true
      this._state.closed = true
      throw err
    }
    this._adopt(buffer)
  }

  /** @internal Makes `buffer` (a new mapping) the owner's memory, with a fresh `buf` over it. */
  _adopt(buffer: ArrayBuffer): void {
    if (this.#ab !== null) {
      // A new mapping (resize()) gets a new state (old views stay released) that keeps where the
      // memory comes from. The first mapping uses the state the constructor made.
      const previous = this._state
      this._state = new OwnedExternalMemory(previous.what)
      this._state.copyOrigin(previous)
    }
    this.#ab = buffer
    this._size = buffer.byteLength
    registerExternal(buffer, this._state)
    this.#buf = this._byteView(new ManagedBuffer(buffer, 0, buffer.byteLength, this))
  }

  /** @internal A view of 'B' over all of `mbuf` (the whole mapping or a window), readonly as the owner is. */
  _byteView(mbuf: ManagedBuffer): MemoryView<'B'> {
    return MemoryView._derive<'B'>({
      mbuf,
      offset: 0,
      format: parseSingleFormat('B')!,
      shape: [mbuf.byteLength],
      strides: [1],
      readonly: this.#readonly,
    })
  }

  /** @internal Exports held on any view of this owner's memory: the whole mapping and every window. */
  _exports(): number {
    let n = this._state.exports
    // Most owners have no windows: close() then skips making a Set iterator.
    if (this._windows.size === 0) return n
    for (const w of this._windows) n += w.state.exports
    return n
  }

  /** @internal Throws BufferError ERR_MEMORYVIEW_EXPORTED, for close() or resize(), while exports are held. */
  _refuseWhileExported(action: string): void {
    const n = this._exports()
    if (n === 0) return
    throw new BufferError(
      `memoryview: cannot ${action} ${this._state.what}: ${n} exported buffer${n === 1 ? ' is' : 's are'} still held; ` +
        `release the Pin returned by lease() or pin() (or end the native export), then ${action}() again`,
      codes.EXPORTED,
    )
  }

  /** @internal Unmaps one window (its views read as released, TypedArrays over it as empty). */
  _unmapWindow(w: WindowMapping): void {
    if (!this._windows.delete(w)) return
    w.state.closed = true
    requireBinding('mmap').unmap(w.buffer)
  }

  /**
   * A MemoryView (format 'B') over the whole mapping. After a resize(), a new view over the new
   * mapping (the old one is released). The first access makes the mapping's ArrayBuffer (opening
   * makes none: V8 counts it as external memory, and one of 64 MiB or more starts a garbage
   * collection); later accesses return the same view.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for a mapped file longer than
   *   `buffer.constants.MAX_LENGTH`, which has no whole view: use MappedFile.window().
   * @throws {Error} ERR_MEMORYVIEW_EXTERNAL_UNSUPPORTED on the first access in a runtime that refuses
   *   external ArrayBuffers (Electron's memory cage): the memory is unmapped and the owner closed then.
   */
  get buf(): MemoryView<'B'> {
    this._checkOpen()
    if (this.#id !== 0) this.#makeBuffer()
    if (this.#buf === null) throw this._tooLargeForBuf()
    return this.#buf
  }

  /** @internal Why `buf` cannot exist (MappedFile names the way out: window()). */
  _tooLargeForBuf(): Error {
    return rangeError(codes.TOO_LARGE, `${this._state.what} of ${this._size} bytes is longer than this runtime's largest buffer`)
  }

  /** Bytes mapped. */
  get size(): number {
    return this._size
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Takes an export of the mapping: while the returned Pin is held, close() throws BufferError.
   * Makes the mapping's ArrayBuffer if `buf` was not used yet.
   * Hold one around asynchronous I/O on the memory (fs.write of a view, zlib, a worker reading
   * it), so that the memory cannot be unmapped while the operation still uses it.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE on a mapped file without `buf` (pin a window instead).
   */
  lease(): Pin {
    return this.buf.pin()
  }

  /**
   * Detaches every JS view over the memory (TypedArrays read as length 0, MemoryViews throw
   * ERR_MEMORYVIEW_RELEASED) and unmaps it, synchronously. Idempotent. An owner whose `buf` was
   * never used has no ArrayBuffer: close() then only unmaps, and `buf` stays unmade.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a lease, pin or native export is held;
   *   nothing is unmapped then.
   */
  close(): void {
    if (this.#closed) return
    this._refuseWhileExported('close')
    this.#closed = true
    this._state.closed = true
    if (this._windows.size > 0) for (const w of [...this._windows]) this._unmapWindow(w)
    if (this.#ab !== null) requireBinding('mmap').unmap(this.#ab)
    else if (this.#id !== 0) {
      this.#forgetBufferless()
      requireBinding('mmap').unmapId(this.#id)
      this.#id = 0
    }
  }

  /** `using` closes (and does not unlink shared memory). */
  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal memoryview(owner) shares `buf`'s managed buffer. */
  [OWNED_VIEW](): MemoryView {
    return this.buf
  }

  /** The buffer protocol: a descriptor of the whole mapping; holding it counts as an export. */
  [BUFFER_PROTOCOL](): Required<BufferDescriptor> {
    return this.buf[BUFFER_PROTOCOL]()
  }

  /** @internal */
  _checkOpen(): void {
    if (this.#closed) throw plainError(codes.RELEASED, `operation on a closed ${this._state.what}`)
  }
}
