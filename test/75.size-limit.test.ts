/**
 * Mappings and the runtime's largest buffer (defects issue, item 1): a mapped file or segment is
 * handed to JS as one external ArrayBuffer, which the runtime refuses past
 * `buffer.constants.MAX_LENGTH` (2**32 on Node 20). Such a request used to abort the process with a
 * double free; now it is refused with RangeError ERR_MEMORYVIEW_TOO_LARGE before anything is
 * mapped, created or grown, and a mapping of exactly the limit works to its last byte. Since the
 * big mapped data issue, a whole file longer than the limit opens without `buf` (which throws
 * ERR_MEMORYVIEW_TOO_LARGE) and is reached through window(); test/76 covers windows in depth.
 * Every case runs in a child process (a failure used to be SIGABRT) that reports what it saw and
 * its open fds and live mappings before and after, which must match. Big files are sparse and big
 * segments are truncated tmpfs files, so no case takes real disk space or RAM.
 * Also (item 7): a NUL in a shared-memory name is refused instead of silently cutting the name.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { constants } from 'node:buffer'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { SharedMemory, codes, mmap } from 'memoryview'
import { requireBinding } from '../lib/binding'

const fixture = path.join(__dirname, '..', '..', 'test', 'fixtures', 'size-limit.js')
const entry = require.resolve('memoryview')
const L = constants.MAX_LENGTH
const GiB = 2 ** 30
const page = 4096
// Node 22+ accepts buffers of 2**53 - 1 bytes, more than any sparse file can be: there only the
// cases that do not need a file at the limit apply.
const limitFits = L <= 2 ** 40

interface Counts {
  fds: number
  live: number
}
interface Outcome {
  result: Record<string, unknown>
  base: Counts
  after: Counts
}

function tooLarge(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { error: 'RangeError', code: codes.TOO_LARGE, ...extra }
}

describe('75 size limit: mappings past the runtime\'s largest buffer never abort', () => {
  let dir: string
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-75-'))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** Runs one case in a child; asserts a clean exit and no fd or mapping left behind. */
  function run(c: Record<string, unknown>): Record<string, unknown> {
    const r = spawnSync(process.execPath, [fixture, entry, dir, JSON.stringify(c)], { encoding: 'utf8', timeout: 60000 })
    // A child that crashed could not remove its segment (before the fix: 4 GiB reserved in /dev/shm).
    fs.rmSync(`/dev/shm/mv75_${r.pid}`, { force: true })
    expect(r.signal, `child killed by ${r.signal}; stderr: ${r.stderr}`).to.equal(null)
    expect(r.status, `child exit ${r.status}; stderr: ${r.stderr}`).to.equal(0)
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Outcome
    expect(out.after, 'open fds and live mappings after the call').to.deep.equal(out.base)
    expect(out.base.live).to.equal(0)
    return out.result
  }

  /** The result without its message, which only the message tests look at. */
  function runNoMessage(c: Record<string, unknown>): Record<string, unknown> {
    const { message: _message, ...rest } = run(c)
    return rest
  }

  describe('the runtime refusing the buffer itself (the root cause: no double free)', () => {
    // The binding asked with no limit of its own, so the runtime's refusal is reached. Node 20
    // runs the finalizer while failing; the mapping must be unmapped exactly once.
    for (const what of ['file', 'shm']) {
      it(limitFits
        ? `a ${what} of limit + 1 bytes: ERR_MEMORYVIEW_TOO_LARGE where the runtime refuses, no abort, nothing left mapped`
        : `Node 22+ (no file reaches the limit): a ${what} of 10 GiB maps through the binding, nothing left mapped after`, () => {
        const result = runNoMessage({ kind: 'native', what, size: limitFits ? L + 1 : 10 * GiB })
        expect(result).to.deep.equal(limitFits ? tooLarge() : { ok: true, size: 10 * GiB })
      })
    }
  })

  if (limitFits) {
    describe('mmap() of a whole sparse file', () => {
      it('limit - 1 bytes, read: maps, the last byte reads through the view and toTypedArray()', () => {
        expect(runNoMessage({ kind: 'whole', size: L - 1, access: 'read', via: 'path' }))
          .to.deep.equal({ ok: true, size: L - 1, last: 0, taLength: L - 1, taLast: 0 })
      })
      it("exactly the limit, 'write': the last byte is writable and reads back through toTypedArray()", () => {
        expect(runNoMessage({ kind: 'whole', size: L, access: 'write', via: 'path' }))
          .to.deep.equal({ ok: true, size: L, last: 7, taLength: L, taLast: 7 })
      })
      it("exactly the limit, 'copy' through a file descriptor: works, the fd stays open", () => {
        expect(runNoMessage({ kind: 'whole', size: L, access: 'copy', via: 'fd' }))
          .to.deep.equal({ ok: true, size: L, last: 7, taLength: L, taLast: 7, fdSize: L })
      })
      // Changed by the big mapped data issue: a file longer than the limit used to be refused; now it
      // opens without a whole mapping, `buf` throws ERR_MEMORYVIEW_TOO_LARGE, and window() reaches it.
      for (const access of ['read', 'write', 'copy']) {
        it(`limit + 1 bytes, '${access}': opens; buf is RangeError ERR_MEMORYVIEW_TOO_LARGE, the last byte reads through a window`, () => {
          const { bufMessage: _m, ...result } = runNoMessage({ kind: 'whole', size: L + 1, access, via: 'path' })
          expect(result).to.deep.equal({ windowed: true, size: L + 1, bufError: codes.TOO_LARGE, last: access === 'read' ? 0 : 7 })
        })
      }
      it('limit + 1 bytes through a file descriptor: opens for windows, the fd stays the caller\'s and open', () => {
        const { bufMessage: _m, ...result } = runNoMessage({ kind: 'whole', size: L + 1, access: 'write', via: 'fd' })
        expect(result).to.deep.equal({ windowed: true, size: L + 1, bufError: codes.TOO_LARGE, last: 7, fdSize: L + 1 })
      })
      it('10 GiB: opens for windows', () => {
        const { bufMessage: _m, ...result } = runNoMessage({ kind: 'whole', size: 10 * GiB, access: 'read', via: 'path' })
        expect(result).to.deep.equal({ windowed: true, size: 10 * GiB, bufError: codes.TOO_LARGE, last: 0 })
      })
      it('the message of buf gives the size, the limit and the way out (window())', () => {
        const result = run({ kind: 'whole', size: L + 1, access: 'read', via: 'path' })
        expect(result.bufMessage).to.equal(
          `memoryview: this mapped file has ${L + 1} bytes, more than this runtime's largest buffer ` +
            `(${L} bytes, buffer.constants.MAX_LENGTH), so it has no buf: use window(offset, length) for views of its parts`,
        )
      })
    })

    describe('windows of a 10 GiB sparse file (offset/length, the way out)', () => {
      it('the last `limit` bytes (offset, length to the end): maps, the last byte of the file is written', () => {
        const offset = 10 * GiB - L
        expect(runNoMessage({ kind: 'window', size: 10 * GiB, offset, length: 0 }))
          .to.deep.equal({ ok: true, size: L, last: 7, taLength: L, taLast: 7, inFile: 7 })
      })
      it('one page at 8 GiB: maps', () => {
        expect(runNoMessage({ kind: 'window', size: 10 * GiB, offset: 8 * GiB, length: page }))
          .to.deep.equal({ ok: true, size: page, last: 7, taLength: page, taLast: 7, inFile: 7 })
      })
      it('length limit + 1: refused', () => {
        expect(runNoMessage({ kind: 'window', size: 10 * GiB, offset: 0, length: L + 1 })).to.deep.equal(tooLarge())
      })
      it('from one page in to the end (longer than the limit): opens for windows, the last byte written', () => {
        const { bufMessage: _m, ...result } = runNoMessage({ kind: 'window', size: 10 * GiB, offset: page, length: 0 })
        expect(result).to.deep.equal({ windowed: true, size: 10 * GiB - page, bufError: codes.TOO_LARGE, last: 7, inFile: 7 })
      })
    })

    describe("mmap(p, { access: 'write', size }) past the limit: refused before creating or growing", () => {
      it('a new file: refused, and no file is left behind', () => {
        expect(runNoMessage({ kind: 'grow', existing: -1, size: L + page, via: 'path' }))
          .to.deep.equal(tooLarge({ exists: false }))
      })
      it('an existing 3-byte file: refused, its size and bytes unchanged', () => {
        expect(runNoMessage({ kind: 'grow', existing: 3, size: L + page, via: 'path' }))
          .to.deep.equal(tooLarge({ exists: true, fileSize: 3, unchanged: true }))
      })
      it('an existing file through a file descriptor: refused, the fd open, the file not grown', () => {
        expect(runNoMessage({ kind: 'grow', existing: 3, size: L + page, via: 'fd' }))
          .to.deep.equal(tooLarge({ exists: true, fileSize: 3, unchanged: true, fdSize: 3 }))
      })
    })

    describe('SharedMemory', () => {
      it('create with size limit + 4096: refused before the segment exists (nothing reserved, nothing left)', () => {
        const result = run({ kind: 'shm-create', size: L + page })
        expect(result.message).to.equal(
          `memoryview: cannot create a shared memory segment of ${L + page} bytes: this runtime's largest buffer is ` +
            `${L} bytes (buffer.constants.MAX_LENGTH); use segments of at most that size`,
        )
        delete result.message
        expect(result).to.deep.equal(tooLarge({ exists: false }))
      })
      it('native code refuses the creation too, before the segment exists', () => {
        expect(runNoMessage({ kind: 'native', what: 'shm-create', size: L + page })).to.deep.equal(tooLarge({ exists: false }))
      })
      it('opening an existing segment of limit + 1 bytes: refused, the segment untouched', () => {
        const result = run({ kind: 'shm-open', size: L + 1 })
        expect(result.message).to.match(/^memoryview: cannot map a shared memory segment of \d+ bytes: .*use segments of at most that size$/)
        delete result.message
        expect(result).to.deep.equal(tooLarge({ segmentSize: L + 1 }))
      })
      it('opening a segment of exactly the limit: the last byte is writable', () => {
        expect(runNoMessage({ kind: 'shm-open', size: L }))
          .to.deep.equal({ ok: true, size: L, last: 7, taLength: L, taLast: 7, segmentSize: L })
      })
      it('opening a segment of limit - 1 bytes: works, the last byte reads', () => {
        expect(runNoMessage({ kind: 'shm-open', size: L - 1, write: false }))
          .to.deep.equal({ ok: true, size: L - 1, last: 0, taLength: L - 1, taLast: 0, segmentSize: L - 1 })
      })
    })
  } else {
    describe('a runtime whose largest buffer exceeds any sparse file (Node 22+: 2**53 - 1)', () => {
      it('the limit is Number.MAX_SAFE_INTEGER', () => {
        expect(L).to.equal(Number.MAX_SAFE_INTEGER)
      })
      it("mmap() of a 10 GiB sparse file, 'write': the last byte is writable", () => {
        expect(runNoMessage({ kind: 'whole', size: 10 * GiB, access: 'write', via: 'path' }))
          .to.deep.equal({ ok: true, size: 10 * GiB, last: 7, taLength: 10 * GiB, taLast: 7 })
      })
      it('opening a shared memory segment of 10 GiB (past Node 20\'s limit): the last byte is writable', () => {
        expect(runNoMessage({ kind: 'shm-open', size: 10 * GiB }))
          .to.deep.equal({ ok: true, size: 10 * GiB, last: 7, taLength: 10 * GiB, taLast: 7, segmentSize: 10 * GiB })
      })
      // Past a limit that is the largest safe integer, a size is no valid integer: OUT_OF_RANGE, not TOO_LARGE.
      it('SharedMemory create with size limit + 4096: RangeError ERR_MEMORYVIEW_OUT_OF_RANGE, before the segment exists', () => {
        expect(runNoMessage({ kind: 'shm-create', size: L + page }))
          .to.deep.equal({ error: 'RangeError', code: codes.OUT_OF_RANGE, exists: false })
      })
      it("mmap(p, { access: 'write', size: limit + 4096 }) of an existing 3-byte file: ERR_MEMORYVIEW_OUT_OF_RANGE, the file unchanged", () => {
        expect(runNoMessage({ kind: 'grow', existing: 3, size: L + page, via: 'path' }))
          .to.deep.equal({ error: 'RangeError', code: codes.OUT_OF_RANGE, exists: true, fileSize: 3, unchanged: true })
      })
    })
  }

  describe("the other refusals with { access: 'write', size } are decided before growing too", () => {
    it('an offset past the size asked for: ERR_MEMORYVIEW_PAST_EOF, the existing file not grown, a new one not left', () => {
      const existing = path.join(dir, 'three')
      fs.writeFileSync(existing, 'abc')
      expect(() => mmap(existing, { access: 'write', size: 100, offset: 2 * page }))
        .to.throw(RangeError).with.property('code', 'ERR_MEMORYVIEW_PAST_EOF')
      expect(fs.readFileSync(existing, 'latin1')).to.equal('abc')
      const created = path.join(dir, 'new')
      expect(() => mmap(created, { access: 'write', size: 100, offset: 2 * page }))
        .to.throw(RangeError).with.property('code', 'ERR_MEMORYVIEW_PAST_EOF')
      expect(fs.existsSync(created)).to.equal(false)
    })
    it('a length past the size asked for: ERR_MEMORYVIEW_PAST_EOF, the file not grown', () => {
      const existing = path.join(dir, 'three-b')
      fs.writeFileSync(existing, 'abc')
      expect(() => mmap(existing, { access: 'write', size: 100, length: 200 }))
        .to.throw(RangeError).with.property('code', 'ERR_MEMORYVIEW_PAST_EOF')
      expect(fs.statSync(existing).size).to.equal(3)
    })
  })

  describe('NUL in a shared-memory name (item 7)', () => {
    const base = `mv75nul_${process.pid}`
    const cut = `/dev/shm/${base}`
    after(() => {
      fs.rmSync(cut, { force: true })
    })

    it('new SharedMemory({ name: "x\\0y", create: true }): TypeError ERR_MEMORYVIEW_INVALID_ARG, nothing created', () => {
      expect(() => new SharedMemory({ name: `${base}\0y`, create: true, size: 8 }))
        .to.throw(TypeError).with.property('code', codes.INVALID_ARG)
      expect(fs.existsSync(cut)).to.equal(false)
    })
    it('opening a name with a NUL: TypeError ERR_MEMORYVIEW_INVALID_ARG (not the segment before the NUL)', () => {
      fs.writeFileSync(cut, Buffer.alloc(8))
      try {
        expect(() => new SharedMemory({ name: `${base}\0y` }))
          .to.throw(TypeError).with.property('code', codes.INVALID_ARG)
      } finally {
        fs.rmSync(cut, { force: true })
      }
    })
    it('native code refuses it too (create, open, unlink)', () => {
      const binding = requireBinding('test')
      expect(() => binding.openSharedMemoryId(`/${base}\0y`, true, 8, L, true, new Float64Array(2)))
        .to.throw(TypeError).with.property('code', codes.INVALID_ARG)
      expect(fs.existsSync(cut)).to.equal(false)
      expect(() => binding.unlinkSharedMemory(`/${base}\0y`))
        .to.throw(TypeError).with.property('code', codes.INVALID_ARG)
    })
  })
})
