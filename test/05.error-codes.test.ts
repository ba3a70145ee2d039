// One source of truth for error codes: every code that the TypeScript layer, the addon or the
// public header can throw is in the exported `codes`, in the README's table, and (for the header)
// in the header's own doc comments. The sources are scanned, so a code added anywhere without the
// other two fails here.
import { describe, it } from 'mocha'
import { expect } from 'chai'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { codes } from 'memoryview'

const root = join(__dirname, '..', '..')
const CODE = /\bERR_[A-Z0-9_]+\b/g

function filesUnder(dir: string, exts: string[]): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = join(dir, entry.name)
    if (entry.isDirectory()) return filesUnder(rel, exts)
    return exts.some((ext) => entry.name.endsWith(ext)) ? [rel] : []
  })
}

// Codes written as string literals: every throw site either names `codes.X` (checked by the
// compiler) or spells the string, which is what this finds.
function literalCodes(files: string[]): Map<string, string> {
  const found = new Map<string, string>()
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    for (const match of text.matchAll(/['"](ERR_[A-Z0-9_]+)['"]/g)) found.set(match[1], file)
  }
  return found
}

function readmeTableCodes(): Set<string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Errors'))
  const table = section.slice(0, section.indexOf('\n## ', 1))
  const rows = table.split('\n').filter((line) => line.startsWith('| `'))
  return new Set(rows.flatMap((row) => row.split('|')[1].match(CODE) ?? []))
}

const published = new Set<string>(Object.values(codes))
const sources = [...filesUnder('lib', ['.ts']), ...filesUnder('native', ['.cc', '.h']), ...filesUnder('include', ['.h'])]
const thrown = literalCodes(sources)

describe('05 error codes: one source of truth', () => {
  it('the scan sees the sources (so the checks below cannot pass vacuously)', () => {
    expect(sources.some((f) => f.endsWith('memoryview.h'))).to.equal(true)
    expect(thrown.size).to.be.greaterThan(10)
    expect(published.size).to.be.greaterThan(20)
  })

  it('every code spelled in lib/, native/ or include/ is in `codes`', () => {
    const missing = [...thrown].filter(([code]) => !published.has(code)).map(([code, file]) => `${code} (${file})`)
    expect(missing).to.deep.equal([])
  })

  it('every key of `codes` names its own code (ERR_MEMORYVIEW_<KEY>)', () => {
    for (const [key, code] of Object.entries(codes)) {
      if (code === 'ERR_INVALID_THIS') continue // Node's own name for "Illegal invocation"
      expect(code, key).to.equal(`ERR_MEMORYVIEW_${key}`)
    }
  })

  it("every code in `codes` has a row in the README's error table, and every row is a real code", () => {
    const table = readmeTableCodes()
    expect([...published].filter((code) => !table.has(code))).to.deep.equal([])
    expect([...table].filter((code) => !published.has(code))).to.deep.equal([])
  })

  it("every code include/memoryview.h can throw is documented in the header's comments", () => {
    const header = readFileSync(join(root, 'include', 'memoryview.h'), 'utf8')
    const lines = header.split('\n')
    const comments = lines.filter((line) => line.trimStart().startsWith('//')).join('\n')
    const code = lines.filter((line) => !line.trimStart().startsWith('//')).join('\n')
    const used = new Set([...code.matchAll(/"(ERR_[A-Z0-9_]+)"/g)].map((m) => m[1]))
    expect(used.size).to.be.greaterThan(2)
    expect([...used].filter((c) => !comments.includes(c))).to.deep.equal([])
  })
})
