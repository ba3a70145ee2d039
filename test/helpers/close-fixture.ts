/**
 * Runs a child fixture that maps a file, closes it under optimized loops and prints
 * `{ failures, checked }` as its last line (fast-paths-after-close.js, iteration-after-close.js):
 * asserts a clean exit (no signal: a read of unmapped memory would be SIGSEGV/SIGBUS), no failures,
 * and that it checked `checked` cases.
 */
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export function expectCleanClose(fixture: string, checked: number): void {
  const entry = path.join(__dirname, '..', '..', 'lib', 'index.js')
  const dir = mkdtempSync(path.join(tmpdir(), 'mv-close-'))
  try {
    const file = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', fixture)
    const r = spawnSync(process.execPath, [file, entry, path.join(dir, 'f.bin')], { encoding: 'utf8', timeout: 60000 })
    expect(r.signal, r.stderr).to.equal(null)
    expect(r.status, r.stderr).to.equal(0)
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { failures: string[]; checked: number }
    expect(out.failures).to.deep.equal([])
    expect(out.checked).to.equal(checked)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
