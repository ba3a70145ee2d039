/**
 * A full filesystem must refuse cleanly, never SIGBUS: growing a file for mmap({ size }) and creating
 * shared memory reserve their blocks (posix_fallocate) before anything is mapped. Each case runs in
 * a child process inside its own mount namespace (unshare -m, as root, which this project's machines
 * and CI are) with a 1 MiB tmpfs, and asks for 8 MiB.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const pkg = join(__dirname, '..', '..')

function inSmallTmpfs(mountPoint: string, script: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const shell = `mkdir -p ${mountPoint} && mount -t tmpfs -o size=1m tmpfs ${mountPoint} && exec "${process.execPath}" -e "$SCRIPT"`
  const r = spawnSync('unshare', ['-m', 'sh', '-c', shell], {
    encoding: 'utf8',
    env: { ...process.env, SCRIPT: script, PKG: pkg },
    timeout: 30000,
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

describe('74 out of space: ENOSPC, not SIGBUS', () => {
  it('mmap(path, { size }) on a full filesystem throws ENOSPC and leaves no file', () => {
    // The tmpfs is mounted in the child's own namespace; the directory under it is ours to remove.
    const dir = mkdtempSync(join(tmpdir(), 'memoryview-enospc-'))
    let r
    try {
      r = inSmallTmpfs(
        dir,
        `const { mmap } = require(process.env.PKG)
         const fs = require('fs')
         const file = ${JSON.stringify(join(dir, 'big.bin'))}
         try {
           mmap(file, { access: 'write', size: 8 << 20 }).buf.toTypedArray().fill(7)
           console.log('mapped')
         } catch (e) { console.log(e.code, fs.existsSync(file)) }`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(r.signal, r.stderr).to.equal(null)
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout.trim()).to.equal('ENOSPC false')
  })

  it('new SharedMemory({ create, size }) with /dev/shm full throws ENOSPC and leaves no segment', () => {
    const r = inSmallTmpfs(
      '/dev/shm',
      `const { SharedMemory } = require(process.env.PKG)
       try {
         new SharedMemory({ create: true, size: 8 << 20 }).buf.toTypedArray().fill(1)
         console.log('mapped')
       } catch (e) { console.log(e.code, require('fs').readdirSync('/dev/shm').length) }`,
    )
    expect(r.signal, r.stderr).to.equal(null)
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout.trim()).to.equal('ENOSPC 0')
  })
})
