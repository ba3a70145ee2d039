/**
 * numpy .npz archives: openNpz() maps the archive once and get(name) views each stored member in
 * place, compared with numpy's own arrays (np.savez in ONE python3 process, test/fixtures/npy-oracle.py):
 * several members of every dtype and order, zip64 archives, compressed members (refused, or inflated
 * on request), closing, and malformed archives refused with ERR_MEMORYVIEW_BAD_HEADER.
 */
import { after, before, describe, it } from 'mocha'
import { expect } from 'chai'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BUFFER_PROTOCOL, BufferError, MemoryView, memoryview, openNpz, saveNpz } from 'memoryview'
import { DTYPES, SHAPES, enc, mapped, runOracle } from './helpers/npy'

describe('91 .npz archives (openNpz)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-npz-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  type MemberSpec = { name: string; dtype: string; shape: number[]; order: 'C' | 'F' }
  /** One member per dtype, cycling through shapes and orders. */
  const all: MemberSpec[] = DTYPES.map(([dtype], k) => ({
    name: `m${k}_${dtype.replace(/[<>|]/, (c) => ({ '<': 'le', '>': 'be', '|': 'na' })[c]!)}`,
    dtype,
    shape: SHAPES[k % SHAPES.length],
    order: k % 2 === 0 ? 'C' : 'F',
  }))
  const small: MemberSpec[] = [
    { name: 'x', dtype: '<i2', shape: [5], order: 'C' },
    { name: 'y', dtype: '<f8', shape: [3, 4], order: 'F' },
  ]
  const archives = {
    many: { members: all },
    zip64: { members: small, zip64: true },
    compressed: { members: small, compressed: true },
    small: { members: small },
  }
  const path = (id: string): string => join(dir, `${id}.npz`)
  let oracle: any

  /** What saveNpz writes: members of several formats, orders and shapes, and a non-ASCII name. */
  const f64 = new Float64Array([1.5, -0, NaN, 4, 5e300, -6])
  const written: Record<string, MemoryView> = {
    ints: memoryview(new Int32Array([1, -2, 3, 2 ** 31 - 1, -(2 ** 31), 0]).buffer).cast('i', [2, 3]),
    fortran_be: memoryview({
      [BUFFER_PROTOCOL]: () => ({ buffer: f64.buffer, byteOffset: 0, format: '>d', shape: [3, 2], strides: [8, 24], readonly: true }),
    } as never),
    flags: memoryview(new Uint8Array([1, 0, 0, 1]).buffer).cast('?'),
    scalar: memoryview(new Uint16Array([0x3e00]).buffer).cast('e', []),
    empty: memoryview(new BigUint64Array(0)),
    'ünï': memoryview(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])),
  }

  before(() => {
    saveNpz(path('ours'), written)
    oracle = runOracle({
      npz: Object.entries(archives).map(([id, a]) => ({ id, path: path(id), ...a })),
      loadnpz: [{ id: 'ours', path: path('ours') }],
    })
  })

  function expectMembers(id: string, specs: MemberSpec[], opts = {}): void {
    using z = openNpz(path(id), opts)
    expect(z.names).to.deep.equal(specs.map((m) => m.name))
    for (const m of specs) {
      const want = oracle.npz[id][m.name]
      const a = z.get(m.name)
      expect(a.dtype, m.name).to.equal(m.dtype)
      expect(a.shape, m.name).to.deep.equal(m.shape)
      expect(a.array.shape, m.name).to.deep.equal(m.shape)
      expect(a.array.strides, m.name).to.deep.equal(want.strides)
      expect(enc(a.array.tolist(), /f/.test(m.dtype)), m.name).to.deep.equal(want.values)
    }
  }

  it(`reads ${all.length} members of every dtype, shape and order as numpy wrote them (np.savez)`, () => {
    expectMembers('many', all)
  })

  it('reads a zip64 archive (zip64 extra fields and end record)', () => {
    expectMembers('zip64', small)
  })

  it('reads a zip64 archive whose end record is saturated (the zip64 end record is the only source)', () => {
    const bytes = readFileSync(path('zip64'))
    const eocd = bytes.length - 22
    expect(bytes.readUInt32LE(eocd)).to.equal(0x06054b50)
    bytes.writeUInt16LE(0xffff, eocd + 8)
    bytes.writeUInt16LE(0xffff, eocd + 10)
    bytes.writeUInt32LE(0xffffffff, eocd + 12)
    bytes.writeUInt32LE(0xffffffff, eocd + 16)
    writeFileSync(path('saturated'), bytes)
    oracle.npz.saturated = oracle.npz.zip64
    expectMembers('saturated', small)
  })

  it('get() takes a name with or without .npy and returns the same object each time', () => {
    using z = openNpz(path('small'))
    expect(z.get('x.npy')).to.equal(z.get('x'))
    expect(Object.isFrozen(z.names)).to.equal(true)
  })

  it('views members in place: readonly by default, zero-copy over the mapping', () => {
    using z = openNpz(path('small'))
    const x = z.get('x').array
    expect(x.readonly).to.equal(true)
    expect(x.obj).to.equal(z.file.buf.obj)
  })

  it("access 'write' stores reach the archive's bytes", () => {
    const file = join(dir, 'rw.npz')
    writeFileSync(file, readFileSync(path('small')))
    const w = openNpz(file, { access: 'write' })
    w.get('x').array.set(0, -7)
    w.close()
    using r = openNpz(file)
    expect(r.get('x').array.get(0)).to.equal(-7)
  })

  it('refuses a name not in the archive with RangeError ERR_MEMORYVIEW_NOT_FOUND', () => {
    using z = openNpz(path('small'))
    expect(() => z.get('nope')).to.throw(RangeError).with.property('code', 'ERR_MEMORYVIEW_NOT_FOUND')
    expect(() => z.get(1 as never)).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
  })

  it('refuses a compressed member (np.savez_compressed) with ERR_MEMORYVIEW_COMPRESSED', () => {
    using z = openNpz(path('compressed'))
    expect(z.names).to.deep.equal(['x', 'y'])
    expect(() => z.get('x')).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_COMPRESSED')
  })

  it("inflates compressed members into memory with { compressed: 'load' }", () => {
    expectMembers('compressed', small, { compressed: 'load' })
    using z = openNpz(path('compressed'), { compressed: 'load' })
    const x = z.get('x').array
    z.close()
    expect(x.get(0)).to.equal(Number(oracle.npz.compressed.x.values[0]))
  })

  it('refuses bad options with TypeError ERR_MEMORYVIEW_INVALID_ARG', () => {
    expect(() => openNpz(path('small'), { compressed: 'yes' as never })).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
    expect(() => openNpz(path('small'), { access: 'no' as never })).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
  })

  it('close() releases every member array; get() after close() throws ERR_MEMORYVIEW_RELEASED', () => {
    const z = openNpz(path('small'))
    const x = z.get('x').array
    z.close()
    expect(z.closed).to.equal(true)
    expect(() => x.get(0)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
    expect(() => z.get('y')).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_RELEASED')
    expect(mapped('small.npz')).to.equal(false)
  })

  it('close() refuses while a member array is pinned (BufferError ERR_MEMORYVIEW_EXPORTED)', () => {
    const z = openNpz(path('small'))
    const pin = z.get('y').array.pin()
    expect(() => z.close()).to.throw(BufferError).with.property('code', 'ERR_MEMORYVIEW_EXPORTED')
    pin.release()
    z.close()
  })

  describe('saveNpz', () => {
    it('writes an archive numpy loads with the same names, dtypes, shapes, orders and values (CRCs checked)', () => {
      const got = oracle.loadnpz.ours
      expect(got.crc_ok).to.equal(true)
      expect(got.names).to.deep.equal(Object.keys(written))
      for (const [name, view] of Object.entries(written)) {
        const m = got.members[name]
        const float = /[efd]$/.test(view.format)
        expect(m.shape, name).to.deep.equal(view.shape)
        expect(m.fortran, name).to.equal(!view.c_contiguous && view.f_contiguous)
        expect(m.values, name).to.deep.equal(enc(view.tolist(), float))
      }
      expect(got.members.fortran_be.dtype).to.equal('>f8')
      expect(got.members.fortran_be.fortran).to.equal(true)
    })

    it('writes an archive openNpz maps back member for member', () => {
      using z = openNpz(path('ours'))
      expect(z.names).to.deep.equal(Object.keys(written))
      for (const [name, view] of Object.entries(written)) {
        const a = z.get(name).array
        expect(a.format, name).to.equal(view.format)
        expect(a.strides, name).to.deep.equal(view.strides)
        expect(enc(a.tolist(), /[efd]$/.test(view.format)), name).to.deep.equal(enc(view.tolist(), /[efd]$/.test(view.format)))
      }
    })

    it('refuses bad arguments before writing anything', () => {
      const file = join(dir, 'never.npz')
      expect(() => saveNpz(file, null as never)).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
      expect(() => saveNpz(file, { '': new Uint8Array(1) })).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
      expect(() => saveNpz(file, { a: new Uint8Array(1), c: memoryview(Buffer.from('x')).cast('c') }))
        .to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_UNSUPPORTED_DTYPE')
      expect(() => saveNpz('', {})).to.throw(TypeError).with.property('code', 'ERR_MEMORYVIEW_INVALID_ARG')
      expect(existsSync(file)).to.equal(false)
    })
  })

  describe('malformed archives: ERR_MEMORYVIEW_BAD_HEADER', () => {
    /** A copy of the small archive changed by `edit`. */
    function variant(name: string, edit: (b: Buffer) => Buffer | void): string {
      const b = readFileSync(path('small'))
      const file = join(dir, `${name}.npz`)
      writeFileSync(file, edit(b) ?? b)
      return file
    }
    const eocdOf = (b: Buffer): number => b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
    const cdOf = (b: Buffer): number => b.readUInt32LE(eocdOf(b) + 16)

    const atOpen: [string, (b: Buffer) => Buffer | void][] = [
      ['an empty file', () => Buffer.alloc(0)],
      ['not a zip file', () => Buffer.from('just some text, no archive here'.repeat(4))],
      ['a truncated archive (no end record)', (b) => b.subarray(0, b.length - 30)],
      ['a central directory past the end of the file', (b) => { b.writeUInt32LE(b.length, eocdOf(b) + 16) }],
      ['more entries than the central directory can hold', (b) => { b.writeUInt16LE(1000, eocdOf(b) + 10) }],
      ['a bad central directory signature', (b) => { b.writeUInt32LE(0, cdOf(b)) }],
      ['a name running past the central directory', (b) => { b.writeUInt16LE(0xffff, cdOf(b) + 28) }],
    ]
    atOpen.forEach(([what, edit], n) => {
      it(`at open: ${what} (nothing left mapped)`, () => {
        const file = variant(`open-${n}`, edit)
        expect(() => openNpz(file)).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_BAD_HEADER')
        expect(mapped(`open-${n}.npz`)).to.equal(false)
      })
    })

    const atGet: [string, (b: Buffer) => Buffer | void][] = [
      ['a local header offset past the end', (b) => { b.writeUInt32LE(b.length + 100, cdOf(b) + 42) }],
      ['a member size past the end', (b) => {
        b.writeUInt32LE(0x7fffffff, cdOf(b) + 20)
        b.writeUInt32LE(0x7fffffff, cdOf(b) + 24)
      }],
      ['a member whose .npy header claims more data than the member holds', (b) => {
        const at = b.indexOf("'shape': (5,)")
        b.write("'shape': (9,)", at, 'latin1')
      }],
      ['a member that is not a .npy file', (b) => { b.write('XX', b.indexOf('NUMPY') - 1, 'latin1') }],
    ]
    atGet.forEach(([what, edit], n) => {
      it(`at get(): ${what}`, () => {
        using z = openNpz(variant(`get-${n}`, edit))
        expect(() => z.get('x')).to.throw(Error).with.property('code', 'ERR_MEMORYVIEW_BAD_HEADER')
      })
    })
  })
})
