import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview } from 'memoryview'
import { expectError, INVALID_INDEX, NOT_IMPLEMENTED, RELEASED } from './helpers/errors'

const range = (n: number) => new Uint8Array(Array.from({ length: n }, (_, i) => i))

describe('20 iteration', () => {
  it('iterates the elements of a 1-D view, in view order (list(m[::-2]) == [5, 3, 1])', () => {
    expect([...memoryview(range(6)).subarray(null, null, -2)]).to.deep.equal([5, 3, 1])
    expect(Array.from(memoryview(new Float64Array([0.5, -1])))).to.deep.equal([0.5, -1])
    expect([...memoryview(new BigUint64Array([1n, 2n]))]).to.deep.equal([1n, 2n])
    expect([...memoryview(range(2)).cast('c')]).to.deep.equal([Buffer.from([0]), Buffer.from([1])])
    expect([...memoryview(range(2)).cast('?')]).to.deep.equal([false, true])
    expect([...memoryview(range(4)).cast('>h')]).to.deep.equal([1, 0x0203])
    expect([...memoryview(new Uint8Array(0))]).to.deep.equal([])
  })

  it('for..of works and the iterator is itself iterable', () => {
    const out: number[] = []
    for (const v of memoryview(range(3))) out.push(v as number)
    expect(out).to.deep.equal([0, 1, 2])
    const it = memoryview(range(3))[Symbol.iterator]()
    expect(typeof (it as any)[Symbol.iterator]).to.equal('function')
    expect([...(it as any)]).to.deep.equal([0, 1, 2])
  })

  it('reads live data (it = iter(m); next(it); m[1] = 99; next(it) == 99)', () => {
    const b = range(4)
    const m = memoryview(b)
    const it = m[Symbol.iterator]()
    expect(it.next()).to.deep.equal({ value: 0, done: false })
    m.set(1, 99)
    expect(it.next().value).to.equal(99)
    b[2] = 77
    expect(it.next().value).to.equal(77)
    expect(it.next().value).to.equal(3)
    expect(it.next().done).to.equal(true)
    expect(it.next().done).to.equal(true)
  })

  it('next() after the view is released → ERR_MEMORYVIEW_RELEASED', () => {
    const m = memoryview(range(4))
    const it = m[Symbol.iterator]()
    it.next()
    m.release()
    expectError(() => it.next(), Error, RELEASED)
  })

  it('an iterator is not an export: release() succeeds while one is open', () => {
    const m = memoryview(range(4))
    const it = m[Symbol.iterator]()
    it.next()
    expect(() => m.release()).not.to.throw()
    expect(m.released).to.equal(true)
  })

  it('an iterator over a derived view survives the release of its parent', () => {
    const p = memoryview(range(4))
    const s = p.subarray(1)
    const it = s[Symbol.iterator]()
    p.release()
    expect([...(it as any)]).to.deep.equal([1, 2, 3])
  })

  it('n-D → NOT_IMPLEMENTED (iter(m.cast("B",[2,3])): multi-dimensional sub-views)', () => {
    expectError(() => memoryview(range(6)).cast('B', [2, 3])[Symbol.iterator](), Error, NOT_IMPLEMENTED)
    expectError(() => [...memoryview(range(6)).cast('B', [2, 3])], Error, NOT_IMPLEMENTED)
  })

  it('0-D → TypeError INVALID_INDEX (invalid indexing of 0-dim memory)', () => {
    expectError(() => memoryview(range(2)).cast('h', [])[Symbol.iterator](), TypeError, INVALID_INDEX)
  })
})
