/**
 * safetensors files (Hugging Face's tensor format) as zero-copy views over one mapping.
 *
 * The format: 8 bytes, a little-endian u64 N; N bytes of UTF-8 JSON (possibly padded with spaces),
 * `{"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}}`;
 * then the data section, to which `data_offsets` are relative. Tensors are C-ordered, little-endian.
 *
 * Assumptions: the file comes from anywhere (a download), so the header is validated against the
 * format's own rules (those of the reference Rust implementation) before anything is mapped:
 * N at most 100,000,000 and inside the file (checked before N bytes are allocated), valid UTF-8
 * JSON object starting with `{`, string-to-string metadata, known dtypes, non-negative integer
 * shapes and offsets, shape × dtype size = end − begin without overflow, and tensors that cover the
 * data section exactly, in order, without overlap or gap, up to the end of the file. Only then is the
 * file mapped, and every view is checked to lie inside the mapping (the file may have changed
 * between the read of the header and the mapping).
 *
 * Ownership rules: the SafetensorsFile owns the MappedFile; every tensor's `array` is a view over the
 * mapping's managed buffer, so close() (which refuses while any export is held) releases them all.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { NOT_CLONEABLE_GUARD, codes, plainError, typeError } from '../errors'
import { NATIVE_LITTLE_ENDIAN, parseSingleFormat } from '../format'
import { MemoryView } from '../memoryview'
import { Access, MappedFile, MappedFileJSON, mmap } from '../mmap'

/** The reference implementation's limit on the header's size (N), in bytes. */
export const SAFETENSORS_MAX_HEADER_SIZE = 100_000_000

/** CPython's PyBUF_MAX_NDIM: a view has at most 64 dimensions. */
const MAX_NDIM = 64

/**
 * How each dtype is exposed: the struct letter of `array` (little-endian data: the native letter on
 * little-endian machines, '<'-prefixed on big-endian ones), the bits of one element, and for dtypes
 * that have no struct format, how `array` presents the storage.
 *   'units'  - the dtype's storage units, one per element, same shape (BF16 as 'H' bit patterns,
 *              the 8-bit floats as 'B' bytes).
 *   'pairs'  - a trailing dimension of 2 (C64 as 'f' pairs: real, imaginary).
 *   'packed' - sub-byte dtypes (F4, F6_*): the packed bytes as a 1-D 'B' view.
 */
interface DtypeInfo {
  letter: string
  bits: number
  raw?: 'units' | 'pairs' | 'packed'
}

const DTYPES: ReadonlyMap<string, DtypeInfo> = new Map<string, DtypeInfo>([
  ['BOOL', { letter: '?', bits: 8 }],
  ['U8', { letter: 'B', bits: 8 }],
  ['I8', { letter: 'b', bits: 8 }],
  ['I16', { letter: 'h', bits: 16 }],
  ['U16', { letter: 'H', bits: 16 }],
  ['I32', { letter: 'i', bits: 32 }],
  ['U32', { letter: 'I', bits: 32 }],
  ['I64', { letter: 'q', bits: 64 }],
  ['U64', { letter: 'Q', bits: 64 }],
  ['F16', { letter: 'e', bits: 16 }],
  ['F32', { letter: 'f', bits: 32 }],
  ['F64', { letter: 'd', bits: 64 }],
  ['BF16', { letter: 'H', bits: 16, raw: 'units' }],
  ['F8_E4M3', { letter: 'B', bits: 8, raw: 'units' }],
  ['F8_E5M2', { letter: 'B', bits: 8, raw: 'units' }],
  ['F8_E8M0', { letter: 'B', bits: 8, raw: 'units' }],
  ['F8_E4M3FNUZ', { letter: 'B', bits: 8, raw: 'units' }],
  ['F8_E5M2FNUZ', { letter: 'B', bits: 8, raw: 'units' }],
  ['C64', { letter: 'f', bits: 64, raw: 'pairs' }],
  ['F4', { letter: 'B', bits: 4, raw: 'packed' }],
  ['F6_E2M3', { letter: 'B', bits: 6, raw: 'packed' }],
  ['F6_E3M2', { letter: 'B', bits: 6, raw: 'packed' }],
])

/** One tensor of a safetensors file. */
export interface SafetensorsTensor {
  /** The dtype as the file names it ('F32', 'BF16', ...). */
  readonly dtype: string
  /** The tensor's shape as the file declares it (frozen; `[]` for a scalar). */
  readonly shape: readonly number[]
  /**
   * A zero-copy view of the tensor's bytes in the mapping, C-contiguous, readonly unless the file
   * was opened with access 'write' or 'copy'. Its format is the dtype's struct letter; dtypes without
   * one are exposed as their storage: BF16 as 'H' (the 16-bit patterns, see {@link bf16ToFloat32}),
   * F8_* as 'B', C64 as 'f' with a trailing dimension of 2, F4/F6_* as the packed bytes (1-D 'B').
   */
  readonly array: MemoryView
}

/** Options of {@link openSafetensors}. */
export interface SafetensorsOptions {
  /** As mmap(): 'read' (default, readonly views), 'write' (stores reach the file) or 'copy'. */
  access?: Access
}

function badHeader(message: string): Error {
  return plainError(codes.BAD_HEADER, `invalid safetensors header: ${message}`)
}

/** A value for a message, cut short: header strings may be up to 100 MB long. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? typeof v
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
const q = (name: string): string => show(name).replace(/^"|"$/g, "'")

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A JSON number that is a non-negative safe integer (what the reference's usize accepts here). */
function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw badHeader(`${what} must be a non-negative integer, got ${show(v)}`)
  }
  return v
}

interface Entry {
  name: string
  dtype: string
  info: DtypeInfo
  shape: number[]
  begin: number
  end: number
}

/** Validates one tensor entry of the header; does not look at the other tensors. */
function parseEntry(name: string, value: unknown): Entry {
  if (!isRecord(value)) throw badHeader(`tensor ${q(name)} must be an object`)
  const { dtype, shape, data_offsets: offsets } = value
  if (typeof dtype !== 'string') throw badHeader(`tensor ${q(name)}: dtype must be a string`)
  const info = DTYPES.get(dtype)
  if (info === undefined) {
    throw typeError(
      codes.UNSUPPORTED_DTYPE,
      `tensor ${q(name)} has dtype ${show(dtype)}, which safetensors does not define ` +
        `(known: ${[...DTYPES.keys()].join(', ')})`,
    )
  }
  if (!Array.isArray(shape)) throw badHeader(`tensor ${q(name)}: shape must be an array`)
  // C64 gets a trailing dimension of 2, so it may declare one dimension fewer.
  const maxNdim = info.raw === 'pairs' ? MAX_NDIM - 1 : MAX_NDIM
  if (shape.length > maxNdim) throw badHeader(`tensor ${q(name)} has ${shape.length} dimensions, more than ${maxNdim}`)
  const dims = shape.map((d, i) => count(d, `tensor ${q(name)}: shape[${i}]`))
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw badHeader(`tensor ${q(name)}: data_offsets must be an array [begin, end]`)
  }
  const begin = count(offsets[0], `tensor ${q(name)}: data_offsets[0]`)
  const end = count(offsets[1], `tensor ${q(name)}: data_offsets[1]`)
  if (end < begin) throw badHeader(`tensor ${q(name)}: data_offsets end ${end} is before begin ${begin}`)
  // As the reference, multiply in order and refuse on overflow, even if a later dimension is 0.
  let bits = info.bits
  for (const d of dims) {
    bits *= d
    if (bits > Number.MAX_SAFE_INTEGER) throw badHeader(`tensor ${q(name)}: shape ${JSON.stringify(dims)} overflows`)
  }
  if (bits % 8 !== 0 || bits / 8 !== end - begin) {
    throw badHeader(
      `tensor ${q(name)}: shape ${JSON.stringify(dims)} of ${dtype} is ${bits / 8} bytes, ` +
        `but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    )
  }
  return { name, dtype, info, shape: dims, begin, end }
}

interface Header {
  metadata: Readonly<Record<string, string>>
  entries: Entry[]
  dataStart: number
}

/** Reads `length` bytes at `position` (a regular file may return them in several parts). */
function readExactly(fd: number, length: number, position: number): Buffer | null {
  const out = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const got = readSync(fd, out, done, length - done, position + done)
    if (got === 0) return null
    done += got
  }
  return out
}

/** Reads and validates the header through `fd`, allocating nothing the file's size does not justify. */
function readHeader(fd: number, fileSize: number): Header {
  if (fileSize < 8) throw badHeader(`the file has ${fileSize} bytes, fewer than the 8 of the header size`)
  const head = readExactly(fd, 8, 0)
  if (head === null) throw badHeader('the file ended before the header size')
  const n64 = head.readBigUInt64LE(0)
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER_SIZE)) {
    throw badHeader(`header size ${n64} is larger than the limit of ${SAFETENSORS_MAX_HEADER_SIZE} bytes`)
  }
  const n = Number(n64)
  if (8 + n > fileSize) throw badHeader(`header size ${n} runs past the end of the ${fileSize}-byte file`)
  const bytes = readExactly(fd, n, 8)
  if (bytes === null) throw badHeader('the file ended inside the header')
  if (n === 0 || bytes[0] !== 0x7b) throw badHeader("the header must be a JSON object starting with '{'")
  let text: string
  let json: unknown
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw badHeader('the header is not valid UTF-8')
  }
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw badHeader(`the header is not valid JSON (${(err as Error).message})`)
  }
  if (!isRecord(json)) throw badHeader('the header must be a JSON object')

  const metadata: Record<string, string> = Object.create(null)
  const entries: Entry[] = []
  for (const key of Object.keys(json)) {
    const value = json[key]
    if (key === '__metadata__') {
      // The reference reads it as an optional map: null means none.
      if (value === null) continue
      if (!isRecord(value)) throw badHeader('__metadata__ must be an object of strings (or null)')
      for (const mk of Object.keys(value)) {
        if (typeof value[mk] !== 'string') throw badHeader(`__metadata__ value ${q(mk)} must be a string`)
        metadata[mk] = value[mk] as string
      }
    } else {
      entries.push(parseEntry(key, value))
    }
  }
  // The reference sorts by offsets and requires each tensor to start where the previous one ended,
  // the first at 0 and the last ending at the end of the file: no gap, no overlap, no trailing bytes.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  const dataStart = 8 + n
  let at = 0
  for (const e of entries) {
    if (e.begin !== at) {
      throw badHeader(
        e.begin < at
          ? `tensor ${q(e.name)} at [${e.begin}, ${e.end}] overlaps the tensor before it (which ends at ${at})`
          : `gap before tensor ${q(e.name)}: data_offsets begin at ${e.begin}, the previous tensor ends at ${at}`,
      )
    }
    at = e.end
  }
  if (dataStart + at !== fileSize) {
    throw badHeader(
      `the tensors cover ${at} bytes of data, but the file holds ${fileSize - dataStart} after the header`,
    )
  }
  return { metadata: Object.freeze(metadata), entries, dataStart }
}

/** The view of one tensor: C-contiguous strides over the mapping, at the tensor's byte offset. */
function tensorView(buf: MemoryView, e: Entry, offset: number, readonly: boolean): MemoryView {
  const letter = e.info.raw === 'packed' ? 'B' : e.info.letter
  const native = e.info.bits < 16 || e.info.raw === 'packed' || NATIVE_LITTLE_ENDIAN
  const format = parseSingleFormat(native ? letter : `<${letter}`)!
  let shape: number[]
  if (e.info.raw === 'packed') shape = [e.end - e.begin]
  else if (e.info.raw === 'pairs') shape = [...e.shape, 2]
  else shape = e.shape.slice()
  const strides = new Array<number>(shape.length)
  let stride = format.itemsize
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride
    stride *= shape[i]
  }
  const { mbuf } = buf._copyInit()
  return MemoryView._derive({ mbuf, offset, format, shape, strides, readonly })
}

/**
 * An open safetensors file: its metadata and a Map from tensor name to `{ dtype, shape, array }`,
 * every `array` a zero-copy view over one mapping of the file. close() (or `using`) unmaps it.
 */
export class SafetensorsFile implements Disposable {
  /**
   * @internal The first own property: structuredClone()/postMessage() meet it first and throw
   * ERR_MEMORYVIEW_NOT_CLONEABLE, as for the views and the mapped file themselves.
   */
  readonly _noclone: object = NOT_CLONEABLE_GUARD
  /** The `__metadata__` strings (frozen, null prototype); empty when the file has none. */
  readonly metadata: Readonly<Record<string, string>>
  /** The tensors by name, in the order of their data in the file (empty tensors sharing an offset: in header order). */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>
  /** The mapping under the views: lease(), and whatever else MappedFile offers, work on it. */
  readonly file: MappedFile

  /** @internal Use {@link openSafetensors}. */
  constructor(file: MappedFile, header: Header) {
    this.file = file
    this.metadata = header.metadata
    const buf = file.buf
    const readonly = file.access === 'read'
    const tensors = new Map<string, SafetensorsTensor>()
    for (const e of header.entries) {
      const array = tensorView(buf, e, header.dataStart + e.begin, readonly)
      tensors.set(e.name, Object.freeze({ dtype: e.dtype, shape: Object.freeze(e.shape), array }))
    }
    this.tensors = tensors
  }

  /** True after close(). */
  get closed(): boolean {
    return this.file.closed
  }

  /**
   * Unmaps the file: every tensor's `array` is released (ERR_MEMORYVIEW_RELEASED on use) and
   * TypedArrays taken from them read as length 0. Idempotent.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a pin or lease on any tensor (or on `file`)
   *   is held; nothing is unmapped then.
   */
  close(): void {
    this.file.close()
  }

  /** `using` closes. */
  [Symbol.dispose](): void {
    this.close()
  }

  /** `SafetensorsFile(3 tensors, MappedFile("model.safetensors", …))`. */
  toString(): string {
    const n = this.tensors.size
    return `SafetensorsFile(${n} tensor${n === 1 ? '' : 's'}, ${this.file.toString()})`
  }

  /** util.inspect() shows what String() does. */
  [inspect.custom](): string {
    return this.toString()
  }

  /**
   * What `JSON.stringify()` writes: the file, the metadata and each tensor's dtype and shape, never
   * the data. Never throws, also after close().
   */
  toJSON(): SafetensorsFileJSON {
    const tensors: Record<string, { dtype: string; shape: readonly number[] }> = Object.create(null)
    for (const [name, t] of this.tensors) tensors[name] = { dtype: t.dtype, shape: t.shape }
    return { type: 'SafetensorsFile', file: this.file.toJSON(), metadata: this.metadata, tensors }
  }
}

/** The JSON form of an open safetensors file ({@link SafetensorsFile.toJSON}). */
export interface SafetensorsFileJSON {
  /** Always `'SafetensorsFile'`: what kind of object this JSON describes. */
  type: 'SafetensorsFile'
  /** The JSON form of the underlying mapped file. */
  file: MappedFileJSON
  /** The header's `__metadata__` (string to string; empty when the file has none). */
  metadata: Readonly<Record<string, string>>
  /** Each tensor's dtype and shape by name, without its data. */
  tensors: Record<
    string,
    {
      /** The safetensors dtype name, e.g. `'F32'`, `'BF16'`. */
      dtype: string
      /** Elements per dimension. */
      shape: readonly number[]
    }
  >
}

/**
 * Opens a safetensors file as zero-copy views: `{ metadata, tensors, close() }`, disposable with
 * `using`. The header is read and validated with ordinary reads before the file is mapped, so a
 * malformed or hostile file is refused without mapping anything or allocating more than the file holds.
 * @throws {Error} ERR_MEMORYVIEW_BAD_HEADER when the file breaks the format's rules (header size past
 *   the file or above 100,000,000 bytes, not a UTF-8 JSON object, a tensor entry of the wrong shape,
 *   shape × dtype size ≠ the tensor's bytes, offsets that overlap, leave a gap or do not end at the
 *   end of the file, more than 64 dimensions) or when the file changed size while being opened.
 * @throws {TypeError} ERR_MEMORYVIEW_UNSUPPORTED_DTYPE for a dtype safetensors does not define;
 *   ERR_MEMORYVIEW_INVALID_ARG for a bad path or options.
 * @throws {Error} with the errno name as `code` (ENOENT, EACCES, EISDIR, ...) when a system call fails,
 *   and whatever mmap() throws. A failed call leaves no mapping or file descriptor behind.
 */
export function openSafetensors(path: string | URL, options: SafetensorsOptions = {}): SafetensorsFile {
  if (!(path instanceof URL) && (typeof path !== 'string' || path === '' || path.includes('\0'))) {
    throw typeError(codes.INVALID_ARG, 'openSafetensors() needs a non-empty path without null bytes, or a file: URL')
  }
  if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
  const access = options.access ?? 'read'
  if (access !== 'read' && access !== 'write' && access !== 'copy') {
    throw typeError(codes.INVALID_ARG, `access must be 'read', 'write' or 'copy', not ${String(access)}`)
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer (for regular files the flag does nothing).
  const flags = (access === 'write' ? fsConstants.O_RDWR : fsConstants.O_RDONLY) | (fsConstants.O_NONBLOCK ?? 0)
  const fd = openSync(path, flags)
  let file: MappedFile | null = null
  try {
    const size = fstatSync(fd).size
    const header = readHeader(fd, size)
    file = mmap(fd, { access })
    // The header was validated against `size`; a file truncated since then must not yield views
    // past the end of the mapping.
    if (file.size !== size) throw badHeader(`the file changed size while it was opened (${size} → ${file.size} bytes)`)
    // The file was mapped through the descriptor whose header was checked (not reopened by path, which
    // may name another file by now); it reports the path, as the descriptor is closed below.
    Object.defineProperty(file, 'source', { value: typeof path === 'string' ? path : fileURLToPath(path), enumerable: true })
    const opened = new SafetensorsFile(file, header)
    file = null
    return opened
  } finally {
    if (file !== null) file.close()
    closeSync(fd)
  }
}

/**
 * Widens bfloat16 bit patterns (a BF16 tensor's `array`, format 'H') to a new Float32Array in C
 * order: bfloat16 is the upper half of a float32, so the conversion is exact.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG when `view` is not a MemoryView of format 'H' or '<H'.
 * @throws {Error} ERR_MEMORYVIEW_RELEASED when `view` is released (its file closed).
 */
export function bf16ToFloat32(view: MemoryView): Float32Array {
  if (!(view instanceof MemoryView)) throw typeError(codes.INVALID_ARG, 'bf16ToFloat32() needs a MemoryView')
  const format = view.format
  if (format !== 'H' && format !== '<H') {
    throw typeError(codes.INVALID_ARG, `bf16ToFloat32() needs a view of format 'H' (bfloat16 bit patterns), not '${format}'`)
  }
  // The bytes in C order: zero-copy for a contiguous native-format view (cast() needs one), else a copy.
  const bytes: Uint8Array =
    view.c_contiguous && format === 'H' ? (view.cast('B').toTypedArray() as Uint8Array) : view.tobytes()
  const n = bytes.length >> 1
  const bits = new Uint32Array(n)
  const littleEndianData = format === '<H' || NATIVE_LITTLE_ENDIAN
  if (littleEndianData && NATIVE_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const units = new Uint16Array(bytes.buffer, bytes.byteOffset, n)
    for (let i = 0; i < n; i++) bits[i] = units[i] << 16
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < n; i++) bits[i] = dv.getUint16(2 * i, littleEndianData) << 16
  }
  return new Float32Array(bits.buffer)
}
