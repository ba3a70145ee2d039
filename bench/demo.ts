/**
 * `npm run demo`: the main job in a few lines. One file, mapped by this process, by a second Node
 * process and by Python, each seeing it through typed views: a write in one is visible in the others
 * with no copy and no message. Then close() and its guarantees.
 *
 * The file starts with a header of two uint32 (a counter and a version), then float64 samples:
 *   bytes 0..7   'I' x 2   counter, version
 *   bytes 8..    'd' x N   samples
 *
 * Run as `node dist/bench/demo.js`; it runs itself again as the child process
 * (`demo.js child <file>`). Python is `python3` (or $PYTHON); when it is missing the Python step is
 * skipped and said so. The temporary directory is removed in every case.
 */
import { spawnSync, execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { BufferError, mmap } from 'memoryview'

const SIZE = 4096

/** Maps the file (creating it when `size` is given) and views it: the header as uint32, the rest as float64. */
function open(file: string, size?: number) {
  const mf = mmap(file, { access: 'write', size })
  return { mf, header: mf.buf.subarray(0, 8).cast('I'), samples: mf.buf.subarray(8).cast('d') }
}

const show = (label: string, text: string): void => console.log(`${label.padEnd(8)} ${text}`)
const list = (values: unknown[]): string => `[${values.map(String).join(', ')}]`

function child(file: string): void {
  const { mf, header, samples } = open(file)
  const seen = [0, 1, 2, 3].map((i) => samples.get(i))
  header.set(0, Number(header.get(0)) + 1)
  samples.set(4, 42)
  show('child', `pid ${process.pid} mapped the same file: samples[0..3] = ${list(seen)}; wrote samples[4] = 42, counter += 1`)
  mf.close()
}

// Python's own mmap and struct: the same bytes, no package needed on that side.
const PYTHON = `
import mmap, struct, sys
with open(sys.argv[1], "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
    counter, version = struct.unpack_from("<2I", mm, 0)
    seen = struct.unpack_from("<5d", mm, 8)
    struct.pack_into("<d", mm, 8 + 5 * 8, 2.718)
    struct.pack_into("<I", mm, 0, counter + 1)
    print(f"python   mmap + struct: counter = {counter}, samples[0..4] = {list(seen)}; wrote samples[5] = 2.718, counter += 1")
`

function python(file: string): void {
  const interpreter = process.env.PYTHON ?? 'python3'
  const r = spawnSync(interpreter, ['-c', PYTHON, file], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.error !== undefined || r.status !== 0) {
    show('python', `skipped (${interpreter} is not available: ${r.error?.message ?? `exit ${r.status}`})`)
  }
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memoryview-demo-'))
  const file = path.join(dir, 'samples.bin')
  try {
    const { mf, header, samples } = open(file, SIZE) // creates the file
    show('file', `${file} (${mf.size} bytes), mapped with mmap(file, { access: 'write', size: ${SIZE} })`)
    show('views', `header = buf.subarray(0, 8).cast('I'), samples = buf.subarray(8).cast('d') (${samples.length} float64s)`)
    header.set(1, 1)
    for (let i = 0; i < 4; i++) samples.set(i, 1.5 + i)
    show('node', `wrote samples[0..3] = ${list([0, 1, 2, 3].map((i) => samples.get(i)))}, version = 1`)

    execFileSync(process.execPath, [__filename, 'child', file], { stdio: ['ignore', 'inherit', 'inherit'] })
    show('node', `reads samples[4] = ${samples.get(4)}, counter = ${header.get(0)}: the child's writes, no copy, no message`)

    python(file)
    show('node', `reads samples[5] = ${samples.get(5)}, counter = ${header.get(0)}`)

    const raw = samples.toTypedArray() // a plain Float64Array over the same pages
    const lease = mf.lease() // an export, as async I/O or native code would hold
    try {
      mf.close()
    } catch (err) {
      const e = err as BufferError
      show('close()', `refused while a lease is held: ${e.name} ${e.code}; the views still work (samples[0] = ${samples.get(0)})`)
    }
    lease.release()
    mf.close()
    let after = 'readable'
    try {
      samples.get(0)
    } catch (err) {
      after = (err as { code?: string }).code ?? String(err)
    }
    show('close()', `after lease.release(): unmapped at once; samples.get(0) throws ${after}, the Float64Array from toTypedArray() now has byteLength ${raw.byteLength}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    show('cleanup', `${dir} removed`)
  }
}

if (process.argv[2] === 'child') child(process.argv[3])
else main()
