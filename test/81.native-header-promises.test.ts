import { describe, it, before } from 'mocha'
import { expect } from 'chai'
import { constants as bufferConstants } from 'node:buffer'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { MemoryView, NATIVE_API, codes, include, memoryview } from 'memoryview'
import type { NativeApi } from 'memoryview'
import { buildConsumer, consumerDir, root, type ConsumerBuild } from './helpers/consumer'
import { expectError } from './helpers/errors'

// What include/memoryview.h promises in its comments and the README, checked against the consumer
// addons test 80 builds (this file reuses that build; alone, it builds them once).
const BUILD_TIMEOUT_MS = 90_000
const CHILD_TIMEOUT_MS = 60_000
const FORMAT = 'ERR_MEMORYVIEW_FORMAT'
const TOO_LARGE = 'ERR_MEMORYVIEW_TOO_LARGE'

interface Consumer {
  wrap(kind: string, n: number): MemoryView
  finalized(): { calls: number; bytes: number }
  hold(source: unknown, flags?: number): number
  drop(slot: number): void
  info(source: unknown, flags?: number): { held: boolean }
}
interface Example {
  sum(source: unknown): number
}

const api = (globalThis as unknown as Record<symbol, NativeApi>)[NATIVE_API]

function runChild(script: string, args: string[] = []): { status: number | null; signal: string | null; out: string } {
  const child = spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, cwd: root })
  return { status: child.status, signal: child.signal, out: `${child.stdout}\n${child.stderr}` }
}

function expectClean(r: ReturnType<typeof runChild>, marker: string): void {
  expect(r.signal, r.out).to.equal(null)
  expect(r.status, r.out).to.equal(0)
  expect(r.out).to.contain(marker)
}

describe('81 native header: include/memoryview.h keeps its promises', function () {
  this.timeout(CHILD_TIMEOUT_MS)
  let build: ConsumerBuild
  let consumer: Consumer
  let example: Example

  before(function () {
    this.timeout(BUILD_TIMEOUT_MS)
    build = buildConsumer(true)
    /* eslint-disable @typescript-eslint/no-require-imports */
    consumer = require(build.consumer) as Consumer
    example = require(build.example) as Example
    /* eslint-enable @typescript-eslint/no-require-imports */
  })

  describe('Wrap', () => {
    it('refuses an unknown format and an itemsize other than the format\'s (TypeError ERR_MEMORYVIEW_FORMAT); the finalizer never runs', () => {
      const before = consumer.finalized().calls
      expectError(() => consumer.wrap('unknownformat', 16), TypeError, FORMAT)
      expectError(() => consumer.wrap('mismatch', 16), TypeError, FORMAT)
      expect(codes.FORMAT).to.equal(FORMAT)
      expect(consumer.finalized().calls).to.equal(before)
    })

    it('takes a null shape with ndim 0, or an empty vector\'s data(), as a 0-d view of one element', () => {
      for (const kind of ['scalar', 'scalarvector']) {
        const m = consumer.wrap(kind, 16)
        expect([m.ndim, m.shape, m.strides, m.nbytes, m.length], kind).to.deep.equal([0, [], [], 2, 1])
        expect(m.get(), kind).to.equal(2 | (3 << 8))
        const owner = m.obj as { close(): void }
        owner.close()
      }
    })

    it('refuses a null shape with ndim > 1 (TypeError ERR_MEMORYVIEW_INVALID_DESCRIPTOR)', () => {
      expectError(() => consumer.wrap('nullshape2', 16), TypeError, 'ERR_MEMORYVIEW_INVALID_DESCRIPTOR')
    })

    it('publishes the runtime\'s buffer limit in the native API table', () => {
      expect(api.maxByteLength).to.equal(bufferConstants.MAX_LENGTH)
    })

    // Node 20's limit, 2**32, can be reserved (MAP_NORESERVE) and wrapped; Node 22's, 2**53 - 1, is
    // larger than any address space, so there the sizes past Node 20's limit are what can be shown.
    const limitReachable = bufferConstants.MAX_LENGTH <= 2 ** 40

    it(limitReachable
      ? 'wraps just below and at buffer.constants.MAX_LENGTH and refuses one byte more (RangeError ERR_MEMORYVIEW_TOO_LARGE, message with the limit), in a child'
      : 'Node 22+ (limit 2**53 - 1, past any address space): wraps 2**32 + 1 bytes and 10 GiB, the last byte writable, in a child', () => {
      if (!limitReachable) expect(bufferConstants.MAX_LENGTH).to.equal(Number.MAX_SAFE_INTEGER)
      const r = runChild(`
        const assert = require('node:assert')
        const { constants } = require('node:buffer')
        require(${JSON.stringify(root)})
        const c = require(${JSON.stringify(build.consumer)})
        const limit = constants.MAX_LENGTH
        const reachable = ${String(limitReachable)}
        let calls = 0
        for (const n of reachable ? [limit - 1, limit] : [2 ** 32 + 1, 10 * 2 ** 30]) {
          const v = c.wrapReserved(n)
          assert.equal(v.nbytes, n)
          v.set(n - 1, 7)
          assert.equal(v.get(n - 1), 7)
          v.obj.close()
          assert.equal(c.finalized().calls, ++calls, 'closed: unmapped once')
        }
        if (reachable) {
          assert.throws(() => c.wrapReserved(limit + 1), (e) =>
            e instanceof RangeError && e.code === ${JSON.stringify(TOO_LARGE)} && e.message.startsWith('memoryview: ') &&
            e.message.includes(String(limit)))
          assert.equal(c.finalized().calls, calls, 'a refused Wrap leaves the memory to the caller')
        }
        console.log('limits ok')
      `)
      expectClean(r, 'limits ok')
    })

    // A child's prelude: the package loaded, its native table republished without maxByteLength (what
    // an older copy of the package publishes, so the header cannot refuse first), the consumer as c.
    const withoutLimit = (): string => `
      require(${JSON.stringify(root)})
      const key = Symbol.for('memoryview.native')
      const table = { ...globalThis[key] }
      delete table.maxByteLength
      Object.defineProperty(globalThis, key, { value: Object.freeze(table), configurable: true })
      const c = require(${JSON.stringify(build.consumer)})`

    it(limitReachable
      ? 'never frees twice when the runtime itself refuses the size and runs the finalizer (a table without maxByteLength), in a child'
      : 'Node 22+: with a table without maxByteLength, 2**32 + 1 bytes (past Node 20\'s limit) wrap and are freed once, in a child', () => {
      if (!limitReachable) {
        const r = runChild(`
          const assert = require('node:assert')
          ${withoutLimit()}
          const v = c.wrapReserved(2 ** 32 + 1)
          v.set(2 ** 32, 7)
          assert.equal(v.get(2 ** 32), 7)
          v.obj.close()
          assert.equal(c.finalized().calls, 1)
          console.log('wrapped cleanly')
        `)
        expectClean(r, 'wrapped cleanly')
        return
      }
      const r = runChild(`
        const assert = require('node:assert')
        const { constants } = require('node:buffer')
        ${withoutLimit()}
        for (let i = 0; i < 20; i++) {
          assert.throws(() => c.wrapReserved(constants.MAX_LENGTH + 1 + i), (e) => e instanceof RangeError && e.code === ${JSON.stringify(TOO_LARGE)})
        }
        assert.equal(c.finalized().calls, 0)
        const v = c.wrapReserved(4096)
        v.obj.close()
        assert.equal(c.finalized().calls, 1)
        console.log('refused cleanly')
      `)
      expectClean(r, 'refused cleanly')
    })
  })

  describe('Buffer', () => {
    it('the README example sums a 0-d view (its one element)', () => {
      const scalar = memoryview(new Float64Array([2.5])).cast('B').cast('d', [])
      expect(scalar.ndim).to.equal(0)
      expect(example.sum(scalar)).to.equal(2.5)
      scalar.release()
    })

    it('a Buffer acquired in a worker and released on the main thread after the worker ended is forgotten, in a child', () => {
      const r = runChild(`
        const assert = require('node:assert')
        const { Worker } = require('node:worker_threads')
        require(${JSON.stringify(root)})
        const c = require(${JSON.stringify(build.consumer)})
        const w = new Worker(\`
          require(${JSON.stringify(root)})
          const c = require(${JSON.stringify(build.consumer)})
          require('node:worker_threads').parentPort.postMessage([c.hold(new Uint8Array(8)), c.hold(require(${JSON.stringify(root)}).memoryview(new Float64Array(2)))])
        \`, { eval: true })
        let slots
        w.on('message', (m) => { slots = m })
        w.on('exit', (code) => {
          assert.equal(code, 0)
          // The worker's environment is gone; its Buffers live on in the addon's global map.
          for (const slot of slots) c.drop(slot)
          const mine = c.hold(new Uint8Array(4))
          c.drop(mine)
          console.log('forgotten')
        })
      `)
      expectClean(r, 'forgotten')
    })
  })

  describe('two addons built with the header in one process', () => {
    it('interleave acquire/release on a mapped file, each export ends, and close() succeeds', () => {
      const r = runChild(`
        const assert = require('node:assert')
        const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
        const { mmap, memoryview, NATIVE_API } = require(${JSON.stringify(root)})
        const a = require(${JSON.stringify(build.consumer)})
        const b = require(${JSON.stringify(build.consumer2)})
        assert.notEqual(a, b)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-two-'))
        process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
        const file = path.join(dir, 'f')
        fs.writeFileSync(file, Buffer.alloc(64))
        const held = () => globalThis[NATIVE_API].held()
        for (let round = 0; round < 50; round++) {
          const mf = mmap(file, { access: 'write' })
          const sa = a.hold(mf.buf)
          const sb = b.hold(mf)
          a.info(new Uint8Array(2)); b.info(new Uint8Array(2))
          a.drop(sa)
          assert.throws(() => mf.close(), { code: 'ERR_MEMORYVIEW_EXPORTED' })
          b.drop(sb)
          assert.equal(held(), 0, 'every export ended (round ' + round + ')')
          mf.close()
          assert.equal(mf.closed, true)
        }
        // The same interleaving on plain memory, many times: nothing accumulates.
        const m = memoryview(new Uint8Array(8))
        for (let i = 0; i < 2000; i++) { const s = a.hold(m); b.info(m); a.drop(s) }
        m.release()
        console.log('two addons ok')
      `)
      expectClean(r, 'two addons ok')
    })
  })

  describe('workers terminated mid-call', () => {
    const ITERATIONS = 60

    // A child that starts a worker running `body` ITERATIONS times and terminates it at a random
    // moment up to `maxDelayMs` after the worker said 'ready'; it prints `done` if it lived through all.
    const terminateLoop = (body: string, maxDelayMs: number, done: string): string => `
      const { Worker } = require('node:worker_threads')
      const body = ${JSON.stringify(body)}
      ;(async () => {
        for (let i = 0; i < ${ITERATIONS}; i++) {
          const w = new Worker(body, { eval: true })
          const exited = new Promise((resolve) => w.once('exit', resolve))
          const ready = new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
          await ready
          await new Promise((resolve) => setTimeout(resolve, Math.random() * ${maxDelayMs}))
          await w.terminate()
          await exited
        }
        console.log(${JSON.stringify(done)})
      })().catch((e) => { console.error(e); process.exit(1) })
    `

    it(`a worker looping on a throwing native call, terminated after a random delay, ${ITERATIONS} times: the process exits cleanly`, () => {
      const body = `
        const { SharedMemory } = require(${JSON.stringify(root)})
        require('node:worker_threads').parentPort.postMessage('ready')
        for (;;) {
          try { new SharedMemory({ name: 'missing-81-' + process.pid }) } catch (e) { if (e.code !== 'ENOENT') throw e }
        }
      `
      expectClean(runChild(terminateLoop(body, 5, 'terminated')), 'terminated')
    })

    it(`workers terminated while the package loads its addon (first native call), ${ITERATIONS} times: the process exits cleanly`, () => {
      // The addon loads lazily, on the first native call (here a mapping of package.json, which does
      // not throw); loading takes 1-3 ms, so a termination 0-3 ms after 'ready' mostly lands in it.
      const body = `
        const { mmap } = require(${JSON.stringify(root)})
        require('node:worker_threads').parentPort.postMessage('ready')
        mmap(${JSON.stringify(path.join(root, 'package.json'))}).close()
      `
      expectClean(runChild(terminateLoop(body, 3, 'loaded and terminated')), 'loaded and terminated')
    })
  })

  describe('building', () => {
    it('the README\'s binding.gyp snippet has the fixture\'s defines and exception settings (macOS, Windows), and the package defines NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS', () => {
      const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
      const section = readme.slice(readme.indexOf('## For native-module authors'))
      const snippet = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]) as { targets: Record<string, unknown>[] }
      const fixture = JSON.parse(fs.readFileSync(path.join(consumerDir, 'binding.gyp'), 'utf8')) as { target_defaults: Record<string, unknown> }
      const target = snippet.targets[0]
      for (const key of ['include_dirs', 'defines', 'cflags!', 'cflags_cc!', 'xcode_settings', 'msvs_settings']) {
        expect(target[key], key).to.deep.equal(fixture.target_defaults[key])
      }
      expect(target.defines).to.include('NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS')
      const own = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: { defines: string[] }[] }
      expect(own.targets[0].defines).to.include('NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS')
    })

    it('the headers compile with -Wall -Wextra -Werror, and the portable (MSVC) overflow checks agree with the builtins', function () {
      this.timeout(BUILD_TIMEOUT_MS)
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-hdr-'))
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const napiDir = (require('node-addon-api') as { include_dir: string }).include_dir
        const nodeDir = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node')
        // g++ always (node-gyp needs it here); clang++ too where it is installed.
        const compilers = ['g++', 'clang++'].filter((name, i) => i === 0 || spawnSync(name, ['--version']).status === 0)
        const outputs: string[] = []
        for (const compiler of compilers) {
          const cxx = (args: string[]): void => {
            const c = spawnSync(compiler, ['-std=c++17', '-Wall', '-Wextra', '-Werror', ...args], { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS })
            expect(c.status, `${compiler} ${args.join(' ')}\n${c.stderr}`).to.equal(0)
          }
          for (const mode of ['-DNAPI_CPP_EXCEPTIONS', '-DNAPI_DISABLE_CPP_EXCEPTIONS']) {
            cxx([mode, '-fsyntax-only', '-I', napiDir, '-I', nodeDir, '-x', 'c++', path.join(include, 'memoryview.h')])
          }
          for (const define of ['', '-DMEMORYVIEW_PORTABLE_OVERFLOW']) {
            const exe = path.join(tmp, `overflow-${outputs.length}`)
            cxx([...(define ? [define] : []), '-I', include, path.join(consumerDir, 'overflow-check.cc'), '-o', exe])
            outputs.push(spawnSync(exe, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS }).stdout)
          }
        }
        expect(outputs[0].split('\n').length).to.equal(20 * 20 + 1)
        for (const output of outputs) expect(output).to.equal(outputs[0])
        // INT64_MIN * -1 overflows, INT64_MIN + -1 too; 3037000499² fits, 3037000500² does not.
        const lines = outputs[0].split('\n')
        expect(lines).to.include('-9223372036854775808 -1 1 0 1 0')
        expect(lines).to.include('3037000499 3037000499 0 9223372030926249001 0 6074000998')
        expect(lines).to.include('3037000500 3037000500 1 0 0 6074001000')
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true })
      }
    })
  })
})
