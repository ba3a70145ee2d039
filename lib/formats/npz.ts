/**
 * numpy's `.npz` archives (`np.savez`): a zip file whose members are `.npy` files. The archive is
 * mapped once; each member stored uncompressed is viewed in place, zero-copy, like a `.npy` file.
 *
 * Layout read here (PKWARE APPNOTE): the end of central directory record (and, when a field is
 * saturated, the zip64 end of central directory record its locator points to) gives the central
 * directory; each central directory entry gives a member's name, method, sizes and the offset of its
 * local header (sizes and offset from the zip64 extra field when saturated); the data starts after
 * the local header's own name and extra fields, whose lengths may differ from the central entry's.
 *
 * Assumptions: the archive is untrusted. Every offset and length is checked against the mapping before
 * use, so a member's bytes always lie inside the file; member headers are parsed by npy.ts.
 * Ownership rules: openNpz() owns one MappedFile; every array from get() is derived from its managed
 * buffer and released by close(). Arrays of compressed members loaded with `compressed: 'load'` live
 * in ordinary JS memory and are not released by close(). A failed openNpz() closes the mapping.
 */
import { inflateRawSync } from 'node:zlib'
import { codes, plainError, rangeError, typeError } from '../errors'
import { MemoryView, memoryview } from '../memoryview'
import { Access, MappedFile, mmap } from '../mmap'
import { NpyArray, checkPath, npyParts, npyView, parseNpyHeader, writeReplacing } from './npy'
import { Source } from '../sources'

/** Options of {@link openNpz}. */
export interface NpzOptions {
  /** As for {@link mmap}: 'read' (default; arrays are readonly), 'write' or 'copy'. */
  access?: Access
  /**
   * What get() does with a compressed member (`np.savez_compressed`): 'refuse' (default) throws
   * ERR_MEMORYVIEW_COMPRESSED; 'load' inflates it into memory (a copy, writable, not backed by the file).
   */
  compressed?: 'refuse' | 'load'
}

interface Member {
  name: string
  method: number
  flags: number
  compressedSize: number
  size: number
  localOffset: number
}

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

function badZip(message: string): Error {
  return plainError(codes.BAD_HEADER, `not a readable .npz archive: ${message}`)
}

/** Little-endian reads that refuse to go past the end of the bytes. */
class Reader {
  readonly dv: DataView
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private check(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.length) throw badZip(`a record at ${at} runs past the end of the file`)
  }

  u16(at: number): number {
    this.check(at, 2)
    return this.dv.getUint16(at, true)
  }

  u32(at: number): number {
    this.check(at, 4)
    return this.dv.getUint32(at, true)
  }

  u64(at: number): number {
    this.check(at, 8)
    const v = this.dv.getBigUint64(at, true)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw badZip(`a zip64 field at ${at} is too large`)
    return Number(v)
  }
}

function readCentralDirectory(r: Reader): Member[] {
  const size = r.bytes.length
  // The end record is 22 bytes plus a comment of at most 65535 bytes: search backwards for it.
  let eocd = -1
  for (let at = size - 22; at >= Math.max(0, size - 22 - 0xffff); at--) {
    if (r.dv.getUint32(at, true) === EOCD && at + 22 + r.dv.getUint16(at + 20, true) <= size) {
      eocd = at
      break
    }
  }
  if (eocd < 0) throw badZip('no end of central directory record')
  let count = r.u16(eocd + 10)
  let cdSize = r.u32(eocd + 12)
  let cdOffset = r.u32(eocd + 16)
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20
    if (loc < 0 || r.u32(loc) !== ZIP64_LOCATOR) throw badZip('saturated end record without a zip64 locator')
    const z = r.u64(loc + 8)
    if (r.u32(z) !== ZIP64_EOCD) throw badZip('bad zip64 end of central directory record')
    count = r.u64(z + 32)
    cdSize = r.u64(z + 40)
    cdOffset = r.u64(z + 48)
  }
  if (cdOffset + cdSize > size) throw badZip('the central directory runs past the end of the file')
  // Each entry takes at least 46 bytes: a count larger than that cannot be honest.
  if (count * 46 > cdSize) throw badZip(`${count} entries cannot fit in a central directory of ${cdSize} bytes`)
  const members: Member[] = []
  const seen = new Set<string>()
  let at = cdOffset
  for (let k = 0; k < count; k++) {
    if (r.u32(at) !== CENTRAL) throw badZip(`bad central directory entry ${k}`)
    const flags = r.u16(at + 8)
    const method = r.u16(at + 10)
    let compressedSize = r.u32(at + 20)
    let usize = r.u32(at + 24)
    const nameLen = r.u16(at + 28)
    const extraLen = r.u16(at + 30)
    const commentLen = r.u16(at + 32)
    let localOffset = r.u32(at + 42)
    const nameStart = at + 46
    if (nameStart + nameLen + extraLen + commentLen > cdOffset + cdSize) throw badZip(`entry ${k} runs past the central directory`)
    const name = new TextDecoder((flags & 0x800) !== 0 ? 'utf-8' : 'latin1').decode(r.bytes.subarray(nameStart, nameStart + nameLen))
    // Saturated fields are in the zip64 extra field (id 1), in this order, only those saturated.
    let x = nameStart + nameLen
    const xEnd = x + extraLen
    while (x + 4 <= xEnd) {
      const id = r.u16(x)
      const len = r.u16(x + 2)
      if (x + 4 + len > xEnd) throw badZip(`entry ${k} has a malformed extra field`)
      if (id === 1) {
        let p = x + 4
        const next = (): number => {
          if (p + 8 > x + 4 + len) throw badZip(`entry ${k} has a short zip64 extra field`)
          const v = r.u64(p)
          p += 8
          return v
        }
        if (usize === 0xffffffff) usize = next()
        if (compressedSize === 0xffffffff) compressedSize = next()
        if (localOffset === 0xffffffff) localOffset = next()
      }
      x += 4 + len
    }
    if (seen.has(name)) throw badZip(`duplicate member '${name}'`)
    seen.add(name)
    members.push({ name, method, flags, compressedSize, size: usize, localOffset })
    at = xEnd + commentLen
  }
  return members
}

/** An opened `.npz` archive: its members' names and a zero-copy view of each. */
export class NpzFile implements Disposable {
  /** The mapping of the whole archive. */
  readonly file: MappedFile
  /** The members' names without `.npy` (numpy's `NpzFile.files`), in archive order. Frozen. */
  readonly names: readonly string[]
  readonly #members: Map<string, Member>
  readonly #arrays = new Map<string, NpyArray>()
  readonly #compressed: 'refuse' | 'load'

  /** @internal Use {@link openNpz}. */
  constructor(file: MappedFile, members: Member[], compressed: 'refuse' | 'load') {
    this.file = file
    this.#compressed = compressed
    this.#members = new Map(members.map((m) => [m.name, m]))
    this.names = Object.freeze(members.map((m) => (m.name.endsWith('.npy') ? m.name.slice(0, -4) : m.name)))
  }

  /** True after close(). */
  get closed(): boolean {
    return this.file.closed
  }

  /**
   * The array stored as `name` (with or without `.npy`, as numpy's `npz[name]`): the same
   * `{ dtype, shape, fortranOrder, array }` as {@link openNpy}, its `array` a zero-copy view into the
   * mapping. Each member is parsed once; later calls return the same object.
   * @throws {RangeError} ERR_MEMORYVIEW_NOT_FOUND for a name not in the archive.
   * @throws {Error} ERR_MEMORYVIEW_COMPRESSED for a compressed member (unless opened with
   *   `compressed: 'load'`); ERR_MEMORYVIEW_BAD_HEADER for a member that is not a well-formed `.npy`
   *   or lies outside the file; ERR_MEMORYVIEW_RELEASED after close().
   * @throws {TypeError} ERR_MEMORYVIEW_UNSUPPORTED_DTYPE as openNpy(); ERR_MEMORYVIEW_INVALID_ARG for a non-string name.
   */
  get(name: string): NpyArray {
    if (typeof name !== 'string') throw typeError(codes.INVALID_ARG, `member names are strings, not ${typeof name}`)
    this.file._checkOpen()
    const key = this.#members.has(name) ? name : `${name}.npy`
    const member = this.#members.get(key)
    if (member === undefined) throw rangeError(codes.NOT_FOUND, `'${name}' is not a member of this archive`)
    let arr = this.#arrays.get(key)
    if (arr === undefined) {
      arr = this.#load(member)
      this.#arrays.set(key, arr)
    }
    return arr
  }

  #load(m: Member): NpyArray {
    const buf = this.file.buf
    const bytes = buf.toTypedArray() as Uint8Array
    const r = new Reader(bytes)
    if (r.u32(m.localOffset) !== LOCAL) throw badZip(`no local header for '${m.name}'`)
    if ((m.flags & 1) !== 0) throw badZip(`'${m.name}' is encrypted`)
    // The local header's own name and extra lengths decide where the data starts.
    const start = m.localOffset + 30 + r.u16(m.localOffset + 26) + r.u16(m.localOffset + 28)
    if (start + m.compressedSize > bytes.length) throw badZip(`the data of '${m.name}' runs past the end of the file`)
    let base: MemoryView
    let readonly = this.file.access === 'read'
    if (m.method === 0) {
      if (m.compressedSize !== m.size) throw badZip(`stored member '${m.name}' has two different sizes`)
      base = buf.subarray(start, start + m.size)
    } else if (m.method === 8 && this.#compressed === 'load') {
      let inflated: Buffer
      try {
        inflated = inflateRawSync(bytes.subarray(start, start + m.compressedSize), { maxOutputLength: Math.max(1, m.size) })
      } catch (err) {
        throw badZip(`'${m.name}' does not inflate to its ${m.size} bytes: ${(err as Error).message}`)
      }
      if (inflated.length !== m.size) throw badZip(`'${m.name}' inflates to ${inflated.length} bytes, not ${m.size}`)
      base = memoryview(inflated)
      readonly = false
    } else if (m.method === 8) {
      throw plainError(
        codes.COMPRESSED,
        `'${m.name}' is compressed (np.savez_compressed) and cannot be mapped; ` +
          "open the archive with { compressed: 'load' } to inflate it into memory, or save it with np.savez",
      )
    } else {
      throw badZip(`'${m.name}' uses compression method ${m.method}`)
    }
    const header = parseNpyHeader(base.toTypedArray() as Uint8Array)
    const array = npyView(base, header, readonly)
    return Object.freeze({ dtype: header.dtype, shape: header.shape, fortranOrder: header.fortranOrder, array })
  }

  /**
   * Unmaps the archive, as {@link MappedFile.close}: every array from get() is released.
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
 * Maps a numpy `.npz` archive (`np.savez`, zip64 included). The central directory is read now;
 * each member's `.npy` header when get() first asks for it.
 * @throws {Error} ERR_MEMORYVIEW_BAD_HEADER for a file that is not a readable zip archive.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for bad options.
 * @throws the errors of {@link mmap} (ENOENT, ERR_MEMORYVIEW_TOO_LARGE, ...). Nothing stays mapped when the call fails.
 */
export function openNpz(path: string | URL, options: NpzOptions = {}): NpzFile {
  if (options === null || typeof options !== 'object') throw typeError(codes.INVALID_ARG, 'options must be an object')
  const compressed = options.compressed ?? 'refuse'
  if (compressed !== 'refuse' && compressed !== 'load') {
    throw typeError(codes.INVALID_ARG, `compressed must be 'refuse' or 'load', not ${String(compressed)}`)
  }
  let file: MappedFile
  try {
    file = mmap(path, { access: options.access })
  } catch (err) {
    if ((err as { code?: unknown }).code === codes.EMPTY_FILE) throw badZip('the file is empty')
    throw err
  }
  try {
    const members = readCentralDirectory(new Reader(file.buf.toTypedArray() as Uint8Array))
    return new NpzFile(file, members, compressed)
  } catch (err) {
    file.close()
    throw err
  }
}

let crcTable: Int32Array | null = null

/** The zip CRC-32 (the IEEE polynomial, reflected) of several byte ranges in a row. */
function crc32(parts: readonly Uint8Array[]): number {
  if (crcTable === null) {
    crcTable = new Int32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[n] = c
    }
  }
  let crc = -1
  for (const bytes of parts) {
    for (let k = 0; k < bytes.length; k++) crc = crcTable[(crc ^ bytes[k]) & 0xff] ^ (crc >>> 8)
  }
  return (crc ^ -1) >>> 0
}

/** 1980-01-01 00:00 in MS-DOS date format: member times carry no information here. */
const DOS_DATE = (1 << 5) | 1

/**
 * Writes an `.npz` archive as `np.savez` does: one uncompressed member `name.npy` per entry of
 * `arrays` (each laid out as {@link saveNpy} writes it), readable by `numpy.load` and mappable by
 * {@link openNpz}. The archive is written beside `path` and renamed over it, as saveNpy does.
 * @throws {TypeError} ERR_MEMORYVIEW_INVALID_ARG for a bad path, a non-object `arrays` or an empty name;
 *   ERR_MEMORYVIEW_UNSUPPORTED_DTYPE as saveNpy(), before anything is written.
 * @throws {RangeError} ERR_MEMORYVIEW_TOO_LARGE for an archive of 4 GiB or more or more than 65534
 *   members (this writer does not write zip64).
 * @throws {Error} with the errno name as `code` when a system call fails.
 */
export function saveNpz(path: string | URL, arrays: Record<string, Source | MemoryView>): void {
  const file = checkPath(path)
  if (arrays === null || typeof arrays !== 'object') throw typeError(codes.INVALID_ARG, 'arrays must be an object of name: view')
  const names = Object.keys(arrays)
  if (names.length > 0xfffe) throw rangeError(codes.TOO_LARGE, `${names.length} members need zip64, which saveNpz does not write`)
  const parts: Uint8Array[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const name of names) {
    if (name === '') throw typeError(codes.INVALID_ARG, 'member names must not be empty')
    const npy = npyParts(arrays[name])
    const size = npy[0].length + npy[1].length
    const nameBytes = Buffer.from(`${name}.npy`, 'utf8')
    if (nameBytes.length > 0xffff) throw typeError(codes.INVALID_ARG, 'a member name is longer than a zip allows')
    const flags = /^[\x20-\x7e]*$/.test(name) ? 0 : 0x800 // bit 11: the name is UTF-8
    const crc = crc32(npy)
    // The local header and the central entry share these fields, the central entry's 2 bytes later
    // (after its 'version made by'): version needed, flags, method 0, time 0, date, crc, sizes, name length.
    const fields = (b: Buffer, at: number): void => {
      b.writeUInt16LE(20, at)
      b.writeUInt16LE(flags, at + 2)
      b.writeUInt16LE(DOS_DATE, at + 8)
      b.writeUInt32LE(crc, at + 10)
      b.writeUInt32LE(size, at + 14)
      b.writeUInt32LE(size, at + 18)
      b.writeUInt16LE(nameBytes.length, at + 22)
    }
    const local = Buffer.alloc(30)
    local.writeUInt32LE(LOCAL, 0)
    fields(local, 4)
    const entry = Buffer.alloc(46)
    entry.writeUInt32LE(CENTRAL, 0)
    entry.writeUInt16LE(20, 4)
    fields(entry, 6)
    entry.writeUInt32LE(offset, 42)
    central.push(entry, nameBytes)
    parts.push(local, nameBytes, ...npy)
    offset += 30 + nameBytes.length + size
    if (offset >= 0xffffffff) throw rangeError(codes.TOO_LARGE, 'an archive of 4 GiB or more needs zip64, which saveNpz does not write')
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0)
  if (offset + cdSize + 22 > 0xffffffff) throw rangeError(codes.TOO_LARGE, 'an archive of 4 GiB or more needs zip64, which saveNpz does not write')
  const end = Buffer.alloc(22)
  end.writeUInt32LE(EOCD, 0)
  end.writeUInt16LE(names.length, 8)
  end.writeUInt16LE(names.length, 10)
  end.writeUInt32LE(cdSize, 12)
  end.writeUInt32LE(offset, 16)
  writeReplacing(file, [...parts, ...central, end])
}
