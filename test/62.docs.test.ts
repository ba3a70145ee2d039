/**
 * What a user meets before any code runs: the README in the order a user needs it (with member
 * tables that list every public member), `npm run demo` showing the main job, an API reference that
 * cannot rot (TypeDoc fails on an undocumented public member), the licence and package metadata, and
 * a tarball holding exactly what a user needs.
 */
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { MappedFile, MemoryView, Pin, SharedMemory, mmap } from 'memoryview'

const root = path.join(__dirname, '..', '..')
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>

/** The text of the section under `heading` (a whole line), up to the next heading of its level or above. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)![0].length
  const lines = readme.split('\n')
  const start = lines.indexOf(heading)
  expect(start, `README heading ${JSON.stringify(heading)}`).to.be.greaterThan(-1)
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level && !line.startsWith('#include'))
  return rest.slice(0, end === -1 ? undefined : end).join('\n')
}

/** How a member is spelled in the README: symbols by the expression that names them. */
const SYMBOL_NAMES: Record<string, string> = {
  'Symbol(Symbol.iterator)': '[Symbol.iterator]',
  'Symbol(Symbol.toPrimitive)': '[Symbol.toPrimitive]',
  // Node 20 and 22 polyfill Symbol.dispose as Symbol('nodejs.dispose'); Node 24+ has V8's own.
  'Symbol(nodejs.dispose)': '[Symbol.dispose]',
  'Symbol(Symbol.dispose)': '[Symbol.dispose]',
  'Symbol(nodejs.util.inspect.custom)': '[util.inspect.custom]',
  'Symbol(memoryview.buffer)': '[BUFFER_PROTOCOL]',
}
// Not exported: how memoryview(owner) finds the owner's own view.
const INTERNAL_SYMBOLS = new Set(['Symbol(memoryview.ownedView)'])

/** Every public member of instances of `cls`: prototype chain (not Object's) plus own fields of `instance`. */
function publicMembers(cls: { prototype: object }, instance: object): string[] {
  const names = new Set<string>()
  const add = (key: string | symbol): void => {
    const name = typeof key === 'symbol' ? key.toString() : key
    if (name === 'constructor' || name.startsWith('_') || INTERNAL_SYMBOLS.has(name)) return
    names.add(typeof key === 'symbol' ? (SYMBOL_NAMES[name] ?? name) : name)
  }
  for (let p: object | null = cls.prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    Reflect.ownKeys(p).forEach(add)
  }
  Reflect.ownKeys(instance).forEach(add)
  return [...names]
}

/**
 * Members a section's table does not name in its member column (the JS column of a Python | JS
 * table, else the first): a name counts when written in code as `name`, `name(...)` or `x.name(...)`.
 */
function missingFrom(text: string, members: string[]): string[] {
  const rows = text.split('\n').filter((line) => line.startsWith('|'))
  expect(rows.length, 'a table in the section').to.be.greaterThan(2)
  const column = rows[0].split('|')[2].trim() === 'JS' ? 2 : 1
  const names = rows.slice(2).map((row) => row.split('|')[column]).join('\n')
  return members.filter((name) => {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    return !new RegExp(`[\`.]${escaped}[\`(]`).test(names)
  })
}

function runDemo(env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'bench', 'demo.js')], { encoding: 'utf8', env, timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const hasPython = spawnSync('python3', ['--version']).status === 0

describe('62 docs and package', () => {
  describe('README, in the order a user needs it', () => {
    it('has the sections in order: install, tour, mapped files, shared memory, workers, native authors, errors, performance, differences, working from a clone', () => {
      const order = [
        '## Install',
        '## A tour, with Python side by side',
        '## Memory-mapped files',
        '## Shared memory',
        '## Sharing between threads and processes',
        '## For native-module authors',
        '## Errors',
        '## Performance',
        '## Deliberate differences from CPython 3.11',
        '## Working on the package from a clone',
      ]
      const lines = readme.split('\n')
      const at = order.map((h) => lines.indexOf(h))
      expect(at.filter((i) => i === -1), 'missing headings').to.deep.equal([])
      expect(at).to.deep.equal([...at].sort((a, b) => a - b))
    })

    it('opens with what and why: one paragraph and a short example, before Install', () => {
      const intro = readme.slice(0, readme.indexOf('\n## Install'))
      const blocks = [...intro.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
      expect(blocks).to.have.length(1)
      expect(blocks[0].trim().split('\n').length).to.be.at.most(14)
    })

    it('Install says TypeScript needs @types/node, and how plain JS on Node 20 releases without `using`', () => {
      const install = section('## Install')
      expect(install).to.contain('npm install memoryview')
      expect(install).to.contain('npm install -D @types/node')
      expect(install).to.match(/TypeScript 5\.2/)
      expect(install).to.match(/SyntaxError/)
      expect(install).to.match(/finally \{\n\s+m\.release\(\)/)
    })

    it('speaks to contributors only in its last section, whose one code block is exactly the two set-up commands', () => {
      const before = readme.slice(0, readme.indexOf('\n## Working on the package from a clone'))
      for (const contributorOnly of ['npm test', 'npm run ', 'npm install &&', 'node-gyp rebuild', 'test/', 'bench/']) {
        expect(before, contributorOnly).to.not.contain(contributorOnly)
      }
      const blocks = [...section('## Working on the package from a clone').matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1])
      expect(blocks).to.deep.equal([
        'npm install && npm run demo   # build the addon (or load a prebuild), compile, show the main job\n' +
          'npm test                      # the whole test suite\n',
      ])
      const rest = section('## Working on the package from a clone')
      for (const script of ['npm run bench', 'npm run prebuild', 'npm run docs']) expect(rest).to.contain(script)
    })

    describe('member tables list every public member', () => {
      it('MemoryView', () => {
        const members = publicMembers(MemoryView, new MemoryView(new Uint8Array(1)))
        expect(members).to.include.members(['get', 'tolist', 'toJSON', 'valueOf', '[Symbol.toPrimitive]'])
        expect(missingFrom(section('### `MemoryView` members'), members)).to.deep.equal([])
      })

      it('Pin', () => {
        const members = publicMembers(Pin, new MemoryView(new Uint8Array(1)).pin())
        expect(members).to.include.members(['release', 'released', '[Symbol.dispose]'])
        expect(missingFrom(section('### `Pin` members'), members)).to.deep.equal([])
      })

      it('MappedFile', () => {
        const file = path.join(root, 'dist', `.62-${process.pid}.bin`)
        fs.writeFileSync(file, 'x')
        const mf = mmap(file)
        try {
          expect(mf).to.be.instanceOf(MappedFile)
          const members = publicMembers(MappedFile, mf)
          expect(members).to.include.members(['buf', 'flush', 'lease', 'access', 'source', 'closed', '[BUFFER_PROTOCOL]'])
          expect(missingFrom(section('### `MappedFile` members'), members)).to.deep.equal([])
        } finally {
          mf.close()
          fs.rmSync(file, { force: true })
        }
      })

      it('SharedMemory', () => {
        const shm = new SharedMemory({ create: true, size: 16 })
        try {
          const members = publicMembers(SharedMemory, shm)
          expect(members).to.include.members(['name', 'unlink', 'lease', 'toJSON'])
          expect(missingFrom(section('### `SharedMemory` members'), members)).to.deep.equal([])
        } finally {
          shm.close()
          shm.unlink()
        }
      })
    })

    // The ```ts examples are compiled from a copy (tsc -p test/types); this keeps the copy in step,
    // so an example edited in the README cannot stop compiling unnoticed. Lines are compared without
    // their comments; the copy may add lines (@ts-expect-error, void) and merges the imports.
    it('every ```ts example is in test/types/readme-examples.ts, which the type check compiles', () => {
      const code = (line: string): string => line.replace(/\s*\/\/.*$/, '').trim()
      const copy = fs.readFileSync(path.join(root, 'test', 'types', 'readme-examples.ts'), 'utf8')
      const lines = new Set(copy.split('\n').map(code))
      const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
      expect(blocks.length).to.be.at.least(1)
      const missing = blocks.flatMap((b) => b.split('\n').map(code)).filter((l) => l !== '' && !l.startsWith('import ') && !lines.has(l))
      expect(missing).to.deep.equal([])
    })
  })

  describe('npm run demo', () => {
    it('is compile-then-run', () => {
      expect((pkg.scripts as Record<string, string>).demo).to.equal('tsc -p tsconfig.json && node dist/bench/demo.js')
    })

    it('maps one file from a child Node process and Python, shows the writes, close() refused under a lease and then detaching, and removes its files', function () {
      this.timeout(120_000)
      const r = runDemo()
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stderr).to.equal('')
      const out = r.stdout
      expect(out).to.match(/^child\s+pid \d+ mapped the same file: samples\[0\.\.3\] = \[1\.5, 2\.5, 3\.5, 4\.5\]/m)
      expect(out).to.match(/^node\s+reads samples\[4\] = 42, counter = 1/m)
      if (hasPython) {
        expect(out).to.match(/^python\s+mmap \+ struct: counter = 1, samples\[0\.\.4\] = \[1\.5, 2\.5, 3\.5, 4\.5, 42\.0\]/m)
        expect(out).to.match(/^node\s+reads samples\[5\] = 2\.718, counter = 2/m)
      } else {
        expect(out).to.match(/^python\s+skipped/m)
      }
      expect(out).to.match(/^close\(\)\s+refused while a lease is held: BufferError ERR_MEMORYVIEW_EXPORTED/m)
      expect(out).to.match(/^close\(\)\s+after lease\.release\(\): .*throws ERR_MEMORYVIEW_RELEASED, .*byteLength 0$/m)
      const dir = /^cleanup\s+(\S+) removed$/m.exec(out)
      expect(dir, 'cleanup line').to.not.equal(null)
      expect(fs.existsSync(dir![1])).to.equal(false)
      expect(out.trim().split('\n').length).to.be.at.most(12)
    })

    it('says it skipped Python when there is none, and still succeeds', function () {
      this.timeout(120_000)
      const r = runDemo({ ...process.env, PYTHON: path.join(root, 'no-such-python') })
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/^python\s+skipped/m)
      expect(r.stdout).to.match(/^node\s+reads samples\[5\] = 0, counter = 1/m)
      expect(r.stdout).to.match(/^cleanup\s+\S+ removed$/m)
    })
  })

  describe('API reference', () => {
    it('typedoc.json fails on warnings and on undocumented public members, and writes to docs/api (gitignored)', () => {
      const config = JSON.parse(fs.readFileSync(path.join(root, 'typedoc.json'), 'utf8')) as Record<string, unknown>
      expect(config.treatWarningsAsErrors).to.equal(true)
      expect((config.validation as Record<string, unknown>).notDocumented).to.equal(true)
      expect(config.out).to.equal('docs/api')
      expect((pkg.scripts as Record<string, string>).docs).to.equal('typedoc')
      expect(fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n')).to.include('docs/')
    })

    it('TypeDoc finds every public export and member documented (no warnings)', function () {
      this.timeout(120_000)
      const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none', '--disableSources'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      })
      const out = `${r.stdout}\n${r.stderr}`
      expect(out.split('\n').filter((line) => line.includes('[warning]') || line.includes('[error]'))).to.deep.equal([])
      expect(r.status, out).to.equal(0)
    })
  })

  describe('package', () => {
    it('LICENSE is the MIT licence of "memoryview contributors", as package.json says', () => {
      const license = fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')
      expect(pkg.license).to.equal('MIT')
      expect(license.split('\n')[0]).to.equal('MIT License')
      expect(license).to.contain('Copyright (c) 2026 memoryview contributors')
      expect(license).to.contain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND')
    })

    it('package.json names the repository, bugs, homepage, keywords and engines', () => {
      expect(pkg.repository).to.deep.equal({ type: 'git', url: 'git+https://github.com/memoryview-js/memoryview.git' })
      expect(pkg.bugs).to.deep.equal({ url: 'https://github.com/memoryview-js/memoryview/issues' })
      expect(pkg.homepage).to.equal('https://github.com/memoryview-js/memoryview#readme')
      expect(pkg.keywords).to.include.members(['memoryview', 'python', 'mmap', 'shared-memory', 'zero-copy'])
      expect(pkg.engines).to.deep.equal({ node: '>=20' })
    })

    it('npm pack ships exactly what a user needs: compiled lib with types, ESM entry, native sources, header, prebuilds, LICENSE, README', function () {
      this.timeout(120_000)
      const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 110_000 })
      expect(r.status, r.stderr).to.equal(0)
      const packed = new Set((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path))
      const under = (dir: string): string[] =>
        fs.existsSync(path.join(root, dir))
          ? fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
          : []
      // lib/ and its subdirectories (lib/formats/...): each module ships compiled with its types.
      const libs = under('lib').filter((f) => f.endsWith('.ts')).map((f) => f.slice('lib/'.length, -'.ts'.length))
      const expected = new Set([
        'package.json', 'README.md', 'LICENSE', 'index.mjs', 'binding.gyp',
        ...libs.flatMap((name) => [`dist/lib/${name}.js`, `dist/lib/${name}.d.ts`]),
        ...under('native'), ...under('include'), ...under('prebuilds'),
      ])
      expect([...packed].filter((f) => !expected.has(f)).sort(), 'shipped but not needed').to.deep.equal([])
      expect([...expected].filter((f) => !packed.has(f)).sort(), 'needed but not shipped').to.deep.equal([])
      // What package.json points users at is in the tarball.
      const exportsMap = (pkg.exports as Record<string, Record<string, string>>)['.']
      for (const target of [pkg.main, pkg.types, exportsMap.types, exportsMap.import, exportsMap.require] as string[]) {
        expect(packed.has(target.replace(/^\.\//, '')), target).to.equal(true)
      }
    })
  })
})
