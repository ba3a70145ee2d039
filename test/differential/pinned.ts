/**
 * Hand-written cases that always run with the generated ones, through the same oracle
 * and comparison: each pins a discrepancy the random search once found (or an edge the
 * generator reaches only rarely), so a default-seed run cannot miss it.
 */
import type { Case, JV, Op, Probe, Source } from './cases'

const I = (v: number): JV => ({ t: 'int', v: String(v) })
const B = (v: bigint | number | string): JV => ({ t: 'big', v: String(v) })
const S = (v: string): JV => ({ t: 'str', v })
const U: JV = { t: 'undef' }
const src = (hex: string, kind: Source['kind'] = 'Buffer', fmt = 'B'): Source => ({ kind, fmt, hex, off: 0 })
const cast = (fmt: string, shape?: number[]): Op => ({ op: 'cast', fmt: S(fmt), shape: shape === undefined ? U : { t: 'arr', v: shape.map(I) } })
const slice = (a: JV, b: JV, c: JV): Op => ({ op: 'slice', a, b, c })
const HUGE = '1180591620717411303424' // 2**70

const attrs: Probe = { p: 'attrs' }
const hexAll: Probe[] = [{ p: 'hex', sep: U, bps: U }, { p: 'hex', sep: S(' '), bps: U }, { p: 'hex', sep: S(':'), bps: I(-3) }, { p: 'tobytes', order: U }, { p: 'tolist' }]

export const PINNED: Case[] = [
  // CPython stores 'P' through PyLong_AsVoidPtr, which takes -2**63 .. 2**64-1.
  {
    src: src('0000000000000000'),
    chain: [cast('P')],
    probes: [attrs, { p: 'set', idx: [I(0)], val: B(-1) }, { p: 'get', idx: [I(0)] }, { p: 'set', idx: [I(0)], val: B(-(2n ** 63n)) },
      { p: 'get', idx: [I(0)] }, { p: 'set', idx: [I(0)], val: B(-(2n ** 63n) - 1n) }, { p: 'set', idx: [I(0)], val: I(-5) }, { p: 'tolist' }]
  },
  // get: an index that does not fit Py_ssize_t is an IndexError before the ndim check;
  // set checks ndim first (NotImplementedError).
  {
    src: src('000102030405'),
    chain: [cast('B', [3, 2])],
    probes: [attrs, { p: 'get', idx: [B(HUGE)] }, { p: 'set', idx: [B(HUGE)], val: I(1) }, { p: 'get', idx: [B('-' + HUGE)] }, { p: 'get', idx: [I(1)] }]
  },
  // Empty n-d views whose first element lies outside the buffer (CPython: '' and b'').
  { src: src('00010203'), chain: [cast('B', [1, 4]), slice(I(0), I(1), I(5)), slice(I(1), I(1), U)], probes: [attrs, ...hexAll] },
  { src: src('00010203'), chain: [cast('B', [1, 4]), slice(I(-2), I(-3), I(-3))], probes: [attrs, ...hexAll] },
  { src: src('000102030405060708090a0b0c0d0e0f10111213', 'Uint16Array', 'H'), chain: [cast('B'), cast('<H', [1, 10]), slice(I(-2), I(-3), I(-3))], probes: [attrs, ...hexAll] },
  // '?' views holding bytes other than 0/1: CPython compares them byte for byte.
  {
    src: src('d601'),
    chain: [cast('?')],
    probes: [attrs, { p: 'tolist' }, { p: 'equals', other: { kind: 'view', src: src('0101'), chain: [cast('?')] } },
      { p: 'equals', other: { kind: 'view', src: src('d601'), chain: [cast('?')] } }, { p: 'equals', other: { kind: 'raw', src: src('0101') } }]
  },
  // Zero-size shapes compare equal up to the first 0 (CPython's equiv_shape).
  {
    src: src('000102030405'),
    chain: [cast('B', [2, 3]), slice(I(0), I(0), U)],
    probes: [attrs, { p: 'equals', other: { kind: 'view', src: src('00010203040506070809'), chain: [cast('B', [2, 5]), slice(I(1), I(1), U)] } }]
  },
  // 'e' rounding and overflow (CPython 3.12 semantics), NaN and -0 round trips.
  {
    src: src('0000000000000000'),
    chain: [cast('e')],
    probes: [attrs, { p: 'set', idx: [I(0)], val: { t: 'num', v: '65519' } }, { p: 'set', idx: [I(1)], val: { t: 'num', v: '65520' } },
      { p: 'set', idx: [I(2)], val: { t: 'num', v: '-0' } }, { p: 'set', idx: [I(3)], val: { t: 'num', v: 'NaN' } },
      { p: 'set', idx: [I(1)], val: B(HUGE + '0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000') },
      { p: 'set', idx: [I(1)], val: { t: 'num', v: '5.960464477539063e-8' } }, { p: 'set', idx: [I(1)], val: { t: 'num', v: '2.9802322387695312e-8' } }, { p: 'tolist' }]
  },
  // Stores into 8-byte formats from JS numbers above 2**53 and from bigints around the limits.
  {
    src: src('00000000000000000000000000000000'),
    chain: [cast('q')],
    probes: [attrs, { p: 'set', idx: [I(0)], val: { t: 'num', v: '9223372036854775807' } }, { p: 'set', idx: [I(0)], val: { t: 'num', v: '-9223372036854775808' } },
      { p: 'set', idx: [I(1)], val: { t: 'num', v: '1e18' } }, { p: 'set', idx: [I(1)], val: B(2n ** 63n) }, { p: 'tolist' }]
  },
  // Overlapping self-assignment in both directions.
  {
    src: src('000102030405060708090a0b'),
    chain: [],
    probes: [{ p: 'assign', a: I(1), b: I(9), c: U, src: { kind: 'self', a: I(0), b: I(8), c: U } },
      { p: 'assign', a: I(0), b: I(8), c: U, src: { kind: 'self', a: I(2), b: I(10), c: U } },
      { p: 'assign', a: U, b: U, c: I(-1), src: { kind: 'self', a: U, b: U, c: U } }, { p: 'tolist' }]
  }
]
