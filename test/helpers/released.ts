/**
 * Every operation of a MemoryView, tried on a released view. CPython raises
 * "operation forbidden on released memoryview object" for each; here that is a plain Error
 * with code ERR_MEMORYVIEW_RELEASED. The few members that keep working after release
 * (`released`, `release()`, disposal, `String()`, `toJSON()`, `equals`, a cached `hash()`) are checked
 * separately by `expectReleasedSurvivors`.
 */
import { expect } from 'chai'
import * as util from 'node:util'
import { memoryview, MemoryView, BUFFER_PROTOCOL } from 'memoryview'
import { expectError, RELEASED } from './errors'

type Op = [name: string, run: (m: MemoryView) => unknown]

/** Operations that must throw ERR_MEMORYVIEW_RELEASED on a released view. */
export const RELEASED_OPERATIONS: readonly Op[] = [
  ['obj', (m) => m.obj],
  ['nbytes', (m) => m.nbytes],
  ['readonly', (m) => m.readonly],
  ['format', (m) => m.format],
  ['itemsize', (m) => m.itemsize],
  ['ndim', (m) => m.ndim],
  ['shape', (m) => m.shape],
  ['strides', (m) => m.strides],
  ['suboffsets', (m) => m.suboffsets],
  ['c_contiguous', (m) => m.c_contiguous],
  ['f_contiguous', (m) => m.f_contiguous],
  ['contiguous', (m) => m.contiguous],
  ['length', (m) => m.length],
  ['get(0)', (m) => m.get(0)],
  ['get(-1)', (m) => m.get(-1)],
  ['get(100) (released is checked before the index)', (m) => m.get(100)],
  ['get()', (m) => m.get()],
  ['set(0, 1)', (m) => m.set(0, 1)],
  ['set(100, 1) (released is checked before the index)', (m) => m.set(100, 1)],
  ['subarray()', (m) => m.subarray()],
  ['subarray(0, 1)', (m) => m.subarray(0, 1)],
  ['tobytes()', (m) => m.tobytes()],
  ["tobytes('F')", (m) => m.tobytes('F')],
  ['hex()', (m) => m.hex()],
  ["hex(':', 2)", (m) => m.hex(':', 2)],
  ['tolist()', (m) => m.tolist()],
  ['toreadonly()', (m) => m.toreadonly()],
  ["cast('B')", (m) => m.cast('B')],
  ["cast('B', [2, 2])", (m) => m.cast('B', [2, 2])],
  ['hash() (none computed before release)', (m) => m.hash()],
  ['[Symbol.iterator]()', (m) => m[Symbol.iterator]()],
  ['spread [...m]', (m) => [...m]],
  ['toTypedArray()', (m) => m.toTypedArray()],
  ['valueOf()', (m) => m.valueOf()],
  ['Buffer.from(m) (valueOf: never zeros)', (m) => Buffer.from(m)],
  ['pin()', (m) => m.pin()],
  ['[BUFFER_PROTOCOL]() (export)', (m) => (m as any)[BUFFER_PROTOCOL]()],
  ['memoryview(m)', (m) => memoryview(m)],
  ['new MemoryView(m)', (m) => new MemoryView(m)],
  ['as the source of assign()', (m) => memoryview(new Uint8Array(4)).subarray(0, 4).assign(m)],
  ['share()', (m) => m.share()],
  // Released is checked before the format, the memory (heap here) and the indices.
  ['load(0)', (m) => m.load(0)],
  ['store(0, 1)', (m) => m.store(0, 1)],
  ['add(0, 1)', (m) => m.add(0, 1)],
  ['sub(0, 1)', (m) => m.sub(0, 1)],
  ['and(0, 1)', (m) => m.and(0, 1)],
  ['or(0, 1)', (m) => m.or(0, 1)],
  ['xor(0, 1)', (m) => m.xor(0, 1)],
  ['exchange(0, 1)', (m) => m.exchange(0, 1)],
  ['compareExchange(0, 1, 2)', (m) => m.compareExchange(0, 1, 2)],
  // Released is checked before the format and the kind of memory (any released view throws it).
  ['wait(0, 0, 0)', (m) => (m as any).wait(0, 0, 0)],
  ['waitAsync(0, 0) (throws synchronously)', (m) => (m as any).waitAsync(0, 0)],
  ['notify(0)', (m) => (m as any).notify(0)],
]

/** Asserts every entry of RELEASED_OPERATIONS throws ERR_MEMORYVIEW_RELEASED on `m`. */
export function expectAllOperationsReleased(m: MemoryView): void {
  for (const [name, run] of RELEASED_OPERATIONS) {
    try {
      expectError(() => run(m), Error, RELEASED)
    } catch (err) {
      throw new Error(`released view, operation ${name}: ${(err as Error).message}`)
    }
  }
}

/** Asserts what still works on a released view, as in CPython. */
export function expectReleasedSurvivors(m: MemoryView): void {
  expect(m.released).to.equal(true)
  // m.release() twice is a no-op in CPython; so is __exit__ on a released view.
  expect(() => m.release()).not.to.throw()
  expect(() => m[Symbol.dispose]()).not.to.throw()
  expect(String(m)).to.match(/^<released memory at 0x[0-9a-f]+>$/)
  expect(util.inspect(m)).to.contain('released memory')
  expect(`${m}`).to.equal(String(m))
  expect(m.toJSON()).to.deep.equal({ type: 'memoryview', released: true })
  // CPython: a released view equals only itself (`m == m` is True, `m == other` False).
  expect(m.equals(m)).to.equal(true)
  expect(m.equals(new Uint8Array(0))).to.equal(false)
  expect(m.equals(memoryview(new Uint8Array(0)))).to.equal(false)
}
