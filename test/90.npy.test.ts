/**
 * numpy .npy files as zero-copy views: openNpy() against real numpy (numpy writes, we read and compare
 * tolist() and strides; we write with saveNpy(), numpy loads and compares dtype, shape, order and
 * values), every dtype × byte order × C/F order × 0-d, empty and 1-d to 4-d shapes, in ONE python3
 * process (test/fixtures/npy-oracle.py). Then opening modes and closing, and hostile files: each
 * refused with a code, nothing left mapped.
 */
import { after, before, describe, it } from 'mocha'
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BUFFER_PROTOCOL, BufferError, MemoryView, memoryview, npyBytes, openNpy, saveNpy } from 'memoryview'
import { DTYPES, LE, SHAPES, enc, mapped, npyFile, runOracle } from './helpers/npy'

/** A view of `format` with `shape` in C or F order over fresh memory, filled as the oracle fills its arrays. */
function makeView(format: string, shape: number[], order: 'C' | 'F'): MemoryView {
  const itemsize = memoryview(new ArrayBuffer(8)).cast(format).itemsize
  const n = shape.reduce((a, b) => a * b, 1)
  const buffer = new ArrayBuffer(n * itemsize)
  const line = over(buffer, format, [n], [itemsize])
  const letter = format.replace(/^[<>=!@]/, '')
  const float = 'efd'.includes(letter)
  for (let k = 0; k < n; k++) {
    if (letter === '?') line.set(k, k % 3 === 0)
    else if (float) line.set(k, k === 1 ? NaN : k === 2 ? -0 : k === 3 ? Infinity : k * 1.37 - 5.5)
    else {
      const bits = BigInt(itemsize * 8)
      let v = BigInt.asUintN(64, BigInt(k) * -7046029254386353131n + 12345n)
      v = 'bhilqn'.includes(letter) ? BigInt.asIntN(Number(bits), v) : BigInt.asUintN(Number(bits), v)
      line.set(k, itemsize === 8 ? v : Number(v))
    }
  }
  const strides = new Array<number>(shape.length)
  let s = itemsize
  for (let k = 0; k < shape.length; k++) {
    const axis = order === 'F' ? k : shape.length - 1 - k
    strides[axis] = s
    s *= shape[axis]
  }
  return over(buffer, format, shape, strides)
}

/** A view with any strides, through the public buffer protocol. */
function over(buffer: ArrayBuffer, format: string, shape: number[], strides: number[]): MemoryView {
  return memoryview({ [BUFFER_PROTOCOL]: () => ({ buffer, byteOffset: 0, format, shape, strides, readonly: false }) } as never)
}

describe('90 .npy files (openNpy, saveNpy, npyBytes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-npy-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  interface Case { id: string; dtype: string; format: string; shape: number[]; order: 'C' | 'F'; version?: number[] }
  const cases: Case[] = []
  for (const [dtype, format] of DTYPES) {
    for (const shape of SHAPES) {
      for (const order of ['C', 'F'] as const) cases.push({ id: `${dtype} ${JSON.stringify(shape)} ${order}`, dtype, format, shape, order })
    }
  }
  for (const version of [[2, 0], [3, 0]]) {
    cases.push({ id: `<f8 [3,4] F v${version[0]}.0`, dtype: '<f8', format: LE ? 'd' : '<d', shape: [3, 4], order: 'F', version })
  }
  /** What we write: every format we accept, in each byte order spelling. */
  const writes: { id: string; format: string; shape: number[]; order: 'C' | 'F'; descr: string }[] = []
  const native = LE ? '<' : '>'
  for (const [letter, kind] of [['?', 'b1'], ['b', 'i1'], ['B', 'u1']]) {
    for (const shape of SHAPES) for (const order of ['C', 'F'] as const) writes.push({ id: `${letter} ${JSON.stringify(shape)} ${order}`, format: letter, shape, order, descr: `|${kind}` })
  }
  for (const [letter, kind] of [['h', 'i2'], ['H', 'u2'], ['i', 'i4'], ['I', 'u4'], ['q', 'i8'], ['Q', 'u8'], ['e', 'f2'], ['f', 'f4'], ['d', 'f8']]) {
    for (const prefix of ['', '<', '>']) {
      for (const shape of SHAPES) {
        for (const order of ['C', 'F'] as const) {
          writes.push({ id: `${prefix}${letter} ${JSON.stringify(shape)} ${order}`, format: prefix + letter, shape, order, descr: `${prefix === '' ? native : prefix}${kind}` })
        }
      }
    }
  }
  for (const [format, descr] of [['l', `${native}i8`], ['L', `${native}u8`], ['n', `${native}i8`], ['N', `${native}u8`], ['P', `${native}u8`], ['=i', `${native}i4`], ['!d', '>f8'], ['<l', '<i4'], ['>L', '>u4']]) {
    writes.push({ id: `${format} [2,3] C`, format, shape: [2, 3], order: 'C', descr })
  }
  const ours = new Map<string, MemoryView>()
  let oracle: any

  before(() => {
    for (const w of writes) {
      const view = makeView(w.format, w.shape, w.order)
      ours.set(w.id, view)
      saveNpy(join(dir, `w${writes.indexOf(w)}.npy`), view)
    }
    oracle = runOracle({
      make: cases.map((c, n) => ({ id: c.id, path: join(dir, `m${n}.npy`), dtype: c.dtype, shape: c.shape, order: c.order, version: c.version })),
      load: writes.map((w, n) => ({ id: w.id, path: join(dir, `w${n}.npy`) })),
    })
  })

  describe(`numpy writes, openNpy reads: ${DTYPES.length} dtypes × ${SHAPES.length} shapes × C/F order, and versions 2.0/3.0`, () => {
    cases.forEach((c, n) => {
      it(c.id, () => {
        const want = oracle.made[c.id]
        using f = openNpy(join(dir, `m${n}.npy`))
        expect(f.dtype).to.equal(c.dtype)
        expect(f.shape).to.deep.equal(c.shape)
        expect(f.fortranOrder).to.equal(want.fortran)
        expect(f.array.format).to.equal(c.format)
        expect(f.array.shape).to.deep.equal(c.shape)
        expect(f.array.strides).to.deep.equal(want.strides)
        expect(f.array.readonly).to.equal(true)
        expect(enc(f.array.tolist(), /f/.test(c.dtype))).to.deep.equal(want.values)
      })
    })
  })

  describe(`saveNpy writes, numpy loads: ${writes.length} format × shape × order cases`, () => {
    writes.forEach((w) => {
      it(w.id, () => {
        const got = oracle.loaded[w.id]
        const view = ours.get(w.id)!
        expect(got.dtype).to.equal(w.descr)
        expect(got.shape).to.deep.equal(w.shape)
        expect(got.fortran).to.equal(!view.c_contiguous && view.f_contiguous)
        expect(got.values).to.deep.equal(enc(view.tolist(), /[efd]$/.test(w.format)))
      })
    })
  })

  describe('saveNpy and npyBytes', () => {
    it('round-trips through openNpy with the same format, shape, strides and values', () => {
      const view = makeView('>i', [3, 4], 'F')
      const file = join(dir, 'round.npy')
      saveNpy(file, view)
      using f = openNpy(file)
      expect(f.array.format).to.equal('>i')
      expect(f.array.strides).to.deep.equal(view.strides)
      expect(f.array.equals(view)).to.equal(true)
    })

    it('npyBytes gives the bytes saveNpy writes: a 64-byte aligned version 1.0 header ending in a newline', () => {
      const view = memoryview(new Float64Array([1, 2, 3]))
      const bytes = npyBytes(view)
      saveNpy(join(dir, 'b.npy'), view)
      expect(bytes.equals(readFileSync(join(dir, 'b.npy')))).to.equal(true)
      const headerLen = bytes.readUInt16LE(8)
      expect(bytes[6]).to.equal(1)
      expect((10 + headerLen) % 64).to.equal(0)
      expect(bytes[10 + headerLen - 1]).to.equal(0x0a)
      expect(bytes.length).to.equal(10 + headerLen + 24)
    })

    it('accepts any source memoryview() accepts (a TypedArray here)', () => {
      saveNpy(join(dir, 'ta.npy'), new Int16Array([1, -2, 3]))
      using f = openNpy(join(dir, 'ta.npy'))
      expect(f.array.tolist()).to.deep.equal([1, -2, 3])
    })

    it('writes a strided view in C order (a copy, as numpy.save does)', () => {
      const buffer = new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]).buffer
      const m = memoryview(new Int32Array(buffer))
      const strided = over(buffer, 'i', [2, 2], [16, 4])
      saveNpy(join(dir, 'strided.npy'), strided)
      using f = openNpy(join(dir, 'strided.npy'))
      expect(f.fortranOrder).to.equal(false)
      expect(f.array.tolist()).to.deep.equal([[0, 1], [4, 5]])
      saveNpy(join(dir, 'step.npy'), m.subarray(null, null, 3))
      using g = openNpy(join(dir, 'step.npy'))
      expect(g.array.tolist()).to.deep.equal([0, 3, 6])
    })

    it("refuses formats without a numpy dtype ('c', multi-item) with ERR_MEMORYVIEW_UNSUPPORTED_DTYPE, creating no file", () => {
      const file = join(dir, 'never.npy')
      expect(() => saveNpy(file, memoryview(Buffer.from('ab')).cast('c'))).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_UNSUPPORTED_DTYPE')
      expect(() => readFileSync(file)).to.throw().with.property('code', 'ENOENT')
    })

    it('refuses a released view (ERR_MEMORYVIEW_RELEASED) and a bad path (ERR_MEMORYVIEW_INVALID_ARG)', () => {
      const m = memoryview(new Uint8Array(2))
      expect(() => saveNpy('', m)).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
      m.release()
      expect(() => saveNpy(join(dir, 'released.npy'), m)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
    })

    it('replaces a file that is mapped without crashing its mapping (child process, SIGBUS before the fix)', () => {
      const file = join(dir, 'mapped-over.npy')
      const code = `
        const { openNpy, saveNpy } = require('memoryview')
        saveNpy(${JSON.stringify(file)}, new Float64Array(100000).fill(7))
        const f = openNpy(${JSON.stringify(file)})
        saveNpy(${JSON.stringify(file)}, new Float64Array(2))
        if (f.array.get(99999) !== 7) throw new Error('the mapping lost its data')
        f.close()
        if (openNpy(${JSON.stringify(file)}).shape[0] !== 2) throw new Error('the file was not replaced')
      `
      const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: __dirname, timeout: 50_000 })
      expect(r.signal, r.stderr).to.equal(null)
      expect(r.status, r.stderr).to.equal(0)
    })

    it('a failed save leaves the old file and no temporary file', () => {
      const sub = join(dir, 'failed')
      mkdirSync(join(sub, 'target.npy'), { recursive: true })
      writeFileSync(join(sub, 'target.npy', 'keep'), 'x')
      expect(() => saveNpy(join(sub, 'target.npy'), new Uint8Array(4))).to.throw(Error).with.property('code').that.matches(/^E/)
      expect(readdirSync(sub)).to.deep.equal(['target.npy'])
      expect(readdirSync(join(sub, 'target.npy'))).to.deep.equal(['keep'])
    })

    it('reports a system error by errno name (ENOENT for a missing directory)', () => {
      expect(() => saveNpy(join(dir, 'no', 'such.npy'), new Uint8Array(1))).to.throw(Error).with.property('code', 'ENOENT')
    })
  })

  describe('opening and closing', () => {
    const file = join(dir, 'modes.npy')
    before(() => saveNpy(file, new Float64Array([1, 2, 3, 4])))

    it("'read' (default) gives a readonly array", () => {
      using f = openNpy(file)
      expect(() => f.array.set(0, 5)).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_READONLY')
    })

    it("'write' stores reach the file; 'copy' stores do not", () => {
      const c = openNpy(file, { access: 'copy' })
      c.array.set(1, 20)
      expect(c.array.get(1)).to.equal(20)
      c.close()
      const w = openNpy(file, { access: 'write' })
      w.array.set(0, 10)
      w.close()
      using r = openNpy(file)
      expect(r.array.tolist()).to.deep.equal([10, 2, 3, 4])
    })

    it('close() releases the array and every view derived from it; closing twice is a no-op', () => {
      const f = openNpy(file)
      const sub = f.array.subarray(1)
      f.close()
      expect(f.closed).to.equal(true)
      expect(() => f.array.get(0)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
      expect(() => sub.get(0)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
      f.close()
      expect(mapped('modes.npy')).to.equal(false)
    })

    it('close() refuses while a pin is held (BufferError ERR_MEMORYVIEW_EXPORTED) and works after', () => {
      const f = openNpy(file)
      const pin = f.array.pin()
      expect(() => f.close()).to.throw(BufferError).with.property('code', 'ERR_MEMORYVIEW_EXPORTED')
      expect(f.array.get(0)).to.equal(10)
      pin.release()
      f.close()
      expect(f.closed).to.equal(true)
    })

    it('using closes at the end of the block', () => {
      let kept: MemoryView
      {
        using f = openNpy(file)
        kept = f.array
      }
      expect(() => kept.get(0)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
    })

    it('reads data at any alignment (a header that leaves 8-byte floats at an odd offset)', () => {
      const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n"
      expect((10 + header.length) % 8).to.not.equal(0)
      const data = Buffer.alloc(24)
      data.writeDoubleLE(1.5, 0)
      data.writeDoubleLE(-2.25, 8)
      data.writeDoubleLE(1e300, 16)
      writeFileSync(join(dir, 'odd.npy'), npyFile(header, data))
      using f = openNpy(join(dir, 'odd.npy'))
      expect(f.array.tolist()).to.deep.equal([1.5, -2.25, 1e300])
      expect(f.array.get(-1)).to.equal(1e300)
    })

    it('accepts headers numpy accepts: double quotes, no trailing comma, any key order, Python 2 long ints', () => {
      const data = new Uint8Array([1, 2, 3, 4, 5, 6])
      writeFileSync(join(dir, 'py2.npy'), npyFile('{"shape": (2L, 3L), "fortran_order": False, "descr": "|u1"}     \n', data))
      using f = openNpy(join(dir, 'py2.npy'))
      expect(f.array.tolist()).to.deep.equal([[1, 2, 3], [4, 5, 6]])
    })

    it('refuses bad options and a missing file as mmap() does', () => {
      expect(() => openNpy(file, { access: 'rw' as never })).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
      expect(() => openNpy(join(dir, 'missing.npy'))).to.throw(Error).with.property('code', 'ENOENT')
    })
  })

  describe('malformed and hostile files: ERR_MEMORYVIEW_BAD_HEADER, nothing left mapped', () => {
    const ok = (shape: string, descr = '<f8'): string => `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }\n`
    const bad: [string, Buffer][] = [
      ['an empty file', Buffer.alloc(0)],
      ['a file shorter than the preamble', Buffer.from([0x93, 0x4e, 0x55, 0x4d])],
      ['a bad magic', Buffer.concat([Buffer.from('XNUMPY'), npyFile(ok('(1,)'), new Uint8Array(8)).subarray(6)])],
      ['an unknown version (4.0)', npyFile(ok('(1,)'), new Uint8Array(8), 4)],
      ['a version 2.0 file cut inside its header length', npyFile(ok('(1,)'), new Uint8Array(8), 2).subarray(0, 11)],
      ['a header length past the end of the file', npyFile(ok('(1,)')).subarray(0, 40)],
      ['a header that calls a function', npyFile("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8))],
      ['a header with an expression', npyFile(ok('(1+1,)'), new Uint8Array(16))],
      ['a header that is not a dict', npyFile("['descr', '<f8']\n")],
      ['text after the dict', npyFile(ok('(1,)').trim() + ' x\n', new Uint8Array(8))],
      ['an unterminated string', npyFile("{'descr': '<f8, 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8))],
      ['a missing key', npyFile("{'descr': '<f8', 'shape': (1,), }\n", new Uint8Array(8))],
      ['an extra key', npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1, }\n", new Uint8Array(8))],
      ['a duplicate key', npyFile("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8))],
      ['fortran_order that is not a bool', npyFile("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }\n", new Uint8Array(8))],
      ['a shape that is a list', npyFile(ok('[1]'), new Uint8Array(8))],
      ['a shape that is an int', npyFile(ok('1'), new Uint8Array(8))],
      ['a negative shape element', npyFile(ok('(-1,)'), new Uint8Array(8))],
      ['a float shape element', npyFile(ok('(1.0,)'), new Uint8Array(8))],
      ['a huge shape element', npyFile(ok('(18446744073709551616,)'), new Uint8Array(8))],
      ['a shape whose product overflows', npyFile(ok('(4294967296, 4294967296, 4294967296)'), new Uint8Array(8))],
      ['65 dimensions', npyFile(ok(`(${'1, '.repeat(65)})`), new Uint8Array(8))],
      ['shape × itemsize one byte past the file', npyFile(ok('(3,)'), new Uint8Array(23))],
      ['a 0-d array with no data', npyFile(ok('()'))],
      ['a version 3.0 header that is not UTF-8', Buffer.concat([npyFile(ok('(1,)'), new Uint8Array(8), 3).subarray(0, 12), Buffer.from([0xff, 0xfe]), npyFile(ok('(1,)'), new Uint8Array(8), 3).subarray(14)])],
    ]
    bad.forEach(([what, bytes], n) => {
      it(what, () => {
        const file = join(dir, `bad-${n}.npy`)
        writeFileSync(file, bytes)
        expect(() => openNpy(file)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_BAD_HEADER')
        expect(mapped(`bad-${n}.npy`)).to.equal(false)
      })
    })

    it('never evaluates the header (a header naming a function leaves no trace)', () => {
      const file = join(dir, 'eval.npy')
      writeFileSync(file, npyFile("{'descr': globalThis.pwned = '<f8', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8)))
      expect(() => openNpy(file)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_BAD_HEADER')
      expect((globalThis as { pwned?: unknown }).pwned).to.equal(undefined)
    })
  })

  describe('unsupported dtypes: TypeError ERR_MEMORYVIEW_UNSUPPORTED_DTYPE naming the dtype, nothing left mapped', () => {
    const dtypes = ['|O', '<c8', '<c16', '|S3', '<U3', '<M8[ns]', '<m8[s]', '|V8', '<f16', '<i16', 'f8', '<d', 'float64']
    dtypes.forEach((descr, n) => {
      it(descr, () => {
        const file = join(dir, `dtype-${n}.npy`)
        writeFileSync(file, npyFile(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }\n`, new Uint8Array(64)))
        let err: any
        try {
          openNpy(file)
        } catch (e) {
          err = e
        }
        expect(err).to.be.instanceOf(TypeError)
        expect(err.code).to.equal('ERR_MEMORYVIEW_UNSUPPORTED_DTYPE')
        expect(err.message).to.contain(`'${descr}'`)
        expect(mapped(`dtype-${n}.npy`)).to.equal(false)
      })
    })

    it('a structured dtype (a list of fields)', () => {
      const file = join(dir, 'structured.npy')
      writeFileSync(file, npyFile("{'descr': [('x', '<i4'), ('y', '<f8')], 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(64)))
      expect(() => openNpy(file)).to.throw(TypeError, "[('x', '<i4'), ('y', '<f8')]").with.property('code', 'ERR_MEMORYVIEW_UNSUPPORTED_DTYPE')
      expect(mapped('structured.npy')).to.equal(false)
    })
  })
})
