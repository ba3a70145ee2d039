/**
 * Question: does opening a numpy .npy file cost O(header), whatever its size, and how does open + sum
 * compare with reading the file and parsing it?
 * Target (issue 11): openNpy() + close() under 1 ms (1e6 ns), the same for a 1 MiB and a 1 GiB file.
 * Baselines measured in the same process, interleaved with ours: fs.readFileSync + a minimal .npy
 * parser (header length, shape by regex, a Float64Array over the data) for the real files, and, for
 * the 1 GiB file, opening the 1 MiB file (so the ratio shows whether the size matters).
 *
 * The 1 GiB file is sparse (a real header, then a hole): open time does not depend on the data's
 * pages, and writing 1 GiB would dominate the run. The sums use a real 64 MiB float64 file (in the
 * page cache, as it was just written); readFileSync of the sparse 1 GiB file is not timed (it would
 * read and allocate 1 GiB per repetition). Files live in os.tmpdir() and are deleted at the end.
 * Finding (node 20): an external ArrayBuffer of 1 GiB costs a V8 Mark-Compact per open (its length
 * counts as external memory; see --trace-gc). Since ABI 8 mmap() makes that buffer only when a view
 * needs it, so mmap().close() alone no longer pays it, but openNpy() does (its `array` is a view):
 * the second row compares openNpy with mmap().close() on the same file, which shows that cost.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mmap, openNpy } from 'memoryview'
import { MiB, Row, benchMain, compare, row, sizeName } from './common'

const OPEN_TARGET = { kind: 'abs', maxNs: 1e6 } as const

/** A .npy file of float64 of `bytes` bytes of data; sparse (only the header written) when `sparse`. */
function writeNpy(path: string, bytes: number, sparse: boolean): void {
  const n = bytes / 8
  const data = new Float64Array(sparse ? 0 : n)
  for (let k = 0; k < data.length; k++) data[k] = (k % 1000) * 0.5
  // numpy's layout: magic, version 1.0, header length, the dict padded with spaces to 64 bytes, '\n'.
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${n},), }`
  const fixed = Buffer.alloc(128, 0x20)
  Buffer.from('\x93NUMPY\x01\x00', 'latin1').copy(fixed)
  fixed.writeUInt16LE(118, 8)
  fixed.write(dict, 10, 'latin1')
  fixed[127] = 0x0a
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, fixed)
    if (sparse) ftruncateSync(fd, fixed.length + bytes)
    else writeSync(fd, new Uint8Array(data.buffer))
  } finally {
    closeSync(fd)
  }
}

/** The baseline parser: what a user without this package writes for a 1-D float64 .npy file. */
function readAndParse(path: string): Float64Array {
  const buf = readFileSync(path)
  const headerLen = buf.readUInt16LE(8)
  const header = buf.toString('latin1', 10, 10 + headerLen)
  const m = /'shape': \((\d+),\)/.exec(header)
  if (m === null || !header.includes("'<f8'")) throw new Error('unexpected header')
  return new Float64Array(buf.buffer, buf.byteOffset + 10 + headerLen, Number(m[1]))
}

function withFiles(fn: (dir: string) => Row[]): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'mv-bench-12-'))
  try {
    return fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function sum(a: Float64Array): number {
  let s = 0
  for (let k = 0; k < a.length; k++) s += a[k]
  return s
}

function loop(op: () => unknown): (n: number) => unknown {
  return (n) => {
    let r: unknown
    for (let k = 0; k < n; k++) r = op()
    return r
  }
}

benchMain({
  'open 1 MiB vs readFileSync + parse': () =>
    withFiles((dir) => {
      const file = join(dir, 'small.npy')
      writeNpy(file, MiB, false)
      const ops = 50
      const t = compare(loop(() => readAndParse(file).length), loop(() => openNpy(file).close()), { reps: 30, ops, n: ops })
      return [row(`openNpy().close() ${sizeName(MiB)}`, t.ours, t.base, 'readFileSync+parse', 'ns/op', OPEN_TARGET)]
    }),
  'open 1 GiB (sparse) vs open 1 MiB': () =>
    withFiles((dir) => {
      const small = join(dir, 'small.npy')
      const big = join(dir, 'big.npy')
      writeNpy(small, MiB, false)
      writeNpy(big, 1024 * MiB, true)
      using check = openNpy(big)
      if (check.shape[0] !== 128 * MiB || check.array.nbytes !== 1024 * MiB) throw new Error('bad 1 GiB file')
      check.close()
      const ops = 50
      const t = compare(loop(() => openNpy(small).close()), loop(() => openNpy(big).close()), { reps: 30, ops, n: ops })
      // The same file through mmap() alone, which makes no ArrayBuffer: the difference is the format
      // layer plus the buffer openNpy's view needs (and the garbage collection V8 starts for it).
      const m = compare(loop(() => mmap(big).close()), loop(() => openNpy(big).close()), { reps: 30, ops, n: ops })
      return [
        row(`openNpy().close() ${sizeName(1024 * MiB)}`, t.ours, t.base, `openNpy 1 MiB`, 'ns/op', OPEN_TARGET),
        row(`openNpy().close() ${sizeName(1024 * MiB)}`, m.ours, m.base, `mmap().close() 1 GiB`, 'ns/op', { kind: 'none' }),
      ]
    }),
  'open + sum 64 MiB vs readFileSync + parse + sum': () =>
    withFiles((dir) => {
      const file = join(dir, 'sum.npy')
      writeNpy(file, 64 * MiB, false)
      const base = (): number => sum(readAndParse(file))
      const viaTyped = (): number => {
        using f = openNpy(file)
        return sum(f.array.toTypedArray() as Float64Array)
      }
      const viaGet = (): number => {
        using f = openNpy(file)
        const a = f.array
        const n = a.length
        let s = 0
        for (let k = 0; k < n; k++) s += a.get(k) as number
        return s
      }
      if (base() !== viaTyped() || base() !== viaGet()) throw new Error('sums differ')
      const t1 = compare(base, viaTyped, { reps: 10, ops: 1, warmup: 2 })
      const t2 = compare(base, viaGet, { reps: 10, ops: 1, warmup: 2 })
      return [
        row('openNpy + toTypedArray() sum 64 MiB', t1.ours / 1e6, t1.base / 1e6, 'readFileSync+parse+sum', 'ms', { kind: 'faster' }),
        row('openNpy + array.get(i) sum 64 MiB', t2.ours / 1e6, t2.base / 1e6, 'readFileSync+parse+sum', 'ms', { kind: 'none' }),
      ]
    }),
})
