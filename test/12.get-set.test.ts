import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { FORMAT_CHARS, decode, parseFormat, pattern } from './helpers/formats'
import {
  expectError, INDEX, INVALID_INDEX, INVALID_TYPE, INVALID_VALUE, NOT_IMPLEMENTED, READONLY,
} from './helpers/errors'

/** A view of `n` elements of `format` over fresh bytes, starting `misalign` bytes into its buffer. */
function viewOf(format: string, n: number, misalign = 0, seed = 3): { m: MemoryView; bytes: Uint8Array } {
  const { info } = parseFormat(format)
  const whole = new Uint8Array(misalign + n * info.itemsize + 3)
  whole.set(pattern(whole.length, seed))
  const bytes = whole.subarray(misalign, misalign + n * info.itemsize)
  return { m: memoryview(whole).subarray(misalign, misalign + bytes.length).cast(format), bytes }
}

// Byte-order prefixes (API.md deliberate difference 2): struct's standard sizes.
const PREFIXED = ['<h', '>h', '=h', '!h', '<H', '>H', '<i', '>i', '!I', '=I', '<q', '>q', '>Q', '<f', '>f', '!d', '<d',
  '>e', '<e', '>b', '<B', '>?', '<c', '>c']
const NATIVE = [...FORMAT_CHARS, ...FORMAT_CHARS.map((c) => '@' + c)]

describe('12 get/set', () => {
  describe('get reads every format (values as API.md: number, bigint, boolean, 1-byte Buffer)', () => {
    for (const format of [...NATIVE, ...PREFIXED]) {
      for (const misalign of [0, 1, 3]) {
        it(`'${format}' at byte offset ${misalign}`, () => {
          const { m, bytes } = viewOf(format, 5, misalign)
          const { info } = parseFormat(format)
          expect(m.format).to.equal(format)
          expect(m.itemsize).to.equal(info.itemsize)
          for (let i = 0; i < 5; i++) {
            const want = decode(format, bytes, i * info.itemsize)
            expect(m.get(i), `get(${i})`).to.deep.equal(want)
            expect(m.get(i - 5), `get(${i - 5})`).to.deep.equal(want)
            expect(m.get(BigInt(i)), `get(${i}n)`).to.deep.equal(want)
          }
          const kind = typeof m.get(0)
          const expectedKind = { int: 'number', float: 'number', bigint: 'bigint', bool: 'boolean', char: 'object' }[info.kind]
          expect(kind).to.equal(expectedKind)
          if (info.kind === 'char') expect(Buffer.isBuffer(m.get(0))).to.equal(true)
        })
      }
    }

    it("byte order: bytes 01 02 as '<h' '=h' '@h' 'h' → 513, as '>h' '!h' → 258", () => {
      // memoryview(b'\x01\x02') with struct.unpack('<h'...) == 513, '>h' == 258
      const b = new Uint8Array([1, 2])
      for (const f of ['<h', '=h', '@h', 'h']) expect(memoryview(b).cast(f).get(0), f).to.equal(513)
      for (const f of ['>h', '!h']) expect(memoryview(b).cast(f).get(0), f).to.equal(258)
    })

    it("'?' reads any non-zero byte as true", () => {
      const m = memoryview(new Uint8Array([0, 1, 2, 255])).cast('?')
      expect(m.tolist()).to.deep.equal([false, true, true, true])
    })

    it("'e' decodes subnormals, infinities, NaN and -0", () => {
      // struct.unpack('<4e', bytes.fromhex('0100007c00fe0080'))
      const m = memoryview(Buffer.from('0100007c007e0080', 'hex')).cast('e')
      expect(m.get(0)).to.equal(2 ** -24)
      expect(m.get(1)).to.equal(Infinity)
      expect(m.get(2)).to.be.NaN
      expect(Object.is(m.get(3), -0)).to.equal(true)
    })
  })

  describe('set writes every format and get reads it back', () => {
    // [format, value stored, value read back]
    const rows: [string, unknown, unknown][] = [
      ['b', -128, -128], ['b', 127, 127], ['b', 5n, 5], ['b', true, 1], ['b', false, 0], ['b', -0, 0],
      ['B', 255, 255], ['B', 0, 0], ['B', 200n, 200], ['B', 1.0, 1],
      ['h', -32768, -32768], ['h', 32767, 32767], ['H', 65535, 65535], ['H', 65535n, 65535],
      ['i', -(2 ** 31), -(2 ** 31)], ['i', 2 ** 31 - 1, 2 ** 31 - 1], ['I', 2 ** 32 - 1, 2 ** 32 - 1], ['I', true, 1],
      ['q', -(2n ** 63n), -(2n ** 63n)], ['q', 2n ** 63n - 1n, 2n ** 63n - 1n], ['q', 5, 5n], ['q', true, 1n],
      // API.md: any exactly-integral double is accepted for 8-byte formats, even above 2**53
      // (CPython refuses floats here: m.cast('q')[0] = float(2**60) → TypeError).
      ['q', 2 ** 60, 2n ** 60n], ['q', -(2 ** 63), -(2n ** 63n)], ['Q', 2 ** 63, 2n ** 63n], ['Q', 2 ** 64 - 2048, 2n ** 64n - 2048n],
      ['Q', 2n ** 64n - 1n, 2n ** 64n - 1n], ['l', -1n, -1n], ['L', 2n ** 64n - 1n, 2n ** 64n - 1n], ['n', -7, -7n], ['N', 7n, 7n],
      ['P', 2n ** 63n, 2n ** 63n],
      ['f', 1.5, 1.5], ['f', 0.1, Math.fround(0.1)], ['f', 3n, 3], ['f', true, 1], ['f', -Infinity, -Infinity],
      // m.cast('f')[0] = 1e300 → inf (3.11 casts the double to float, no error)
      ['f', 1e300, Infinity], ['f', 3.5e38, Infinity],
      ['d', 0.1, 0.1], ['d', -0, -0], ['d', Infinity, Infinity], ['d', 10n ** 20n, 1e20], ['d', false, 0],
      // struct.pack('e', 65519.0) rounds to 65504; 1/3 → 0.333251953125; 2**-25 → 0.0
      ['e', 65504, 65504], ['e', 65519, 65504], ['e', 1 / 3, 0.333251953125], ['e', 2 ** -25, 0], ['e', 2 ** -24, 2 ** -24],
      ['e', Infinity, Infinity], ['e', -0, -0],
      // '?' takes any value by JS truthiness (CPython: bool(v)).
      ['?', true, true], ['?', false, false], ['?', 0, false], ['?', 2, true], ['?', 'x', true], ['?', '', false],
      ['?', null, false], ['?', undefined, false], ['?', {}, true], ['?', [], true], ['?', 0n, false], ['?', NaN, false],
      ['c', Buffer.from('a'), Buffer.from('a')], ['c', new Uint8Array([0xff]), Buffer.from([0xff])],
      ['<h', 258, 258], ['>h', 258, 258], ['>q', -2n, -2n], ['>d', 1.25, 1.25], ['!I', 2 ** 32 - 1, 2 ** 32 - 1],
      ['@d', 2.5, 2.5], ['>e', 1.5, 1.5],
    ]
    for (const [format, value, readBack] of rows) {
      it(`'${format}' ← ${typeof value === 'bigint' ? `${value}n` : Buffer.isBuffer(value) || value instanceof Uint8Array ? `bytes ${Buffer.from(value as Uint8Array).toString('hex')}` : JSON.stringify(value) ?? String(value)}`, () => {
        const { m, bytes } = viewOf(format, 3, 1)
        const others = [m.get(0), m.get(2)]
        m.set(1, value as never)
        const got = m.get(1)
        if (typeof readBack === 'number' && Object.is(readBack, -0)) expect(Object.is(got, -0)).to.equal(true)
        else expect(got).to.deep.equal(readBack)
        // Neighbours are untouched and the bytes in memory are what the model reads.
        expect([m.get(0), m.get(2)]).to.deep.equal(others)
        expect(decode(format, bytes, parseFormat(format).info.itemsize)).to.deep.equal(got)
      })
    }

    it('big-endian store writes big-endian bytes', () => {
      const b = new Uint8Array(4)
      memoryview(b).cast('>I').set(0, 0x01020304)
      expect([...b]).to.deep.equal([1, 2, 3, 4])
      memoryview(b).cast('<I').set(0, 0x01020304)
      expect([...b]).to.deep.equal([4, 3, 2, 1])
    })
  })

  describe('failed stores: class, code, and nothing written', () => {
    // [format, value, error class, code]; python3: m[1] = value
    const rows: [string, unknown, typeof TypeError | typeof RangeError, string][] = [
      // ValueError: memoryview: invalid value for format 'B'
      ['B', 256, RangeError, INVALID_VALUE], ['B', -1, RangeError, INVALID_VALUE], ['B', 2 ** 100, RangeError, INVALID_VALUE],
      ['B', 256n, RangeError, INVALID_VALUE], ['b', 128, RangeError, INVALID_VALUE], ['b', -129, RangeError, INVALID_VALUE],
      ['h', 32768, RangeError, INVALID_VALUE], ['H', -1, RangeError, INVALID_VALUE], ['i', -(2 ** 31) - 1, RangeError, INVALID_VALUE],
      ['I', 2 ** 32, RangeError, INVALID_VALUE], ['q', 2n ** 63n, RangeError, INVALID_VALUE], ['q', 2 ** 63, RangeError, INVALID_VALUE],
      ['Q', 2n ** 64n, RangeError, INVALID_VALUE], ['Q', 2 ** 64, RangeError, INVALID_VALUE], ['Q', -1n, RangeError, INVALID_VALUE],
      ['L', -1, RangeError, INVALID_VALUE], ['n', 2n ** 63n, RangeError, INVALID_VALUE], ['P', -(2n ** 63n) - 1n, RangeError, INVALID_VALUE],
      // m.cast('d')[0] = 2**1024 → ValueError: invalid value for format 'd'
      ['d', 2n ** 1024n, RangeError, INVALID_VALUE], ['f', 2n ** 1024n, RangeError, INVALID_VALUE],
      // struct.pack('e', 65520.0) → OverflowError
      ['e', 65520, RangeError, INVALID_VALUE], ['e', 1e6, RangeError, INVALID_VALUE], ['>e', -1e6, RangeError, INVALID_VALUE],
      // m.cast('c')[0] = b'ab' → ValueError: invalid value for format 'c'
      ['c', Buffer.from('ab'), RangeError, INVALID_VALUE], ['c', Buffer.alloc(0), RangeError, INVALID_VALUE],
      // TypeError: memoryview: invalid type for format 'B' (0.5, 1.0-as-float, NaN, inf, str, None)
      ['B', 0.5, TypeError, INVALID_TYPE], ['B', NaN, TypeError, INVALID_TYPE], ['B', Infinity, TypeError, INVALID_TYPE],
      ['h', -Infinity, TypeError, INVALID_TYPE], ['i', 1.5, TypeError, INVALID_TYPE], ['q', 0.5, TypeError, INVALID_TYPE],
      ['Q', NaN, TypeError, INVALID_TYPE], ['B', 'a', TypeError, INVALID_TYPE], ['B', '1', TypeError, INVALID_TYPE],
      ['B', null, TypeError, INVALID_TYPE], ['B', undefined, TypeError, INVALID_TYPE], ['B', {}, TypeError, INVALID_TYPE],
      ['B', { valueOf: () => 1 }, TypeError, INVALID_TYPE], ['B', [1], TypeError, INVALID_TYPE], ['B', Symbol('x'), TypeError, INVALID_TYPE],
      ['d', 'a', TypeError, INVALID_TYPE], ['f', null, TypeError, INVALID_TYPE], ['e', '1', TypeError, INVALID_TYPE],
      ['q', '1', TypeError, INVALID_TYPE],
      // m.cast('c')[0] = 97 / 'a' → TypeError: invalid type for format 'c'
      ['c', 97, TypeError, INVALID_TYPE], ['c', 'a', TypeError, INVALID_TYPE], ['c', null, TypeError, INVALID_TYPE],
      ['>h', 0.5, TypeError, INVALID_TYPE], ['>h', 32768, RangeError, INVALID_VALUE],
    ]
    for (const [format, value, cls, code] of rows) {
      const shown = typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' ? 'Symbol' : Buffer.isBuffer(value) ? `bytes(${value.length})` : typeof value === 'object' && value !== null ? 'object' : String(value)
      it(`'${format}' ← ${shown} → ${cls.name} ${code}`, () => {
        const { m, bytes } = viewOf(format, 3, 1)
        const before = Buffer.from(bytes)
        expectError(() => m.set(1, value as never), cls, code)
        expect(Buffer.from(bytes).equals(before), 'memory changed by a failed store').to.equal(true)
      })
    }
  })

  describe('indices', () => {
    const m = () => memoryview(new Uint8Array([10, 11, 12, 13]))

    it('negative indices count from the end; -0 is 0; bigint indices work', () => {
      expect(m().get(-1)).to.equal(13)
      expect(m().get(-4)).to.equal(10)
      expect(m().get(-0)).to.equal(10)
      expect(m().get(3n)).to.equal(13)
      expect(m().get(-2n)).to.equal(12)
      const v = m()
      v.set(-1n, 1)
      expect(v.get(3)).to.equal(1)
    })

    it('out of bounds → RangeError ERR_MEMORYVIEW_INDEX (m[4], m[-5], m[2**70])', () => {
      for (const i of [4, -5, 100, 2 ** 53, 2 ** 70, -(2 ** 70), 4n, -5n, 2n ** 70n, -(2n ** 70n)]) {
        expectError(() => m().get(i as any), RangeError, INDEX)
        expectError(() => m().set(i as any, 1), RangeError, INDEX)
      }
    })

    it('non-integral index → TypeError ERR_MEMORYVIEW_INVALID_INDEX (m[1.5] → invalid slice key)', () => {
      for (const i of [1.5, NaN, Infinity, -Infinity, '1', null, {}, [1], Symbol('i')]) {
        expectError(() => m().get(i as any), TypeError, INVALID_INDEX)
        expectError(() => m().set(i as any, 1), TypeError, INVALID_INDEX)
      }
    })

    it('index errors come before value errors (m[100] = "x" → IndexError)', () => {
      expectError(() => m().set(100, 'x' as never), RangeError, INDEX)
      expectError(() => m().set(100, 256), RangeError, INDEX)
      expectError(() => m().set(1.5, 256), TypeError, INVALID_INDEX)
    })

    it('too many indices → TypeError (m[0, 0] → cannot index 1-dimension view with 2-element tuple)', () => {
      expectError(() => m().get(0, 0), TypeError, INVALID_INDEX)
      expectError(() => m().set(0, 0, 1), TypeError, INVALID_INDEX)
    })

    it('m[()] on a 1-D view → NOT_IMPLEMENTED (sub-views are not implemented)', () => {
      expectError(() => m().get(), Error, NOT_IMPLEMENTED)
      expectError(() => m().set(5), Error, NOT_IMPLEMENTED)
    })
  })

  describe('n-D and 0-D', () => {
    const two = () => memoryview(new Uint8Array(Array.from({ length: 12 }, (_, i) => i))).cast('B', [3, 4])

    it('get(i, j) and set(i, j, v) with negative indices', () => {
      const m = two()
      expect(m.get(1, 2)).to.equal(6)
      expect(m.get(-1, -1)).to.equal(11)
      expect(m.get(-3, 0)).to.equal(0)
      m.set(2, -4, 99)
      expect(m.get(2, 0)).to.equal(99)
      expect(m.tobytes()[8]).to.equal(99)
    })

    it('get(i, j) on a strided, reversed 2-D view', () => {
      // m.cast('B',[3,4])[::-2] → rows 2 and 0
      const p = two()
      const m = p.subarray(null, null, -2)
      expect(m.get(0, 1)).to.equal(9)
      expect(m.get(1, 3)).to.equal(3)
      m.set(1, 0, 50)
      expect(p.get(0, 0)).to.equal(50)
    })

    it('out of bounds in either dimension → RangeError INDEX (m[3,0], m[0,4], m[-4,0])', () => {
      for (const [i, j] of [[3, 0], [0, 4], [-4, 0], [0, -5], [0, 2 ** 70]]) {
        expectError(() => two().get(i, j), RangeError, INDEX)
        expectError(() => two().set(i, j, 1), RangeError, INDEX)
      }
    })

    it('fewer indices than dimensions → NOT_IMPLEMENTED (multi-dimensional sub-views)', () => {
      expectError(() => two().get(1), Error, NOT_IMPLEMENTED)
      expectError(() => two().get(), Error, NOT_IMPLEMENTED)
      expectError(() => two().set(1, 7), Error, NOT_IMPLEMENTED)
      expectError(() => two().set(7), Error, NOT_IMPLEMENTED)
    })

    it('more indices than dimensions → TypeError INVALID_INDEX', () => {
      expectError(() => two().get(1, 2, 3), TypeError, INVALID_INDEX)
      expectError(() => two().set(1, 2, 3, 7), TypeError, INVALID_INDEX)
    })

    it('a non-integral index in any position → TypeError INVALID_INDEX', () => {
      expectError(() => two().get(1.5, 0), TypeError, INVALID_INDEX)
      expectError(() => two().get(0, '1' as any), TypeError, INVALID_INDEX)
    })

    it('a value error on a 2-D store writes nothing (m[0,0] = 300)', () => {
      const m = two()
      expectError(() => m.set(0, 0, 300), RangeError, INVALID_VALUE)
      expect(m.get(0, 0)).to.equal(0)
    })

    it('0-D: get() and set(v); any index → TypeError (invalid indexing of 0-dim memory)', () => {
      const b = new Uint8Array([1, 2])
      const m = memoryview(b).cast('h', [])
      expect(m.get()).to.equal(513)
      m.set(-2)
      expect(m.get()).to.equal(-2)
      expect([...b]).to.deep.equal([0xfe, 0xff])
      expectError(() => m.get(0), TypeError, INVALID_INDEX)
      expectError(() => m.set(0, 5), TypeError, INVALID_INDEX)
      expectError(() => m.set(70000), RangeError, INVALID_VALUE)
      expect(m.get()).to.equal(-2)
    })
  })

  describe('readonly', () => {
    it('set on a readonly view → TypeError ERR_MEMORYVIEW_READONLY, before index and value checks', () => {
      const b = new Uint8Array([1, 2, 3])
      const r = memoryview(b).toreadonly()
      expectError(() => r.set(0, 9), TypeError, READONLY)
      // m.toreadonly()[100] = 'x' → TypeError: cannot modify read-only memory
      expectError(() => r.set(100, 'x' as never), TypeError, READONLY)
      expectError(() => r.set(1.5, 'x' as never), TypeError, READONLY)
      expectError(() => r.cast('B', [1, 3]).set(0, 0, 1), TypeError, READONLY)
      expectError(() => r.cast('B', [1, 3]).set(0, 1), TypeError, READONLY)
      expect([...b]).to.deep.equal([1, 2, 3])
      expect(r.get(2)).to.equal(3)
    })

    it('the writable parent still writes, and the readonly view sees it', () => {
      const m = memoryview(new Uint8Array(2))
      const r = m.toreadonly()
      m.set(0, 7)
      expect(r.get(0)).to.equal(7)
    })
  })
})
