/**
 * Shared by test/90.npy and test/91.npz: the numpy oracle (test/fixtures/npy-oracle.py, one python3
 * process per call with every command in it), the dtype and shape matrix, tolist() encoding, and
 * hand-made .npy bytes.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ORACLE = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'npy-oracle.py')
export const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** numpy dtype strings and the view format openNpy gives them on this machine. */
export const DTYPES: [string, string][] = []
for (const [kind, letter] of [['b1', '?'], ['i1', 'b'], ['u1', 'B']]) DTYPES.push([`|${kind}`, letter])
for (const [kind, letter] of [['i2', 'h'], ['u2', 'H'], ['i4', 'i'], ['u4', 'I'], ['i8', 'q'], ['u8', 'Q'],
  ['f2', 'e'], ['f4', 'f'], ['f8', 'd']]) {
  DTYPES.push([`<${kind}`, LE ? letter : `<${letter}`], [`>${kind}`, LE ? `>${letter}` : letter])
}
export const SHAPES: number[][] = [[], [0], [5], [3, 4], [2, 0, 3], [2, 3, 4], [2, 3, 2, 3]]

/** tolist() encoded as the oracle encodes numpy's: ints as strings, special floats as strings. */
export function enc(v: unknown, float: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => enc(x, float))
  if (typeof v === 'boolean') return v
  if (typeof v === 'bigint') return String(v)
  const n = v as number
  if (!float) return String(n)
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (Object.is(n, -0)) return '-0'
  return n
}

export function runOracle(request: object): any {
  const r = spawnSync('python3', [ORACLE], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 50_000 })
  if (r.status !== 0) throw new Error(`npy-oracle.py failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** A .npy file from a header text, as numpy lays it out (magic, version, length, header, data). */
export function npyFile(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Buffer {
  const start = version === 1 ? 10 : 12
  const h = Buffer.from(header, version === 3 ? 'utf8' : 'latin1')
  const pre = Buffer.alloc(start)
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(pre)
  if (version === 1) pre.writeUInt16LE(h.length, 8)
  else pre.writeUInt32LE(h.length, 8)
  return Buffer.concat([pre, h, data])
}

/** True when this process maps a file whose path contains `name` (Linux: /proc/self/maps). */
export function mapped(name: string): boolean {
  return readFileSync('/proc/self/maps', 'utf8').includes(name)
}

