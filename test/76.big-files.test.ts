/**
 * Files of any size (big mapped data issue, part 1). One view can hold at most the runtime's
 * largest buffer, `buffer.constants.MAX_LENGTH` (2**32 bytes on Node 20; test/75 shows a mapping of
 * exactly that works and one byte more is refused by the runtime). A longer file still opens:
 * `buf` throws ERR_MEMORYVIEW_TOO_LARGE and `window(offset, length)` maps the part asked for, a
 * mapping of its own released with its view or with close(). A file that fits has windows that are
 * plain sub-views of `buf`. advise/resident/prefetch work on a big file's pages directly. Also: the
 * documented pattern for scanning a file past 4 GiB in order, and window cycles that must not leak
 * mappings or fds (in a child process, as test/73 does).
 * Big files are sparse files in /dev/shm (tmpfs): nothing here takes real disk space or memory
 * beyond the pages written, and a hole reads as zeros without disk readahead (on this machine's
 * ext4 a read fault in a hole costs ~3 ms of zero-filled readahead: 15 s for the scan below).
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { constants } from 'node:buffer'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { BufferError, MemoryView, codes, mmap } from 'memoryview'
import { requireBinding } from '../lib/binding'
import { EXPORTED, INVALID_ARG, OUT_OF_RANGE, RELEASED, expectError } from './helpers/errors'

const GiB = 2 ** 30
const page = 4096
const L = constants.MAX_LENGTH
// Node 20's largest buffer is 2**32 bytes, so the 10 GiB file below has no whole view and is reached
// through windows; Node 22's is 2**53 - 1 (past any file or address space), so there the same file
// is one whole view and window() is buf.subarray(). Tests that differ say which runtime they are for.
const windowed = L < 10 * GiB
const liveMappings = (): number => requireBinding('test').liveMappings()
const fdCount = (): number => fs.readdirSync('/proc/self/fd').length
const fixture = path.join(__dirname, '..', '..', 'test', 'fixtures', 'window-cycles.js')
const entry = require.resolve('memoryview')

/** Writes `bytes` at `offset` of `file` with plain file I/O (not through a mapping). */
function poke(file: string, offset: number, bytes: number[]): void {
  const fd = fs.openSync(file, 'r+')
  fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset)
  fs.closeSync(fd)
}
function peek(file: string, offset: number, n: number): number[] {
  const fd = fs.openSync(file, 'r')
  const b = Buffer.alloc(n)
  fs.readSync(fd, b, 0, n, offset)
  fs.closeSync(fd)
  return [...b]
}

describe('76 big files: windows over files of any size', function () {
  this.timeout(60_000)
  let dir: string
  let big: string
  before(() => {
    dir = fs.mkdtempSync(path.join('/dev/shm', 'memoryview-76-'))
    big = path.join(dir, 'big.bin')
    fs.writeFileSync(big, '')
    fs.truncateSync(big, 10 * GiB)
    poke(big, 2 ** 32 - 2, [1, 2, 3, 4]) // across the 4 GiB boundary
    poke(big, 10 * GiB - 1, [9])
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('mmap() of a 10 GiB sparse file', () => {
    if (!windowed) {
      it('Node 22+: opens with buf of all 10 GiB, the bytes across 4 GiB and the last byte read through it', () => {
        expect(L).to.equal(Number.MAX_SAFE_INTEGER)
        const base = liveMappings()
        const m = mmap(big)
        try {
          const b = m.buf
          expect([m.size, b.nbytes, liveMappings()]).to.deep.equal([10 * GiB, 10 * GiB, base + 1])
          expect([...b.subarray(2 ** 32 - 2, 2 ** 32 + 2)]).to.deep.equal([1, 2, 3, 4])
          expect(b.get(10 * GiB - 1)).to.equal(9)
        } finally {
          m.close()
        }
        expect(liveMappings()).to.equal(base)
      })

      it('Node 22+: window() is a view of buf (same memory, no mapping of its own); window(0, L) is outside the file', () => {
        const base = liveMappings()
        const m = mmap(big, { access: 'write' })
        try {
          const w = m.window(6 * GiB, page)
          expect(liveMappings()).to.equal(base + 1)
          w.set(3, 55)
          expect(m.buf.get(6 * GiB + 3)).to.equal(55)
          w.set(3, 0)
          w.release()
          expect(liveMappings()).to.equal(base + 1)
          expectError(() => m.window(0, L), RangeError, OUT_OF_RANGE)
        } finally {
          m.close()
        }
        expect(liveMappings()).to.equal(base)
      })
    }

    if (windowed) it('opens: size is the file size, buf throws RangeError ERR_MEMORYVIEW_TOO_LARGE naming window()', () => {
      const base = liveMappings()
      const m = mmap(big)
      try {
        expect(m.size).to.equal(10 * GiB)
        expect(String(m)).to.equal(`MappedFile(${JSON.stringify(big)}, access='read', size=${10 * GiB})`)
        expect(liveMappings()).to.equal(base) // nothing is mapped until a window is asked for
        const err = expectError(() => m.buf, RangeError, codes.TOO_LARGE)
        expect(err.message).to.contain('window(offset, length)')
        expectError(() => m.lease(), RangeError, codes.TOO_LARGE)
      } finally {
        m.close()
      }
    })

    it('window(offset, length) gives a MemoryView of any part, across the 4 GiB boundary and at the end', () => {
      const m = mmap(big)
      try {
        const w = m.window(2 ** 32 - page, 2 * page)
        expect(w).to.be.instanceOf(MemoryView)
        expect([w.format, w.nbytes, w.readonly, w.obj]).to.deep.equal(['B', 2 * page, true, m])
        expect([...w.subarray(page - 2, page + 2)]).to.deep.equal([1, 2, 3, 4])
        expect(m.window(10 * GiB - page, page).get(-1)).to.equal(9)
      } finally {
        m.close()
      }
    })

    it("a 'write' window reaches the file; a 'copy' window does not", () => {
      const m = mmap(big, { access: 'write' })
      m.window(8 * GiB, page).set(5, 42)
      m.close()
      expect(peek(big, 8 * GiB + 5, 1)).to.deep.equal([42])
      const c = mmap(big, { access: 'copy' })
      const w = c.window(8 * GiB, page)
      w.set(5, 7)
      expect(w.get(5)).to.equal(7)
      c.close()
      expect(peek(big, 8 * GiB + 5, 1)).to.deep.equal([42])
    })

    if (windowed) it('a window of exactly the limit works to its last byte; one byte more is ERR_MEMORYVIEW_TOO_LARGE', () => {
      const m = mmap(big)
      try {
        const w = m.window(0, L)
        expect(w.nbytes).to.equal(L)
        expect((w.toTypedArray() as Uint8Array).length).to.equal(L)
        expect(w.get(2 ** 32 - 1)).to.equal(2)
        expectError(() => m.window(0, L + 1), RangeError, codes.TOO_LARGE)
      } finally {
        m.close()
      }
    })

    it('bad windows: unaligned offset, empty or outside the file, non-integers', () => {
      const m = mmap(big)
      try {
        expectError(() => m.window(1, page), RangeError, codes.UNALIGNED)
        expectError(() => m.window(0, 0), RangeError, OUT_OF_RANGE)
        expectError(() => m.window(10 * GiB - page, page + 1), RangeError, OUT_OF_RANGE)
        expectError(() => m.window(11 * GiB, page), RangeError, OUT_OF_RANGE)
        expectError(() => m.window(-page, page), RangeError, OUT_OF_RANGE)
        expectError(() => m.window(0.5, page), TypeError, INVALID_ARG)
        expectError(() => m.window(0, '1' as never), TypeError, INVALID_ARG)
      } finally {
        m.close()
      }
      expectError(() => m.window(0, page), Error, RELEASED)
    })

    it('close() releases every window: views read as released, TypedArrays as empty, nothing stays mapped', () => {
      const base = liveMappings()
      const fds = fdCount()
      const m = mmap(big)
      // The descriptor windows are mapped from, kept only where the file has no buf (Node 20).
      expect(fdCount()).to.equal(fds + (windowed ? 1 : 0))
      const a = m.window(0, page)
      const b = m.window(9 * GiB, 2 * page)
      const sub = b.subarray(page)
      const ta = b.toTypedArray() as Uint8Array
      // One mapping per window where the file has no buf (Node 20); else the whole file's one.
      expect(liveMappings()).to.equal(base + (windowed ? 2 : 1))
      m.close()
      expect([a.released, b.released, sub.released, ta.length]).to.deep.equal([true, true, true, 0])
      expectError(() => sub.get(0), Error, RELEASED)
      expect(liveMappings()).to.equal(base)
      expect(fdCount()).to.equal(fds)
    })

    if (windowed) it('releasing a window (and the views derived from it) unmaps it at once', () => {
      const base = liveMappings()
      const m = mmap(big)
      try {
        const w = m.window(page, page)
        const sub = w.subarray(10)
        expect(liveMappings()).to.equal(base + 1)
        w.release()
        expect(liveMappings()).to.equal(base + 1) // `sub` still uses it
        sub.release()
        expect(liveMappings()).to.equal(base)
        {
          using u = m.window(0, page)
          expect(u.get(0)).to.equal(0)
        }
        expect(liveMappings()).to.equal(base)
      } finally {
        m.close()
      }
    })

    it('close() refuses (BufferError ERR_MEMORYVIEW_EXPORTED) while a window has an export; the window stays usable', () => {
      const m = mmap(big)
      const w = m.window(2 ** 32 - page, page)
      const pin = w.pin()
      const err = expectError(() => m.close(), BufferError, EXPORTED)
      expect(err.message).to.contain('1 exported buffer')
      expect([m.closed, w.get(-2)]).to.deep.equal([false, 1])
      pin.release()
      m.close()
      expect(w.released).to.equal(true)
    })

    it('through a caller\'s file descriptor: windows work and the fd stays open after close()', () => {
      const fd = fs.openSync(big, 'r')
      try {
        const m = mmap(fd)
        expect(m.window(10 * GiB - page, page).get(-1)).to.equal(9)
        m.close()
        expect(fs.fstatSync(fd).size).to.equal(10 * GiB)
      } finally {
        fs.closeSync(fd)
      }
    })

    it('flush() writes the mapped windows of a file without buf', () => {
      const m = mmap(big, { access: 'write' })
      try {
        m.window(4 * GiB, page).set(0, 77)
        m.flush()
        m.flush(4 * GiB, page)
        expect(peek(big, 4 * GiB, 1)).to.deep.equal([77])
      } finally {
        m.close()
      }
    })

    if (windowed) it('resize() needs buf: RangeError ERR_MEMORYVIEW_TOO_LARGE, the file unchanged', () => {
      const m = mmap(big, { access: 'write' })
      try {
        expectError(() => m.resize(page), RangeError, codes.TOO_LARGE)
        expect(fs.statSync(big).size).to.equal(10 * GiB)
      } finally {
        m.close()
      }
    })

    it('paging works on the file: advise (posix_fadvise), resident and prefetch of ranges past 4 GiB', async () => {
      const m = mmap(big, { access: 'write' })
      try {
        for (const advice of ['normal', 'random', 'sequential', 'willneed', 'dontneed'] as const) m.advise(advice, 6 * GiB, GiB)
        expectError(() => m.advise('normal', 6 * GiB + 1), RangeError, codes.UNALIGNED)
        expectError(() => m.resident(10 * GiB), RangeError, OUT_OF_RANGE)
        // A hole of a tmpfs file is not in memory until something reads or writes it.
        expect(m.resident(7 * GiB, 16 * page)).to.equal(0)
        m.window(7 * GiB, page).set(0, 1)
        expect(m.resident(7 * GiB, 16 * page)).to.equal(page)
        await m.prefetch(9 * GiB, 16 * page)
        expect(m.resident(9 * GiB, 16 * page)).to.equal(16 * page)
        expect(m.resident(0, 12 * GiB)).to.be.at.least(17 * page) // clamped to the end of the file
      } finally {
        m.close()
      }
    })

    if (windowed) it('a prefetch of a file without buf takes no lease: close() goes ahead and the promise still resolves', async () => {
      const base = liveMappings()
      const fds = fdCount()
      const m = mmap(big)
      const pending = m.prefetch(5 * GiB, 64 * page)
      m.close()
      await pending
      expect([liveMappings(), fdCount()]).to.deep.equal([base, fds])
      const err = await m.prefetch().then(() => null, (e: Error) => e)
      expect(err).to.be.instanceOf(Error).with.property('code', RELEASED)
    })
  })

  describe('a file that fits in one view', () => {
    it('window() is buf.subarray(offset, offset + length): same memory, released by close()', () => {
      const small = path.join(dir, 'small.bin')
      fs.writeFileSync(small, Buffer.alloc(3 * page, 5))
      const base = liveMappings()
      const m = mmap(small, { access: 'write' })
      const w = m.window(page, page)
      expect(liveMappings()).to.equal(base + 1)
      w.set(0, 6)
      expect(m.buf.get(page)).to.equal(6)
      expect(w.obj).to.equal(m)
      expectError(() => m.window(page, 2 * page + 1), RangeError, OUT_OF_RANGE)
      m.close()
      expect(w.released).to.equal(true)
    })
  })

  describe('scanning a file past 4 GiB in order (the README pattern)', () => {
    it('window by window, 1 GiB at a time, every window reached and the bytes around 4 GiB read in order', () => {
      // Reading every byte of 4.5 GiB takes ~28 s here (one typed-array read per byte), and one read
      // per page ~15 s (each fault in a tmpfs hole allocates a page), so the test reads one byte per
      // MiB of every window, in order, and every byte of the 64 KiB around each mark; the README's
      // example reads every byte.
      const file = path.join(dir, 'scan.bin')
      const size = 4.5 * GiB
      fs.writeFileSync(file, '')
      fs.truncateSync(file, size)
      const marks = [0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, size - 1]
      marks.forEach((at, i) => poke(file, at, [i + 1]))
      const m = mmap(file)
      const WINDOW = GiB
      const seen: number[] = []
      const found: Array<[number, number]> = []
      for (let offset = 0; offset < m.size; offset += WINDOW) {
        using w = m.window(offset, Math.min(WINDOW, m.size - offset))
        const bytes = w.toTypedArray() as Uint8Array
        seen.push(offset)
        let pageSum = 0
        for (let i = 0; i < bytes.length; i += 2 ** 20) pageSum += bytes[i]
        for (const at of marks) {
          const lo = Math.max(at - 32768, offset)
          const hi = Math.min(at + 32768, offset + bytes.length)
          for (let i = lo; i < hi; i++) if (bytes[i - offset] !== 0 && !found.some(([f]) => f === i)) found.push([i, bytes[i - offset]])
        }
        expect(pageSum).to.be.a('number')
      }
      m.close()
      expect(seen).to.deep.equal([0, 1, 2, 3, 4].map((k) => k * GiB))
      expect(found).to.deep.equal(marks.map((at, i) => [at, i + 1]))
      fs.rmSync(file)
    })
  })

  describe('window cycles do not leak (child process, counted as test/73 counts)', () => {
    interface Counts { ours: number; fds: number; live: number }
    function cycles(kind: string, n: number): { base: Counts; after: Counts; end: Counts; ms: number; turns: number } {
      const r = spawnSync(process.execPath, ['--expose-gc', fixture, entry, kind, String(n), big], { encoding: 'utf8', timeout: 120_000 })
      expect(r.signal, `child killed by ${r.signal}; stderr: ${r.stderr}`).to.equal(null)
      expect(r.status, `child exit ${r.status}; stderr: ${r.stderr}`).to.equal(0)
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
      console.log(`      ${kind}: ${n} cycles in ${out.ms.toFixed(0)} ms; live ${out.base.live} -> ${out.after.live}, fds ${out.base.fds} -> ${out.after.fds}`)
      expect(out.end.live).to.equal(0)
      expect(out.end.ours).to.equal(0)
      return out
    }
    it('100,000 window/release() cycles on one file', () => {
      const out = cycles('release', 100_000)
      expect(out.after).to.deep.equal(out.base)
    })
    // Where the file has a buf (Node 22+) each cycle maps all 10 GiB: too slow for 100,000 turns.
    if (windowed) it('100,000 mmap/window/close() cycles', () => {
      const out = cycles('close', 100_000)
      expect(out.after).to.deep.equal(out.base)
    })
    // Windows map memory of their own only where the file has no buf (Node 20): there only can
    // collected and kept windows be counted.
    if (windowed) it('10,000 windows dropped without release() are unmapped once collected', () => {
      const out = cycles('gc', 10_000)
      // The warm-up window of the baseline may be collected too.
      expect(out.after.live).to.be.at.most(out.base.live)
      expect(out.after.ours).to.be.at.most(out.base.ours)
      expect(out.after.fds).to.equal(out.base.fds)
    })
    if (windowed) it('control: 1,000 windows kept are seen by the same counts (the check can fail)', () => {
      const out = cycles('leak', 1_000)
      expect(out.after.live - out.base.live).to.equal(1_000)
      expect(out.after.ours - out.base.ours).to.equal(1_000)
    })
  })
})
