/**
 * External memory can never crash the process (issue 3): every crash-prone case runs in a child
 * process that must exit cleanly (status 0, no signal) and print what it saw.
 * - use after close through every path: MemoryView operations, the TypedArray from
 *   toTypedArray(), a DataView over its buffer, memoryview() of them;
 * - a write through toTypedArray() on a 'read' mapping neither faults nor reaches the file;
 * - durability: a child killed with SIGKILL right after flush() leaves the bytes on disk;
 * - a mapping never closed is unmapped by garbage collection, and not while a view lives.
 */
import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const entry = require.resolve('memoryview')
const releasedHelper = path.join(__dirname, 'helpers', 'released.js')

/** Runs a fixture; asserts a clean exit and returns its last stdout line parsed as JSON. */
function runChild(args: string[], nodeFlags: string[] = []): any {
  const r = spawnSync(process.execPath, [...nodeFlags, ...args], { encoding: 'utf8', timeout: 60000 })
  expect(r.signal, `child killed by ${r.signal}; stderr: ${r.stderr}`).to.equal(null)
  expect(r.status, `child exit ${r.status}; stderr: ${r.stderr}`).to.equal(0)
  const lines = r.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}

describe('72 safety: external memory cannot crash the process', () => {
  let dir: string
  let count = 0
  const file = (): string => path.join(dir, `f${count++}`)

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-72-'))
  })
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })

  for (const kind of ['mmap', 'shm']) {
    const what = kind === 'mmap' ? 'a mapped file' : 'shared memory'
    it(`use after close of ${what}: every MemoryView path throws ERR_MEMORYVIEW_RELEASED, TypedArrays read as empty, no crash`, () => {
      const out = runChild([path.join(fixtures, 'mmap-use-after-close.js'), entry, releasedHelper, kind, file()])
      expect(out.failures).to.deep.equal([])
      // 10 views x every released operation, plus the owner, TypedArray and DataView paths.
      expect(out.checked).to.be.greaterThan(400)
      expect(out.liveMappings).to.equal(0)
    })
  }

  it("a write through toTypedArray() on a 'read' mapping neither faults nor reaches the file", () => {
    const out = runChild([path.join(fixtures, 'mmap-readonly-write.js'), entry, file()])
    expect(out).to.deep.equal({ seenHere: true, otherUnchanged: true, fileUnchanged: true, length: 3 * 4096 + 5 })
  })

  it('durability: a child killed with SIGKILL right after flush() leaves the bytes in the file', async () => {
    const p = file()
    const size = 1024 * 1024 + 123
    const child = spawn(process.execPath, [path.join(fixtures, 'mmap-durability.js'), entry, p, String(size)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    // 'close', not 'exit': 'exit' can come before the last stdout/stderr data has been read.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    )
    child.stdout.on('data', (d) => {
      stdout += d
      if (stdout.includes('flushed\n')) child.kill('SIGKILL')
    })
    const { code, signal } = await exited
    expect(stdout, stderr).to.equal('flushed\n')
    expect(signal).to.equal('SIGKILL')
    expect(code).to.equal(null)
    const got = fs.readFileSync(p)
    expect(got.length).to.equal(size)
    const want = Buffer.alloc(size)
    for (let i = 0; i < size; i++) want[i] = (i * 13 + 1) & 0xff
    expect(got.equals(want)).to.equal(true)
  })

  it('a mapping never closed is unmapped by GC; a TypedArray that outlives its owner keeps it mapped', () => {
    const out = runChild([path.join(fixtures, 'mmap-gc.js'), entry, file()], ['--expose-gc'])
    expect(out).to.deep.equal({
      afterOpen: 3,
      mapsAfterOpen: 3,
      afterGc: 0,
      mapsAfterGc: 0,
      keptLive: 1,
      keptReads: true,
      keptAfterDrop: 0,
      shmAfterGc: 0,
      shmData: 42,
      final: 0,
    })
  })
})
