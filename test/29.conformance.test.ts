/**
 * One behavioural suite run against every kind of source (CPython's test_buffer does the
 * same over its exporters). The list lives in helpers/sources.ts: adding a source kind there
 * (a mapped file, shared memory) runs all of this over it.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { memoryview, MemoryView, BufferError, BUFFER_PROTOCOL } from 'memoryview'
import { SOURCE_KINDS, SourceKind, MadeSource } from './helpers/sources'
import { decodeAll, decode, pattern } from './helpers/formats'
import { expectAllOperationsReleased, expectReleasedSurvivors } from './helpers/released'
import { expectError, EXPORTED, FORMAT, READONLY, RELEASED } from './helpers/errors'

const N = 6

function check(kind: SourceKind, fn: (m: MemoryView, made: MadeSource, bytes: Uint8Array) => void): () => void {
  return () => {
    const bytes = pattern(N * kind.itemsize, kind.name.length)
    const made = kind.make(bytes)
    try {
      fn(memoryview(made.source), made, bytes)
    } finally {
      made.dispose?.()
    }
  }
}

/** A value of `format` different from what the view holds at `i`, to store there. */
function otherValue(m: MemoryView, i: number): unknown {
  const v = m.get(i)
  if (typeof v === 'bigint') return v === 7n ? 8n : 7n
  if (typeof v === 'boolean') return !v
  if (Buffer.isBuffer(v)) return Buffer.from([v[0] ^ 0xff])
  return v === 7 ? 8 : 7
}

describe('29 conformance over every source kind', () => {
  for (const kind of SOURCE_KINDS) {
    describe(kind.name, () => {
      it('attributes', check(kind, (m, made) => {
        expect(m.format).to.equal(kind.format)
        expect(m.itemsize).to.equal(kind.itemsize)
        expect(m.ndim).to.equal(1)
        expect(m.shape).to.deep.equal([N])
        expect(m.strides).to.deep.equal([kind.itemsize])
        expect(m.suboffsets).to.deep.equal([])
        expect(m.nbytes).to.equal(N * kind.itemsize)
        expect(m.length).to.equal(N)
        expect([m.c_contiguous, m.f_contiguous, m.contiguous]).to.deep.equal([true, true, true])
        expect(m.readonly).to.equal(false)
        expect(m.released).to.equal(false)
        expect(m.obj).to.equal(made.obj)
      }))

      it('get, tolist, iteration and tobytes read the memory', check(kind, (m, _made, bytes) => {
        const want = decodeAll(kind.format, bytes)
        expect(m.tolist()).to.deep.equal(want)
        expect([...m]).to.deep.equal(want)
        for (let i = 0; i < N; i++) {
          expect(m.get(i)).to.deep.equal(want[i])
          expect(m.get(i - N)).to.deep.equal(want[i])
        }
        expect([...m.tobytes()]).to.deep.equal([...bytes])
        expect(m.hex()).to.equal(Buffer.from(bytes).toString('hex'))
      }))

      it('zero-copy both ways: set() reaches the memory, memory writes reach get()', check(kind, (m, made) => {
        const v = otherValue(m, 2)
        m.set(2, v as never)
        expect(decode(kind.format, made.memory, 2 * kind.itemsize)).to.deep.equal(m.get(2))
        made.memory[kind.itemsize * 4] ^= 0xff
        expect(m.get(4)).to.deep.equal(decode(kind.format, made.memory, 4 * kind.itemsize))
        expect([...m.tobytes()]).to.deep.equal([...made.memory])
      }))

      it('subarray (reversed, strided) is zero-copy', check(kind, (m, made, bytes) => {
        const want = decodeAll(kind.format, bytes)
        const r = m.subarray(null, null, -2)
        expect(r.tolist()).to.deep.equal([want[5], want[3], want[1]])
        expect(r.strides).to.deep.equal([-2 * kind.itemsize])
        r.set(0, otherValue(m, 5) as never)
        expect(decode(kind.format, made.memory, 5 * kind.itemsize)).to.deep.equal(r.get(0))
        expect(r.obj).to.equal(made.obj)
      }))

      it("cast('B') and back, and a 2-D cast", check(kind, (m, _made, bytes) => {
        const b = m.cast('B')
        expect(b.tolist()).to.deep.equal([...bytes])
        expect(b.cast(kind.format).tolist()).to.deep.equal(m.tolist())
        const two = b.cast(kind.format, [2, 3])
        expect(two.shape).to.deep.equal([2, 3])
        expect(two.get(1, 2)).to.deep.equal(m.get(5))
      }))

      it('assign from a copy of the bytes, overlap-safe on itself', check(kind, (m, made, bytes) => {
        const before = m.tolist() as unknown[]
        m.subarray(1).assign(m.subarray(0, N - 1))
        expect(m.tolist()).to.deep.equal([before[0], ...before.slice(0, N - 1)])
        m.cast('B').assign(bytes)
        expect([...made.memory]).to.deep.equal([...bytes])
      }))

      it('equals: the same memory, a copy, and the raw source', check(kind, (m, made, bytes) => {
        const copy = memoryview(new Uint8Array(bytes)).cast(kind.format)
        const hasNaN = (m.tolist() as unknown[]).some((v) => typeof v === 'number' && Number.isNaN(v))
        // struct semantics: NaN != NaN, so a float view holding a NaN equals nothing.
        expect(m.equals(copy)).to.equal(!hasNaN)
        expect(m.equals(made.source as any)).to.equal(!hasNaN)
        expect(m.cast('B').equals(bytes)).to.equal(true)
        const changed = new Uint8Array(bytes)
        changed[0] ^= 1
        expect(m.cast('B').equals(changed)).to.equal(false)
      }))

      it('hash of a readonly byte cast equals the hash of the same bytes', check(kind, (m, _made, bytes) => {
        expect(m.toreadonly().cast('B').hash()).to.equal(memoryview(Buffer.from(bytes)).toreadonly().hash())
      }))

      it('toreadonly refuses stores and leaves the memory alone', check(kind, (m, made, bytes) => {
        const r = m.toreadonly()
        expect(r.readonly).to.equal(true)
        expectError(() => r.set(0, otherValue(m, 0) as never), TypeError, READONLY)
        expectError(() => r.subarray(0, 1).assign(m.subarray(1, 2)), TypeError, READONLY)
        expect([...made.memory]).to.deep.equal([...bytes])
      }))

      it('toTypedArray (when the format has one) shares the memory', check(kind, (m, made) => {
        if (kind.format === 'e' && !('Float16Array' in globalThis)) {
          expectError(() => m.toTypedArray(), TypeError, FORMAT)
          return
        }
        const ta = m.toTypedArray()
        expect(ta.byteLength).to.equal(made.memory.byteLength)
        expect(ta.buffer).to.equal(made.memory.buffer)
        expect(ta.byteOffset).to.equal(made.memory.byteOffset)
      }))

      it('memoryview(view) shares obj; derived views survive release', check(kind, (m, made) => {
        const v = memoryview(m)
        const s = m.subarray(1, 3)
        expect(v.obj).to.equal(made.obj)
        const all = m.tolist()
        const want = s.tolist()
        m.release()
        expect(v.tolist()).to.deep.equal(all)
        expect(s.tolist()).to.deep.equal(want)
      }))

      it('pins and buffer-protocol exports block release; release() then works', check(kind, (m) => {
        const pin = m.pin()
        expectError(() => m.release(), BufferError, EXPORTED)
        const d = (m as any)[BUFFER_PROTOCOL]()
        pin.release()
        expectError(() => m.release(), BufferError, EXPORTED)
        d.release()
        m.release()
        expect(m.released).to.equal(true)
      }))

      it('released: every operation throws ERR_MEMORYVIEW_RELEASED; the source stays usable', check(kind, (m, made, bytes) => {
        m.release()
        expectAllOperationsReleased(m)
        expectReleasedSurvivors(m)
        expectError(() => m.get(0), Error, RELEASED)
        expect([...made.memory]).to.deep.equal([...bytes])
        expect(memoryview(made.source).tolist()).to.deep.equal(decodeAll(kind.format, bytes))
      }))
    })
  }
})
