/**
 * Apache Arrow through a mapped file (issue 11, part 6): an Arrow IPC file read by the `apache-arrow`
 * package (a devDependency) straight from the mapping, with no copy of the column data, kept alive
 * by a lease that makes close() refuse while the table is in use.
 */
import { after, before, describe, it } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow'
import { BufferError, mmap } from 'memoryview'
import { EXPORTED, expectError } from './helpers/errors'

const N = 1000

describe('93 Arrow IPC files through a mapping', () => {
  let dir: string
  let file: string

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-arrow-'))
    file = path.join(dir, 'scores.arrow')
    const table = tableFromArrays({
      id: Int32Array.from({ length: N }, (_, i) => i),
      score: Float64Array.from({ length: N }, (_, i) => i / 4),
      name: Array.from({ length: N }, (_, i) => `row ${i}`),
    })
    fs.writeFileSync(file, tableToIPC(table, 'file'))
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  /** True when `ta` lies inside `bytes`, in the same ArrayBuffer (the column was not copied). */
  function inside(ta: ArrayBufferView, bytes: Uint8Array): boolean {
    return ta.buffer === bytes.buffer && ta.byteOffset >= bytes.byteOffset &&
      ta.byteOffset + ta.byteLength <= bytes.byteOffset + bytes.byteLength
  }

  it('tableFromIPC() over the mapping reads every column with no copy of its data', () => {
    using mf = mmap(file)
    const bytes = mf.buf.toTypedArray() as Uint8Array
    const table: Table = tableFromIPC(bytes)
    expect(table.numRows).to.equal(N)
    expect(table.getChild('id')!.get(N - 1)).to.equal(N - 1)
    expect(table.getChild('score')!.get(10)).to.equal(2.5)
    expect(table.getChild('name')!.get(7)).to.equal('row 7')
    for (const name of ['id', 'score', 'name']) {
      for (const data of table.getChild(name)!.data) expect(inside(data.values, bytes), name).to.equal(true)
    }
    // tableFromArrays() dictionary-encodes strings: the dictionary's characters and offsets are mapped too.
    const dictionary = table.getChild('name')!.data[0].dictionary!.data[0]
    expect(inside(dictionary.values, bytes)).to.equal(true)
    expect(inside(dictionary.valueOffsets, bytes)).to.equal(true)
  })

  it('a lease keeps the mapping alive while the table is in use: close() refuses, then succeeds once released', () => {
    const mf = mmap(file)
    const lease = mf.lease()
    const table = tableFromIPC(mf.buf.toTypedArray() as Uint8Array)
    const scores = table.getChild('score')!.data[0].values as Float64Array
    expectError(() => mf.close(), BufferError, EXPORTED)
    expect(mf.closed).to.equal(false)
    expect(scores[N - 1]).to.equal((N - 1) / 4)
    lease.release()
    mf.close()
    // Closing detached the mapping's ArrayBuffer: the column's TypedArray reads as empty, never stale memory.
    expect(scores.length).to.equal(0)
  })

  it('the zero-copy column sums like a copy read with fs.readFileSync', () => {
    const copy = tableFromIPC(fs.readFileSync(file))
    using mf = mmap(file)
    const mapped = tableFromIPC(mf.buf.toTypedArray() as Uint8Array)
    const sum = (t: Table): number => {
      let s = 0
      for (const v of t.getChild('score')!.toArray() as Float64Array) s += v
      return s
    }
    expect(sum(mapped)).to.equal(sum(copy))
    expect(sum(mapped)).to.equal(((N - 1) * N) / 8)
  })
})
