import { describe, it, before, after } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { installOffline, packDependencies, root, run } from './helpers/pack'

// TypeScript users get the package's types whatever their module settings: the packed tarball is
// installed once (offline, scripts off: types need no addon), then a tiny project per
// configuration is type-checked with this repository's own tsc. Each file uses typed members and
// has `@ts-expect-error` lines, so types that failed to resolve (or resolved to `any`) fail it.
const TIMEOUT_MS = 300_000
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** ESM syntax; compiled as CommonJS or ESM depending on the project and the file's extension. */
const USE = `
import { MemoryView, codes, isMemoryViewError, memoryview, mmap } from 'memoryview'
import type { ErrorCode } from 'memoryview'

const d = memoryview(new Float64Array(4))
let sum = 0
sum += d.get(0)
for (const x of d) sum += x
const big: bigint = memoryview(new BigInt64Array(1)).get(0)
const ta: Float64Array = d.toTypedArray()
const typed: MemoryView<'d'> = new MemoryView(new Float64Array(1))
const anyView: MemoryView = typed
const hex: string = memoryview(Buffer.alloc(1)).get(0).toString(16)
// @ts-expect-error a typo in a literal format
d.cast('Z')
// @ts-expect-error a bigint is not a number
const wrong: number = big
try {
  mmap('/nonexistent/memoryview-types')
} catch (err) {
  if (isMemoryViewError(err, 'ENOENT')) {
    const code: 'ENOENT' = err.code
  }
}
const released: ErrorCode = codes.RELEASED
export { sum, ta, anyView, hex, wrong, released }
`

interface Project {
  name: string
  typeModule: boolean
  module: string
  moduleResolution: string
  /** File names; each gets USE. */
  files: string[]
  /**
   * Whether to check every .d.ts (the package's and @types/node) too. Once is enough to show the
   * package's declarations compile for users who do not skip them; it costs ~5 s per project.
   */
  checkLibs?: boolean
}

const PROJECTS: Project[] = [
  // .ts is CommonJS here (require condition), .mts ESM (import condition), .cts CommonJS.
  { name: 'nodenext, CommonJS package', typeModule: false, module: 'nodenext', moduleResolution: 'nodenext', files: ['main.ts', 'esm.mts', 'cjs.cts'], checkLibs: true },
  // .ts is ESM here.
  { name: 'nodenext, "type": "module"', typeModule: true, module: 'nodenext', moduleResolution: 'nodenext', files: ['main.ts', 'esm.mts', 'cjs.cts'] },
  { name: 'commonjs (node10 resolution), CommonJS package', typeModule: false, module: 'commonjs', moduleResolution: 'node10', files: ['main.ts'] },
  { name: 'commonjs (node10 resolution), "type": "module"', typeModule: true, module: 'commonjs', moduleResolution: 'node10', files: ['main.ts'] },
  { name: 'bundler, CommonJS package', typeModule: false, module: 'esnext', moduleResolution: 'bundler', files: ['main.ts'] },
  { name: 'bundler, "type": "module"', typeModule: true, module: 'preserve', moduleResolution: 'bundler', files: ['main.ts'] },
]

describe('61 TypeScript users get the types with every module setting', function () {
  this.timeout(TIMEOUT_MS)
  let tmp: string
  let app: string

  before(function () {
    this.timeout(TIMEOUT_MS)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-types-'))
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.MEMORYVIEW_NATIVE_PATH
    // Types need the compiled dist/lib only: packed as is, without the prepare/prebuild scripts.
    const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, env })
    const tarball = path.join(tmp, (JSON.parse(out)[0] as { filename: string }).filename)
    app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    const deps = packDependencies(path.join(tmp, 'deps'), env)
    installOffline(app, tarball, deps, path.join(tmp, 'empty-npm-cache'), env, ['--ignore-scripts'])
  })

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  for (const project of PROJECTS) {
    it(`${project.name}: ${project.files.join(', ')} type-check against the installed package`, () => {
      const dir = path.join(app, project.name.replace(/[^a-z0-9]+/gi, '-'))
      fs.mkdirSync(dir)
      const pkg: Record<string, unknown> = { name: 'consumer', version: '1.0.0', private: true }
      if (project.typeModule) pkg.type = 'module'
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg))
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: project.module,
          moduleResolution: project.moduleResolution,
          // What the README asks of TypeScript users: @types/node (the types name Buffer).
          types: ['node'],
          typeRoots: [path.join(root, 'node_modules', '@types')],
          skipLibCheck: project.checkLibs !== true,
        },
        files: project.files,
      }))
      for (const file of project.files) fs.writeFileSync(path.join(dir, file), USE)
      const child = spawnSync(process.execPath, [tsc, '-p', dir, '--listFiles'], { encoding: 'utf8', timeout: 120_000 })
      expect(child.status, `tsc failed:\n${child.stdout}\n${child.stderr}`).to.equal(0)
      // The installed copy is what was checked, not this repository's sources.
      expect(child.stdout).to.include(path.join(app, 'node_modules', 'memoryview', 'dist', 'lib', 'index.d.ts'))
    })
  }
})
