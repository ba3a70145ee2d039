import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { BufferError, memoryview, MemoryView } from 'memoryview'
import { requireBinding, type NativeDescriptorInput } from '../lib/binding'
import { exportToNative } from '../lib/native-export'
import { expectError, EXPORTED, RELEASED } from './helpers/errors'

const native = requireBinding('tests')
const { Pin, Export } = native
const INVALID_ARG = 'ERR_MEMORYVIEW_INVALID_ARG'
const INVALID_DESCRIPTOR = 'ERR_MEMORYVIEW_INVALID_DESCRIPTOR'
const OUT_OF_RANGE = 'ERR_MEMORYVIEW_OUT_OF_RANGE'
const OUT_OF_BOUNDS = 'ERR_MEMORYVIEW_OUT_OF_BOUNDS'
const INVALID_THIS = 'ERR_INVALID_THIS'
const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')

function runFixture(name: string, args: string[] = []): Record<string, any> {
  const child = spawnSync(process.execPath, ['--expose-gc', path.join(fixtures, name), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  expect(child.status, `${name} exited with ${child.status} ${child.signal}: ${child.stderr}`).to.equal(0)
  return JSON.parse(child.stdout.trim().split('\n').pop()!)
}

function detachedBuffer(): ArrayBuffer {
  const ab = new ArrayBuffer(8)
  structuredClone(ab, { transfer: [ab] })
  return ab
}

/** A valid 2x3 'h' descriptor over 16 bytes; rows start at byte 2. */
function descriptor(overrides: Record<string, unknown> = {}): NativeDescriptorInput {
  return {
    buffer: new ArrayBuffer(16),
    byteOffset: 2,
    format: 'h',
    itemsize: 2,
    shape: [2, 3],
    strides: [6, 2],
    readonly: false,
    ...overrides,
  } as NativeDescriptorInput
}

describe('50 native addon: pins and exports', () => {
  describe('Pin', () => {
    it('pins a range of an ArrayBuffer, counts it, and releases idempotently', () => {
      const baseline = native.livePins()
      const ab = new ArrayBuffer(32)
      const pin = new Pin(ab, 4, 8)
      expect(typeof pin.address).to.equal('bigint')
      expect(pin.address > 0n).to.equal(true)
      expect(pin.byteLength).to.equal(8)
      expect(pin.buffer).to.equal(ab)
      expect(pin.released).to.equal(false)
      expect(native.livePins()).to.equal(baseline + 1)
      const second = new Pin(ab, 0, 32)
      expect(pin.address - second.address).to.equal(4n)
      pin.release()
      pin.release()
      expect(pin.released).to.equal(true)
      expect(pin.address).to.equal(0n)
      expect(pin.buffer).to.equal(undefined)
      expect(native.livePins()).to.equal(baseline + 1)
      second.release()
      expect(native.livePins()).to.equal(baseline)
    })

    it('pins SharedArrayBuffers and growable SharedArrayBuffers', () => {
      const baseline = native.livePins()
      const sab = new SharedArrayBuffer(16)
      const growable = new (SharedArrayBuffer as any)(8, { maxByteLength: 64 }) as SharedArrayBuffer
      const pins = [new Pin(sab, 0, 16), new Pin(growable, 2, 6)]
      expect(pins[0].buffer).to.equal(sab)
      expect(pins[1].address > 0n).to.equal(true)
      expect(native.livePins()).to.equal(baseline + 2)
      for (const pin of pins) pin.release()
      expect(native.livePins()).to.equal(baseline)
    })

    it('refuses what it cannot pin safely, with codes', () => {
      const baseline = native.livePins()
      const ab = new ArrayBuffer(16)
      for (const bad of [new Uint8Array(4), new DataView(ab), {}, null, 16, 'ab', [1, 2]]) {
        expectError(() => new Pin(bad as never, 0, 0), TypeError, INVALID_ARG)
      }
      expectError(() => new Pin(new (ArrayBuffer as any)(8, { maxByteLength: 16 }), 0, 1), TypeError, INVALID_ARG)
      expectError(() => new Pin(detachedBuffer(), 0, 0), Error, OUT_OF_BOUNDS)
      expectError(() => new Pin(ab, 0.5, 1), TypeError, INVALID_ARG)
      expectError(() => new Pin(ab, '1' as never, 1), TypeError, INVALID_ARG)
      expectError(() => new Pin(ab, 0, 2 ** 53), TypeError, INVALID_ARG)
      expectError(() => new Pin(ab, -1, 1), RangeError, OUT_OF_RANGE)
      expectError(() => new Pin(ab, 10, 7), RangeError, OUT_OF_RANGE)
      expectError(() => new Pin(ab, 17, 0), RangeError, OUT_OF_RANGE)
      expect(new Pin(ab, 16, 0).byteLength).to.equal(0)
      expect(native.livePins()).to.be.at.most(baseline + 1)
    })

    it('keeps its buffer alive while held, and only then (child process, --expose-gc)', () => {
      const r = runFixture('native-pin-alive.js')
      expect(r).to.deep.equal({
        aliveWhilePinned: true,
        sameAddress: true,
        bytesIntact: true,
        countWhilePinned: 1,
        collectedAfterRelease: true,
        countAfterRelease: 0,
      })
    })
  })

  describe('type tags: methods on foreign receivers throw "Illegal invocation"', () => {
    const pin = new Pin(new ArrayBuffer(4), 0, 4)
    const exp = new Export(descriptor())
    const receivers: Array<[string, unknown]> = [
      ['a plain object', {}],
      ['Object.create(prototype)', null],
      ['a number', 1],
      ['undefined', undefined],
      ['a native object of the other class', null],
    ]
    const cases: Array<[string, object, object]> = [
      ['Pin', Pin.prototype, exp],
      ['Export', Export.prototype, pin],
    ]
    for (const [cls, prototype, other] of cases) {
      for (const name of Object.getOwnPropertyNames(prototype)) {
        if (name === 'constructor') continue
        it(`${cls}.prototype.${name}`, () => {
          const desc = Object.getOwnPropertyDescriptor(prototype, name)!
          const fn = (desc.get ?? desc.value) as (this: unknown) => unknown
          for (const [label, value] of receivers) {
            const receiver =
              label === 'Object.create(prototype)' ? Object.create(prototype) : label.startsWith('a native') ? other : value
            const err = expectError(() => fn.call(receiver), TypeError, INVALID_THIS)
            expect(err.message).to.equal('Illegal invocation')
          }
        })
      }
    }
    it('the real receivers still work', () => {
      expect(pin.byteLength).to.equal(4)
      expect(exp.ndim).to.equal(2)
      pin.release()
      exp.release()
    })
  })

  describe('Export: descriptor validation', () => {
    const rows: Array<[string, Record<string, unknown> | unknown, new (...a: any[]) => Error, string]> = [
      ['descriptor not an object', 'nope', TypeError, INVALID_DESCRIPTOR],
      ['buffer a Uint8Array', { buffer: new Uint8Array(16) }, TypeError, INVALID_DESCRIPTOR],
      ['buffer missing', { buffer: undefined }, TypeError, INVALID_DESCRIPTOR],
      ['buffer resizable', { buffer: new (ArrayBuffer as any)(16, { maxByteLength: 32 }) }, TypeError, INVALID_DESCRIPTOR],
      ['buffer detached', { buffer: detachedBuffer() }, Error, OUT_OF_BOUNDS],
      ['byteOffset not a number', { byteOffset: '2' }, TypeError, INVALID_DESCRIPTOR],
      ['byteOffset fractional', { byteOffset: 2.5 }, TypeError, INVALID_DESCRIPTOR],
      ['byteOffset negative', { byteOffset: -2 }, RangeError, INVALID_DESCRIPTOR],
      ['byteOffset past the end', { byteOffset: 17, shape: [0], strides: [2] }, RangeError, INVALID_DESCRIPTOR],
      ['format not a string', { format: 104 }, TypeError, INVALID_DESCRIPTOR],
      ['format empty', { format: '' }, RangeError, INVALID_DESCRIPTOR],
      ['format not printable ASCII', { format: 'h\0' }, RangeError, INVALID_DESCRIPTOR],
      ['itemsize missing', { itemsize: undefined }, TypeError, INVALID_DESCRIPTOR],
      ['itemsize 0', { itemsize: 0 }, RangeError, INVALID_DESCRIPTOR],
      ['itemsize negative', { itemsize: -2 }, RangeError, INVALID_DESCRIPTOR],
      ['shape not an array', { shape: 6 }, TypeError, INVALID_DESCRIPTOR],
      ['shape element not an integer', { shape: [2, 1.5] }, TypeError, INVALID_DESCRIPTOR],
      ['shape element a bigint', { shape: [2n, 3] }, TypeError, INVALID_DESCRIPTOR],
      ['shape element negative', { shape: [2, -3] }, RangeError, INVALID_DESCRIPTOR],
      ['ndim 65', { shape: new Array(65).fill(1), strides: new Array(65).fill(2) }, RangeError, INVALID_DESCRIPTOR],
      ['strides not an array', { strides: undefined }, TypeError, INVALID_DESCRIPTOR],
      ['strides element NaN', { strides: [6, NaN] }, TypeError, INVALID_DESCRIPTOR],
      ['strides too short', { strides: [6] }, TypeError, INVALID_DESCRIPTOR],
      ['readonly not a boolean', { readonly: 0 }, TypeError, INVALID_DESCRIPTOR],
      ['release not a function', { release: 1 }, TypeError, INVALID_DESCRIPTOR],
      ['extent past the end', { shape: [3, 3] }, RangeError, INVALID_DESCRIPTOR],
      ['extent below the start (negative stride)', { strides: [-6, 2] }, RangeError, INVALID_DESCRIPTOR],
      ['last item straddles the end', { byteOffset: 5, shape: [2, 3], strides: [6, 2] }, RangeError, INVALID_DESCRIPTOR],
      ['itemsize*product(shape) overflows', { shape: [2 ** 52, 2 ** 52], strides: [0, 0] }, RangeError, INVALID_DESCRIPTOR],
      ['shape*strides overflows', { shape: [2 ** 52, 1], strides: [2 ** 52, 2] }, RangeError, INVALID_DESCRIPTOR],
      ['span sum overflows', {
        shape: [2 ** 20, 2 ** 20, 2 ** 20], strides: [2 ** 42, 2 ** 42, 2 ** 42],
      }, RangeError, INVALID_DESCRIPTOR],
      ['byteLength does not match', { byteLength: 14 }, RangeError, INVALID_DESCRIPTOR],
      ['byteLength not an integer', { byteLength: '12' }, TypeError, INVALID_DESCRIPTOR],
    ]
    for (const [label, overrides, cls, code] of rows) {
      it(`rejects: ${label}`, () => {
        const pins = native.livePins()
        const exports = native.liveExports()
        let releases = 0
        const input = typeof overrides === 'object' && overrides !== null
          ? descriptor({ release: () => { releases++ }, ...(overrides as object) })
          : overrides
        const err = expectError(() => new Export(input as never), cls, code)
        expect(err.message.startsWith('memoryview: ')).to.equal(true)
        expect(native.livePins()).to.equal(pins)
        expect(native.liveExports()).to.equal(exports)
        expect(releases).to.equal(0)
      })
    }

    it('accepts the edge cases: empty shapes, 0-d, zero and negative strides, ndim 64', () => {
      const accepted = [
        descriptor(),
        descriptor({ byteOffset: 16, shape: [0, 3], strides: [1000, 7] }),
        descriptor({ shape: [], strides: [], byteLength: 2 }),
        descriptor({ byteOffset: 14, shape: [2, 3], strides: [-6, -2] }),
        descriptor({ shape: [1000, 1000], strides: [0, 0] }),
        descriptor({ byteOffset: 0, format: 'B', itemsize: 1, shape: new Array(64).fill(1), strides: new Array(64).fill(9) }),
        descriptor({ buffer: new SharedArrayBuffer(16), byteLength: 12 }),
      ]
      for (const input of accepted) {
        const e = new Export(input)
        const back = e.describe()
        expect(back.buffer).to.equal(input.buffer)
        expect(back.shape).to.deep.equal(input.shape)
        expect(back.strides).to.deep.equal(input.strides)
        expect(back.byteLength).to.equal(input.itemsize * input.shape.reduce((a, b) => a * b, 1))
        e.release()
      }
    })

    it('reads every field once and re-checks the buffer after user getters ran', () => {
      const ab = new ArrayBuffer(16)
      const sneaky = {
        buffer: ab,
        byteOffset: 0,
        format: 'B',
        itemsize: 1,
        get shape() {
          structuredClone(ab, { transfer: [ab] })
          return [16]
        },
        strides: [1],
        readonly: false,
      }
      expectError(() => new Export(sneaky as never), Error, OUT_OF_BOUNDS)
    })
  })

  describe('Export: lifetime', () => {
    it('release() calls the JS release exactly once and restores the counts', () => {
      const pins = native.livePins()
      const exports = native.liveExports()
      let calls = 0
      const e = new Export(descriptor({ release: () => { calls++ } }))
      expect(native.livePins()).to.equal(pins + 1)
      expect(native.liveExports()).to.equal(exports + 1)
      expect(e.released).to.equal(false)
      e.release()
      e.release()
      expect(calls).to.equal(1)
      expect(e.released).to.equal(true)
      expect(e.address).to.equal(0n)
      expect(native.livePins()).to.equal(pins)
      expect(native.liveExports()).to.equal(exports)
      expectError(() => e.describe(), Error, RELEASED)
    })

    it('a throwing JS release propagates once; the export is released anyway', () => {
      const pins = native.livePins()
      const e = new Export(descriptor({ release: () => { throw new RangeError('boom') } }))
      expect(() => e.release()).to.throw(RangeError, 'boom')
      expect(e.released).to.equal(true)
      expect(() => e.release()).not.to.throw()
      expect(native.livePins()).to.equal(pins)
    })

    it('address points at element [0, ..., 0], also with negative strides', () => {
      const ab = new ArrayBuffer(16)
      const base = new Pin(ab, 0, 16)
      const e = new Export(descriptor({ buffer: ab, byteOffset: 14, strides: [-6, -2] }))
      expect(e.address - base.address).to.equal(14n)
      expect([e.format, e.itemsize, e.ndim, e.byteLength, e.readonly]).to.deep.equal(['h', 2, 2, 12, false])
      e.release()
      base.release()
    })

    it('an unreleased export that is garbage collected releases once, from the event loop (child, --expose-gc)', () => {
      const r = runFixture('native-gc.js')
      const n = r.n as number
      expect(r.during.exports - r.baseline.exports).to.equal(3 * n + 1)
      expect(r.blocked).to.equal(true)
      expect(r.collected).to.equal(2 * n)
      expect(r.after).to.deep.equal(r.baseline)
      expect(r.protocolReleases).to.equal(n)
      expect(r.directReleases).to.equal(n + 1)
      expect(r.warnings).to.equal(1)
      expect(r.releasedAfter).to.equal(true)
    })
    it('exports still held when a worker or the process ends are dropped without a crash (child)', () => {
      const r = runFixture('native-teardown.js')
      expect(r.before).to.deep.equal({ exports: 20, pins: 40 })
      expect(r.workerUp).to.deep.equal({ exports: 40, pins: 80 })
      expect(r.afterWorker).to.deep.equal(r.before)
    })
  })

  describe('exportToNative round trip', () => {
    it('JS view -> native -> descriptor -> memoryview: same bytes, writes visible both ways', () => {
      const data = new Float64Array([1.5, -2, 3.25, 4, 5, 6])
      const m = memoryview(data)
      const handle = exportToNative(m)
      const d = handle.describe()
      expect(d.buffer).to.equal(data.buffer)
      expect([d.byteOffset, d.byteLength, d.format, d.itemsize, d.readonly]).to.deep.equal([0, 48, 'd', 8, false])
      expect(d.shape).to.deep.equal([6])
      expect(d.strides).to.deep.equal([8])
      const back = memoryview(handle)
      expect(back).to.be.instanceOf(MemoryView)
      expect(back.tolist()).to.deep.equal(m.tolist())
      back.set(1, 42)
      expect(data[1]).to.equal(42)
      m.set(2, -7)
      expect(back.get(2)).to.equal(-7)
      back.release()
      handle.release()
      m.release()
    })

    it('strided views with negative strides keep their layout and address', () => {
      const data = new Int16Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      const m = memoryview(data).subarray(8, 1, -3)
      const handle = exportToNative(m)
      const d = handle.describe()
      expect(d.strides).to.deep.equal([-6])
      expect(d.byteOffset).to.equal(16)
      const back = memoryview(handle)
      expect(back.tolist()).to.deep.equal([8, 5, 2])
      back.set(2, 100)
      expect(data[2]).to.equal(100)
      const pin = new Pin(data.buffer as ArrayBuffer, 0, data.byteLength)
      expect(handle.address - pin.address).to.equal(16n)
      pin.release()
      handle.release()
    })

    it('n-d views and readonly are preserved', () => {
      const bytes = new Uint8Array(24).map((_, i) => i)
      const m = memoryview(bytes).cast('i', [2, 3]).toreadonly()
      using handle = exportToNative(m)
      const d = handle.describe()
      expect([d.readonly, d.format, d.itemsize]).to.deep.equal([true, 'i', 4])
      expect(d.shape).to.deep.equal([2, 3])
      expect(d.strides).to.deep.equal([12, 4])
      const back = memoryview(handle)
      expect(back.readonly).to.equal(true)
      expect(back.tolist()).to.deep.equal(m.tolist())
      expectError(() => back.set(0, 0, 1), TypeError, 'ERR_MEMORYVIEW_READONLY')
    })

    it('accepts every source memoryview() accepts', () => {
      const sab = new SharedArrayBuffer(8)
      for (const source of [Buffer.from('abc'), new Uint32Array(3), new DataView(new ArrayBuffer(5)), new ArrayBuffer(2), sab]) {
        const handle = exportToNative(source)
        const d = handle.describe()
        expect(d.buffer).to.equal(ArrayBuffer.isView(source) ? source.buffer : source)
        handle.release()
      }
      expectError(() => exportToNative(42), TypeError, 'ERR_MEMORYVIEW_INVALID_SOURCE')
    })

    it('a refused export gives the view its export back', () => {
      const rab = new (ArrayBuffer as any)(16, { maxByteLength: 64 }) as ArrayBuffer
      const m = memoryview(rab)
      const exports = native.liveExports()
      expectError(() => exportToNative(m), TypeError, INVALID_DESCRIPTOR)
      expect(native.liveExports()).to.equal(exports)
      m.release()
      expect(m.released).to.equal(true)
    })

    it('an export blocks view.release() with BufferError until it is released', () => {
      const m = memoryview(Buffer.from([1, 2, 3]))
      const handle = exportToNative(m)
      const err = expectError(() => m.release(), BufferError, EXPORTED)
      expect(err).to.be.instanceOf(BufferError)
      expect(m.released).to.equal(false)
      expect(m.get(0)).to.equal(1)
      const second = exportToNative(m)
      expectError(() => m.release(), BufferError, EXPORTED)
      handle.release()
      expectError(() => m.release(), BufferError, EXPORTED)
      second[Symbol.dispose]()
      m.release()
      expect(m.released).to.equal(true)
      expectError(() => exportToNative(m), Error, RELEASED)
    })

    it('live pin counts follow exports of derived views', () => {
      expect(requireBinding('tests')).to.equal(native)
      const pins = native.livePins()
      const m = memoryview(new Uint8Array(4))
      const handles = [exportToNative(m), exportToNative(m.subarray(1)), exportToNative(m.toreadonly())]
      expect(native.livePins()).to.equal(pins + 3)
      for (const h of handles) h.release()
      expect(native.livePins()).to.equal(pins)
      m.release()
    })
  })
})
