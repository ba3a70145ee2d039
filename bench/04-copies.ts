/**
 * Question: do the bulk operations cost what Node's own Buffer operations cost?
 * Targets (issue 2): tobytes() of a contiguous view within 1.2x of Buffer.from(buf); hex() without
 * separator within 1.2x of buf.toString('hex'); equals() of two contiguous 'B' views within 1.2x of
 * buf.equals(). Each at 64 B, 64 KiB and 16 MiB (per-call overhead, cache-resident, memory-bound).
 */
import { memoryview } from 'memoryview'
import { KiB, MiB, Row, benchMain, compare, row, sizeName } from './common'

const SIZES = [64, 64 * KiB, 16 * MiB]

/** Calls per timed repetition, so that one repetition lasts about a millisecond or more. */
function opsFor(size: number): number {
  return Math.max(1, Math.round((256 * KiB) / size))
}

function data(size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff
  return b
}

function loop<T>(op: () => T): (n: number) => T {
  return (n) => {
    let r = op()
    for (let k = 1; k < n; k++) r = op()
    return r
  }
}

function sized(name: string, baseName: string, make: (buf: Buffer, ops: number) => [() => unknown, () => unknown]): Row[] {
  return SIZES.map((size) => {
    const ops = opsFor(size)
    const [base, ours] = make(data(size), ops)
    const t = compare(loop(base), loop(ours), { reps: size >= MiB ? 15 : 40, ops, n: ops })
    return row(`${name} ${sizeName(size)}`, t.ours, t.base, baseName, 'ns/op', { kind: 'ratio', max: 1.2 })
  })
}

benchMain({
  tobytes: () =>
    sized('tobytes()', 'Buffer.from(buf)', (buf) => {
      const m = memoryview(buf)
      if (!m.tobytes().equals(buf)) throw new Error('tobytes differs')
      return [() => Buffer.from(buf), () => m.tobytes()]
    }),
  hex: () =>
    sized('hex()', "buf.toString('hex')", (buf) => {
      const m = memoryview(buf)
      if (m.hex() !== buf.toString('hex')) throw new Error('hex differs')
      return [() => buf.toString('hex'), () => m.hex()]
    }),
  equals: () =>
    sized("equals() 'B'", 'buf.equals(buf2)', (buf) => {
      const other = Buffer.from(buf)
      const m = memoryview(buf)
      const w = memoryview(other)
      if (!m.equals(w)) throw new Error('equals differs')
      return [() => buf.equals(other), () => m.equals(w)]
    }),
})
