/**
 * `using` declarations (TC39 explicit resource management). Node 20 cannot parse `using`,
 * so this file relies on TypeScript (target ES2022) downlevelling it to the
 * __addDisposableResource / __disposeResources helpers; the first test checks that it did.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import { memoryview, MemoryView, BufferError, BUFFER_PROTOCOL } from 'memoryview'
import { expectError, EXPORTED, RELEASED } from './helpers/errors'

describe('23 using (Python: with memoryview(x) as m)', () => {
  it('this file was compiled with the downlevel helpers (no raw `using` for Node 20)', () => {
    const js = fs.readFileSync(__filename, 'utf8')
    expect(js).to.contain('__addDisposableResource')
    expect(js).to.contain('__disposeResources')
    expect(js).not.to.match(/^\s*using\s+\w+\s*=/m)
  })

  it('a `using` view is released at the end of its block', () => {
    let escaped: MemoryView
    {
      using m = memoryview(new Uint8Array([1, 2, 3]))
      expect(m.tolist()).to.deep.equal([1, 2, 3])
      escaped = m
    }
    expect(escaped.released).to.equal(true)
    expectError(() => escaped.get(0), Error, RELEASED)
  })

  it('a `using` view is released when the block throws, and the error propagates', () => {
    let escaped: MemoryView | undefined
    const boom = new Error('boom')
    expect(() => {
      using m = memoryview(new Uint8Array(2))
      escaped = m
      throw boom
    }).to.throw(boom)
    expect(escaped!.released).to.equal(true)
  })

  it('disposal runs in reverse declaration order (each exporter logs its release())', () => {
    const log: string[] = []
    const exporter = (name: string) => ({
      [BUFFER_PROTOCOL]: () => ({
        buffer: new ArrayBuffer(4), byteOffset: 0, format: 'B', shape: [4], strides: [1], readonly: false,
        release: () => { log.push(name) },
      }),
    })
    {
      using a = memoryview(exporter('a'))
      using b = memoryview(exporter('b'))
      using _marker = { [Symbol.dispose]: () => { log.push(`marker:${a.released},${b.released}`) } }
      using c = memoryview(exporter('c'))
      expect([a, b, c].some((v) => v.released)).to.equal(false)
      void _marker
    }
    expect(log).to.deep.equal(['c', 'marker:false,false', 'b', 'a'])
  })

  it('a pin declared after its view is disposed first, so the view then releases cleanly', () => {
    let escaped: MemoryView
    {
      using m = memoryview(new Uint8Array(4))
      using pin = m.pin()
      expectError(() => m.release(), BufferError, EXPORTED)
      escaped = m
      void pin
    }
    expect(escaped.released).to.equal(true)
  })

  it('disposal of an exported view throws BufferError ERR_MEMORYVIEW_EXPORTED', () => {
    const b = new Uint8Array([7, 8])
    let pin: { release(): void } | undefined
    expectError(() => {
      using m = memoryview(b)
      pin = m.pin()
      // Leaving the block disposes m while the pin is held.
    }, BufferError, EXPORTED)
    pin!.release()
  })

  it('the exported view stays usable after the failed disposal', () => {
    let escaped: MemoryView | undefined
    let pin: { release(): void } | undefined
    try {
      using m = memoryview(new Uint8Array([1, 2]))
      escaped = m
      pin = m.pin()
    } catch (err) {
      expect(err).to.be.instanceOf(BufferError)
      expect((err as any).code).to.equal(EXPORTED)
    }
    expect(escaped!.released).to.equal(false)
    expect(escaped!.tolist()).to.deep.equal([1, 2])
    pin!.release()
    escaped!.release()
    expect(escaped!.released).to.equal(true)
  })

  it('block error + disposal error → SuppressedError(error: BufferError, suppressed: the block error)', () => {
    const boom = new Error('boom')
    let caught: any
    let pin: { release(): void } | undefined
    try {
      using m = memoryview(new Uint8Array(1))
      pin = m.pin()
      throw boom
    } catch (err) {
      caught = err
    }
    expect(caught.name).to.equal('SuppressedError')
    expect(caught.error).to.be.instanceOf(BufferError)
    expect(caught.error.code).to.equal(EXPORTED)
    expect(caught.suppressed).to.equal(boom)
    pin!.release()
  })

  it('a `using` Pin ends its export at the end of the block', () => {
    const m = memoryview(new Uint8Array(1))
    {
      using pin = m.pin()
      expectError(() => m.release(), BufferError, EXPORTED)
      void pin
    }
    m.release()
    expect(m.released).to.equal(true)
  })

  it('m[Symbol.dispose]() is release(): idempotent, and fine on an already released view', () => {
    const m = memoryview(new Uint8Array(1))
    expect(typeof m[Symbol.dispose]).to.equal('function')
    m[Symbol.dispose]()
    expect(m.released).to.equal(true)
    m[Symbol.dispose]()
    m.release()
    expect(m.released).to.equal(true)
  })
})
