/**
 * Paging advice, prefetch and residency (big mapped data issue, part 3):
 * - `advise(advice, offset?, length?)`: Python's `mmap.madvise` with the advice named; validated as
 *   Python validates (start inside the mapping, length >= 0 and clamped to the end), plus a page
 *   aligned offset (Python lets madvise fail with EINVAL there);
 * - `await prefetch(offset?, length?)`: pages a range in on the thread pool, holding a lease meanwhile;
 * - `resident(offset?, length?)`: resident bytes of a range (mincore).
 * Cold files are made by writing, fsyncing and dropping the file from the page cache
 * (posix_fadvise DONTNEED, through python3's os.posix_fadvise) before mapping it.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BufferError, MappedFile, codes, mmap } from 'memoryview'
import { EXPORTED, INVALID_ARG, OUT_OF_RANGE, RELEASED, expectError } from './helpers/errors'

const page = 4096
const ADVICE = ['normal', 'random', 'sequential', 'willneed', 'dontneed'] as const

/** Drops `file` from the page cache (it must not be mapped by anyone then). */
function evict(file: string): void {
  const r = spawnSync('python3', ['-c', 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDONLY)\nos.fsync(fd)\nos.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)', file], { encoding: 'utf8', timeout: 30_000 })
  expect(r.status, r.stderr).to.equal(0)
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: Error) => e,
  )
}

describe('78 paging: advise, prefetch, resident', function () {
  this.timeout(30_000)
  let dir: string
  let n = 0
  function file(size: number, fill = 1): string {
    const p = path.join(dir, `f${n++}`)
    fs.writeFileSync(p, Buffer.alloc(size, fill))
    return p
  }
  before(() => {
    // /tmp is a disk filesystem here: its pages can be dropped from the cache (tmpfs pages cannot).
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-78-'))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('advise()', () => {
    for (const advice of ADVICE) {
      it(`'${advice}' over the whole mapping and over a range`, () => {
        const m = mmap(file(4 * page), { access: 'write' })
        try {
          m.advise(advice)
          m.advise(advice, page, page)
          m.advise(advice, 3 * page, 10 * page) // clamped to the end, as Python
        } finally {
          m.close()
        }
      })
    }

    it("'dontneed' on a 'write' mapping keeps the data (read back from the file)", () => {
      const m = mmap(file(2 * page), { access: 'write' })
      m.buf.set(page, 9)
      m.advise('dontneed')
      expect([m.buf.get(0), m.buf.get(page)]).to.deep.equal([1, 9])
      m.close()
    })

    it("'dontneed' on a 'copy' mapping drops its private changes (as Python's madvise)", () => {
      const m = mmap(file(2 * page), { access: 'copy' })
      m.buf.set(page, 9)
      m.advise('dontneed', page)
      expect(m.buf.get(page)).to.equal(1)
      m.close()
    })

    it('refusals: unknown advice (TypeError), start outside, negative length (RangeError), unaligned offset', () => {
      const m = mmap(file(2 * page))
      try {
        expectError(() => m.advise('hugepage' as never), TypeError, INVALID_ARG)
        expectError(() => m.advise(4 as never), TypeError, INVALID_ARG)
        expectError(() => m.advise('normal', -page), RangeError, OUT_OF_RANGE)
        expectError(() => m.advise('normal', 2 * page), RangeError, OUT_OF_RANGE)
        expectError(() => m.advise('normal', 0, -1), RangeError, OUT_OF_RANGE)
        expectError(() => m.advise('normal', 100), RangeError, codes.UNALIGNED)
        expectError(() => m.advise('normal', 0.5), TypeError, INVALID_ARG)
        expectError(() => m.advise('normal', 0, 1.5), TypeError, INVALID_ARG)
      } finally {
        m.close()
      }
      expectError(() => m.advise('normal'), Error, RELEASED)
    })
  })

  describe('resident()', () => {
    it('a cold file: little is resident; after touching every page, all of it', () => {
      const p = file(64 * page)
      evict(p)
      const m = mmap(p)
      try {
        expect(m.resident()).to.be.below(32 * page)
        const ta = m.buf.toTypedArray() as Uint8Array
        let sum = 0
        for (let i = 0; i < ta.length; i += page) sum += ta[i]
        expect(sum).to.equal(64)
        expect(m.resident()).to.equal(64 * page)
      } finally {
        m.close()
      }
    })

    it('counts bytes of the range, not whole pages; length is clamped to the end', () => {
      const m = mmap(file(2 * page + 10))
      try {
        m.buf.tobytes()
        expect(m.resident(10, 100)).to.equal(100)
        expect(m.resident(page + 5)).to.equal(page + 5)
        expect(m.resident(0, 10 * page)).to.equal(2 * page + 10)
        expect(m.resident(0, 0)).to.equal(0)
      } finally {
        m.close()
      }
    })

    it('refusals: start outside the mapping, negative length, non-integers, after close()', () => {
      const m = mmap(file(page))
      expectError(() => m.resident(page), RangeError, OUT_OF_RANGE)
      expectError(() => m.resident(-1), RangeError, OUT_OF_RANGE)
      expectError(() => m.resident(0, -1), RangeError, OUT_OF_RANGE)
      expectError(() => m.resident('0' as never), TypeError, INVALID_ARG)
      m.close()
      expectError(() => m.resident(), Error, RELEASED)
    })
  })

  describe('prefetch()', () => {
    it('pages a cold file in: afterwards all of it is resident', async () => {
      const p = file(256 * page)
      evict(p)
      const m = mmap(p)
      try {
        expect(m.resident()).to.be.below(128 * page)
        await m.prefetch()
        expect(m.resident()).to.equal(256 * page)
      } finally {
        m.close()
      }
    })

    it('a range only: that range becomes resident', async () => {
      const p = file(256 * page)
      evict(p)
      const m = mmap(p)
      try {
        await m.prefetch(128 * page, 16 * page)
        expect(m.resident(128 * page, 16 * page)).to.equal(16 * page)
      } finally {
        m.close()
      }
    })

    it('holds a lease until it settles: close() and resize() refuse with BufferError meanwhile', async () => {
      const m: MappedFile = mmap(file(64 * page), { access: 'write' })
      const pending = m.prefetch()
      expectError(() => m.close(), BufferError, EXPORTED)
      expectError(() => m.resize(page), BufferError, EXPORTED)
      expect(m.closed).to.equal(false)
      await pending
      m.close()
      expect(m.closed).to.equal(true)
    })

    it('a worker terminated while its prefetch runs: no crash, nothing left mapped (child process)', () => {
      const p = file(64 << 20)
      const fixture = path.join(__dirname, '..', '..', 'test', 'fixtures', 'prefetch-teardown.js')
      const r = spawnSync(process.execPath, [fixture, require.resolve('memoryview'), p, '20'], { encoding: 'utf8', timeout: 60_000 })
      expect(r.signal, r.stderr).to.equal(null)
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout.trim()).to.equal('done 0')
    })

    it('bad arguments and a closed file reject (never throw synchronously)', async () => {
      const m = mmap(file(page))
      let p = m.prefetch(page)
      expect(await rejection(p)).to.be.instanceOf(RangeError).with.property('code', OUT_OF_RANGE)
      p = m.prefetch(0, -1)
      expect(await rejection(p)).to.be.instanceOf(RangeError).with.property('code', OUT_OF_RANGE)
      p = m.prefetch(null as never)
      expect(await rejection(p)).to.be.instanceOf(TypeError).with.property('code', INVALID_ARG)
      m.close()
      p = m.prefetch()
      expect(await rejection(p)).to.be.instanceOf(Error).with.property('code', RELEASED)
    })
  })
})

describe('78 README examples of "Large files and data formats" (files of any size, resize, paging)', () => {
  // The same text is in the README (test/27 runs it there too); here they run from test/fixtures.
  const dir = path.join(__dirname, '..', '..', 'test', 'fixtures', 'readme-big')
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    it(`${name} runs and exits cleanly`, function () {
      this.timeout(30_000)
      const r = spawnSync(process.execPath, [path.join(dir, name)], { encoding: 'utf8', timeout: 25_000 })
      expect(r.stderr).to.equal('')
      expect(r.status, r.stderr).to.equal(0)
    })
  }
})
