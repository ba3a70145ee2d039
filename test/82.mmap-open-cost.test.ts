/**
 * What opening a small file costs, guarded by which path it takes (issue 9: `mmap(path).close()` of
 * a 4 KiB file within 2x openSync + readSync + closeSync; speed itself is shown by bench/07, never
 * by timings here):
 *   - mmap(path) is one native call (open, fstat, mmap and close of the descriptor in one go), and
 *     close() of an untouched file one more; nothing else reaches the addon. The call is mapFileIo()
 *     (ABI 10), which reads its six numbers from one ArrayBuffer (one Node-API call, where
 *     mapFileId() took six), with the same checks; the addon's functions are loaded from an object
 *     with fast properties (its own exports object is in dictionary mode).
 *   - the first `buf` marks its ArrayBuffer as external memory in a private field of the buffer, not
 *     with a WeakMap.set() (about 500 ns: V8's ephemeron barrier and scavenge pass).
 *   - the path reaches native code through a fixed buffer when it fits and through a string of its
 *     own when it does not: both give the same file, the same errors and the same `path` in them.
 *   - Linux: a 'read' mapping reserves no swap (MAP_NORESERVE: `nr`, no `ac`, in /proc/self/smaps);
 *     'copy' mappings, which are written to, keep the reservation, and 'write' ones are shared.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { mmap, Access } from 'memoryview'
import { requireBinding } from '../lib/binding'
import { expectError, INVALID_ARG } from './helpers/errors'

type Binding = ReturnType<typeof requireBinding>

/** Runs `fn` with every function of the addon counted; returns the names called, in order. */
function nativeCalls(fn: () => void): string[] {
  const binding = requireBinding('test') as unknown as Record<string, unknown>
  const calls: string[] = []
  const saved = new Map<string, unknown>()
  for (const name of Object.keys(binding)) {
    const real = binding[name]
    if (typeof real !== 'function') continue
    saved.set(name, real)
    binding[name] = function (this: unknown, ...args: unknown[]) {
      calls.push(name)
      return (real as (...a: unknown[]) => unknown).apply(this, args)
    }
  }
  try {
    fn()
  } finally {
    for (const [name, real] of saved) binding[name] = real
  }
  return calls
}

/** The VmFlags of this process's mappings of `file` (/proc/self/smaps), one list per mapping. */
function vmFlagsOf(file: string): string[][] {
  const found: string[][] = []
  let current: string[] | null = null
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      current = line.endsWith(` ${file}`) ? [] : null
      if (current !== null) found.push(current)
    } else if (current !== null && line.startsWith('VmFlags:')) {
      current.push(...line.slice('VmFlags:'.length).trim().split(/\s+/))
    }
  }
  return found
}

/** Runs `fn` (which may be async) counting FinalizationRegistry register()/unregister() calls. */
async function registryCalls(fn: () => unknown): Promise<{ register: number; unregister: number }> {
  const proto = FinalizationRegistry.prototype
  const { register, unregister } = proto
  const counts = { register: 0, unregister: 0 }
  proto.register = function (this: FinalizationRegistry<unknown>, ...args: Parameters<typeof register>) {
    counts.register++
    return register.apply(this, args)
  }
  proto.unregister = function (this: FinalizationRegistry<unknown>, token: WeakKey) {
    counts.unregister++
    return unregister.call(this, token)
  }
  try {
    await fn()
  } finally {
    proto.register = register
    proto.unregister = unregister
  }
  return counts
}

/** Lets the microtask queue run (where owners still open are registered). */
const microtasks = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve))

describe('82 mmap() of a small file: which path it takes', () => {
  let dir: string
  let file: string
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-82-'))
    file = path.join(dir, 'small.bin')
    fs.writeFileSync(file, Buffer.from([1, 2, 3, 4, 5]))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('native calls', () => {
    it('mmap(path) with offset 0 is one native call (mapFileIo); close() of an untouched file one more (unmapId)', () => {
      let m: ReturnType<typeof mmap> | undefined
      try {
        expect(nativeCalls(() => { m = mmap(file) })).to.deep.equal(['mapFileIo'])
        expect(nativeCalls(() => m!.close())).to.deep.equal(['unmapId'])
      } finally {
        m?.close()
      }
    })

    it('the first mmap() of a process makes the same two calls (it asks no granularity: in a fresh child process)', () => {
      // In this process an earlier test may already have asked (and cached) the granularity.
      const script = `
        const path = require('node:path')
        const [entry, file] = process.argv.slice(1)
        const { mmap } = require(entry)
        const binding = require(path.join(path.dirname(entry), 'binding.js')).requireBinding('test')
        const calls = []
        for (const name of Object.keys(binding)) {
          const real = binding[name]
          if (typeof real === 'function') binding[name] = function (...args) { calls.push(name); return real.apply(this, args) }
        }
        mmap(file).close()
        console.log(JSON.stringify(calls))`
      const r = spawnSync(process.execPath, ['-e', script, require.resolve('memoryview'), file], { encoding: 'utf8' })
      expect(r.status, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal(['mapFileIo', 'unmapId'])
    })

    it('mmap(fd) and close() make the same two calls, for every access mode', () => {
      const fd = fs.openSync(file, 'r+')
      try {
        for (const access of ['read', 'write', 'copy'] as Access[]) {
          expect(nativeCalls(() => mmap(fd, { access }).close()), access).to.deep.equal(['mapFileIo', 'unmapId'])
        }
      } finally {
        fs.closeSync(fd)
      }
    })

    it('the first buf.get() makes the buffer (mappingBuffer) and close() then detaches it (unmap)', () => {
      const m = mmap(file)
      try {
        let v: number | undefined
        expect(nativeCalls(() => { v = m.buf.get(0) })).to.deep.equal(['mappingBuffer'])
        expect(v).to.equal(1)
        expect(nativeCalls(() => m.close())).to.deep.equal(['unmap'])
      } finally {
        m.close()
      }
    })

    it('the first buf records its buffer as external memory in the buffer itself: no WeakMap.set(), no visible key', () => {
      const m = mmap(file)
      try {
        const { set } = WeakMap.prototype
        let sets = 0
        WeakMap.prototype.set = function (this: WeakMap<WeakKey, unknown>, key: WeakKey, value: unknown) {
          sets++
          return set.call(this, key, value)
        }
        try {
          expect(m.buf.get(1)).to.equal(2)
        } finally {
          WeakMap.prototype.set = set
        }
        expect(sets).to.equal(0)
        const buffer = m.buf.toTypedArray().buffer
        expect(Reflect.ownKeys(buffer)).to.deep.equal([])
        expect(Object.getOwnPropertySymbols(buffer)).to.deep.equal([])
      } finally {
        m.close()
      }
    })

    it('an offset that is not a multiple of the granularity is still RangeError ERR_MEMORYVIEW_UNALIGNED, before any mapping', () => {
      const big = path.join(dir, 'two-pages.bin')
      fs.writeFileSync(big, Buffer.alloc(2 * 65536))
      const calls = nativeCalls(() => expectError(() => mmap(big, { offset: 1 }), RangeError, 'ERR_MEMORYVIEW_UNALIGNED'))
      expect(calls).not.to.include('mapFileIo')
    })

    it('options are read only when given: mmap(path) and mmap(path, undefined) map for reading from offset 0', () => {
      for (const m of [mmap(file), mmap(file, undefined)]) {
        try {
          expect([m.access, m.size, m.buf.readonly]).to.deep.equal(['read', 5, true])
        } finally {
          m.close()
        }
      }
    })

    it('an access that only converts to a mode name is TypeError ERR_MEMORYVIEW_INVALID_ARG, before any mapping', () => {
      const live = requireBinding('test').liveMappings()
      for (const access of [['read'], new String('copy'), { toString: () => 'write' }]) {
        const calls = nativeCalls(() => expectError(() => mmap(file, { access } as never), TypeError, INVALID_ARG))
        expect(calls, String(access)).to.deep.equal([])
      }
      expect(requireBinding('test').liveMappings()).to.equal(live)
    })
  })

  describe('mapFileIo(path, io): the numbers in one ArrayBuffer', () => {
    const binding = (): Binding => requireBinding('test')
    /** An io buffer, eight doubles: fd, access, offset, length, size and maxLength in [2..7]. */
    const io = (fd = -1, access = 0, offset = 0, length = 0, size = -1, maxLength = 2 ** 32): ArrayBuffer =>
      new Float64Array([0, 0, fd, access, offset, length, size, maxLength]).buffer as ArrayBuffer

    it('maps what mapFileId() maps: id and length in io[0] and io[1], by path and by fd', () => {
      const fd = fs.openSync(file, 'r')
      try {
        for (const [p, f] of [[file, -1], [null, fd]] as const) {
          const a = io(f, 2, 0, 3)
          binding().mapFileIo(p, a)
          const [id, length] = new Float64Array(a)
          expect(length).to.equal(3)
          const buffer = binding().mappingBuffer(id, false)
          expect([...new Uint8Array(buffer)]).to.deep.equal([1, 2, 3])
          expect(binding().unmap(buffer)).to.equal(true)
        }
      } finally {
        fs.closeSync(fd)
      }
    })

    it('a bad io (not an ArrayBuffer, shorter than 64 bytes, detached, a view) is TypeError ERR_MEMORYVIEW_INVALID_ARG and maps nothing', () => {
      const live = binding().liveMappings()
      const detached = io()
      structuredClone(detached, { transfer: [detached] })
      for (const bad of [undefined, new ArrayBuffer(56), detached, new Float64Array(io()), [0, 0, -1, 0, 0, 0, -1, 2 ** 32]]) {
        expectError(() => binding().mapFileIo(file, bad as never), TypeError, INVALID_ARG)
      }
      expect(binding().liveMappings()).to.equal(live)
    })

    it('a SharedArrayBuffer io: read as an ArrayBuffer where Node-API takes one (22.21+, 24.9+), else refused', () => {
      const live = binding().liveMappings()
      const shared = new SharedArrayBuffer(64)
      new Float64Array(shared).set(new Float64Array(io()))
      // napi_get_arraybuffer_info() accepts a SharedArrayBuffer since nodejs/node#59071, released in
      // 24.9.0 and backported to 22.21.0 (not to 23).
      const [major, minor] = process.versions.node.split('.').map(Number)
      const takesShared = major >= 25 || (major === 24 && minor >= 9) || (major === 22 && minor >= 21)
      if (!takesShared) {
        expectError(() => binding().mapFileIo(file, shared as never), TypeError, INVALID_ARG)
        expect(binding().liveMappings()).to.equal(live)
        return
      }
      binding().mapFileIo(file, shared as never)
      const out = new Float64Array(shared)
      expect(out[1], 'the length written back').to.equal(fs.statSync(file).size)
      expect(binding().liveMappings()).to.equal(live + 1)
      expect(binding().unmapId(out[0])).to.equal(true)
      expect(binding().liveMappings()).to.equal(live)
    })

    it('a number in io that is not an integer in [-1, 2**53 - 1] is RangeError ERR_MEMORYVIEW_OUT_OF_RANGE and maps nothing', () => {
      const live = binding().liveMappings()
      for (let at = 3; at < 8; at++) {
        for (const bad of [NaN, 1.5, -2, Infinity, 2 ** 53]) {
          const a = io()
          new Float64Array(a)[at] = bad
          expectError(() => binding().mapFileIo(file, a), RangeError, 'ERR_MEMORYVIEW_OUT_OF_RANGE')
        }
      }
      // fd is read only without a path.
      expectError(() => binding().mapFileIo(null, io(NaN)), RangeError, 'ERR_MEMORYVIEW_OUT_OF_RANGE')
      expect(binding().liveMappings()).to.equal(live)
    })

    it('no path and no fd, an empty path, or an fd over 2**31 - 1 is refused before anything is opened (mapFileId() too)', () => {
      const live = binding().liveMappings()
      const fd = fs.openSync(file, 'r')
      try {
        for (const [p, f] of [[null, -1], ['', -1], ['', fd]] as const) {
          expectError(() => binding().mapFileIo(p, io(f)), TypeError, INVALID_ARG)
          expectError(() => binding().mapFileId(p, f, 0, 0, 0, -1, 2 ** 32, new Float64Array(2)), TypeError, INVALID_ARG)
        }
        // 2**32 + fd once wrapped to `fd` itself and mapped that descriptor.
        for (const f of [2 ** 31, 2 ** 32 + fd]) {
          expectError(() => binding().mapFileIo(null, io(f)), RangeError, 'ERR_MEMORYVIEW_OUT_OF_RANGE')
          expectError(() => binding().mapFileId(null, f, 0, 0, 0, -1, 2 ** 32, new Float64Array(2)), RangeError, 'ERR_MEMORYVIEW_OUT_OF_RANGE')
        }
      } finally {
        fs.closeSync(fd)
      }
      expect(binding().liveMappings()).to.equal(live)
    })

    it('with a path, io[2] (fd) is not read: even NaN there maps the path', () => {
      const a = io(NaN)
      binding().mapFileIo(file, a)
      const [id, length] = new Float64Array(a)
      expect(length).to.equal(5)
      expect(binding().unmapId(id)).to.equal(true)
    })

    it('the addon is reached through an object with fast properties (in a child process, --allow-natives-syntax)', () => {
      const script = `
        const path = require('node:path')
        const entry = process.argv[1]
        const binding = require(path.join(path.dirname(entry), 'binding.js')).requireBinding('test')
        console.log(JSON.stringify([%HasFastProperties(binding), typeof binding.mapFileIo, typeof binding.unmapId]))`
      const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script, require.resolve('memoryview')], { encoding: 'utf8' })
      expect(r.status, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal([true, 'function', 'function'])
    })
  })

  describe('the FinalizationRegistry that unmaps owners dropped unclosed', () => {
    it('an owner closed in the synchronous code that opened it never registers (nor unregisters)', async () => {
      const counts = await registryCalls(() => {
        for (let i = 0; i < 10; i++) mmap(file).close()
      })
      expect(counts).to.deep.equal({ register: 0, unregister: 0 })
    })

    it('owners still open when the microtask queue runs register once each; one closed before then does not', async () => {
      const live = requireBinding('test').liveMappings()
      const owners: ReturnType<typeof mmap>[] = []
      const counts = await registryCalls(async () => {
        owners.push(mmap(file), mmap(file, { access: 'copy' }), mmap(file))
        owners[0].close() // the first leaves the list: the last takes its place
        await microtasks()
        for (const m of owners) m.close()
      })
      expect(counts).to.deep.equal({ register: 2, unregister: 2 })
      expect(requireBinding('test').liveMappings()).to.equal(live)
    })

    it('an owner that makes its buffer before the microtask queue runs never registers; its data reads right', async () => {
      const counts = await registryCalls(async () => {
        const m = mmap(file)
        expect(m.buf.get(4)).to.equal(5)
        await microtasks()
        expect(m.buf.get(0)).to.equal(1)
        m.close()
      })
      expect(counts.register).to.equal(0)
    })
  })

  describe('paths: a fixed buffer when they fit, a string of their own when not', () => {
    /**
     * A file at a path of `length` bytes (UTF-8) under `dir`, made of `segment`s: directories, then
     * a name of `segment`'s character padded with fewer 'x' than one character takes, so that every
     * byte offset near the end of the path, the native buffer's edge included, is inside or
     * between characters of `segment` (or a separator), not in ASCII padding.
     */
    function fileAtLength(length: number, segment: string): string {
      let p = dir
      while (Buffer.byteLength(p) + Buffer.byteLength(segment) + 10 < length) {
        p = path.join(p, segment)
        fs.mkdirSync(p, { recursive: true })
      }
      const rest = Math.max(1, length - Buffer.byteLength(p) - 1)
      const char = String.fromCodePoint(segment.codePointAt(0)!)
      const chars = Math.floor(rest / Buffer.byteLength(char))
      p = path.join(p, char.repeat(chars) + 'x'.repeat(rest - chars * Buffer.byteLength(char)))
      fs.writeFileSync(p, Buffer.from([9, 8, 7]))
      return p
    }

    it('every path length around the native buffer (1 KiB), in ASCII and in 2-, 3- and 4-byte characters, maps the right file', () => {
      for (const segment of ['d'.repeat(100), 'é'.repeat(50), '語'.repeat(33), '😀'.repeat(25)]) {
        for (let length = 1010; length <= 1040; length++) {
          const p = fileAtLength(length, segment)
          const m = mmap(p)
          try {
            expect([...m.buf.tolist() as number[]], p).to.deep.equal([9, 8, 7])
          } finally {
            m.close()
          }
          fs.rmSync(p)
        }
      }
    })

    it('a path of 3 KiB maps; a missing one that long is ENOENT naming the whole path', () => {
      const p = fileAtLength(3000, 'e'.repeat(200))
      const m = mmap(p)
      expect(m.buf.get(2)).to.equal(7)
      m.close()
      const missing = `${p}-missing`
      const err = expectError(() => mmap(missing), Error, 'ENOENT') as Error & { path?: string }
      expect(err.path).to.equal(missing)
    })

    it('a NUL byte reaching native code, short path or long, is TypeError ERR_MEMORYVIEW_INVALID_ARG and maps nothing', () => {
      const binding: Binding = requireBinding('test')
      const live = binding.liveMappings()
      const out = new Float64Array(2)
      const io = new Float64Array([0, 0, -1, 0, 0, 0, -1, 2 ** 32]).buffer
      for (const bad of [`${file}\0x`, `${'/'.repeat(2000)}${file}\0x`, `${'/'.repeat(1019)}\0${file}`]) {
        expectError(() => binding.mapFileId(bad, -1, 0, 0, 0, -1, 2 ** 32, out), TypeError, INVALID_ARG)
        expectError(() => binding.mapFileIo(bad, io), TypeError, INVALID_ARG)
      }
      expect(binding.liveMappings()).to.equal(live)
    })
  })

  // /proc/self/smaps and MAP_NORESERVE are Linux's; the other systems have no commit charge to skip.
  if (process.platform === 'linux') {
    describe('swap reservation (Linux)', () => {
      it("a 'read' mapping reserves no swap (nr, no ac); a 'copy' mapping keeps its reservation (ac); a 'write' one is shared (sh)", () => {
        const flags = (access: Access): string[] => {
          const m = mmap(file, { access })
          try {
            const found = vmFlagsOf(file)
            expect(found, `one mapping of ${file}`).to.have.length(1)
            return found[0]
          } finally {
            m.close()
          }
        }
        const read = flags('read')
        expect(read).to.include('nr')
        expect(read).not.to.include('ac')
        const copy = flags('copy')
        expect(copy).to.include('ac')
        expect(copy).not.to.include('nr')
        const write = flags('write')
        expect(write).to.include('sh')
        expect(write).not.to.include('ac')
        expect(vmFlagsOf(file)).to.deep.equal([]) // close() unmapped both
      })
    })
  }
})
