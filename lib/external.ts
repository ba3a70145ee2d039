/**
 * What mapped files and shared memory have in common: a native mapping exposed as an external
 * ArrayBuffer, one `buf` view over it, and a close() that refuses while exports are held and
 * otherwise detaches every JS view and unmaps synchronously.
 *
 * Ownership rules: the owner (MappedFile, SharedMemory) holds the mapping's ArrayBuffer and the view `buf`.
 * close() first asks the ExternalMemory record (shared by every managed buffer over this
 * ArrayBuffer) whether any export is held, then has native code detach the ArrayBuffer and munmap.
 * An owner that is never closed is unmapped when its ArrayBuffer is garbage collected.
 */
import { NOT_CLONEABLE_GUARD, codes, plainError } from './errors'
import { ExternalMemory, ManagedBuffer, externalOf, registerExternal } from './managed-buffer'
import { MemoryView, Pin } from './memoryview'
import { parseSingleFormat } from './format'
import { requireBinding } from './binding'
import { BUFFER_PROTOCOL, BufferDescriptor, OWNED_VIEW } from './sources'

/**
 * The state of memory an ExternalOwner maps, with where the memory comes from, so that share() can
 * name the shared memory or file under any view of it through the registry that already maps each
 * ArrayBuffer to its state. Primitive fields on purpose: a state referring to its owner (which holds
 * the ArrayBuffer keying the registry) kept the buffers alive through scavenges, and even one more
 * object per mapping made 100,000 open/close cycles grow the heap (test/73).
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
}

/** @internal The state of the external memory under `buffer` when an owner mapped it, else null. */
export function ownedStateOf(buffer: ArrayBuffer | SharedArrayBuffer): OwnedExternalMemory | null {
  const state = externalOf(buffer)
  return state instanceof OwnedExternalMemory ? state : null
}

export abstract class ExternalOwner implements Disposable {
  /**
   * @internal The first own property on purpose: structuredClone()/postMessage() meet it before
   * `_buffer` (which they would otherwise copy) and throw ERR_MEMORYVIEW_NOT_CLONEABLE.
   */
  readonly _noclone: object = NOT_CLONEABLE_GUARD
  /** @internal The external ArrayBuffer over the mapping (detached by close()). */ readonly _buffer: ArrayBuffer
  /** @internal */ readonly _size: number
  /** @internal */ readonly _state: OwnedExternalMemory
  readonly #buf: MemoryView<'B'>

  /** @internal */
  constructor(buffer: ArrayBuffer, what: string, readonly: boolean) {
    this._buffer = buffer
    this._size = buffer.byteLength
    this._state = new OwnedExternalMemory(what)
    registerExternal(buffer, this._state)
    const mbuf = new ManagedBuffer(buffer, 0, buffer.byteLength, this)
    this.#buf = MemoryView._derive<'B'>({
      mbuf,
      offset: 0,
      format: parseSingleFormat('B')!,
      shape: [buffer.byteLength],
      strides: [1],
      readonly,
    })
  }

  /**
   * A MemoryView (format 'B') over the whole mapping.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   */
  get buf(): MemoryView<'B'> {
    this._checkOpen()
    return this.#buf
  }

  /** Bytes mapped. */
  get size(): number {
    return this._size
  }

  /** True after close(). */
  get closed(): boolean {
    return this._state.closed
  }

  /**
   * Takes an export of the mapping: while the returned Pin is held, close() throws BufferError.
   * Hold one around asynchronous I/O on the memory (fs.write of a view, zlib, a worker reading
   * it), so that the memory cannot be unmapped while the operation still uses it.
   * @throws {Error} ERR_MEMORYVIEW_RELEASED after close().
   */
  lease(): Pin {
    return this.buf.pin()
  }

  /**
   * Detaches every JS view over the memory (TypedArrays read as length 0, MemoryViews throw
   * ERR_MEMORYVIEW_RELEASED) and unmaps it, synchronously. Idempotent.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a lease, pin or native export is held;
   *   nothing is unmapped then.
   */
  close(): void {
    if (this._state.closed) return
    this._state.close()
    requireBinding('mmap').unmap(this._buffer)
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
    if (this._state.closed) throw plainError(codes.RELEASED, `operation on a closed ${this._state.what}`)
  }
}
