import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView } from 'memoryview'
import { RELEASED_OPERATIONS, expectAllOperationsReleased, expectReleasedSurvivors } from './helpers/released'
import { expectError, RELEASED } from './helpers/errors'

const layouts: [string, () => MemoryView][] = [
  ['1-D bytes', () => memoryview(new Uint8Array(8))],
  ["2-D 'h'", () => memoryview(new Uint8Array(8)).cast('h', [2, 2])],
  ['0-D', () => memoryview(new Uint8Array(2)).cast('h', [])],
  ['strided slice', () => memoryview(new Uint8Array(8)).subarray(null, null, -2)],
  ['readonly', () => memoryview(new Uint8Array(8)).toreadonly()],
  ['view of a view', () => memoryview(memoryview(new Float64Array(2)))],
]

describe('21 released views', () => {
  describe('every operation throws ERR_MEMORYVIEW_RELEASED (Error), on every layout', () => {
    for (const [layout, make] of layouts) {
      for (const [op, run] of RELEASED_OPERATIONS) {
        it(`${layout}: ${op}`, () => {
          const m = make()
          m.release()
          expectError(() => run(m), Error, RELEASED)
        })
      }
    }
  })

  it('the helper covers every method and getter on the prototype', () => {
    // A new member added to MemoryView must be added to helpers/released.ts too.
    const names = Object.getOwnPropertyNames(MemoryView.prototype).filter((n) => n !== 'constructor' && !n.startsWith('_'))
    const covered = new Set(RELEASED_OPERATIONS.map(([n]) => /^\w+/.exec(n)?.[0]))
    // Members that work after release (CPython: repr, ==, release) or are tested separately below.
    for (const n of ['released', 'release', 'equals', 'toString', 'toJSON', 'assign']) covered.add(n)
    expect(names.filter((n) => !covered.has(n))).to.deep.equal([])
  })

  it('assign() on a slice released after it was made → RELEASED, nothing written', () => {
    const b = new Uint8Array(4)
    const s = memoryview(b).subarray(0, 2)
    s.release()
    expectError(() => s.assign(new Uint8Array([1, 2])), Error, RELEASED)
    expect([...b]).to.deep.equal([0, 0, 0, 0])
  })

  describe('what keeps working after release (as CPython)', () => {
    for (const [layout, make] of layouts) {
      it(layout, () => {
        const m = make()
        m.release()
        expectAllOperationsReleased(m)
        expectReleasedSurvivors(m)
      })
    }
  })

  it('release() is idempotent and returns undefined', () => {
    const m = memoryview(new Uint8Array(2))
    expect(m.release()).to.equal(undefined)
    expect(m.release()).to.equal(undefined)
    expect(m.released).to.equal(true)
  })

  it('releasing a view does not release its source or sibling views', () => {
    const b = new Uint8Array([1, 2])
    const a = memoryview(b)
    const c = memoryview(b)
    a.release()
    expect(c.tolist()).to.deep.equal([1, 2])
    expect([...b]).to.deep.equal([1, 2])
  })

  it('a released view is no longer a source (memoryview(released) → RELEASED)', () => {
    const m = memoryview(new Uint8Array(2))
    m.release()
    expectError(() => memoryview(m), Error, RELEASED)
    // ...but comparing with it is allowed and false (CPython: m2 == released → False).
    expect(memoryview(new Uint8Array(0)).equals(m)).to.equal(false)
  })
})
