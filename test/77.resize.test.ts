/**
 * Growing and shrinking (big mapped data issue, part 2): `mf.resize(newSize)` after Python's
 * `mmap.resize`: the file's size becomes the mapping's offset + newSize and `buf` covers the new
 * size; the old `buf`, its derived views and TypedArrays are released (never dangling). Refusals in
 * Python's order: closed (ERR_MEMORYVIEW_RELEASED), exports held (BufferError), 'read'/'copy'
 * (TypeError ERR_MEMORYVIEW_NOT_RESIZABLE), then the size. Growth reserves the blocks: on a full
 * filesystem it fails with ENOSPC and leaves the old mapping and the file intact (child process in a
 * small tmpfs, as test/74). Shared memory refuses resize() (Python's SharedMemory has none).
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { constants } from 'node:buffer'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BufferError, SharedMemory, codes, exportToNative, memoryview, mmap } from 'memoryview'
import { requireBinding } from '../lib/binding'
import { EXPORTED, INVALID_ARG, OUT_OF_RANGE, RELEASED, expectError } from './helpers/errors'

const page = 4096
// A literal, not codes.NOT_RESIZABLE: a build without the code must fail these tests, not compare undefined.
const NOT_RESIZABLE = 'ERR_MEMORYVIEW_NOT_RESIZABLE'
const pkg = path.join(__dirname, '..', '..')
const liveMappings = (): number => requireBinding('test').liveMappings()

describe('77 resize(): growing and shrinking a mapped file', () => {
  let dir: string
  let n = 0
  /** A new file of `size` bytes, byte i = i % 251. */
  function file(size: number): string {
    const p = path.join(dir, `f${n++}`)
    fs.writeFileSync(p, Buffer.from(Array.from({ length: size }, (_, i) => i % 251)))
    return p
  }
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-77-'))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('what it does', () => {
    it('grows: the file and buf have the new size, old bytes kept, new bytes zero, writes reach the file', () => {
      const p = file(3 * page)
      const m = mmap(p, { access: 'write' })
      m.resize(5 * page + 3)
      expect([m.size, m.buf.nbytes, fs.statSync(p).size]).to.deep.equal([5 * page + 3, 5 * page + 3, 5 * page + 3])
      expect([m.buf.get(3 * page - 1), m.buf.get(3 * page), m.buf.get(-1)]).to.deep.equal([(3 * page - 1) % 251, 0, 0])
      m.buf.set(-1, 99)
      m.close()
      expect(fs.readFileSync(p).at(-1)).to.equal(99)
    })

    it('shrinks: the file is truncated to the new size', () => {
      const p = file(3 * page)
      const m = mmap(p, { access: 'write' })
      m.resize(100)
      expect([m.size, m.buf.nbytes, fs.statSync(p).size, m.buf.get(99)]).to.deep.equal([100, 100, 100, 99])
      m.close()
    })

    it('the old buf, views derived from it and TypedArrays over it are released, never dangling', () => {
      const p = file(2 * page)
      const base = liveMappings()
      const m = mmap(p, { access: 'write' })
      const old = m.buf
      const sub = memoryview(m).subarray(10, 20)
      const ta = old.toTypedArray() as Uint8Array
      m.resize(page)
      expect([old.released, sub.released, ta.length, m.buf.released]).to.deep.equal([true, true, 0, false])
      expectError(() => sub.get(0), Error, RELEASED)
      expect(m.buf).to.not.equal(old)
      expect(liveMappings()).to.equal(base + 1) // the old mapping is gone, the new one is live
      m.close()
      expect(liveMappings()).to.equal(base)
    })

    it('a mapping at an offset: the file becomes offset + newSize bytes (as Python)', () => {
      const p = file(3 * page)
      const m = mmap(p, { access: 'write', offset: page })
      m.resize(page + 1)
      expect([m.size, fs.statSync(p).size, m.buf.get(0)]).to.deep.equal([page + 1, 2 * page + 1, page % 251])
      m.close()
    })

    it('a mapping through a file descriptor resizes through it; the fd stays open', () => {
      const p = file(page)
      const fd = fs.openSync(p, 'r+')
      try {
        const m = mmap(fd, { access: 'write' })
        m.resize(2 * page)
        expect(fs.fstatSync(fd).size).to.equal(2 * page)
        m.close()
      } finally {
        fs.closeSync(fd)
      }
    })
  })

  describe('refusals, in Python\'s order', () => {
    it('after close(): ERR_MEMORYVIEW_RELEASED', () => {
      const m = mmap(file(page), { access: 'write' })
      m.close()
      expectError(() => m.resize(10), Error, RELEASED)
    })

    for (const how of ['lease', 'pin of a sub-view', 'native export'] as const) {
      it(`while a ${how} is held: BufferError ERR_MEMORYVIEW_EXPORTED, mapping and file untouched`, () => {
        const p = file(page)
        const m = mmap(p, { access: 'write' })
        const held =
          how === 'lease' ? m.lease() : how === 'pin of a sub-view' ? m.buf.subarray(5).pin() : exportToNative(m.buf)
        expectError(() => m.resize(2 * page), BufferError, EXPORTED)
        expect([m.buf.released, m.size, fs.statSync(p).size, m.buf.get(7)]).to.deep.equal([false, page, page, 7])
        held.release()
        m.resize(2 * page)
        m.close()
      })
    }

    it("exports come before the access mode: a 'read' mapping with a lease is BufferError (as Python)", () => {
      const m = mmap(file(page))
      const lease = m.lease()
      expectError(() => m.resize(10), BufferError, EXPORTED)
      lease.release()
      m.close()
    })

    for (const access of ['read', 'copy'] as const) {
      it(`'${access}': TypeError ERR_MEMORYVIEW_NOT_RESIZABLE, the file untouched`, () => {
        const p = file(page)
        const m = mmap(p, { access })
        expectError(() => m.resize(2 * page), TypeError, NOT_RESIZABLE)
        expect(fs.statSync(p).size).to.equal(page)
        m.close()
      })
    }

    it('bad sizes: not an integer (TypeError), <= 0 (RangeError), past the runtime limit (TOO_LARGE on Node 20; OUT_OF_RANGE on Node 22+, where the limit is the largest safe integer); nothing changes', () => {
      const p = file(page)
      const m = mmap(p, { access: 'write' })
      const buf = m.buf
      expectError(() => m.resize(1.5), TypeError, INVALID_ARG)
      expectError(() => m.resize('10' as never), TypeError, INVALID_ARG)
      expectError(() => m.resize(-1), RangeError, OUT_OF_RANGE)
      expectError(() => m.resize(0), RangeError, OUT_OF_RANGE)
      // Node 20's limit, 2**32, leaves sizes past it that are valid but cannot be held; Node 22's,
      // 2**53 - 1, is Number.MAX_SAFE_INTEGER, so one more is no valid size at all.
      const pastLimit = constants.MAX_LENGTH < Number.MAX_SAFE_INTEGER ? codes.TOO_LARGE : OUT_OF_RANGE
      expect(constants.MAX_LENGTH).to.be.oneOf([2 ** 32, Number.MAX_SAFE_INTEGER])
      expectError(() => m.resize(constants.MAX_LENGTH + 1), RangeError, pastLimit)
      expect([buf.released, fs.statSync(p).size]).to.deep.equal([false, page])
      m.close()
    })

    it('a path that now names another file: ESTALE, the old mapping and both files untouched', () => {
      const p = file(page)
      const m = mmap(p, { access: 'write' })
      const other = path.join(dir, 'other')
      fs.writeFileSync(other, 'abc')
      fs.renameSync(other, p)
      const err = expectError(() => m.resize(2 * page), Error, 'ESTALE')
      expect(err).to.have.property('syscall', 'open')
      expect([m.buf.released, m.buf.get(7), fs.readFileSync(p, 'latin1')]).to.deep.equal([false, 7, 'abc'])
      m.close()
    })
  })

  it('growth on a full filesystem: ENOSPC, the old mapping usable and the file unchanged (no SIGBUS)', () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-77-enospc-'))
    const script = `
      const { mmap } = require(process.env.PKG)
      const fs = require('fs')
      const p = ${JSON.stringify(path.join(mount, 'f'))}
      fs.writeFileSync(p, Buffer.alloc(256 * 1024, 3))
      const m = mmap(p, { access: 'write' })
      let code
      try { m.resize(8 << 20) } catch (e) { code = e.code }
      const ok = !m.buf.released && m.buf.get(-1) === 3 && m.size === 256 * 1024
      m.buf.set(0, 4)
      m.close()
      console.log(code, ok, fs.statSync(p).size, fs.readFileSync(p)[0])`
    const shell = `mount -t tmpfs -o size=1m tmpfs ${mount} && exec "${process.execPath}" -e "$SCRIPT"`
    let r
    try {
      r = spawnSync('unshare', ['-m', 'sh', '-c', shell], { encoding: 'utf8', env: { ...process.env, SCRIPT: script, PKG: pkg }, timeout: 30000 })
    } finally {
      fs.rmSync(mount, { recursive: true, force: true })
    }
    expect(r.signal, r.stderr).to.equal(null)
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout.trim()).to.equal(`ENOSPC true ${256 * 1024} 4`)
  })

  it('SharedMemory.resize(): Error ERR_MEMORYVIEW_NOT_RESIZABLE, the segment untouched', () => {
    const shm = new SharedMemory({ create: true, size: page })
    try {
      expectError(() => shm.resize(2 * page), Error, NOT_RESIZABLE)
      expect([shm.size, shm.buf.released]).to.deep.equal([page, false])
    } finally {
      shm.close()
      shm.unlink()
    }
  })
})
