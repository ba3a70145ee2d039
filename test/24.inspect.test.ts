import { describe, it } from 'mocha'
import { expect } from 'chai'
import * as util from 'node:util'
import { memoryview } from 'memoryview'

const addr = (s: string) => /0x[0-9a-f]+/.exec(s)?.[0]

describe('24 String() and util.inspect (repr)', () => {
  it("String(m) is '<memory at 0x…>' (repr(memoryview(b'')))", () => {
    const m = memoryview(new Uint8Array(4))
    expect(String(m)).to.match(/^<memory at 0x[0-9a-f]+>$/)
    expect(`${m}`).to.equal(String(m))
    expect(m.toString()).to.equal(String(m))
  })

  it('the address is stable for one view and differs between live views (as id())', () => {
    const b = new Uint8Array(4)
    const a = memoryview(b)
    const c = memoryview(b)
    expect(String(a)).to.equal(String(a))
    expect(addr(String(a))).not.to.equal(addr(String(c)))
    expect(addr(String(a.subarray(1)))).not.to.equal(addr(String(a)))
  })

  it("after release: '<released memory at 0x…>' with the same address", () => {
    const m = memoryview(new Uint8Array(4))
    const before = addr(String(m))
    m.release()
    expect(String(m)).to.match(/^<released memory at 0x[0-9a-f]+>$/)
    expect(addr(String(m))).to.equal(before)
  })

  it('util.inspect shows the repr (and may add format/shape)', () => {
    const m = memoryview(new Uint8Array(4)).cast('h', [2, 1])
    const s = util.inspect(m)
    expect(s).to.match(/^<memory at 0x[0-9a-f]+/)
    expect(addr(s)).to.equal(addr(String(m)))
  })

  it('util.inspect of a released view does not throw and says released', () => {
    const m = memoryview(new Uint8Array(4))
    m.release()
    const s = util.inspect(m)
    expect(s).to.match(/^<released memory at 0x[0-9a-f]+/)
  })

  it('inspect works nested, at depth 0, for 0-D, empty and huge-ndim views, with colors', () => {
    const b = new Uint8Array(2)
    const views = [
      memoryview(b).cast('h', []),
      memoryview(new Uint8Array(0)),
      memoryview(new Uint8Array(1)).cast('B', new Array(64).fill(1)),
      memoryview(b).toreadonly(),
    ]
    for (const v of views) {
      expect(util.inspect({ v }, { depth: 0 })).to.contain('memory at 0x')
      expect(util.inspect([v], { colors: true })).to.contain('memory at 0x')
      expect(util.format('%s %o %O', v, v, v)).to.contain('memory at 0x')
    }
  })

  it('String() and inspect never touch the data (a view over a detached buffer still prints)', () => {
    const ab = new ArrayBuffer(4)
    const m = memoryview(ab)
    structuredClone(ab, { transfer: [ab] })
    expect(String(m)).to.match(/^<memory at 0x[0-9a-f]+>$/)
    expect(() => util.inspect(m)).not.to.throw()
  })
})
