/**
 * cast() and memoryview(typedArray) creation paths (issue 9). cast() serves the common cast (a 1-D
 * C-contiguous view to 1-D of another format, no shape) in a small front V8 can inline into the
 * caller, and sends everything else, every error included, to _castSlow(): the front must give
 * exactly what the full cast gives, and CPython's first failing rule must still win. memoryview()
 * of a TypedArray reads each internal slot once (for speed, not tested here): the values it reads
 * must still be the true ones.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { MemoryView, memoryview, mmap } from 'memoryview'
import { CAST, FORMAT, INVALID_ARG, OUT_OF_BOUNDS, READONLY, RELEASED, expectError } from './helpers/errors'
import { pattern as bytes } from './helpers/formats'
import { inlinedInto } from './helpers/v8'

/** The internals these guards look at. */
interface Internals {
  _ta1: ArrayBufferView | null
  _readonly: boolean
  _shp: readonly number[] | null
  _castSlow(format: unknown, shape: unknown): MemoryView<string>
}
const internals = (m: MemoryView<string>): Internals => m as unknown as Internals


/** What a cast gave: the view's layout and bytes, or the error's class and code. */
function outcome(fn: () => MemoryView<string>): unknown {
  try {
    const v = fn()
    return {
      format: v.format, shape: v.shape, strides: v.strides, readonly: v.readonly, c: v.c_contiguous,
      bytes: v.tobytes().toString('hex'), list: v.tolist(),
    }
  } catch (err) {
    return { error: (err as Error).constructor.name, code: (err as { code?: string }).code }
  }
}

describe('37 cast() and memoryview(typedArray) creation paths', () => {
  describe('the common cast is served by the small front, on the exact path', () => {
    it("cast('d') of a 1-D 'B' view: the exact Float64Array path, with no shape arrays made until asked for", () => {
      const u8 = bytes(64)
      const m = memoryview(u8).cast('d')
      expect(internals(m)._shp, 'served by the front').to.equal(null)
      const ta = internals(m)._ta1 as Float64Array
      expect(ta).to.be.instanceOf(Float64Array)
      expect(ta.length).to.equal(8)
      expect(ta.buffer).to.equal(u8.buffer)
      expect(internals(m)._readonly).to.equal(false)
      expect(m.shape).to.deep.equal([8])
      expect(m.strides).to.deep.equal([8])
      expect(m.get(-1)).to.equal(new Float64Array(u8.buffer)[7])
    })
    it("cast('B') of a readonly 'd' view: readonly, on the exact Uint8Array path, storing nothing", () => {
      const src = new Float64Array([1.5, 2.5])
      const m = memoryview(src).toreadonly().cast('B')
      expect(internals(m)._shp).to.equal(null)
      expect(internals(m)._ta1).to.be.instanceOf(Uint8Array)
      expect(internals(m)._readonly).to.equal(true)
      expectError(() => m.set(0, 1), TypeError, READONLY)
      expect(src[0]).to.equal(1.5)
      expect(m.readonly).to.equal(true)
      expect(m.nbytes).to.equal(16)
    })
    it('a cast with a shape goes through the full cast (its shape is made)', () => {
      const m = memoryview(bytes(64)).cast('d', [2, 4])
      expect(internals(m)._shp).to.deep.equal([2, 4])
      expect(m.get(1, 3)).to.equal(new Float64Array(bytes(64).buffer)[7])
    })
    it('cast() is small enough for V8 to inline into its caller', function () {
      this.timeout(60000)
      const entry = path.resolve(__dirname, '..', '..')
      const script = `
        const { memoryview } = require(${JSON.stringify(entry)})
        const b = memoryview(new Uint8Array(64))
        function scan() { const m = b.cast('d'); let s = 0; for (let i = 0; i < 8; i++) s += m.get(i); return s }
        %PrepareFunctionForOptimization(scan);
        scan(); scan();
        %OptimizeFunctionOnNextCall(scan);
        scan();
      `
      expect(inlinedInto(script, 'scan', ['--no-lazy-feedback-allocation']).has('cast'), 'cast() inlined into scan()').to.equal(true)
    })
  })

  describe('the front gives exactly what the full cast gives, errors and their order included', () => {
    const released = (): MemoryView<string> => {
      const m = memoryview(bytes(16))
      m.release()
      return m
    }
    const cases: Array<[string, () => MemoryView<string>, unknown, string | null]> = [
      ["'B' -> 'd'", () => memoryview(bytes(64)), 'd', null],
      ["'B' -> '<d' (a byte-order prefix)", () => memoryview(bytes(64)), '<d', null],
      ["'B' -> '>I'", () => memoryview(bytes(64)), '>I', null],
      ["'d' -> 'B'", () => memoryview(new Float64Array([1, 2, 3])), 'B', null],
      ["'d' -> 'c'", () => memoryview(new Float64Array([1, 2, 3])), 'c', null],
      ["an empty 'B' view -> 'd'", () => memoryview(new Uint8Array(0)), 'd', null],
      ['a one-element view with an odd stride (C-contiguous)', () => memoryview(bytes(16)).subarray(3, 4, 5), 'B', null],
      ["a subarray at an unaligned offset -> 'd'", () => memoryview(bytes(33)).subarray(1), 'd', null],
      ['a non-string format', () => memoryview(bytes(8)), 1, INVALID_ARG],
      ['a non-string format on a released view (the argument is checked first)', released, 1, INVALID_ARG],
      ['a released view', released, 'B', RELEASED],
      ['a released view and a bad format (released first)', released, 'x', RELEASED],
      ['a step-2 view', () => memoryview(bytes(16)).subarray(null, null, 2), 'B', CAST],
      ['a step-2 view and a bad format (contiguity first)', () => memoryview(bytes(16)).subarray(null, null, 2), 'x', CAST],
      ["an unknown format 'x'", () => memoryview(bytes(16)), 'x', FORMAT],
      ["two non-byte formats ('d' -> 'i')", () => memoryview(new Float64Array(2)), 'i', CAST],
      ["two non-byte formats and 7 bytes ('h' -> 'd': the formats first)", () => memoryview(new Uint16Array(3)).subarray(0, 3), 'd', CAST],
      ["7 bytes -> 'd' (not a multiple)", () => memoryview(bytes(7)), 'd', CAST],
      ["a 2-D view -> 'B' (n-D to 1-D)", () => memoryview(bytes(16)).cast('B', [4, 4]), 'B', null],
      ["a 2-D view -> 'd'", () => memoryview(bytes(16)).cast('B', [2, 8]), 'd', null],
      ["a 0-d view -> 'B'", () => memoryview(bytes(8)).cast('d', []), 'B', null],
    ]
    for (const [name, make, format, code] of cases) {
      it(`${name}: ${code ?? 'a view'}`, () => {
        const fast = outcome(() => make().cast(format as 'B'))
        const slow = outcome(() => internals(make())._castSlow(format, undefined))
        expect(fast).to.deep.equal(slow)
        if (code !== null) expect((fast as { code?: string }).code).to.equal(code)
        else expect(fast).to.have.property('format', typeof format === 'string' ? format : undefined)
      })
    }
  })

  // That each slot is read once is a cost (bench/16 'memoryview(ta)'): the intrinsic getters are
  // captured at load, so no test here can count the reads. These check the values read are the true ones.
  describe('memoryview(typedArray) reads the true internal slots', () => {
    const kinds: Array<[string, new (n: number) => ArrayBufferView, string]> = [
      ['Uint8Array', Uint8Array, 'B'], ['Uint8ClampedArray', Uint8ClampedArray, 'B'], ['Int8Array', Int8Array, 'b'],
      ['Int16Array', Int16Array, 'h'], ['Uint16Array', Uint16Array, 'H'], ['Int32Array', Int32Array, 'i'],
      ['Uint32Array', Uint32Array, 'I'], ['BigInt64Array', BigInt64Array, 'q'], ['BigUint64Array', BigUint64Array, 'Q'],
      ['Float32Array', Float32Array, 'f'], ['Float64Array', Float64Array, 'd'],
    ]
    for (const [name, Ctor, format] of kinds) {
      it(`${name} at an offset: format '${format}', its own bytes`, () => {
        const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
        const ab = new ArrayBuffer(size * 8)
        new Uint8Array(ab).set(bytes(size * 8))
        const ta = new (Ctor as unknown as new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView)(ab, size * 2, 5)
        const m = memoryview(ta)
        expect(m.format).to.equal(format)
        expect(m.shape).to.deep.equal([5])
        expect(m.tobytes().equals(Buffer.from(ab, size * 2, size * 5))).to.equal(true)
      })
    }
    it('own byteOffset, byteLength, length and buffer properties do not move the view', () => {
      const ab = new ArrayBuffer(64)
      const ta = new Float64Array(ab, 8, 2)
      ta[0] = 1.5
      ta[1] = 2.5
      for (const key of ['byteOffset', 'byteLength', 'length', 'buffer']) {
        Object.defineProperty(ta, key, { value: key === 'buffer' ? new ArrayBuffer(1 << 16) : 1 << 12 })
      }
      const m = memoryview(ta)
      expect(m.obj).to.equal(ta)
      expect(m.nbytes).to.equal(16)
      expect(m.tolist()).to.deep.equal([1.5, 2.5])
      expect(Buffer.from(m.cast('B').toTypedArray().buffer).equals(Buffer.from(ab))).to.equal(true)
    })
    it('an empty TypedArray over live memory is an empty view', () => {
      const m = memoryview(new Float64Array(new ArrayBuffer(16), 16, 0))
      expect(m.shape).to.deep.equal([0])
      expect(m.tobytes().length).to.equal(0)
    })
    it('a TypedArray over a detached buffer: ERR_MEMORYVIEW_OUT_OF_BOUNDS', () => {
      const ab = new ArrayBuffer(16)
      const ta = new Float64Array(ab)
      structuredClone(ab, { transfer: [ab] })
      expectError(() => memoryview(ta), Error, OUT_OF_BOUNDS)
    })
    it('a TypedArray over a closed mapped file: ERR_MEMORYVIEW_RELEASED', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'mv-test37-'))
      try {
        const file = path.join(dir, 'f.bin')
        writeFileSync(file, Buffer.alloc(4096, 1))
        const f = mmap(file)
        const ta = f.buf.cast('d').toTypedArray()
        f.close()
        expectError(() => memoryview(ta), Error, RELEASED)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})
