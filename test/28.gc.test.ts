/**
 * Garbage collection: a view dropped without release() still gives its exporter's descriptor back
 * (once per descriptor, when the last view over it is collected), and never before.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const entry = join(__dirname, '..', 'lib', 'index.js')

describe('28 garbage collection', () => {
  it('collected views release their buffer-protocol descriptor exactly once', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(__dirname, '..', '..', 'test', 'fixtures', 'gc-release.js'), entry], {
      encoding: 'utf8',
    })
    expect(r.status, r.stderr).to.equal(0)
    const { afterGc, afterRelease } = JSON.parse(r.stdout)
    expect(afterGc).to.equal(100) // 100 dropped descriptors, each released once; the kept one not yet
    expect(afterRelease).to.equal(101)
  })
})
