import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const root = path.join(__dirname, '..', '..')
const fixture = path.join(root, 'test', 'fixtures', 'native-no-addon.js')

function run(libDir: string, env: NodeJS.ProcessEnv): Record<string, any> {
  const child = spawnSync(process.execPath, [fixture, libDir], { encoding: 'utf8', env, timeout: 30_000 })
  expect(child.status, `exited with ${child.status} ${child.signal}: ${child.stderr}`).to.equal(0)
  return JSON.parse(child.stdout.trim().split('\n').pop()!)
}

function expectDegraded(r: Record<string, any>): void {
  expect(r.available).to.equal(false)
  expect(r.view).to.deep.equal({ list: [9, 2, 3, 4], sliced: [2, 3], cast: 2 })
  expect(r.releasedAfter).to.equal(true)
  for (const [err, feature] of [[r.exportError, 'exportToNative()'], [r.bindingError, 'mmap()']]) {
    expect(err.threw).to.equal(true)
    expect(err.name).to.equal('Error')
    expect(err.code).to.equal('ERR_MEMORYVIEW_NATIVE_UNAVAILABLE')
    expect(err.hasCause).to.equal(true)
    // The message is the user's only guide: it must name the feature, the cause and the fix.
    expect(err.message).to.include(feature)
    expect(err.message).to.include(r.loadError)
    expect(err.message).to.include('npm rebuild memoryview')
  }
}

describe('51 without the native addon, views over JS memory still work', () => {
  it('MEMORYVIEW_NATIVE_PATH pointing at a directory without an addon', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-no-addon-'))
    try {
      const r = run(path.join(root, 'dist', 'lib'), { ...process.env, MEMORYVIEW_NATIVE_PATH: empty })
      expectDegraded(r)
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })

  it('dist/lib copied away from the package (no addon, no node-gyp-build)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-bare-'))
    try {
      const lib = path.join(tmp, 'dist', 'lib')
      fs.cpSync(path.join(root, 'dist', 'lib'), lib, { recursive: true })
      const env = { ...process.env }
      delete env.MEMORYVIEW_NATIVE_PATH
      delete env.NODE_PATH
      const r = run(lib, env)
      expectDegraded(r)
      expect(r.loadError).to.include('node-gyp-build')
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  })

  it('the addon loads normally here (the two cases above are not vacuous)', () => {
    const child = spawnSync(
      process.execPath,
      ['-e', `const b = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'binding.js'))});
        process.stdout.write(JSON.stringify([b.nativeAvailable(), typeof b.requireBinding('x').Pin]))`],
      { encoding: 'utf8' },
    )
    expect(child.status, child.stderr).to.equal(0)
    expect(JSON.parse(child.stdout)).to.deep.equal([true, 'function'])
  })
})
