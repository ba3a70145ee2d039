/**
 * safetensors files as zero-copy views (issue 11, part 5): openSafetensors() over files written by an
 * independent Python writer (test/fixtures/safetensors-writer.py, json + struct only): every dtype's
 * values as Python packed them, dtypes without a struct format, 0-d and empty tensors, metadata,
 * unaligned data, views that share the mapping, close()/using/leases, access modes, and hostile
 * headers refused with a code without mapping anything or leaving a descriptor open.
 */
import { after, before, describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as util from 'node:util'
import { pathToFileURL } from 'node:url'
import { BufferError, MemoryView, SafetensorsFile, bf16ToFloat32, openSafetensors } from 'memoryview'
import { requireBinding } from '../lib/binding'
import { EXPORTED, INVALID_ARG, READONLY, RELEASED, expectError } from './helpers/errors'

const BAD_HEADER = 'ERR_MEMORYVIEW_BAD_HEADER'
const UNSUPPORTED_DTYPE = 'ERR_MEMORYVIEW_UNSUPPORTED_DTYPE'
const UNALIGNED = 'ERR_MEMORYVIEW_UNALIGNED'
const NOT_CLONEABLE = 'ERR_MEMORYVIEW_NOT_CLONEABLE'

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures')
const liveMappings = (): number => requireBinding('test').liveMappings()
const fdCount = (): number => fs.readdirSync('/proc/self/fd').length
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

interface Expected {
  dtype: string
  shape: number[]
  hex: string
  values?: (number | string | boolean)[]
}
interface FileManifest {
  metadata: Record<string, string>
  tensors: Record<string, Expected>
  dataStart: number
  bf16?: { units: number[]; floats: number[] }
}

/** The struct letter each dtype's view reports (native letters: safetensors data is little-endian). */
const LETTERS: Record<string, string> = {
  BOOL: '?', U8: 'B', I8: 'b', I16: 'h', U16: 'H', I32: 'i', U32: 'I', I64: 'q', U64: 'Q', F16: 'e', F32: 'f', F64: 'd',
}
const formatOf = (dtype: string): string => (LE || '?Bb'.includes(LETTERS[dtype]) ? LETTERS[dtype] : `<${LETTERS[dtype]}`)

/** What the writer reported, as this package's element values (bigints for 8-byte integers). */
function expectedValues(e: Expected): unknown[] {
  return e.values!.map((v) => (e.dtype === 'I64' || e.dtype === 'U64' ? BigInt(v as number | string) : v))
}

const flat = (x: unknown): unknown[] => (Array.isArray(x) ? x.flatMap(flat) : [x])

describe('92 safetensors', () => {
  let dir: string
  let manifest: Record<string, FileManifest>
  const file = (name: string): string => path.join(dir, name)

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-safetensors-'))
    const r = spawnSync('python3', [path.join(fixtures, 'safetensors-writer.py'), dir], { encoding: 'utf8', timeout: 50_000 })
    expect(r.status, r.stderr).to.equal(0)
    manifest = JSON.parse(r.stdout)
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  describe('reading what Python wrote', () => {
    it('every dtype with a struct format: dtype, shape, format and the values struct.unpack reads', () => {
      using st = openSafetensors(file('all.safetensors'))
      const expected = manifest['all.safetensors'].tensors
      let checked = 0
      for (const [name, e] of Object.entries(expected)) {
        if (e.values === undefined || e.shape.length !== 2 || e.shape.includes(0)) continue
        const t = st.tensors.get(name)!
        expect(t.dtype, name).to.equal(e.dtype)
        expect(t.shape, name).to.deep.equal(e.shape)
        expect(t.array.format, name).to.equal(formatOf(e.dtype))
        expect(t.array.shape, name).to.deep.equal(e.shape)
        expect(t.array.c_contiguous, name).to.equal(true)
        expect(t.array.readonly, name).to.equal(true)
        expect(flat(t.array.tolist()), name).to.deep.equal(expectedValues(e))
        expect(t.array.tobytes().toString('hex'), name).to.equal(e.hex)
        expect(t.array.get(1, 2), name).to.deep.equal(expectedValues(e)[5])
        checked++
      }
      expect(checked).to.equal(12)
    })

    it('metadata: the __metadata__ strings, frozen, on a null prototype (a "__proto__" key is data)', () => {
      using st = openSafetensors(file('all.safetensors'))
      expect({ ...st.metadata }).to.deep.equal(manifest['all.safetensors'].metadata)
      expect(Object.getPrototypeOf(st.metadata)).to.equal(null)
      expect(st.metadata.__proto__).to.equal('plain key')
      expect(Object.isFrozen(st.metadata)).to.equal(true)
    })

    it('tensors: a Map in the order of the data in the file, not of the header (ties in header order)', () => {
      using st = openSafetensors(file('all.safetensors'))
      const m = manifest['all.safetensors']
      const byOffset = Object.keys(m.tensors).reverse() // the writer laid the data out in reverse
      // The two empty tensors both sit at offset 0, and keep their header order there.
      expect(byOffset.slice(0, 2)).to.deep.equal(['empty.i64', 'empty'])
      expect([...st.tensors.keys()]).to.deep.equal(['empty', 'empty.i64', ...byOffset.slice(2)])
      expect(st.tensors).to.be.instanceOf(Map)
      expect(st).to.be.instanceOf(SafetensorsFile)
    })

    it('each array is a zero-copy view of its bytes in the mapping', () => {
      using st = openSafetensors(file('all.safetensors'), { access: 'copy' })
      const whole = st.file.buf.toTypedArray() as Uint8Array
      const t = st.tensors.get('t.i32')!
      const bytes = t.array.cast('B').toTypedArray() as Uint8Array
      expect(bytes.buffer).to.equal(whole.buffer)
      const at = bytes.byteOffset - whole.byteOffset
      expect(Buffer.from(whole.subarray(at, at + 24)).toString('hex')).to.equal(manifest['all.safetensors'].tensors['t.i32'].hex)
      whole[at] = 0x2a // the first int32, little-endian: 0x8000002a
      expect(t.array.get(0, 0)).to.equal(-2147483606)
    })

    it('a 0-d tensor is a 0-d view; empty tensors are views of 0 bytes with their shape', () => {
      using st = openSafetensors(file('all.safetensors'))
      const scalar = st.tensors.get('scalar')!
      expect(scalar.shape).to.deep.equal([])
      expect(scalar.array.ndim).to.equal(0)
      expect(scalar.array.get()).to.equal(42.5)
      for (const [name, shape, format] of [['empty', [0, 4], formatOf('F32')], ['empty.i64', [3, 0], formatOf('I64')]] as const) {
        const t = st.tensors.get(name)!
        expect(t.array.shape).to.deep.equal(shape)
        expect(t.array.nbytes).to.equal(0)
        expect(t.array.format).to.equal(format)
        expect(t.array.tolist()).to.deep.equal(shape[0] === 0 ? [] : [[], [], []])
      }
    })

    it('files without tensors open, with or without metadata', () => {
      using a = openSafetensors(file('empty.safetensors'))
      expect(a.tensors.size).to.equal(0)
      expect({ ...a.metadata }).to.deep.equal({})
      using b = openSafetensors(file('meta-only.safetensors'))
      expect(b.tensors.size).to.equal(0)
      expect({ ...b.metadata }).to.deep.equal({ k: 'v' })
    })

    it('"__metadata__": null means no metadata, as in the reference implementation', () => {
      using st = openSafetensors(file('metadata-null.safetensors'))
      expect({ ...st.metadata }).to.deep.equal({})
      expect(st.tensors.get('x')!.array.tolist()).to.deep.equal([5, 6])
    })

    it('unaligned data (a header not padded to 8) reads correctly; toTypedArray() refuses with UNALIGNED', () => {
      const m = manifest['unaligned.safetensors']
      expect(m.dataStart % 8).to.equal(3)
      using st = openSafetensors(file('unaligned.safetensors'))
      const d = st.tensors.get('d')!.array
      expect(d.tolist()).to.deep.equal(m.tensors.d.values)
      expect(d.get(-1)).to.equal(1e100)
      expect(st.tensors.get('i')!.array.tolist()).to.deep.equal([-7, 9])
      expectError(() => d.toTypedArray(), RangeError, UNALIGNED)
    })

    it("names special to JS objects ('__proto__', 'constructor', '0') are plain names, in data order", () => {
      using st = openSafetensors(file('names.safetensors'))
      expect([...st.tensors.keys()]).to.deep.equal(['__proto__', 'constructor', '0'])
      expect([...st.tensors.values()].map((t) => t.array.get(0))).to.deep.equal([1, 2, 3])
    })

    it('String(), inspect and JSON.stringify() describe the file without its data; structuredClone() refuses', () => {
      using st = openSafetensors(file('matrix.safetensors'))
      expect(String(st)).to.match(/^SafetensorsFile\(1 tensor, MappedFile\(".*matrix\.safetensors", access='read', size=\d+\)\)$/)
      expect(util.inspect(st)).to.equal(String(st))
      const json = JSON.parse(JSON.stringify(st))
      expect(json.type).to.equal('SafetensorsFile')
      expect(json.file).to.include({ type: 'MappedFile', access: 'read', closed: false })
      expect(json.metadata).to.deep.equal({})
      expect(json.tensors).to.deep.equal({ w: { dtype: 'F32', shape: [3, 4] } })
      expectError(() => structuredClone(st), TypeError, NOT_CLONEABLE)
      st.close()
      expect(JSON.parse(JSON.stringify(st)).file.closed).to.equal(true)
    })

    it('a path may be a file: URL', () => {
      using st = openSafetensors(pathToFileURL(file('matrix.safetensors')))
      expect(st.file.source).to.equal(file('matrix.safetensors'))
      expect(st.tensors.get('w')!.array.get(2, 3)).to.equal(11)
    })
  })

  describe('dtypes without a struct format, exposed as their storage', () => {
    it("BF16: format 'H' bit patterns with the declared shape; bf16ToFloat32() widens them exactly", () => {
      using st = openSafetensors(file('all.safetensors'))
      const { units, floats } = manifest['all.safetensors'].bf16!
      const t = st.tensors.get('t.bf16')!
      expect(t.dtype).to.equal('BF16')
      expect(t.shape).to.deep.equal([3, 2])
      expect(t.array.format).to.equal(LE ? 'H' : '<H')
      expect(flat(t.array.tolist())).to.deep.equal(units)
      const f = bf16ToFloat32(t.array)
      expect(f).to.be.instanceOf(Float32Array)
      expect([...f]).to.deep.equal(floats)
      // A strided view (every other element) goes through a copy of its bytes, in C order.
      expect([...bf16ToFloat32(t.array.cast('B').cast('H').subarray(null, null, 2))]).to.deep.equal(floats.filter((_, i) => i % 2 === 0))
    })

    it('bf16ToFloat32() refuses anything but a view of format H, and released views', () => {
      const st = openSafetensors(file('all.safetensors'))
      expectError(() => bf16ToFloat32(st.tensors.get('t.f32')!.array), TypeError, INVALID_ARG)
      expectError(() => bf16ToFloat32(new Uint16Array(2) as unknown as MemoryView), TypeError, INVALID_ARG)
      st.close()
      expectError(() => bf16ToFloat32(st.tensors.get('t.bf16')!.array), Error, RELEASED)
    })

    it("F8_*: format 'B' bytes with the declared shape", () => {
      using st = openSafetensors(file('all.safetensors'))
      const e4 = st.tensors.get('t.f8_e4m3')!
      expect([e4.dtype, e4.array.format, e4.array.shape]).to.deep.equal(['F8_E4M3', 'B', [4]])
      expect(e4.array.tolist()).to.deep.equal([0x00, 0x38, 0x7e, 0xb8])
      const e5 = st.tensors.get('t.f8_e5m2')!
      expect([e5.dtype, e5.array.format, e5.array.shape]).to.deep.equal(['F8_E5M2', 'B', [2, 2]])
      expect(e5.array.tolist()).to.deep.equal([[0x3c, 0xbc], [0x7b, 0x01]])
    })

    it("C64: format 'f' with a trailing dimension of 2 (real, imaginary); `shape` stays the declared one", () => {
      using st = openSafetensors(file('all.safetensors'))
      const c = st.tensors.get('t.c64')!
      expect(c.shape).to.deep.equal([2])
      expect(c.array.format).to.equal(formatOf('F32'))
      expect(c.array.shape).to.deep.equal([2, 2])
      expect(c.array.tolist()).to.deep.equal([[1, -1], [0.5, 2]])
    })

    it("F4 (packed, two per byte): the packed bytes as a 1-D 'B' view", () => {
      using st = openSafetensors(file('all.safetensors'))
      const t = st.tensors.get('t.f4')!
      expect([t.dtype, t.shape, t.array.format, t.array.shape]).to.deep.equal(['F4', [2, 3], 'B', [3]])
      expect(t.array.tolist()).to.deep.equal([0x12, 0x34, 0x56])
    })
  })

  describe('closing', () => {
    it('close() releases every tensor view and is idempotent; TypedArrays taken before read as empty', () => {
      const st = openSafetensors(file('all.safetensors'))
      const before = liveMappings()
      const ta = st.tensors.get('scalar')!.array.cast('B').toTypedArray() as Uint8Array
      expect(st.closed).to.equal(false)
      st.close()
      expect(st.closed).to.equal(true)
      for (const [, t] of st.tensors) expectError(() => t.array.tobytes(), Error, RELEASED)
      expect(ta.length).to.equal(0)
      expect(liveMappings()).to.equal(before - 1)
      st.close()
    })

    it('`using` closes at the end of the block', () => {
      let array: MemoryView
      {
        using st = openSafetensors(file('matrix.safetensors'))
        array = st.tensors.get('w')!.array
        expect(array.get(0, 1)).to.equal(1)
      }
      expectError(() => array.get(0, 0), Error, RELEASED)
    })

    it('close() refuses while a pin on a tensor (or a lease on the file) is held, and nothing is released', () => {
      const st = openSafetensors(file('matrix.safetensors'))
      const w = st.tensors.get('w')!.array
      const pin = w.pin()
      expectError(() => st.close(), BufferError, EXPORTED)
      expect(st.closed).to.equal(false)
      expect(w.get(2, 3)).to.equal(11)
      pin.release()
      const lease = st.file.lease()
      expectError(() => st[Symbol.dispose](), BufferError, EXPORTED)
      lease.release()
      st.close()
      expect(st.closed).to.equal(true)
    })

    it('use after close never reaches memory (child process exits cleanly)', () => {
      const script = `
        const { openSafetensors } = require(${JSON.stringify(require.resolve('memoryview'))})
        const st = openSafetensors(${JSON.stringify(file('all.safetensors'))}, { access: 'copy' })
        const typed = [...st.tensors.values()].filter((t) => t.array.nbytes > 0).map((t) => t.array.cast('B').toTypedArray())
        st.close()
        let codes = new Set()
        for (const t of st.tensors.values()) {
          for (const op of [() => t.array.get(0), () => t.array.tolist(), () => t.array.set(0, 0), () => t.array.tobytes()]) {
            try { op() } catch (err) { codes.add(err.code) }
          }
        }
        let sum = 0
        for (const b of typed) { for (let i = 0; i < 64; i++) sum += b[i] ?? 0; b[0] = 1 }
        process.stdout.write(JSON.stringify({ codes: [...codes], sum, lengths: typed.map((b) => b.length).reduce((a, b) => a + b, 0) }))
      `
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 50_000 })
      expect(r.signal, r.stderr).to.equal(null)
      expect(r.status, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal({ codes: [RELEASED], sum: 0, lengths: 0 })
    })
  })

  describe('access modes and arguments', () => {
    it("'read' (the default) gives readonly views", () => {
      using st = openSafetensors(file('matrix.safetensors'))
      expectError(() => st.tensors.get('w')!.array.set(0, 0, 1), TypeError, READONLY)
      expect(st.file.access).to.equal('read')
    })

    it("'copy' gives writable views whose stores never reach the file", () => {
      const p = file('matrix.safetensors')
      const bytes = fs.readFileSync(p)
      {
        using st = openSafetensors(p, { access: 'copy' })
        st.tensors.get('w')!.array.set(0, 0, -5)
        expect(st.tensors.get('w')!.array.get(0, 0)).to.equal(-5)
      }
      expect(fs.readFileSync(p).equals(bytes)).to.equal(true)
    })

    it("'write' gives writable views whose stores reach the file", () => {
      const p = file('matrix-write.safetensors')
      fs.copyFileSync(file('matrix.safetensors'), p)
      {
        using st = openSafetensors(p, { access: 'write' })
        st.tensors.get('w')!.array.set(1, 1, 99.5)
      }
      using again = openSafetensors(p)
      expect(again.tensors.get('w')!.array.get(1, 1)).to.equal(99.5)
    })

    it('bad arguments: TypeError INVALID_ARG; a missing file: the errno name', () => {
      for (const bad of ['', 'a\0b', 42, null, undefined]) {
        expectError(() => openSafetensors(bad as unknown as string), TypeError, INVALID_ARG)
      }
      expectError(() => openSafetensors(file('matrix.safetensors'), { access: 'rw' as never }), TypeError, INVALID_ARG)
      expectError(() => openSafetensors(file('matrix.safetensors'), null as never), TypeError, INVALID_ARG)
      expectError(() => openSafetensors(file('missing.safetensors')), Error, 'ENOENT')
      expectError(() => openSafetensors(dir), Error, 'EISDIR')
    })
  })

  it('the ESM entry exports openSafetensors, bf16ToFloat32 and SafetensorsFile (one identity with CJS)', () => {
    const code = `
      import { createRequire } from 'node:module'
      import * as esm from 'memoryview'
      const cjs = createRequire(import.meta.url)('memoryview')
      const names = ['openSafetensors', 'bf16ToFloat32', 'SafetensorsFile']
      console.log(JSON.stringify(names.map((n) => typeof esm[n] === 'function' && esm[n] === cjs[n])))
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', timeout: 50_000 })
    expect(r.stderr).to.equal('')
    expect(JSON.parse(r.stdout)).to.deep.equal([true, true, true])
  })

  describe('hostile headers: a clear error, nothing mapped, no descriptor left open', () => {
    const cases: [string, string, string][] = [
      // file, what it does, expected code (class: Error for BAD_HEADER, TypeError for UNSUPPORTED_DTYPE)
      ['short.safetensors', 'fewer than 8 bytes', BAD_HEADER],
      ['n-past-eof.safetensors', 'header size past the end of the file', BAD_HEADER],
      ['n-huge.safetensors', 'header size 2**64 - 1 (refused before any allocation)', BAD_HEADER],
      ['n-over-limit.safetensors', 'header size above 100,000,000', BAD_HEADER],
      ['n-zero.safetensors', 'header size 0', BAD_HEADER],
      ['not-json.safetensors', 'a header that is not JSON', BAD_HEADER],
      ['not-utf8.safetensors', 'a header that is not UTF-8', BAD_HEADER],
      ['json-array.safetensors', 'a JSON array', BAD_HEADER],
      ['leading-space.safetensors', "a header not starting with '{'", BAD_HEADER],
      ['tensor-not-object.safetensors', 'a tensor entry that is not an object', BAD_HEADER],
      ['metadata-not-strings.safetensors', 'a non-string metadata value', BAD_HEADER],
      ['metadata-not-object.safetensors', '__metadata__ not an object', BAD_HEADER],
      ['dtype-not-string.safetensors', 'a dtype that is not a string', BAD_HEADER],
      ['unknown-dtype.safetensors', 'a dtype safetensors does not define', UNSUPPORTED_DTYPE],
      ['shape-not-array.safetensors', 'a shape that is not an array', BAD_HEADER],
      ['negative-shape.safetensors', 'a negative shape entry', BAD_HEADER],
      ['fractional-shape.safetensors', 'a fractional shape entry', BAD_HEADER],
      ['string-shape.safetensors', 'a string shape entry', BAD_HEADER],
      ['too-many-dims.safetensors', 'more than 64 dimensions', BAD_HEADER],
      ['shape-overflow.safetensors', 'a shape whose product overflows before a 0', BAD_HEADER],
      ['missing-offsets.safetensors', 'no data_offsets', BAD_HEADER],
      ['offsets-three.safetensors', 'data_offsets of 3 numbers', BAD_HEADER],
      ['offsets-negative.safetensors', 'a negative offset', BAD_HEADER],
      ['offsets-unsafe.safetensors', 'an offset above 2**53', BAD_HEADER],
      ['end-before-begin.safetensors', 'end before begin', BAD_HEADER],
      ['outside.safetensors', 'offsets outside the data section', BAD_HEADER],
      ['shape-mismatch.safetensors', 'shape x dtype size != end - begin', BAD_HEADER],
      ['overlap.safetensors', 'two tensors that overlap', BAD_HEADER],
      ['gap.safetensors', 'a gap between tensors', BAD_HEADER],
      ['not-from-zero.safetensors', 'data not starting at offset 0', BAD_HEADER],
      ['trailing-bytes.safetensors', 'bytes after the last tensor', BAD_HEADER],
      ['f4-odd-bits.safetensors', 'packed F4 that is not a whole number of bytes', BAD_HEADER],
      ['duplicate-name.safetensors', 'a name given twice (the first entry is lost: a gap)', BAD_HEADER],
    ]
    for (const [name, what, code] of cases) {
      it(`${what}: ${code}`, () => {
        const mappings = liveMappings()
        const fds = fdCount()
        const err = expectError(() => openSafetensors(file(name)), code === BAD_HEADER ? Error : TypeError, code)
        expect(err.message).to.match(/^memoryview: /)
        expect(liveMappings()).to.equal(mappings)
        expect(fdCount()).to.equal(fds)
      })
    }

    it('a FIFO is refused without waiting for a writer, a character device by its size', () => {
      const fifo = file('fifo.safetensors')
      const r = spawnSync('mkfifo', [fifo])
      expect(r.status, String(r.stderr)).to.equal(0)
      try {
        const fds = fdCount()
        expectError(() => openSafetensors(fifo), Error, BAD_HEADER)
        expectError(() => openSafetensors('/dev/zero'), Error, BAD_HEADER)
        expect(fdCount()).to.equal(fds)
      } finally {
        fs.rmSync(fifo)
      }
    })

    it('300 files with mutated headers: each opens with in-bounds views or fails with one of the two codes', () => {
      const original = fs.readFileSync(file('all.safetensors'))
      const headerEnd = manifest['all.safetensors'].dataStart
      let seed = 12345
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648 // a fixed LCG: the same mutants every run
        return seed % n
      }
      const mutant = file('mutant.safetensors')
      const mappings = liveMappings()
      const outcomes = new Map<string, number>()
      for (let k = 0; k < 300; k++) {
        const bytes = Buffer.from(original)
        for (let m = 1 + random(3); m > 0; m--) bytes[random(headerEnd)] = random(2) === 0 ? random(256) : 0x30 + random(10)
        fs.writeFileSync(mutant, bytes)
        let outcome: string
        try {
          const st = openSafetensors(mutant)
          for (const t of st.tensors.values()) {
            const at = t.array
            expect(at.nbytes).to.be.at.most(st.file.size)
            at.tobytes() // reads every byte the view describes
          }
          st.close()
          outcome = 'opened'
        } catch (err) {
          const code = (err as { code?: string }).code
          expect([BAD_HEADER, UNSUPPORTED_DTYPE], String(err)).to.include(code)
          outcome = code!
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }
      expect(liveMappings()).to.equal(mappings)
      expect(outcomes.get(BAD_HEADER)).to.be.greaterThan(60)
    })

    it('every hostile file the writer made is in the table above', () => {
      const valid = new Set(Object.keys(manifest))
      const made = new Set(['matrix-write.safetensors', 'mutant.safetensors'])
      const hostile = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors') && !valid.has(f) && !made.has(f))
      expect(hostile.sort()).to.deep.equal(cases.map((c) => c[0]).sort())
    })
  })
})
