/**
 * Memory-mapped files (issue 3): access modes after Python's mmap module, offset/length/size,
 * path/URL/fd inputs, every refusal with its code, cleanup after a failed open, flush(), close()
 * while exports are held, async I/O under a lease, and worker threads sharing a file.
 * Crash-prone cases (use after close, GC) live in 72.safety, leak cycles in 73.leaks.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as util from 'node:util'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import {
  memoryview,
  mmap,
  allocationGranularity,
  exportToNative,
  MappedFile,
  MemoryView,
  BufferError,
  BUFFER_PROTOCOL,
} from 'memoryview'
import { requireBinding } from '../lib/binding'
import { expectError, EXPORTED, INVALID_ARG, OUT_OF_RANGE, READONLY, RELEASED } from './helpers/errors'
import { watchWorker } from './helpers/worker'

const UNALIGNED = 'ERR_MEMORYVIEW_UNALIGNED'
const EMPTY_FILE = 'ERR_MEMORYVIEW_EMPTY_FILE'
const PAST_EOF = 'ERR_MEMORYVIEW_PAST_EOF'

const liveMappings = (): number => requireBinding('test').liveMappings()
const fdCount = (): number => fs.readdirSync('/proc/self/fd').length
/** Lines of /proc/self/maps that map `file`. */
const mapsOf = (file: string): number => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file)).length

/** Bytes 0..n-1 of a recognisable pattern that differs at every offset of a page. */
function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8) * 13 + seed) & 0xff
  return b
}

/** Asserts a system error: plain Error with the errno name as code, errno and syscall. */
function expectSystemError(fn: () => unknown, code: string, file?: string): void {
  const err = expectError(fn, Error, code) as Error & { errno?: number; syscall?: string; path?: string }
  expect(err.errno).to.equal(-(os.constants.errno as Record<string, number>)[code])
  expect(err.syscall).to.be.a('string').and.not.equal('')
  if (file !== undefined) expect(err.path).to.equal(file)
}

describe('70 mmap: memory-mapped files', () => {
  let dir: string
  let count = 0
  const G = allocationGranularity()
  /** A fresh file holding `contents` (or a fresh path, when `contents` is null). */
  const file = (contents: Uint8Array | null): string => {
    const p = path.join(dir, `f${count++}`)
    if (contents !== null) fs.writeFileSync(p, contents)
    return p
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-70-'))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('allocationGranularity() is the page size: a positive power of two', () => {
    expect(G).to.be.a('number')
    expect(G).to.be.greaterThan(0)
    expect(G & (G - 1)).to.equal(0)
  })

  describe('access modes', () => {
    it("default access is 'read': buf readonly, contents match, set throws READONLY", () => {
      const data = pattern(5000)
      const p = file(data)
      const f = mmap(p)
      try {
        expect(f).to.be.instanceOf(MappedFile)
        expect(f.access).to.equal('read')
        expect(f.source).to.equal(p)
        expect(f.size).to.equal(5000)
        expect(f.closed).to.equal(false)
        const m = f.buf
        expect(m).to.be.instanceOf(MemoryView)
        expect([m.format, m.itemsize, m.ndim, m.readonly]).to.deep.equal(['B', 1, 1, true])
        expect(m.shape).to.deep.equal([5000])
        expect(m.obj).to.equal(f)
        expect(m.tobytes().equals(data)).to.equal(true)
        expectError(() => m.set(0, 1), TypeError, READONLY)
        expectError(() => m.subarray(0, 2).assign(Buffer.from([1, 2])), TypeError, READONLY)
        expectError(() => memoryview(f).set(1, 1), TypeError, READONLY)
        expect(memoryview(f).readonly).to.equal(true)
      } finally {
        f.close()
      }
      expect(fs.readFileSync(p).equals(data)).to.equal(true)
    })

    it("'write': writes reach the file after flush() and close()", () => {
      const data = pattern(3 * G + 17)
      const p = file(data)
      const f = mmap(p, { access: 'write' })
      const want = Buffer.from(data)
      try {
        expect(f.access).to.equal('write')
        expect(f.buf.readonly).to.equal(false)
        f.buf.set(0, 0xab)
        f.buf.set(-1, 0xcd)
        f.buf.subarray(G, G + 4).assign(Buffer.from('page'))
        f.buf.subarray(0, 8).cast('I').set(1, 0x01020304)
        want[0] = 0xab
        want[want.length - 1] = 0xcd
        want.write('page', G)
        want.writeUInt32LE(0x01020304, 4)
        expect(f.buf.tobytes().equals(want)).to.equal(true)
        f.flush()
      } finally {
        f.close()
      }
      expect(fs.readFileSync(p).equals(want)).to.equal(true)
    })

    it("'write': a second mapping of the file sees the writes at once (MAP_SHARED)", () => {
      const p = file(pattern(100))
      const a = mmap(p, { access: 'write' })
      const b = mmap(p, { access: 'read' })
      try {
        a.buf.set(50, 0x5a)
        expect(b.buf.get(50)).to.equal(0x5a)
      } finally {
        a.close()
        b.close()
      }
    })

    it("'copy': writable, but writes never reach the file or other mappings", () => {
      const data = pattern(2 * G + 3)
      const p = file(data)
      const f = mmap(p, { access: 'copy' })
      const other = mmap(p)
      try {
        expect(f.access).to.equal('copy')
        expect(f.buf.readonly).to.equal(false)
        f.buf.subarray(0, 4).assign(Buffer.from('copy'))
        f.buf.set(-1, data[data.length - 1] ^ 0xff)
        expect(f.buf.subarray(0, 4).tobytes().toString()).to.equal('copy')
        expect(f.buf.get(-1)).to.equal(data[data.length - 1] ^ 0xff)
        f.flush()
        expect(fs.readFileSync(p).equals(data)).to.equal(true)
        expect(other.buf.tobytes().equals(data)).to.equal(true)
      } finally {
        f.close()
        other.close()
      }
      expect(fs.readFileSync(p).equals(data)).to.equal(true)
    })

    it("'write' changes made through the file are seen by the mapping", () => {
      const p = file(pattern(64))
      const f = mmap(p, { access: 'write' })
      try {
        const fd = fs.openSync(p, 'r+')
        fs.writeSync(fd, Buffer.from('xyz'), 0, 3, 10)
        fs.closeSync(fd)
        expect(f.buf.subarray(10, 13).tobytes().toString()).to.equal('xyz')
      } finally {
        f.close()
      }
    })
  })

  describe('offset, length and size', () => {
    it('length 0 or absent maps from offset to the end of the file', () => {
      const data = pattern(2 * G + 5)
      const p = file(data)
      for (const opts of [{}, { length: 0 }, { offset: 0, length: 0 }]) {
        const f = mmap(p, opts)
        expect(f.size).to.equal(data.length)
        expect(f.buf.tobytes().equals(data)).to.equal(true)
        f.close()
      }
      const f = mmap(p, { offset: G })
      expect(f.size).to.equal(G + 5)
      expect(f.buf.tobytes().equals(data.subarray(G))).to.equal(true)
      f.close()
      const g = mmap(p, { offset: 2 * G, length: 0 })
      expect(g.size).to.equal(5)
      expect(g.buf.tolist()).to.deep.equal([...data.subarray(2 * G)])
      g.close()
    })

    it('offset (a multiple of the granularity) and length select a window', () => {
      const data = pattern(3 * G)
      const p = file(data)
      const f = mmap(p, { access: 'write', offset: G, length: 10 })
      try {
        expect(f.size).to.equal(10)
        expect(f.buf.nbytes).to.equal(10)
        expect(f.buf.tobytes().equals(data.subarray(G, G + 10))).to.equal(true)
        f.buf.set(0, data[G] ^ 0xff)
        f.flush()
      } finally {
        f.close()
      }
      const after = fs.readFileSync(p)
      expect(after[G]).to.equal(data[G] ^ 0xff)
      expect(after.subarray(0, G).equals(data.subarray(0, G))).to.equal(true)
      // A window ending exactly at the end of the file is allowed.
      const g = mmap(p, { offset: 2 * G, length: G })
      expect(g.buf.tobytes().equals(data.subarray(2 * G))).to.equal(true)
      g.close()
    })

    it("size creates a missing file (zero-filled) with 'write'", () => {
      const p = file(null)
      const f = mmap(p, { access: 'write', size: 100 })
      try {
        expect(f.size).to.equal(100)
        expect(f.buf.tolist()).to.deep.equal(new Array(100).fill(0))
        f.buf.subarray(0, 5).assign(Buffer.from('hello'))
        f.flush()
      } finally {
        f.close()
      }
      const got = fs.readFileSync(p)
      expect(got.length).to.equal(100)
      expect(got.subarray(0, 5).toString()).to.equal('hello')
    })

    it('size extends a shorter file, keeping its bytes, and never truncates a longer one', () => {
      const data = pattern(10)
      const p = file(data)
      const f = mmap(p, { access: 'write', size: 2 * G })
      expect(f.size).to.equal(2 * G)
      expect(f.buf.subarray(0, 10).tobytes().equals(data)).to.equal(true)
      expect(f.buf.get(10)).to.equal(0)
      f.close()
      expect(fs.statSync(p).size).to.equal(2 * G)
      const g = mmap(p, { access: 'write', size: 5 })
      expect(g.size).to.equal(2 * G)
      g.close()
      expect(fs.statSync(p).size).to.equal(2 * G)
      // size with offset and length: extend, then map the window.
      const h = mmap(p, { access: 'write', size: 4 * G, offset: 3 * G, length: 8 })
      expect(h.size).to.equal(8)
      h.close()
      expect(fs.statSync(p).size).to.equal(4 * G)
    })

    it('a file: URL works like its path', () => {
      const data = pattern(33)
      const p = file(data)
      const f = mmap(pathToFileURL(p), { access: 'write' })
      try {
        expect(f.source).to.equal(p)
        expect(f.buf.tobytes().equals(data)).to.equal(true)
        f.buf.set(0, 0)
      } finally {
        f.close()
      }
      expect(fs.readFileSync(p)[0]).to.equal(0)
    })

    it('an fd is mapped and stays open and usable afterwards (it stays the caller\'s)', () => {
      const data = pattern(G + 9)
      const p = file(data)
      const fd = fs.openSync(p, 'r+')
      try {
        const f = mmap(fd, { access: 'write' })
        expect(f.source).to.equal(fd)
        expect(f.buf.tobytes().equals(data)).to.equal(true)
        f.buf.subarray(0, 2).assign(Buffer.from('fd'))
        f.flush()
        f.close()
        const back = Buffer.alloc(4)
        expect(fs.readSync(fd, back, 0, 4, 0)).to.equal(4)
        expect(back.subarray(0, 2).toString()).to.equal('fd')
        fs.writeSync(fd, Buffer.from('!'), 0, 1, 3)
        // Mapping the same fd again, with size extending it, works too.
        const g = mmap(fd, { access: 'write', size: 2 * G, offset: G })
        expect(g.size).to.equal(G)
        expect(g.buf.get(0)).to.equal(data[G])
        g.close()
        expect(fs.fstatSync(fd).size).to.equal(2 * G)
        const r = mmap(fd)
        expect(r.buf.get(3)).to.equal('!'.charCodeAt(0))
        r.close()
      } finally {
        fs.closeSync(fd)
      }
    })

    it('a read-only fd maps with access read and copy', () => {
      const data = pattern(50)
      const p = file(data)
      const fd = fs.openSync(p, 'r')
      try {
        const r = mmap(fd, { access: 'read' })
        const c = mmap(fd, { access: 'copy' })
        expect(r.buf.tobytes().equals(data)).to.equal(true)
        c.buf.set(0, data[0] ^ 1)
        expect(c.buf.get(0)).to.equal(data[0] ^ 1)
        r.close()
        c.close()
        expect(fs.fstatSync(fd).isFile()).to.equal(true)
      } finally {
        fs.closeSync(fd)
      }
      expect(fs.readFileSync(p).equals(data)).to.equal(true)
    })
  })

  describe('refusals, each with its code', () => {
    it('an empty file: RangeError ERR_MEMORYVIEW_EMPTY_FILE in every mode', () => {
      const p = file(new Uint8Array(0))
      for (const access of ['read', 'write', 'copy'] as const) {
        expectError(() => mmap(p, { access }), RangeError, EMPTY_FILE)
      }
      expectError(() => mmap(p, { length: 1 }), RangeError, PAST_EOF)
      // Extending it first with size makes it mappable.
      const f = mmap(p, { access: 'write', size: 1 })
      expect(f.size).to.equal(1)
      f.close()
    })

    it('offset at or past the end of the file: RangeError ERR_MEMORYVIEW_PAST_EOF', () => {
      const small = file(pattern(10))
      expectError(() => mmap(small, { offset: G }), RangeError, PAST_EOF)
      expectError(() => mmap(small, { offset: 1000 * G, length: 1 }), RangeError, PAST_EOF)
      const exact = file(pattern(G))
      expectError(() => mmap(exact, { offset: G }), RangeError, PAST_EOF)
      expectError(() => mmap(exact, { access: 'write', offset: G }), RangeError, PAST_EOF)
    })

    it('length past the end of the file: RangeError ERR_MEMORYVIEW_PAST_EOF', () => {
      const p = file(pattern(2 * G))
      expectError(() => mmap(p, { length: 2 * G + 1 }), RangeError, PAST_EOF)
      expectError(() => mmap(p, { offset: G, length: G + 1 }), RangeError, PAST_EOF)
      expectError(() => mmap(p, { access: 'copy', length: 2 ** 40 }), RangeError, PAST_EOF)
      expectError(() => mmap(p, { access: 'write', length: Number.MAX_SAFE_INTEGER }), RangeError, PAST_EOF)
    })

    it('a directory: Error EISDIR', () => {
      expectSystemError(() => mmap(dir), 'EISDIR', dir)
      expectSystemError(() => mmap(dir, { access: 'copy' }), 'EISDIR', dir)
      expectSystemError(() => mmap(dir, { access: 'write' }), 'EISDIR', dir)
      expectSystemError(() => mmap(dir, { access: 'write', size: 10 }), 'EISDIR', dir)
      const fd = fs.openSync(dir, 'r')
      try {
        expectSystemError(() => mmap(fd), 'EISDIR')
      } finally {
        fs.closeSync(fd)
      }
    })

    it('a missing file: Error ENOENT (size creates only with a directory that exists)', () => {
      const p = file(null)
      expectSystemError(() => mmap(p), 'ENOENT', p)
      expectSystemError(() => mmap(p, { access: 'write' }), 'ENOENT', p)
      expectSystemError(() => mmap(p, { access: 'copy' }), 'ENOENT', p)
      const deep = path.join(dir, 'no-such-dir', 'f')
      expectSystemError(() => mmap(deep, { access: 'write', size: 10 }), 'ENOENT', deep)
      expect(fs.existsSync(p)).to.equal(false)
      expect(fs.existsSync(path.dirname(deep))).to.equal(false)
    })

    it("'write' on a file descriptor opened read-only: Error EACCES (meaningful as root too)", () => {
      const data = pattern(20)
      const p = file(data)
      const fd = fs.openSync(p, 'r')
      try {
        expectSystemError(() => mmap(fd, { access: 'write' }), 'EACCES')
        // The fd is still the caller's and still works.
        expect(fs.readFileSync(fd).equals(data)).to.equal(true)
      } finally {
        fs.closeSync(fd)
      }
      // Write-only fds cannot be mapped at all (mmap needs read access).
      const wfd = fs.openSync(p, 'w')
      try {
        fs.writeSync(wfd, data)
        expectSystemError(() => mmap(wfd), 'EACCES')
        expectSystemError(() => mmap(wfd, { access: 'write' }), 'EACCES')
      } finally {
        fs.closeSync(wfd)
      }
    })

    it('a file without permission: Error EACCES (unless running as root, who may open anything)', () => {
      const p = file(pattern(20))
      fs.chmodSync(p, 0o000)
      const root = process.getuid?.() === 0
      if (root) {
        // Root bypasses permission bits: the open succeeds, which is what the OS allows.
        mmap(p).close()
      } else {
        expectSystemError(() => mmap(p), 'EACCES', p)
        expectSystemError(() => mmap(p, { access: 'write' }), 'EACCES', p)
      }
      fs.chmodSync(p, 0o400)
      if (!root) expectSystemError(() => mmap(p, { access: 'write' }), 'EACCES', p)
      // A read-only file maps for reading in any case.
      mmap(p).close()
    })

    it('a bad file descriptor: Error EBADF', () => {
      const fd = fs.openSync(file(pattern(4)), 'r')
      fs.closeSync(fd)
      expectSystemError(() => mmap(fd), 'EBADF')
    })

    it('an offset that is not a multiple of the granularity: RangeError ERR_MEMORYVIEW_UNALIGNED', () => {
      const p = file(pattern(3 * G))
      for (const offset of [1, G / 2, G + 1, 2 * G - 1]) {
        expectError(() => mmap(p, { offset }), RangeError, UNALIGNED)
        expectError(() => mmap(p, { access: 'write', offset, length: 1 }), RangeError, UNALIGNED)
      }
    })

    it('negative numbers: RangeError ERR_MEMORYVIEW_OUT_OF_RANGE', () => {
      const p = file(pattern(10))
      expectError(() => mmap(p, { offset: -G }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { length: -1 }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { access: 'write', size: -1 }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(-1), RangeError, OUT_OF_RANGE)
    })

    it('non-integers and wrong kinds: TypeError ERR_MEMORYVIEW_INVALID_ARG', () => {
      const p = file(pattern(10))
      const bad: unknown[] = [1.5, NaN, Infinity, -Infinity, '0', 0n, null, {}, true]
      for (const v of bad) {
        expectError(() => mmap(p, { offset: v } as any), TypeError, INVALID_ARG)
        expectError(() => mmap(p, { length: v } as any), TypeError, INVALID_ARG)
        expectError(() => mmap(p, { access: 'write', size: v } as any), TypeError, INVALID_ARG)
      }
      for (const access of ['rw', 'READ', 'r', '', 1, {}]) {
        expectError(() => mmap(p, { access } as any), TypeError, INVALID_ARG)
      }
      for (const src of [undefined, null, {}, [], 1.5, NaN, 5n, Buffer.from(p), '', 'a\0b']) {
        expectError(() => mmap(src as any), TypeError, INVALID_ARG)
      }
      for (const options of [null, 5, 'read']) {
        expectError(() => mmap(p, options as any), TypeError, INVALID_ARG)
      }
    })

    it("access null is not 'absent' (only undefined is): TypeError ERR_MEMORYVIEW_INVALID_ARG", () => {
      // Python: mmap.mmap(fd, 0, access=None) is a TypeError too.
      expectError(() => mmap(file(pattern(10)), { access: null } as any), TypeError, INVALID_ARG)
    })

    it('numbers too large: RangeError ERR_MEMORYVIEW_OUT_OF_RANGE (also offset + length overflow)', () => {
      const p = file(pattern(10))
      const huge = 2 ** 53
      expectError(() => mmap(p, { offset: huge }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { length: huge }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { length: 1e300 }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { access: 'write', size: huge }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(p, { offset: 2 ** 52, length: 2 ** 52 }), RangeError, OUT_OF_RANGE)
      expectError(() => mmap(2 ** 31), RangeError, OUT_OF_RANGE)
      expect(fs.statSync(p).size).to.equal(10)
    })

    it("size without access 'write': TypeError ERR_MEMORYVIEW_INVALID_ARG, nothing created", () => {
      const p = file(null)
      expectError(() => mmap(p, { size: 10 }), TypeError, INVALID_ARG)
      expectError(() => mmap(p, { access: 'read', size: 10 }), TypeError, INVALID_ARG)
      expectError(() => mmap(p, { access: 'copy', size: 10 }), TypeError, INVALID_ARG)
      expect(fs.existsSync(p)).to.equal(false)
      const existing = file(pattern(10))
      expectError(() => mmap(existing, { access: 'copy', size: 100 }), TypeError, INVALID_ARG)
      expect(fs.statSync(existing).size).to.equal(10)
    })
  })

  describe('a failed open leaves no mapping, fd or new file behind', () => {
    type Case = [name: string, target: () => string | number, options: object, cls: Function, code: string]
    const cases: Case[] = [
      ['empty file', () => file(new Uint8Array(0)), {}, RangeError, EMPTY_FILE],
      ['offset past EOF', () => file(pattern(10)), { offset: G }, RangeError, PAST_EOF],
      ['length past EOF', () => file(pattern(10)), { access: 'write', length: 11 }, RangeError, PAST_EOF],
      ['directory', () => dir, { access: 'write' }, Error, 'EISDIR'],
      ['missing file', () => file(null), {}, Error, 'ENOENT'],
      ['unaligned offset', () => file(pattern(10)), { offset: 1 }, RangeError, UNALIGNED],
      ["'write' on a read-only fd", () => fs.openSync(file(pattern(10)), 'r'), { access: 'write' }, Error, 'EACCES'],
      // The three below create the file first (size), then fail: the new file must be removed again.
      ['created with size, then length past EOF', () => file(null), { access: 'write', size: 100, length: 200 }, RangeError, PAST_EOF],
      ['created with size, then offset past EOF', () => file(null), { access: 'write', size: 100, offset: G }, RangeError, PAST_EOF],
      ['created with size 0 (empty file)', () => file(null), { access: 'write', size: 0 }, RangeError, EMPTY_FILE],
      ['size in a missing directory', () => path.join(dir, 'missing', 'f'), { access: 'write', size: 10 }, Error, 'ENOENT'],
    ]
    for (const [name, target, options, cls, code] of cases) {
      it(`${name}: ${code}`, () => {
        const t = target()
        const existed = typeof t === 'string' && fs.existsSync(t)
        const before = { fds: fdCount(), live: liveMappings(), maps: typeof t === 'string' ? mapsOf(t) : 0 }
        try {
          expectError(() => mmap(t, options), cls as any, code)
          const now = { fds: fdCount(), live: liveMappings(), maps: typeof t === 'string' ? mapsOf(t) : 0 }
          expect(now).to.deep.equal(before)
          if (typeof t === 'string') expect(fs.existsSync(t)).to.equal(existed)
        } finally {
          if (typeof t === 'number') fs.closeSync(t)
        }
      })
    }

    it('a file created with a size too large to map is removed again (EFBIG, ENOMEM or EINVAL by filesystem)', () => {
      const p = file(null)
      const before = { fds: fdCount(), live: liveMappings() }
      let err: (Error & { code?: string }) | undefined
      try {
        // Through the binding with no limit of its own: mmap() refuses such a size before creating
        // the file (ERR_MEMORYVIEW_TOO_LARGE, test 75), so only this reaches the failing system call.
        const buffer = requireBinding('test').mapFile(p, -1, 1, 0, 0, 2 ** 50, Number.MAX_SAFE_INTEGER)
        requireBinding('test').unmap(buffer)
      } catch (e) {
        err = e as Error & { code?: string }
      }
      expect(err, 'mapping 1 PiB must fail').to.be.instanceOf(Error)
      expect(['EFBIG', 'ENOMEM', 'EINVAL', 'ENOSPC']).to.include(err!.code)
      expect(fs.existsSync(p)).to.equal(false)
      expect({ fds: fdCount(), live: liveMappings() }).to.deep.equal(before)
    })
  })

  describe('flush()', () => {
    it('accepts the whole mapping, sub-ranges and empty ranges at any offset', () => {
      const data = pattern(3 * G + 100)
      const p = file(data)
      const f = mmap(p, { access: 'write' })
      try {
        f.buf.set(G + 5, 1)
        expect(f.flush()).to.equal(undefined)
        f.flush(0)
        f.flush(0, f.size)
        f.flush(G, 10)
        f.flush(G + 5, 1) // an offset inside a page is widened to the page
        f.flush(3 * G + 99, 1)
        f.flush(f.size) // offset at the end, length 0
        f.flush(7, 0)
        f.flush(0, undefined)
      } finally {
        f.close()
      }
      expect(fs.readFileSync(p)[G + 5]).to.equal(1)
    })

    it('rejects ranges outside the mapping and bad kinds, in every mode (as Python)', () => {
      const p = file(pattern(2 * G))
      for (const access of ['read', 'write', 'copy'] as const) {
        const f = mmap(p, { access })
        try {
          expectError(() => f.flush(-1), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(0, -1), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(0, f.size + 1), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(f.size + 1), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(G, G + 1), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(2 ** 53), RangeError, OUT_OF_RANGE)
          expectError(() => f.flush(1.5), TypeError, INVALID_ARG)
          expectError(() => f.flush(0, NaN), TypeError, INVALID_ARG)
          expectError(() => f.flush('0' as any), TypeError, INVALID_ARG)
          // In range: a no-op for read and copy, msync for write.
          f.flush(0, G)
        } finally {
          f.close()
        }
      }
    })

    it('after close(): Error ERR_MEMORYVIEW_RELEASED', () => {
      const f = mmap(file(pattern(10)), { access: 'write' })
      f.close()
      expectError(() => f.flush(), Error, RELEASED)
      expectError(() => f.flush(0, 1), Error, RELEASED)
    })
  })

  describe('close()', () => {
    it('unmaps synchronously, is idempotent, and [Symbol.dispose] is close()', () => {
      const p = file(pattern(G + 1))
      const live = liveMappings()
      const f = mmap(p, { access: 'write' })
      const ta = f.buf.toTypedArray() as Uint8Array
      expect(liveMappings()).to.equal(live + 1)
      expect(mapsOf(p)).to.equal(1)
      f.close()
      expect(f.closed).to.equal(true)
      expect(liveMappings()).to.equal(live)
      expect(mapsOf(p)).to.equal(0)
      expect(ta.length).to.equal(0)
      expect(ta.byteLength).to.equal(0)
      f.close()
      f[Symbol.dispose]()
      expect(f.closed).to.equal(true)
      expectError(() => f.buf, Error, RELEASED)
      expectError(() => f.lease(), Error, RELEASED)
      expectError(() => memoryview(f), Error, RELEASED)

      const g = mmap(p)
      g[Symbol.dispose]()
      expect(g.closed).to.equal(true)
      expect(liveMappings()).to.equal(live)
    })

    it('releases every view over the mapping: buf, slices, casts, memoryview(owner), memoryview(ta)', () => {
      const f = mmap(file(pattern(64)), { access: 'write' })
      const views = [f.buf, f.buf.subarray(2, 10, 2), f.buf.cast('I', [4, 4]), memoryview(f), memoryview(f.buf.toTypedArray()), f.buf.toreadonly()]
      f.close()
      for (const v of views) {
        expect(v.released).to.equal(true)
        expectError(() => v.get(0), Error, RELEASED)
        expectError(() => v.tobytes(), Error, RELEASED)
      }
    })

    type Holder = [name: string, take: (f: MappedFile) => { release(): void }]
    const holders: Holder[] = [
      ['lease()', (f) => f.lease()],
      ['buf.pin()', (f) => f.buf.pin()],
      ['a slice of buf pinned', (f) => f.buf.subarray(1, 5).pin()],
      ['a cast of buf pinned', (f) => f.buf.cast('H').pin()],
      ['memoryview(owner).pin()', (f) => memoryview(f).pin()],
      ['memoryview(buf.toTypedArray()).pin()', (f) => memoryview(f.buf.toTypedArray()).pin()],
      ['the owner\'s buffer-protocol descriptor', (f) => (f as any)[BUFFER_PROTOCOL]()],
      ['a view\'s buffer-protocol descriptor', (f) => (memoryview(f) as any)[BUFFER_PROTOCOL]()],
      ['exportToNative(buf)', (f) => exportToNative(f.buf)],
      ['exportToNative(owner)', (f) => exportToNative(f)],
    ]
    for (const [name, take] of holders) {
      it(`${name} blocks close() with BufferError ERR_MEMORYVIEW_EXPORTED; nothing is unmapped; close works after release`, () => {
        const data = pattern(G + 10)
        const p = file(data)
        const live = liveMappings()
        const f = mmap(p, { access: 'write' })
        const ta = f.buf.toTypedArray() as Uint8Array
        const held = take(f)
        expectError(() => f.close(), BufferError, EXPORTED)
        expectError(() => f[Symbol.dispose](), BufferError, EXPORTED)
        expect(f.closed).to.equal(false)
        expect(liveMappings()).to.equal(live + 1)
        expect(mapsOf(p)).to.equal(1)
        expect(ta.length).to.equal(data.length)
        expect(Buffer.from(ta).equals(data)).to.equal(true)
        expect(f.buf.tobytes().equals(data)).to.equal(true)
        f.buf.set(0, 9)
        held.release()
        f.close()
        expect(f.closed).to.equal(true)
        expect(liveMappings()).to.equal(live)
        expect(mapsOf(p)).to.equal(0)
        expect(ta.length).to.equal(0)
        expect(fs.readFileSync(p)[0]).to.equal(9)
        held.release() // releasing again after close is harmless
      })
    }

    it('two exports: close() refuses until both are released', () => {
      const f = mmap(file(pattern(10)))
      const a = f.lease()
      const b = f.buf.pin()
      a.release()
      expectError(() => f.close(), BufferError, EXPORTED)
      b.release()
      f.close()
      expect(f.closed).to.equal(true)
    })

    it('releasing views (without exports) does not close the mapping', () => {
      const data = pattern(10)
      const f = mmap(file(data))
      const v = memoryview(f)
      v.release()
      f.buf.subarray(1).release()
      expect(f.closed).to.equal(false)
      expect(f.buf.tobytes().equals(data)).to.equal(true)
      f.close()
    })
  })

  describe('async I/O under a lease', () => {
    it('fs.write of a mapped view: close() refuses while the write is in flight, the bytes arrive whole', async () => {
      const data = pattern(4 * 1024 * 1024, 3)
      const src = mmap(file(data), { access: 'copy' })
      const outPath = file(null)
      const fd = fs.openSync(outPath, 'w')
      try {
        const lease = src.lease()
        const done = new Promise<number>((resolve, reject) => {
          fs.write(fd, src.buf.toTypedArray() as Uint8Array, 0, data.length, 0, (err, written) => (err ? reject(err) : resolve(written)))
        })
        // The write runs on the thread pool: the mapping must stay while it does.
        expectError(() => src.close(), BufferError, EXPORTED)
        expect(await done).to.equal(data.length)
        expectError(() => src.close(), BufferError, EXPORTED)
        lease.release()
        src.close()
      } finally {
        fs.closeSync(fd)
      }
      expect(fs.readFileSync(outPath).equals(data)).to.equal(true)
    })

    it('fs.read into a \'write\' mapping under a lease reaches the file', async () => {
      const data = pattern(G * 2, 5)
      const inPath = file(data)
      const dst = mmap(file(null), { access: 'write', size: data.length })
      const fd = fs.openSync(inPath, 'r')
      try {
        const lease = dst.lease()
        try {
          const read = await new Promise<number>((resolve, reject) => {
            fs.read(fd, dst.buf.toTypedArray() as Uint8Array, 0, data.length, 0, (err, n) => (err ? reject(err) : resolve(n)))
          })
          expect(read).to.equal(data.length)
        } finally {
          lease.release()
        }
        dst.flush()
        expect(fs.readFileSync(dst.source as string).equals(data)).to.equal(true)
      } finally {
        fs.closeSync(fd)
        dst.close()
      }
    })
  })

  describe('memoryview(mapped) and inspect', () => {
    it('memoryview(mapped) shares buf\'s managed buffer: obj, memory and release on close', () => {
      const f = mmap(file(pattern(16)), { access: 'write' })
      const v = memoryview(f)
      const w = new MemoryView(f)
      expect(v).not.to.equal(f.buf)
      expect(v.obj).to.equal(f)
      expect(w.obj).to.equal(f)
      expect(memoryview(v).obj).to.equal(f)
      expect(v.toTypedArray().buffer).to.equal(f.buf.toTypedArray().buffer)
      v.set(3, 0x33)
      expect(f.buf.get(3)).to.equal(0x33)
      expect(w.get(3)).to.equal(0x33)
      expect(v.equals(f)).to.equal(true)
      expect(v.equals(f.buf)).to.equal(true)
      f.close()
      expect(v.released).to.equal(true)
      expect(w.released).to.equal(true)
    })

    it('util.inspect shows the source, access and size, then closed', () => {
      const p = file(pattern(123))
      const f = mmap(p, { access: 'copy' })
      const s = util.inspect(f)
      expect(s).to.contain('MappedFile')
      expect(s).to.contain(JSON.stringify(p))
      expect(s).to.contain('copy')
      expect(s).to.contain('123')
      f.close()
      const c = util.inspect(f)
      expect(c).to.contain('MappedFile')
      expect(c).to.contain('closed')
    })
  })

  describe('worker threads', () => {
    const entry = require.resolve('memoryview')
    const workerSource = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { mmap } = require(workerData.entry)
      const f = mmap(workerData.path, { access: 'write' })
      const seen = f.buf.subarray(0, 4).tobytes().toString()
      f.buf.subarray(100, 104).assign(Buffer.from('wrkr'))
      parentPort.postMessage({ seen })
      parentPort.once('message', () => {
        const seenLater = f.buf.subarray(200, 204).tobytes().toString()
        f.close()
        parentPort.postMessage({ seenLater })
      })
    `

    it("a worker maps the same file with 'write' and sees the main thread's writes, and vice versa", async () => {
      const p = file(Buffer.alloc(G))
      const f = mmap(p, { access: 'write' })
      try {
        f.buf.subarray(0, 4).assign(Buffer.from('main'))
        const worker = new Worker(workerSource, { eval: true, workerData: { entry, path: p } })
        // Listeners go on now: the worker may exit before the test awaits its exit.
        const { next, exited } = watchWorker(worker)
        const messages: any[] = []
        messages.push(await next())
        expect(messages[0].seen).to.equal('main')
        expect(f.buf.subarray(100, 104).tobytes().toString()).to.equal('wrkr')
        f.buf.subarray(200, 204).assign(Buffer.from('late'))
        worker.postMessage('go')
        messages.push(await next())
        expect(messages[1].seenLater).to.equal('late')
        expect(await exited).to.equal(0)
        f.flush()
      } finally {
        f.close()
      }
      const got = fs.readFileSync(p)
      expect(got.subarray(0, 4).toString()).to.equal('main')
      expect(got.subarray(100, 104).toString()).to.equal('wrkr')
      expect(got.subarray(200, 204).toString()).to.equal('late')
    })
  })
})
