// Error messages that help: each bad call keeps its class and code (CPython parity) and its message
// says what was wrong — the value passed, the allowed range, the argument's name — and, where it
// helps, what to do instead. Here the message content is the point, so the tests assert substrings.
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BUFFER_PROTOCOL, BufferError, MemoryView, Pin, memoryview, mmap } from 'memoryview'
import { requireBinding } from '../lib/binding'
import {
  CAST, EXPORTED, FORMAT, HASH, INDEX, INVALID_ARG, INVALID_INDEX, INVALID_TYPE, INVALID_VALUE, NOT_CONTIGUOUS,
  NOT_IMPLEMENTED, OUT_OF_RANGE, STRUCTURE, expectError,
} from './helpers/errors'

type ErrorClass = new (...args: any[]) => Error
type Row = [call: string, fn: () => unknown, cls: ErrorClass, code: string, facts: string[]]

const bytes = (n: number): MemoryView => memoryview(new Uint8Array(n))
const grid = (): MemoryView => bytes(6).cast('B', [2, 3])
const zeroD = (): MemoryView => memoryview(new Int32Array(1)).cast('B').cast('i', [])
/** A view whose format has two items, as a buffer-protocol exporter may hand out. */
const twoInts = (): MemoryView =>
  memoryview({
    [BUFFER_PROTOCOL]: () => ({ buffer: new ArrayBuffer(16), byteOffset: 0, format: '2i', shape: [2], strides: [8], readonly: false }),
  } as never)

/** Every row: the call as a user writes it, its class and code, and the facts its message must state. */
const ROWS: Row[] = [
  // Stores: the value and the format's range, or what kind was expected.
  ["set(0, 256) on 'B'", () => bytes(4).set(0, 256), RangeError, INVALID_VALUE, ["invalid value for format 'B'", '256', '[0, 255]']],
  ["set(0, -1) on 'B'", () => bytes(4).set(0, -1), RangeError, INVALID_VALUE, ['-1', '[0, 255]']],
  ["set(0, 300n) on 'B'", () => bytes(4).set(0, 300n), RangeError, INVALID_VALUE, ['300', '[0, 255]']],
  ["set(0, 40000) on 'h'", () => memoryview(new Int16Array(2)).set(0, 40000), RangeError, INVALID_VALUE, ["'h'", '40000', '[-32768, 32767]']],
  ["set(0, -1n) on 'Q'", () => memoryview(new BigUint64Array(1)).set(0, -1n), RangeError, INVALID_VALUE, ['-1', '[0, 18446744073709551615]']],
  ["set(0, 2**64) on 'Q' (an exact double)", () => memoryview(new BigUint64Array(1)).set(0, 2 ** 64), RangeError, INVALID_VALUE, ['18446744073709551616', '18446744073709551615]']],
  ["set(0, 1.5) on 'B'", () => bytes(4).set(0, 1.5), TypeError, INVALID_TYPE, ["invalid type for format 'B'", 'integral number', 'number 1.5']],
  ["set(0, '7') on 'i'", () => memoryview(new Int32Array(2)).set(0, '7' as never), TypeError, INVALID_TYPE, ["'i'", "string '7'"]],
  ["set(0, 'x') on 'd'", () => memoryview(new Float64Array(1)).set(0, 'x' as never), TypeError, INVALID_TYPE, ["'d'", 'a number, bigint or boolean', "string 'x'"]],
  ["set(0, 10n ** 400n) on 'd'", () => memoryview(new Float64Array(1)).set(0, 10n ** 400n), RangeError, INVALID_VALUE, ['int too large to convert to float', '401 digits']],
  ["set(0, 1) on 'c'", () => bytes(2).cast('c').set(0, 1 as never), TypeError, INVALID_TYPE, ["'c'", '1-byte Buffer', 'number 1']],
  ["set(0, Buffer.from('ab')) on 'c'", () => bytes(2).cast('c').set(0, Buffer.from('ab')), RangeError, INVALID_VALUE, ["'c'", '1-byte', 'Buffer of 2 bytes']],
  ["set(0, 1e6) on 'e'", () => bytes(2).cast('e').set(0, 1e6), RangeError, INVALID_VALUE, ['float too large to pack with e format', '1000000', '65504']],
  // Indices: CPython's words first, then the key that was passed.
  ["get('1')", () => bytes(4).get('1' as never), TypeError, INVALID_INDEX, ['invalid slice key', 'integral number or bigint', "string '1'"]],
  ['get(1.5)', () => bytes(4).get(1.5), TypeError, INVALID_INDEX, ['invalid slice key', 'number 1.5']],
  ["set('a', 1)", () => bytes(4).set('a' as never, 1), TypeError, INVALID_INDEX, ['invalid slice key', "string 'a'"]],
  ["get(0, 'x') on 2-D", () => grid().get(0, 'x' as never), TypeError, INVALID_INDEX, ['invalid slice key', 'position 1', "string 'x'"]],
  ['get(10) on length 4', () => bytes(4).get(10), RangeError, INDEX, ['index out of bounds on dimension 1', '10', '[-4, 3]', 'length 4']],
  ['get(-5) on length 4', () => bytes(4).get(-5), RangeError, INDEX, ['-5', '[-4, 3]']],
  ['get(0) on length 0', () => bytes(0).get(0), RangeError, INDEX, ['dimension 1 has length 0']],
  ['get(0, 7) on 2x3', () => grid().get(0, 7), RangeError, INDEX, ['dimension 2', '7', '[-3, 2]']],
  ['get(2 ** 64)', () => bytes(4).get(2 ** 64), RangeError, INDEX, ["cannot fit 'int' into an index-sized integer", '18446744073709552000', '2**63']],
  ['get(1, 2) on 1-D', () => bytes(4).get(1, 2), TypeError, INVALID_INDEX, ['cannot index 1-dimension view with 2-element tuple', 'get(1, 2)', 'takes 1 index']],
  ['set(1, 2, 3) on 1-D', () => bytes(4).set(1, 2, 3), TypeError, INVALID_INDEX, ['set(1, 2, 3)', '1 index and the value']],
  // The call that was probably meant.
  ['set(1) on 1-D: the value forgotten', () => bytes(4).set(1), Error, NOT_IMPLEMENTED, ['sub-views are not implemented', 'set(1) got 1 argument', 'a 1-D view needs set(index, value)']],
  // @ts-expect-error set() without a value does not compile; the run time explains it too.
  ['set() on 1-D', () => bytes(4).set(), TypeError, INVALID_ARG, ['set() needs a value to store', 'set(index, value)']],
  // @ts-expect-error as above.
  ['set() on 0-d', () => zeroD().set(), TypeError, INVALID_ARG, ['set() needs a value to store', 'set(value)']],
  ['get() on 1-D', () => bytes(4).get(), Error, NOT_IMPLEMENTED, ['sub-views are not implemented', 'get()', 'get(index)']],
  ['get(1) on 2-D', () => grid().get(1), Error, NOT_IMPLEMENTED, ['multi-dimensional sub-views are not implemented', 'get(1)', 'get(i0, i1)', 'subarray(i, i + 1)']],
  ['set(1, 5) on 2-D', () => grid().set(1, 5), Error, NOT_IMPLEMENTED, ['sub-views are not implemented', 'set(1, 5)', 'set(i0, i1, value)']],
  ['set(5) on 2-D', () => grid().set(5), Error, NOT_IMPLEMENTED, ['set(5) got 1 argument', 'set(i0, i1, value)']],
  ['get(0) on 0-d', () => zeroD().get(0), TypeError, INVALID_INDEX, ['invalid indexing of 0-dim memory', 'get(0)', 'get()']],
  ['set(0, 1) on 0-d', () => zeroD().set(0, 1), TypeError, INVALID_INDEX, ['invalid indexing of 0-dim memory', 'set(0, 1)', 'set(value)']],
  ['subarray() on 0-d', () => zeroD().subarray(), TypeError, INVALID_INDEX, ['invalid indexing of 0-dim memory', 'sliced']],
  ['iteration of 2-D', () => grid()[Symbol.iterator](), Error, NOT_IMPLEMENTED, ['multi-dimensional sub-views are not implemented', '2-D', 'tolist()']],
  // Multi-item formats: CPython's message, once prefixed.
  ["get(0) on '2i'", () => twoInts().get(0), Error, NOT_IMPLEMENTED, ["unsupported format '2i'", 'single-item format', "cast('B')"]],
  ["tolist() on '2i'", () => twoInts().tolist(), Error, NOT_IMPLEMENTED, ["unsupported format '2i'"]],
  // Slices.
  ['subarray(0, 2, 0)', () => bytes(4).subarray(0, 2, 0), RangeError, OUT_OF_RANGE, ['slice step cannot be zero', "'step'"]],
  ["subarray('a')", () => bytes(4).subarray('a' as never), TypeError, INVALID_INDEX, ['slice indices must be integers or None', "'start'", "string 'a'"]],
  ['subarray(0, 1.5)', () => bytes(4).subarray(0, 1.5), TypeError, INVALID_INDEX, ["'stop'", 'number 1.5']],
  // cast().
  ['cast(5)', () => bytes(4).cast(5 as never), TypeError, INVALID_ARG, ["argument 'format' must be str", 'number 5']],
  ["cast('x')", () => bytes(4).cast('x' as string), TypeError, FORMAT, ['destination format must be a native single character format', "got 'x'"]],
  ['cast() of a strided view', () => bytes(4).subarray(0, 4, 2).cast('B'), TypeError, CAST, ['casts are restricted to C-contiguous views', 'strides [2]', 'tobytes()']],
  ["cast('B', 5)", () => bytes(4).cast('B', 5 as never), TypeError, INVALID_ARG, ['shape must be a list or a tuple', "'shape'", 'number 5']],
  ["cast('B', [1.5])", () => bytes(4).cast('B', [1.5]), TypeError, INVALID_ARG, ['elements of shape must be integers', 'shape[0]', 'number 1.5']],
  ["cast('B', [4, 0])", () => bytes(4).cast('B', [4, 0]), RangeError, OUT_OF_RANGE, ['elements of shape must be integers > 0', 'shape[1] is 0']],
  ["cast('B', 65 dimensions)", () => bytes(4).cast('B', new Array(65).fill(1)), RangeError, OUT_OF_RANGE, ['must not exceed 64', '65']],
  ["cast('i', [3]) of 4 bytes", () => bytes(4).cast('i', [3]), TypeError, CAST, ['product(shape) * itemsize != buffer size', '12 bytes', 'has 4']],
  ["cast('i') of 5 bytes", () => bytes(5).cast('i'), TypeError, CAST, ['length is not a multiple of itemsize', '5 bytes', 'items of 4']],
  ["cast('h') of an 'i' view", () => bytes(8).cast('i').cast('h'), TypeError, CAST, ['cannot cast between two non-byte formats', "'i' to 'h'", "cast to 'B' first"]],
  ['cast 2-D to 2-D', () => grid().cast('B', [3, 2]), TypeError, CAST, ['cast must be 1D -> ND or ND -> 1D', '2-D', 'cast to 1-D first']],
  ["cast('B', [0]) of an empty view", () => bytes(0).cast('B', [0]), TypeError, CAST, ['cannot cast view with zeros in shape or strides', 'shape is [0]']],
  // Other methods.
  ['assign() of a different length', () => bytes(4).subarray(0, 2).assign(new Uint8Array(3)), TypeError, STRUCTURE, ['different structures', 'shape [2]', 'shape [3]']],
  ['assign() on 2-D', () => grid().assign(new Uint8Array(6)), Error, NOT_IMPLEMENTED, ['restricted to ndim = 1', '2-D']],
  ["tobytes('X')", () => bytes(4).tobytes('X' as never), TypeError, INVALID_ARG, ["order must be 'C', 'F' or 'A'", "string 'X'"]],
  ['tobytes(1)', () => bytes(4).tobytes(1 as never), TypeError, INVALID_ARG, ["argument 'order'", 'number 1']],
  ["hex('ab')", () => bytes(4).hex('ab'), TypeError, INVALID_ARG, ['sep must be length 1', "string 'ab'"]],
  ['hex(5)', () => bytes(4).hex(5 as never), TypeError, INVALID_ARG, ['sep must be str or bytes', 'number 5']],
  ["hex('é')", () => bytes(4).hex('é'), TypeError, INVALID_ARG, ['sep must be ASCII', '233']],
  ["hex(':', 1.5)", () => bytes(4).hex(':', 1.5), TypeError, INVALID_ARG, ["'bytesPerSep'", 'number 1.5']],
  ["hex(':', 2 ** 40)", () => bytes(4).hex(':', 2 ** 40), RangeError, OUT_OF_RANGE, ['too large to convert to C int', '1099511627776', '2147483647']],
  ['hash() of a writable view', () => bytes(4).hash(), TypeError, HASH, ['cannot hash writable memoryview object', 'toreadonly()']],
  ["hash() of an 'h' view", () => bytes(4).cast('h').toreadonly().hash(), TypeError, HASH, ["restricted to formats 'B', 'b' or 'c'", "'h'", "cast('B')"]],
  ['toTypedArray() of a strided view', () => bytes(4).subarray(0, 4, 2).toTypedArray(), TypeError, NOT_CONTIGUOUS, ['needs a contiguous view', 'strides [2]', 'tobytes()']],
  ["toTypedArray() of '>i'", () => bytes(8).cast('>i').toTypedArray(), TypeError, FORMAT, ["no TypedArray matches format '>i'", 'tolist()']],
  ['new Pin()', () => new Pin(Symbol('forged'), bytes(1)), TypeError, INVALID_ARG, ['cannot be constructed', 'pin()']],
]

describe('31 messages that help', () => {
  describe('each bad call: class, code, and the facts in its message', () => {
    for (const [call, fn, cls, code, facts] of ROWS) {
      it(`${call} → ${cls.name} ${code}`, () => {
        const err = expectError(fn, cls, code)
        expect(err.message.startsWith('memoryview: '), err.message).to.equal(true)
        for (const fact of facts) expect(err.message, `the message of ${call}`).to.include(fact)
      })
    }
  })

  // CPython's own "memoryview: unsupported format 2i" once came out as "memoryview: memoryview: ...".
  // ("memoryview: memoryview.cast(): ..." is CPython's wording naming the method, not a second prefix.)
  it('no message carries the "memoryview: " prefix twice', () => {
    for (const [call, fn] of ROWS) {
      let message = ''
      try {
        fn()
      } catch (err) {
        message = (err as Error).message
      }
      expect(message, call).to.match(/^memoryview: /)
      expect(message.indexOf('memoryview: ', 1), call).to.equal(-1)
    }
  })

  it('release() with a pin keeps CPython\'s message (API.md), once', () => {
    const m = bytes(4)
    const pin = m.pin()
    try {
      const err = expectError(() => m.release(), BufferError, EXPORTED)
      expect(err.message).to.equal('memoryview has 1 exported buffer')
    } finally {
      pin.release()
    }
  })

  describe('external memory and native errors', () => {
    let dir = ''
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-31-'))
    })
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true })
    })

    it('close() while a lease is held: how many exports, and what to do', () => {
      const file = path.join(dir, 'leased')
      fs.writeFileSync(file, Buffer.alloc(16))
      const f = mmap(file, { access: 'write' })
      const a = f.lease()
      const b = f.buf.pin()
      try {
        const err = expectError(() => f.close(), BufferError, EXPORTED)
        expect(err.message).to.match(/^memoryview: cannot close mapped file: /)
        for (const fact of ['2 exported buffers are still held', 'lease()', 'pin()', 'native export', 'close() again']) {
          expect(err.message).to.include(fact)
        }
      } finally {
        a.release()
        b.release()
        f.close()
      }
    })

    it('mmap() past the end of the file: the file size and the way out, prefixed once', () => {
      const file = path.join(dir, 'short')
      fs.writeFileSync(file, Buffer.alloc(10))
      const err = expectError(() => mmap(file, { length: 64 }), RangeError, 'ERR_MEMORYVIEW_PAST_EOF')
      expect(err.message).to.match(/^memoryview: mmap length is greater than file size \(10 bytes\): /)
      expect(err.message).to.include('size')
    })

    it('native argument checks name the argument and the value refused', () => {
      const binding = requireBinding('test')
      const rows: Array<[() => unknown, ErrorClass, string, string[]]> = [
        [() => binding.mapFile(path.join(dir, 'none'), -1, 7, 0, 0, -1, 2 ** 32), RangeError, OUT_OF_RANGE, ['access must be 0 (read), 1 (write) or 2 (copy)', 'got 7']],
        [() => binding.mapFile(path.join(dir, 'none'), -1, 0, 0, 1.5, -1, 2 ** 32), RangeError, OUT_OF_RANGE, ['length', '1.5']],
        [() => binding.mapFile(path.join(dir, 'none'), -1, 0, 3, 0, -1, 2 ** 32), RangeError, OUT_OF_RANGE, ['allocation granularity', 'offset 3']],
        [() => binding.mapFile(path.join(dir, 'none'), -1, 0, 0, 'x' as never, -1, 2 ** 32), TypeError, INVALID_ARG, ['length (argument 4)']],
      ]
      for (const [fn, cls, code, facts] of rows) {
        const err = expectError(fn, cls, code)
        expect(err.message).to.match(/^memoryview: (?!memoryview: )/)
        for (const fact of facts) expect(err.message).to.include(fact)
      }
    })
  })
})
