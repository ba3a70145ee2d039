import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  BufferError, SharedMemory, codes, exportToNative, isMemoryViewError, memoryview, mmap,
} from 'memoryview'
import type { FormatChar, TypedArrayOf } from 'memoryview'
import { VALUE_KINDS } from '../lib/format'

// The run time agrees with the types: every reader returns the kind format.ts's VALUE_KINDS table
// names (the table ValueOf<F> is derived from), and toTypedArray() returns the class TypedArrayOf<F>
// names. isMemoryViewError() recognises the errors of every code path and nothing else.

const PREFIXES = ['', '@', '<', '>', '=', '!']
const NATIVE_ONLY = new Set(['n', 'N', 'P'])

function kindOf(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.length === 1 ? 'bytes' : 'a Buffer of the wrong length'
  return typeof v
}

/** The toStringTag of a type: what Object.prototype.toString shows for an instance of it. */
type Tag<T> = T extends { readonly [Symbol.toStringTag]: infer N } ? N : never

// Typed from TypedArrayOf: a change to the type table that is not made here does not compile, and a
// change to the run time that is not made in the type table fails below.
const TYPED_ARRAY_TAGS: { [K in Exclude<FormatChar, '?' | 'e'>]: Tag<TypedArrayOf<K>> } = {
  b: 'Int8Array', B: 'Uint8Array', c: 'Uint8Array', h: 'Int16Array', H: 'Uint16Array', i: 'Int32Array',
  I: 'Uint32Array', l: 'BigInt64Array', L: 'BigUint64Array', q: 'BigInt64Array', Q: 'BigUint64Array',
  n: 'BigInt64Array', N: 'BigUint64Array', P: 'BigUint64Array', f: 'Float32Array', d: 'Float64Array',
}

function expectRecognised(fn: () => unknown, code: string): unknown {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a throw').to.be.instanceOf(Error)
  expect(isMemoryViewError(caught), `not recognised: ${String(caught)}`).to.equal(true)
  expect(isMemoryViewError(caught, code as never), `not recognised with code ${code}`).to.equal(true)
  expect(isMemoryViewError(caught, 'ERR_MEMORYVIEW_INDEX'), 'recognised with another code').to.equal(code === 'ERR_MEMORYVIEW_INDEX')
  return caught
}

describe('63 value types: the run time agrees with the type table', () => {
  describe('every reader returns the kind VALUE_KINDS names (ValueOf<F> is derived from it)', () => {
    for (const letter of Object.keys(VALUE_KINDS) as Array<keyof typeof VALUE_KINDS>) {
      for (const prefix of PREFIXES) {
        if (prefix !== '' && prefix !== '@' && NATIVE_ONLY.has(letter)) continue
        const format = prefix + letter
        it(`'${format}' reads ${VALUE_KINDS[letter]}: get(), iteration and tolist()`, () => {
          const m = memoryview(Buffer.alloc(16)).cast(format as string)
          expect(kindOf(m.get(0))).to.equal(VALUE_KINDS[letter])
          expect(kindOf([...m][0])).to.equal(VALUE_KINDS[letter])
          expect(kindOf((m.tolist() as unknown[])[0])).to.equal(VALUE_KINDS[letter])
        })
      }
    }
  })

  describe('toTypedArray() returns the class TypedArrayOf<F> names', () => {
    for (const [letter, tag] of Object.entries(TYPED_ARRAY_TAGS)) {
      it(`'${letter}' gives a ${letter === 'B' || letter === 'c' ? 'Buffer' : tag}`, () => {
        const ta = memoryview(Buffer.alloc(16)).cast(letter as string).toTypedArray()
        expect(Object.prototype.toString.call(ta)).to.equal(`[object ${tag}]`)
        expect(Buffer.isBuffer(ta)).to.equal(letter === 'B' || letter === 'c')
      })
    }
    it("'?' (typed never) always throws ERR_MEMORYVIEW_FORMAT", () => {
      expectRecognised(() => memoryview(Buffer.alloc(1)).cast('?').toTypedArray(), codes.FORMAT)
    })
    it("'<l' (4 bytes, typed never) always throws ERR_MEMORYVIEW_FORMAT", () => {
      expectRecognised(() => memoryview(Buffer.alloc(8)).cast('<l').toTypedArray(), codes.FORMAT)
    })
  })
})

describe('63 isMemoryViewError(err, code?) recognises every error the package throws', () => {
  it('TypeError from lib/ (ERR_MEMORYVIEW_INVALID_SOURCE)', () => {
    expectRecognised(() => memoryview('abc' as never), codes.INVALID_SOURCE)
  })
  it('RangeError from lib/ (ERR_MEMORYVIEW_INDEX)', () => {
    expectRecognised(() => memoryview(Buffer.alloc(1)).get(5), codes.INDEX)
  })
  it('Error from lib/ (ERR_MEMORYVIEW_RELEASED)', () => {
    const m = memoryview(Buffer.alloc(1))
    m.release()
    expectRecognised(() => m.get(0), codes.RELEASED)
  })
  it('BufferError (ERR_MEMORYVIEW_EXPORTED)', () => {
    const m = memoryview(Buffer.alloc(1))
    const pin = m.pin()
    const err = expectRecognised(() => m.release(), codes.EXPORTED)
    expect(err).to.be.instanceOf(BufferError)
    pin.release()
  })
  it('an error made by the native addon (ERR_MEMORYVIEW_RELEASED from a released native export)', () => {
    const handle = exportToNative(new Uint8Array(4))
    const native = handle.native
    handle.release()
    expectRecognised(() => native.describe(), codes.RELEASED)
  })
  it("the native addon's Illegal invocation (ERR_INVALID_THIS, a code Node uses too): by its brand", () => {
    const handle = exportToNative(new Uint8Array(4))
    const describeFn = Object.getPrototypeOf(handle.native).describe as () => unknown
    const err = expectRecognised(() => describeFn.call({}), codes.INVALID_THIS)
    handle.release()
    // Still a plain built-in TypeError, as before the brand.
    expect(Object.getPrototypeOf(err)).to.equal(TypeError.prototype)
  })
  it('a system error from mmap() (ENOENT, with errno and syscall)', () => {
    const missing = path.join(os.tmpdir(), `memoryview-62-missing-${process.pid}`)
    const err = expectRecognised(() => mmap(missing), 'ENOENT') as { errno?: unknown; syscall?: unknown }
    expect(err.errno).to.be.a('number')
    expect(err.syscall).to.be.a('string')
  })
  it('a system error from SharedMemory (ENOENT opening a missing name)', () => {
    expectRecognised(() => new SharedMemory({ name: `mv62_missing_${process.pid}` }), 'ENOENT')
  })
  it('ERR_MEMORYVIEW_NATIVE_UNAVAILABLE when the addon cannot load (child process)', () => {
    const script = `
      const m = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))})
      try { m.mmap('/x'); console.log('no throw') } catch (e) {
        console.log(JSON.stringify([e.code, m.isMemoryViewError(e), m.isMemoryViewError(e, 'ERR_MEMORYVIEW_NATIVE_UNAVAILABLE')]))
      }`
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, MEMORYVIEW_NATIVE_PATH: path.join(os.tmpdir(), 'memoryview-62-no-addon-here') },
    })
    expect(child.status, child.stderr).to.equal(0)
    expect(JSON.parse(child.stdout.trim())).to.deep.equal([codes.NATIVE_UNAVAILABLE, true, true])
  })
  it("an unbranded Error with an ERR_MEMORYVIEW_* code (what include/memoryview.h makes in another addon)", () => {
    const err = Object.assign(new Error('memoryview: x'), { code: codes.NOT_LOADED })
    expect(isMemoryViewError(err)).to.equal(true)
    expect(isMemoryViewError(err, codes.NOT_LOADED)).to.equal(true)
  })
  it('the brand is invisible: not enumerable, not in JSON, not in the own string keys', () => {
    let err: unknown
    try {
      memoryview(Buffer.alloc(1)).get(5)
    } catch (e) {
      err = e
    }
    expect(Object.keys(err as object)).to.deep.equal(['code'])
    expect(JSON.stringify(err)).to.equal(JSON.stringify({ code: codes.INDEX }))
    expect(Object.getOwnPropertySymbols(err as object).every((s) => !Object.getOwnPropertyDescriptor(err as object, s)!.enumerable)).to.equal(true)
  })

  describe('and nothing else', () => {
    it("Node's own ENOENT from fs", () => {
      let err: unknown
      try {
        fs.readFileSync(path.join(os.tmpdir(), `memoryview-62-missing-${process.pid}`))
      } catch (e) {
        err = e
      }
      expect((err as { code?: unknown }).code).to.equal('ENOENT')
      expect(isMemoryViewError(err)).to.equal(false)
    })
    it("someone else's ERR_INVALID_THIS", () => {
      expect(isMemoryViewError(Object.assign(new TypeError('Illegal invocation'), { code: 'ERR_INVALID_THIS' }))).to.equal(false)
    })
    it('non-errors, errors without a code, objects that merely look like errors', () => {
      for (const value of [undefined, null, 0, 'ERR_MEMORYVIEW_RELEASED', { code: codes.RELEASED, message: 'x' }, new Error('x')]) {
        expect(isMemoryViewError(value), String(value)).to.equal(false)
      }
    })
    it('a code given as a getter is not run', () => {
      let ran = false
      const err = Object.defineProperty(new Error('x'), 'code', { get: () => { ran = true; return codes.RELEASED } })
      expect(isMemoryViewError(err)).to.equal(false)
      expect(ran).to.equal(false)
    })
    it('a Proxy whose traps throw answers false instead of throwing', () => {
      const hostile = new Proxy(new Error('x'), { getPrototypeOf() { throw new Error('trap') }, getOwnPropertyDescriptor() { throw new Error('trap') } })
      expect(isMemoryViewError(hostile)).to.equal(false)
    })
  })
})
