/**
 * numpy's `.npy` format (NEP 1, `numpy.lib.format`) read as zero-copy views of a mapped file, and
 * written from views.
 *
 * Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length (little-endian
 * u2 in version 1.0, u4 in 2.0 and 3.0), then the header: a Python dict literal
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a newline
 * (latin-1 in 1.0 and 2.0, UTF-8 in 3.0). The data follows the header directly.
 *
 * Assumptions: the header is untrusted. It is parsed by a strict parser for the literal subset numpy
 * writes (strings, integers, True/False/None, tuples, lists) — never evaluated — and every number in
 * it is checked before it reaches a view: the shape's product times the item size must fit in the
 * bytes after the header, so a view never describes memory outside the file.
 * Ownership rules: openNpy() owns one MappedFile; its `array` is derived from the mapping's managed
 * buffer, so close() detaches it with every other view over the file. Every failure after mapping
 * closes the mapping before it throws.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { codes, plainError, typeError } from '../errors'
import { Format, NATIVE_LITTLE_ENDIAN, parseSingleFormat } from '../format'
import { ManagedBuffer } from '../managed-buffer'
import { MemoryView, memoryview } from '../memoryview'
import { Access, MappedFile, mmap } from '../mmap'
import { Source } from '../sources'

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
/** Headers longer than this are refused: numpy's own load refuses more than 10000 bytes by default. */
const MAX_HEADER = 1 << 20
/** A memoryview has at most 64 dimensions (CPython's PyBUF_MAX_NDIM). */
const MAX_NDIM = 64

/** The parsed header of a `.npy` file or `.npz` member, and where its data lies. */
export interface NpyHeader {
  /** The dtype string exactly as the header gives it, e.g. `'<f8'`. */
  dtype: string
  /** numpy's shape: `[]` for a 0-d array. Frozen. */
  shape: readonly number[]
  /** True when the data is stored in Fortran (column-major) order. */
  fortranOrder: boolean
  /** @internal The view's format string. */
  format: string
  /** @internal Byte offset of the data from the start of the `.npy` bytes. */
  dataOffset: number
  /** @internal Bytes of data: product(shape) × itemsize. */
  nbytes: number
}

/** One array read from a `.npy` file or an `.npz` member. */
export interface NpyArray {
  /** The dtype string exactly as the header gives it, e.g. `'<f8'`, `'|b1'`, `'>i4'`. */
  readonly dtype: string
  /** numpy's shape: `[]` for a 0-d array. Frozen. */
  readonly shape: readonly number[]
  /** True when the data is stored in Fortran (column-major) order; `array.strides` says so too. */
  readonly fortranOrder: boolean
  /** A zero-copy view of the data with numpy's shape and strides. */
  readonly array: MemoryView
}

/** Options of {@link openNpy}. */
export interface NpyOptions {
  /** As for {@link mmap}: 'read' (default; `array` is readonly), 'write' (stores reach the file) or 'copy'. */
  access?: Access
}

function badHeader(message: string): Error {
  return plainError(codes.BAD_HEADER, message)
}

/** numpy's dtype kind and size → the struct letter of the view's format. */
const LETTERS: Record<string, string> = {
  b1: '?', i1: 'b', u1: 'B', i2: 'h', u2: 'H', i4: 'i', u4: 'I', i8: 'q', u8: 'Q', f2: 'e', f4: 'f', f8: 'd',
}

/**
 * The view format for a numpy dtype string. Data in this machine's byte order gets the plain letter
 * ('d'), so the view has every native fast path (toTypedArray, cast, hash); the other byte order gets
 * a prefix ('>d'), which element access, tolist and equals read zero-copy.
 */
function formatOf(descr: string): string {
  const order = descr[0]
  const letter = descr.length >= 2 ? LETTERS[descr.slice(1)] : undefined
  if (letter === undefined || !'<>|='.includes(order)) throw unsupportedDtype(descr)
  if (letter === '?' || letter === 'b' || letter === 'B') return letter
  // '|' means "not applicable" and numpy treats it as native for multi-byte types, like '='.
  if (order === '|' || order === '=' || (order === '<') === NATIVE_LITTLE_ENDIAN) return letter
  return order + letter
}

function unsupportedDtype(descr: unknown): TypeError {
  const name = typeof descr === 'string' ? `'${descr}'` : `${pyRepr(descr)} (a structured dtype)`
  return typeError(
    codes.UNSUPPORTED_DTYPE,
    `unsupported dtype ${name}: only bool, int8 to int64, uint8 to uint64 and float16/32/64 can be viewed`,
  )
}

type PyValue = string | bigint | boolean | null | PyValue[] | { tuple: PyValue[] }

function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`
  if (v !== null && typeof v === 'object' && 'tuple' in v) {
    const items = (v as { tuple: PyValue[] }).tuple
    return items.length === 1 ? `(${pyRepr(items[0])},)` : `(${items.map(pyRepr).join(', ')})`
  }
  return String(v)
}

/**
 * A strict parser for the Python literal subset numpy headers use: a dict of string keys whose values
 * are strings, integers, True/False/None, tuples and lists. Anything else (names, calls, operators,
 * floats) is a BAD_HEADER: the header is data, never code.
 */
class LiteralParser {
  private pos = 0
  constructor(private readonly src: string) {}

  private fail(what: string): never {
    throw badHeader(`malformed .npy header: ${what} at character ${this.pos} of ${JSON.stringify(this.src.slice(0, 200))}`)
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && ' \t\n\r'.includes(this.src[this.pos])) this.pos++
  }

  private eat(ch: string): boolean {
    this.skipSpace()
    if (this.src[this.pos] === ch) {
      this.pos++
      return true
    }
    return false
  }

  parseDict(): Map<string, PyValue> {
    const out = new Map<string, PyValue>()
    if (!this.eat('{')) this.fail('expected a dict')
    while (!this.eat('}')) {
      const key = this.value(0)
      if (typeof key !== 'string') this.fail('expected a string key')
      if (!this.eat(':')) this.fail("expected ':'")
      if (out.has(key)) this.fail(`duplicate key '${key}'`)
      out.set(key, this.value(0))
      if (!this.eat(',')) {
        if (!this.eat('}')) this.fail("expected ',' or '}'")
        break
      }
    }
    this.skipSpace()
    if (this.pos !== this.src.length) this.fail('unexpected text after the dict')
    return out
  }

  private value(depth: number): PyValue {
    if (depth > 32) this.fail('nesting too deep')
    this.skipSpace()
    const ch = this.src[this.pos]
    if (ch === "'" || ch === '"') return this.string(ch)
    if (ch === '(' || ch === '[') {
      this.pos++
      const close = ch === '(' ? ')' : ']'
      const items: PyValue[] = []
      let comma = false
      while (!this.eat(close)) {
        items.push(this.value(depth + 1))
        comma = this.eat(',')
        if (!comma) {
          if (!this.eat(close)) this.fail(`expected ',' or '${close}'`)
          break
        }
      }
      // (x) is not a tuple in Python: a parenthesised single value without a comma is the value.
      if (ch === '(' && items.length === 1 && !comma) return items[0]
      return ch === '(' ? { tuple: items } : items
    }
    const m = /^(?:(-?\d+)L?|True|False|None)(?![\w.])/.exec(this.src.slice(this.pos, this.pos + 40))
    if (m === null) this.fail('expected a Python literal')
    this.pos += m[0].length
    if (m[0] === 'True') return true
    if (m[0] === 'False') return false
    if (m[0] === 'None') return null
    return BigInt(m[1])
  }

  private string(quote: string): string {
    let out = ''
    this.pos++
    for (;;) {
      if (this.pos >= this.src.length) this.fail('unterminated string')
      const ch = this.src[this.pos++]
      if (ch === quote) return out
      if (ch === '\n') this.fail('newline in a string')
      if (ch === '\\') {
        const next = this.src[this.pos++]
        if (next !== '\\' && next !== "'" && next !== '"') this.fail('unsupported escape in a string')
        out += next
      } else {
        out += ch
      }
    }
  }
}

/**
 * Parses the `.npy` bytes at the start of `bytes` (which may go on past the array: an `.npz` member
 * is a range of a larger mapping) and checks that the data fits in `bytes`.
 * @internal
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const size = bytes.length
  if (size < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw badHeader(size < 10 ? `not a .npy file: ${size} bytes is shorter than the preamble` : 'not a .npy file: bad magic')
  }
  const major = bytes[6]
  const minor = bytes[7]
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw badHeader(`unsupported .npy format version ${major}.${minor} (1.0, 2.0 and 3.0 are supported)`)
  }
  const start = major === 1 ? 10 : 12
  if (size < start) throw badHeader('truncated .npy file: the header length is missing')
  const headerLen = major === 1
    ? bytes[8] | (bytes[9] << 8)
    : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000
  if (headerLen > MAX_HEADER) throw badHeader(`.npy header of ${headerLen} bytes is longer than ${MAX_HEADER}`)
  const dataOffset = start + headerLen
  if (dataOffset > size) throw badHeader(`truncated .npy file: the header ends at ${dataOffset}, past the end (${size})`)
  let text: string
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(start, dataOffset))
  } catch {
    throw badHeader('the .npy 3.0 header is not valid UTF-8')
  }
  const dict = new LiteralParser(text).parseDict()
  const keys = [...dict.keys()].sort().join(',')
  if (keys !== 'descr,fortran_order,shape') {
    throw badHeader(`the .npy header must have exactly the keys descr, fortran_order and shape, not ${keys || 'none'}`)
  }
  const descr = dict.get('descr')!
  const fortran = dict.get('fortran_order')!
  const shapeValue = dict.get('shape')!
  if (shapeValue === null || typeof shapeValue !== 'object' || !('tuple' in shapeValue)) {
    throw badHeader(`shape must be a tuple, not ${pyRepr(shapeValue)}`)
  }
  if (typeof fortran !== 'boolean') throw badHeader(`fortran_order must be True or False, not ${pyRepr(fortran)}`)
  if (typeof descr !== 'string' && !Array.isArray(descr)) throw badHeader(`descr must be a string or a list, not ${pyRepr(descr)}`)
  const dims = shapeValue.tuple
  if (dims.length > MAX_NDIM) throw badHeader(`shape has ${dims.length} dimensions; a view has at most ${MAX_NDIM}`)
  const shape: number[] = []
  let count = 1n
  for (const d of dims) {
    if (typeof d !== 'bigint' || d < 0n) throw badHeader(`shape elements must be integers >= 0, not ${pyRepr(d)}`)
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) throw badHeader(`shape element ${d} is too large`)
    shape.push(Number(d))
    count *= d
  }
  // numpy checks shape, fortran_order, then descr; the data's size comes last.
  if (typeof descr !== 'string') throw unsupportedDtype(descr)
  const format = formatOf(descr)
  const nbytes = count * BigInt(parseSingleFormat(format)!.itemsize)
  if (nbytes > BigInt(size - dataOffset)) {
    throw badHeader(`truncated .npy file: shape ${pyRepr({ tuple: dims })} of ${descr} needs ${nbytes} bytes of data, the file has ${size - dataOffset}`)
  }
  return { dtype: descr as string, shape: Object.freeze(shape), fortranOrder: fortran, format, dataOffset, nbytes: Number(nbytes) }
}

/**
 * The strides numpy exports for the array (what Python's memoryview(array).strides gives): C order,
 * or Fortran order (the C-order strides of the reversed shape, reversed). An empty array exports C
 * strides whatever its order, as numpy does: it is both C- and F-contiguous.
 */
function npyStrides(shape: readonly number[], itemsize: number, fortran: boolean): number[] {
  const n = shape.length
  const strides = new Array<number>(n)
  const f = fortran && !shape.includes(0)
  let s = itemsize
  for (let k = 0; k < n; k++) {
    const axis = f ? k : n - 1 - k
    strides[axis] = s
    s *= shape[axis]
  }
  return strides
}

/**
 * The view of a parsed array inside `base` (a view of 'B' whose first byte is the `.npy` magic), at
 * `base`'s offset plus the header's data offset. Derived from `base`'s managed buffer,
 * so it belongs to the same owner and is released with it.
 * @internal
 */
export function npyView(base: MemoryView, header: NpyHeader, readonly: boolean): MemoryView {
  const init = base._copyInit()
  const format: Format = parseSingleFormat(header.format)!
  return MemoryView._derive({
    mbuf: init.mbuf as ManagedBuffer,
    offset: init.offset + header.dataOffset,
    format,
    shape: header.shape,
    strides: Object.freeze(npyStrides(header.shape, format.itemsize, header.fortranOrder)),
    readonly,
  })
}

/** An opened `.npy` file: the parsed header and a zero-copy view of the data in a mapping of the file. */
export class NpyFile implements NpyArray, Disposable {
  /** The dtype string exactly as the header gives it, e.g. `'<f8'`, `'|b1'`, `'>i4'`. */
  readonly dtype: string
  /** numpy's shape: `[]` for a 0-d array. Frozen. */
  readonly shape: readonly number[]
  /** True when the data is stored in Fortran (column-major) order; `array.strides` says so too. */
  readonly fortranOrder: boolean
  /** A zero-copy view of the data with numpy's shape and strides; released by close(). */
  readonly array: MemoryView
  /** The mapping of the whole file (header included). */
  readonly file: MappedFile

  /** @internal Use {@link openNpy}. */
  constructor(file: MappedFile, header: NpyHeader, array: MemoryView) {
    this.file = file
    this.dtype = header.dtype
    this.shape = header.shape
    this.fortranOrder = header.fortranOrder
    this.array = array
  }

  /** True after close(). */
  get closed(): boolean {
    return this.file.closed
  }

  /**
   * Unmaps the file, as {@link MappedFile.close}: `array` and every view derived from it are released.
   * @throws {BufferError} ERR_MEMORYVIEW_EXPORTED while a pin or native export of a view is held.
   */
  close(): void {
    this.file.close()
  }

  /** `using` closes. */
  [Symbol.dispose](): void {
    this.close()
  }
}

/**
 * Maps a numpy `.npy` file (format 1.0, 2.0 or 3.0) and returns its header and a zero-copy view of
 * its data: `array` has numpy's shape and strides (Fortran order included) and the dtype's format
 * (`'<f8'` → `'d'` on this little-endian machine, `'>f8'` → `'>d'`, `'|b1'` → `'?'`).
 * Only the header is read: opening never touches the data's pages.
 * @throws {Error} ERR_MEMORYVIEW_BAD_HEADER for a file that is not a well-formed `.npy` (bad magic or
 *   version, truncated file, header that is not a plain literal dict, bad shape, data past the end).
 * @throws {TypeError} ERR_MEMORYVIEW_UNSUPPORTED_DTYPE for dtypes other than bool, int8–int64,
 *   uint8–uint64 and float16/32/64 (object, structured, complex, strings, datetime, void), naming it.
 * @throws the errors of {@link mmap} (ENOENT, ERR_MEMORYVIEW_TOO_LARGE, ERR_MEMORYVIEW_INVALID_ARG for a
 *   bad access). Nothing stays mapped when the call fails.
 */
export function openNpy(path: string | URL, options: NpyOptions = {}): NpyFile {
  if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
  let file: MappedFile
  try {
    file = mmap(path, { access: options.access })
  } catch (err) {
    // An empty file is a truncated .npy file, whatever the mapping layer calls it.
    if ((err as { code?: unknown }).code === codes.EMPTY_FILE) throw badHeader('not a .npy file: the file is empty')
    throw err
  }
  try {
    const header = parseNpyHeader(file.buf.toTypedArray() as Uint8Array)
    return new NpyFile(file, header, npyView(file.buf, header, file.access === 'read'))
  } catch (err) {
    file.close()
    throw err
  }
}

/** Struct letter → numpy kind, by item size. 'c' has no numpy counterpart numpy reads back as itself. */
const KINDS: Record<string, string> = {
  '?': 'b', b: 'i', h: 'i', i: 'i', l: 'i', q: 'i', n: 'i', B: 'u', H: 'u', I: 'u', L: 'u', Q: 'u', N: 'u', P: 'u',
  e: 'f', f: 'f', d: 'f',
}

/** numpy's descr for a view's format: `'<f8'` for 'd' here, `'>i4'` for '>i', `'|u1'` for 'B'. */
function descrOf(view: MemoryView): string {
  const str = view.format
  const fmt = parseSingleFormat(str)
  const kind = fmt === null ? undefined : KINDS[fmt.char]
  if (fmt === null || kind === undefined) {
    throw typeError(
      codes.UNSUPPORTED_DTYPE,
      `format '${str}' has no numpy dtype that reads back as it: cast to 'B' (bytes) or a numeric format first`,
    )
  }
  const order = fmt.itemsize === 1 ? '|' : fmt.littleEndian ? '<' : '>'
  return `${order}${kind}${fmt.itemsize}`
}

/** Python's repr of a tuple of ints: `()`, `(3,)`, `(3, 4)`. */
function tupleRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
}

/** The header (preamble included) numpy would write for this dtype, order and shape. */
function npyHeaderBytes(descr: string, fortran: boolean, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${tupleRepr(shape)}, }`
  // numpy pads with spaces so that the data starts at a multiple of 64, and ends the header with '\n'.
  let version = 1
  let start = 10
  let total = Math.ceil((start + dict.length + 1) / 64) * 64
  if (total - start > 0xffff) {
    version = 2
    start = 12
    total = Math.ceil((start + dict.length + 1) / 64) * 64
  }
  const out = Buffer.alloc(total, 0x20)
  Buffer.from(MAGIC).copy(out, 0)
  out[6] = version
  out[7] = 0
  if (version === 1) out.writeUInt16LE(total - start, 8)
  else out.writeUInt32LE(total - start, 8)
  out.write(dict, start, 'latin1')
  out[total - 1] = 0x0a
  return out
}

/** @internal The header and the data bytes numpy.save would write for `view`. */
export function npyParts(source: Source | MemoryView): [Buffer, Buffer] {
  const view = source instanceof MemoryView ? source : memoryview(source)
  const descr = descrOf(view)
  const shape = view.shape
  // numpy.save writes a Fortran-contiguous (and not C-contiguous) array in Fortran order, anything
  // else in C order (a copy for non-contiguous arrays).
  const fortran = !view.c_contiguous && view.f_contiguous
  const data = view.tobytes(fortran ? 'F' : 'C')
  return [npyHeaderBytes(descr, fortran, shape), data]
}

/**
 * The `.npy` bytes numpy.save would write for a view (or any source `memoryview()` accepts), in memory:
 * version 1.0 (2.0 when the header does not fit in 64 KiB), the dtype of the view's format, Fortran
 * order for an F-contiguous view that is not C-contiguous, else C order (a strided view is copied in
 * C order, as numpy.save does).
 * @throws {TypeError} ERR_MEMORYVIEW_UNSUPPORTED_DTYPE for formats without a numpy dtype ('c', multi-item formats).
 * @throws {Error} ERR_MEMORYVIEW_RELEASED for a released view; {RangeError} ERR_MEMORYVIEW_TOO_LARGE
 *   past `buffer.constants.MAX_LENGTH` bytes; the errors of memoryview() for a bad source.
 */
export function npyBytes(view: Source | MemoryView): Buffer {
  const [header, data] = npyParts(view)
  return Buffer.concat([header, data])
}

/**
 * Writes a view as a `.npy` file that `numpy.load` reads back with the same dtype, shape, order and
 * values (see {@link npyBytes} for the layout). The file is written beside `path` under a temporary
 * name and renamed over it, so a mapping of the old file (an open {@link openNpy}) keeps the old data
 * and a failed save leaves no partial file: the old file, if any, is replaced as a new file (the old
 * one's permissions and links are not carried over).
 * @throws {TypeError} ERR_MEMORYVIEW_UNSUPPORTED_DTYPE, as {@link npyBytes}, before the file is touched;
 *   ERR_MEMORYVIEW_INVALID_ARG for a bad path.
 * @throws {Error} with the errno name as `code` (ENOENT, EACCES, ENOSPC, ...) when a system call fails.
 */
export function saveNpy(path: string | URL, view: Source | MemoryView): void {
  const file = checkPath(path)
  writeReplacing(file, npyParts(view))
}

/** @internal A path for a file this package writes: a non-empty string, or a file: URL. */
export function checkPath(path: unknown): string {
  let file = path
  if (path instanceof URL) {
    try {
      file = fileURLToPath(path)
    } catch {
      throw typeError(codes.INVALID_ARG, `not a file: URL: ${path.href}`)
    }
  }
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    throw typeError(codes.INVALID_ARG, 'path must be a non-empty string without null bytes, or a file: URL')
  }
  return file
}

/**
 * @internal Writes `parts` to a new file beside `file` and renames it over `file`. Truncating the file
 * in place would shrink it under any live mapping of it (an openNpy() of the same path), and touching
 * a mapped page past the end of a file kills the process with SIGBUS. A mapping keeps the old file;
 * a failed write leaves the old file as it was and removes the temporary one.
 */
export function writeReplacing(file: string, parts: readonly Uint8Array[]): void {
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx')
  try {
    try {
      for (const part of parts) writeAll(fd, part)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    unlinkSync(tmp)
    throw err
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done)
}
