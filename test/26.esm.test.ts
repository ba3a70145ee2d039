import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import * as core from 'memoryview'

const root = path.resolve(__dirname, '..', '..')

function runEsm(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('26 ESM entry', () => {
  it('import and require see the same classes (one identity, never two copies)', () => {
    const r = runEsm(`
      import { createRequire } from 'node:module'
      import * as esm from 'memoryview'
      import def from 'memoryview'
      const cjs = createRequire(import.meta.url)('memoryview')
      const names = ['MemoryView', 'memoryview', 'BufferError', 'Pin', 'BUFFER_PROTOCOL']
      const same = names.map((n) => esm[n] !== undefined && esm[n] === cjs[n] && def[n] === cjs[n])
      const m = esm.memoryview(new Uint8Array([1, 2]))
      console.log(JSON.stringify({ same, instance: m instanceof cjs.MemoryView, list: m.tolist() }))
    `)
    expect(r.stderr).to.equal('')
    expect(r.status).to.equal(0)
    expect(JSON.parse(r.stdout)).to.deep.equal({ same: [true, true, true, true, true], instance: true, list: [1, 2] })
  })

  it('a BufferError thrown through the ESM entry is an instance of the CJS BufferError', () => {
    const r = runEsm(`
      import { memoryview } from 'memoryview'
      import { createRequire } from 'node:module'
      const { BufferError } = createRequire(import.meta.url)('memoryview')
      const m = memoryview(new Uint8Array(1))
      m.pin()
      try { m.release() } catch (e) { console.log(e instanceof BufferError, e.code) }
    `)
    expect(r.status).to.equal(0)
    expect(r.stdout.trim()).to.equal('true ERR_MEMORYVIEW_EXPORTED')
  })

  it('the CJS entry loaded by this test is the one the package resolves to', () => {
    expect(require.resolve('memoryview')).to.equal(path.join(root, 'dist', 'lib', 'index.js'))
    expect(core.MemoryView).to.equal(require(path.join(root, 'dist', 'lib', 'index.js')).MemoryView)
  })

  it('BUFFER_PROTOCOL is the registered symbol Symbol.for("memoryview.buffer")', () => {
    expect(core.BUFFER_PROTOCOL).to.equal(Symbol.for('memoryview.buffer'))
  })
})
