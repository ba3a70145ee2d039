/**
 * Question: what does it cost to map a small file and unmap it again?
 * Target (issue 3): open + map + close of a small (4 KiB) file under 20 µs per cycle (20000 ns).
 * Baselines measured in the same process, interleaved with ours: reading the same file with
 * fs.openSync + fs.readSync + fs.closeSync, with fs.readFileSync, and (for an fd that stays open)
 * one positional fs.readSync.
 *
 * The file lives in os.tmpdir() and is written (so its page is in the page cache) before timing;
 * it is deleted at the end of the case. Each cycle closes its mapping (munmap happens in close(),
 * not at GC), so a run of many cycles also shows that nothing accumulates.
 * mmap().close() makes no ArrayBuffer (it is made when `buf` is first used), so the first case is
 * the system calls (open, fstat, mmap, close, munmap) plus the owner object; the 'read a byte' case
 * includes making the buffer and one page fault. Target of issue 9: <= 2x openSync+readSync+closeSync.
 * Where the floor is: the five system calls take about 7.0-7.4 us in C on the 2-core test VM (timed
 * one at a time: open about 26% of it, fstat 5%, mmap 31%, close 4%, munmap 34%; a system call that
 * does nothing costs 0.16 us here), against 2.7-3.2 us for open+pread+close (2.4-2.6x in C). Node adds about
 * 0.7-1.1 us to the baseline; the same five calls made from two minimal Node-API functions (one
 * string argument, no bookkeeping) measure about 1.85-1.9x. Above that we spend about 0.5 us:
 * roughly 4,100 user-space instructions per cycle (callgrind, `node --predictable`), about 1,800
 * of them JS (mmap(), the owner objects, close()) and 2,300 native (two Node-API calls, the path's
 * UTF-8 copy, the id table), against 900 for the minimal pair; each 0.4 us adds 0.1 to the ratio.
 * Replacing fstat by lseek(SEEK_END) would save 0.24 us, but lseek cannot tell a regular file from
 * a block device (whose fstat size is 0: refused as an empty file, as Python 3.11 does).
 * Short repetitions (500 cycles) rarely include a garbage collection; the 'sustained' case times
 * repetitions of 20000 cycles, which include the scavenges that collect each cycle's wrappers, so
 * its figure is the amortized cost of a long open/close loop.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mmap } from 'memoryview'
import { KiB, Row, benchMain, compare, row, sizeName } from './common'

const SIZE = 4 * KiB
/** Cycles per timed repetition: a repetition lasts a few milliseconds. */
const OPS = 500
const TARGET = { kind: 'abs', maxNs: 20000 } as const

function withFile(fn: (path: string) => Row[]): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'mv-bench-07-'))
  const path = join(dir, 'small.bin')
  const data = Buffer.alloc(SIZE)
  for (let i = 0; i < SIZE; i++) data[i] = (i * 31 + 7) & 0xff
  writeFileSync(path, data)
  try {
    // Same bytes through both paths, checked once before timing.
    const m = mmap(path)
    const same = Buffer.from(m.buf.tobytes()).equals(readFileSync(path))
    m.close()
    if (!same) throw new Error('mapped bytes differ from the file')
    return fn(path)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The baseline: open, read the whole small file, close. */
function openReadClose(path: string, scratch: Buffer): number {
  const fd = openSync(path, 'r')
  const n = readSync(fd, scratch, 0, SIZE, 0)
  closeSync(fd)
  return n
}

function loop(op: () => unknown): (n: number) => unknown {
  return (n) => {
    let r: unknown
    for (let k = 0; k < n; k++) r = op()
    return r
  }
}

function timed(name: string, baseName: string, base: () => unknown, ours: () => unknown, ops = OPS, reps = 40): Row {
  const t = compare(loop(base), loop(ours), { reps, ops, n: ops, warmup: ops === OPS ? 5 : 1 })
  return row(name, t.ours, t.base, baseName, 'ns/op', TARGET)
}

benchMain({
  'path vs open+read+close': () =>
    withFile((path) => {
      const scratch = Buffer.alloc(SIZE)
      return [timed(
        `mmap(path).close() ${sizeName(SIZE)}`, 'openSync+readSync+closeSync',
        () => openReadClose(path, scratch),
        () => mmap(path).close(),
      )]
    }),
  'path vs readFileSync': () =>
    withFile((path) => [timed(
      `mmap(path).close() ${sizeName(SIZE)}`, 'readFileSync',
      () => readFileSync(path),
      () => mmap(path).close(),
    )]),
  'path, read a byte': () =>
    withFile((path) => {
      const scratch = Buffer.alloc(SIZE)
      // Ours touches the mapped page (one page fault), as the baseline touches the data it reads.
      return [timed(
        `mmap(path) + buf.get(0) + close() ${sizeName(SIZE)}`, 'openSync+readSync+closeSync',
        () => {
          const fd = openSync(path, 'r')
          readSync(fd, scratch, 0, SIZE, 0)
          closeSync(fd)
          return scratch[0]
        },
        () => {
          const m = mmap(path)
          const v = m.buf.get(0)
          m.close()
          return v
        },
      )]
    }),
  'path, sustained 20000 cycles': () =>
    withFile((path) => {
      const scratch = Buffer.alloc(SIZE)
      return [timed(
        `mmap(path).close() ${sizeName(SIZE)}, 20000-cycle reps`, 'openSync+readSync+closeSync',
        () => openReadClose(path, scratch),
        () => mmap(path).close(),
        20000, 5,
      )]
    }),
  'fd vs open+read+close': () =>
    withFile((path) => {
      const scratch = Buffer.alloc(SIZE)
      const fd = openSync(path, 'r')
      try {
        return [timed(
          `mmap(fd).close() ${sizeName(SIZE)}`, 'openSync+readSync+closeSync',
          () => openReadClose(path, scratch),
          () => mmap(fd).close(),
        )]
      } finally {
        closeSync(fd)
      }
    }),
  'fd vs readSync(fd)': () =>
    withFile((path) => {
      const scratch = Buffer.alloc(SIZE)
      const fd = openSync(path, 'r')
      try {
        return [timed(
          `mmap(fd).close() ${sizeName(SIZE)}`, 'readSync(fd, pos 0)',
          () => readSync(fd, scratch, 0, SIZE, 0),
          () => mmap(fd).close(),
        )]
      } finally {
        closeSync(fd)
      }
    }),
})
