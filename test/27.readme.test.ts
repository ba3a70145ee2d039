/**
 * The README's examples run as they stand: each ```js block is written next to the compiled tests
 * (inside the package, so `require('memoryview')` resolves to this package) and run in a child
 * process, which must exit cleanly. The examples assert their own results.
 */
import { after, describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])

describe('27 README examples', () => {
  // One directory per run (two runs of the suite in one checkout must not share files).
  const dir = join(__dirname, `.readme-${process.pid}`)
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('has examples to run', () => {
    expect(blocks.length).to.be.at.least(3)
  })

  blocks.forEach((code, n) => {
    const title = code.split('\n').find((l) => l.trim() !== '' && !l.includes('require(')) ?? ''
    it(`example ${n + 1} runs: ${title.trim().slice(0, 60)}`, () => {
      mkdirSync(dir, { recursive: true })
      const file = join(dir, `example-${n + 1}.js`)
      writeFileSync(file, code)
      try {
        const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 50_000 })
        expect(r.stderr).to.equal('')
        expect(r.status, r.stderr).to.equal(0)
      } finally {
        rmSync(file, { force: true })
      }
    })
  })
})
