import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { installOffline, offlineNodedir, packDependencies, root, run } from './helpers/pack'

// The whole user story of a compiler-less install: prebuildify, npm pack, npm install of the
// tarball offline with every compiler replaced by /bin/false, then require + import + a native
// call. It builds the addon once (~10 s on 2 cores idle; 88 s for the whole file with both cores
// busy), so it gets its own generous timeouts: guards against a hang, not speed checks.
// The install must not depend on what happens to be in the machine's npm cache: it runs with an
// empty cache of its own and --offline, and the tarball's npm dependencies come packed from this
// repository's node_modules (the versions the lockfile installed). So it downloads nothing, and a
// registry request of any kind fails the install (ENOTCACHED) instead of going unnoticed.
const TIMEOUT_MS = 600_000
const platformDir = `${process.platform}-${process.arch}`

/** A copy of the work tree as a fresh checkout would have it after `npm install` (no build/, no prebuilds/). */
function copyPackage(dest: string): void {
  const skip = new Set(['node_modules', 'build', 'prebuilds', '.git', '.tmp'])
  fs.cpSync(root, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(root, src)
      const first = rel.split(path.sep)[0]
      return !skip.has(first) && !rel.endsWith('.tgz')
    },
  })
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'), 'dir')
}

const APP_SCRIPT = `
'use strict'
const path = require('node:path')
const cjs = require('memoryview')
const pkgDir = path.dirname(require.resolve('memoryview/package.json'))
import('memoryview').then((esm) => {
  const out = {}
  out.sameClasses = ['MemoryView', 'memoryview', 'BufferError', 'Pin', 'BUFFER_PROTOCOL']
    .map((name) => [name, typeof cjs[name] !== 'undefined' && esm[name] === cjs[name]])
  out.defaultIsCore = esm.default === cjs
  out.esmView = esm.memoryview(new Uint8Array([1, 2])) instanceof cjs.MemoryView
  // Public export if the entry has it; else the module itself (the exports map hides deep paths).
  const { exportToNative } = typeof cjs.exportToNative === 'function'
    ? cjs : require(path.join(pkgDir, 'dist', 'lib', 'native-export.js'))
  const { nativeAvailable } = require(path.join(pkgDir, 'dist', 'lib', 'binding.js'))
  const data = new Float64Array([1.5, 2.5, 3.5, 4.5])
  const m = cjs.memoryview(data).subarray(null, null, -1)
  const handle = exportToNative(m)
  const back = cjs.memoryview(handle)
  back.set(0, 9)
  out.roundTrip = { list: back.tolist(), data: Array.from(data), strides: handle.describe().strides }
  try { m.release(); out.blocked = false } catch (e) { out.blocked = e instanceof cjs.BufferError && e.code }
  handle.release()
  m.release()
  out.releasedAfter = m.released
  out.nativeAvailable = nativeAvailable()
  out.addons = Object.keys(require.cache).filter((k) => k.endsWith('.node')).map((k) => path.relative(pkgDir, k))
  console.log(JSON.stringify(out))
}).catch((err) => { console.error(err); process.exit(1) })
`

describe('60 package: prebuild, pack, and install without a compiler', function () {
  this.timeout(TIMEOUT_MS)
  let tmp: string
  let tarball: string
  let files: string[]

  before(function () {
    this.timeout(TIMEOUT_MS)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-pack-'))
    const pkg = path.join(tmp, 'pkg')
    copyPackage(pkg)
    const env = { ...process.env, ...offlineNodedir() }
    delete env.MEMORYVIEW_NATIVE_PATH
    run('npm', ['run', 'prebuild'], { cwd: pkg, env })
    const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: pkg, env })
    const info = JSON.parse(out)[0] as { filename: string; files: Array<{ path: string }> }
    tarball = path.join(tmp, info.filename)
    files = info.files.map((f) => f.path)
  })

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('npm run prebuild made prebuilds/<platform>-<arch>/*.node and the tarball ships it', () => {
    const prebuilds = fs.readdirSync(path.join(tmp, 'pkg', 'prebuilds', platformDir))
    expect(prebuilds.some((f) => f.endsWith('.node'))).to.equal(true)
    expect(files.some((f) => f.startsWith(`prebuilds/${platformDir}/`) && f.endsWith('.node'))).to.equal(true)
  })

  it('the tarball has the compiled JS, types, ESM entry and native sources, and nothing else', () => {
    for (const needed of [
      'package.json', 'index.mjs', 'binding.gyp', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/lib/binding.js', 'dist/lib/binding.d.ts', 'dist/lib/native-export.js', 'dist/lib/native-export.d.ts',
      'native/addon.cc', 'native/pin.h', 'native/pin.cc', 'native/export.h', 'native/layout.h', 'native/errors.h',
    ]) {
      expect(files, needed).to.include(needed)
    }
    const includeDir = path.join(root, 'include')
    if (fs.existsSync(includeDir)) {
      for (const header of fs.readdirSync(includeDir)) expect(files).to.include(`include/${header}`)
    }
    const forbidden = files.filter((f) =>
      /^(dist\/test|dist\/bench|test|bench|node_modules|build|\.ci|\.github|\.tmp)\//.test(f) || f.endsWith('.tgz'))
    expect(forbidden).to.deep.equal([])
    expect(fs.existsSync(path.join(tmp, 'pkg', 'dist', 'test')), 'the exclusion check must see dist/test').to.equal(true)
  })

  it('installs offline with compilers disabled and works from require and import', () => {
    const app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CC: '/bin/false',
      CXX: '/bin/false',
      // Any attempt to build from source would now fail (no compiler, no headers), failing npm install.
      npm_config_nodedir: path.join(tmp, 'no-node-headers'),
    }
    delete env.npm_config_build_from_source
    delete env.MEMORYVIEW_NATIVE_PATH
    const deps = packDependencies(path.join(tmp, 'deps'), env)
    const cache = path.join(tmp, 'empty-npm-cache')
    installOffline(app, tarball, deps, cache, env)
    const installed = path.join(app, 'node_modules', 'memoryview')
    expect(fs.existsSync(path.join(installed, 'prebuilds', platformDir))).to.equal(true)
    expect(fs.existsSync(path.join(installed, 'build')), 'the install must not have compiled anything').to.equal(false)

    fs.writeFileSync(path.join(app, 'check.js'), APP_SCRIPT)
    const out = JSON.parse(run(process.execPath, ['check.js'], { cwd: app, env }).trim().split('\n').pop()!)
    expect(out.sameClasses).to.deep.equal(
      ['MemoryView', 'memoryview', 'BufferError', 'Pin', 'BUFFER_PROTOCOL'].map((name) => [name, true]))
    expect(out.defaultIsCore).to.equal(true)
    expect(out.esmView).to.equal(true)
    expect(out.roundTrip).to.deep.equal({ list: [9, 3.5, 2.5, 1.5], data: [1.5, 2.5, 3.5, 9], strides: [-8] })
    expect(out.blocked).to.equal('ERR_MEMORYVIEW_EXPORTED')
    expect(out.releasedAfter).to.equal(true)
    expect(out.nativeAvailable).to.equal(true)
    expect(out.addons).to.have.length(1)
    expect(out.addons[0].startsWith(path.join('prebuilds', platformDir))).to.equal(true)
  })
})
