/**
 * Question: how long does it take to hand 64 MiB to another Node process through SharedMemory,
 * compared with sending it as a Buffer over child_process IPC (serialization: 'advanced')?
 * Issue 3 asks to report both latencies; there is no pass/fail target (informational).
 *
 * Method: the parent creates a 64 MiB SharedMemory segment and a 64 MiB Buffer holding the same
 * bytes, and forks two children once, before timing (both with serialization: 'advanced'):
 *  - the shm child is told the segment's name over IPC, attaches once, and then for every message
 *    {seq} reads the segment and replies with the word at offset 0 and a checksum;
 *  - the IPC child receives {seq, data: <the 64 MiB Buffer>} and replies with the same figures
 *    computed over the received bytes.
 * One measurement is the round trip from "data ready" (the parent has written seq into the first
 * word, untimed) to "the child has it and replied"; the parent checks seq and the checksum of every
 * reply. Two kinds of check by the child: 16384 sampled bytes (one per 4 KiB page, so the child
 * does touch every page) and a checksum of the whole buffer. The two sides alternate, best of N.
 *
 * IPC is asynchronous, so the timing runs in a helper process (`--measure`) that the case starts
 * with spawnSync; children are `--child shm|ipc`.
 */
import { ChildProcess, fork, spawnSync } from 'node:child_process'
import { SharedMemory } from 'memoryview'
import { MiB, Row, benchMain, row, sizeName } from './common'

const SIZE = 64 * MiB
const PAGE = 4096
type Check = 'sampled' | 'full'

/** Checksum of everything but the first word (which carries seq): sampled bytes, or all words. */
function checksum(u8: Uint8Array, check: Check): number {
  let s = 0
  if (check === 'sampled') {
    for (let i = PAGE + 7; i < u8.length; i += PAGE) s = (s + u8[i]) | 0
    return (s + u8[7]) | 0
  }
  const w = new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2)
  for (let i = 1; i < w.length; i++) s = (s + w[i]) | 0
  return s
}

function firstWord(u8: Uint8Array): number {
  return new DataView(u8.buffer, u8.byteOffset, 4).getUint32(0, true)
}

// ---- children ----------------------------------------------------------------------------------

function child(kind: string): void {
  let shm: SharedMemory | null = null
  let view: Uint8Array | null = null
  process.on('message', (msg: { name?: string; seq: number; check: Check; data?: Uint8Array }) => {
    if (kind === 'shm' && msg.name !== undefined) {
      shm = new SharedMemory({ name: msg.name })
      view = shm.buf.toTypedArray()
      process.send!({ ready: true })
      return
    }
    const u8 = kind === 'shm' ? view! : msg.data!
    process.send!({ seq: msg.seq, first: firstWord(u8), sum: checksum(u8, msg.check), length: u8.length })
  })
  process.on('disconnect', () => {
    shm?.close()
  })
}

// ---- the measuring parent ----------------------------------------------------------------------

function request(c: ChildProcess, msg: object): Promise<{ seq: number; first: number; sum: number; length: number }> {
  return new Promise((resolve) => {
    c.once('message', resolve as (m: unknown) => void)
    c.send(msg)
  })
}

async function measure(check: Check): Promise<void> {
  const reps = Math.max(3, Math.round(12 * (Number(process.env.BENCH_REPS_SCALE ?? '1') || 1)))
  const shm = new SharedMemory({ create: true, size: SIZE })
  const shmChild = fork(__filename, ['--child', 'shm'], { serialization: 'advanced', stdio: 'inherit' })
  const ipcChild = fork(__filename, ['--child', 'ipc'], { serialization: 'advanced', stdio: 'inherit' })
  try {
    const mem = shm.buf.toTypedArray()
    for (let i = 0; i < SIZE; i++) mem[i] = (i * 31 + 7) & 0xff
    const buf = Buffer.from(mem) // the same bytes on the heap, for IPC
    const expected = checksum(buf, check)
    await request(shmChild, { name: shm.name, seq: 0, check })

    let seq = 0
    const once = async (c: ChildProcess, viaShm: boolean): Promise<number> => {
      seq++
      // Data ready: a fresh first word, so the reply proves the child saw this round's bytes.
      new DataView(mem.buffer, mem.byteOffset).setUint32(0, seq, true)
      buf.writeUInt32LE(seq, 0)
      const t0 = process.hrtime.bigint()
      const r = await request(c, viaShm ? { seq, check } : { seq, check, data: buf })
      const t1 = process.hrtime.bigint()
      if (r.seq !== seq || r.first !== seq || r.sum !== expected || r.length !== SIZE) {
        throw new Error(`bad reply via ${viaShm ? 'shm' : 'ipc'}: ${JSON.stringify(r)}, expected seq ${seq} sum ${expected}`)
      }
      return Number(t1 - t0)
    }
    for (let k = 0; k < 2; k++) {
      await once(shmChild, true)
      await once(ipcChild, false)
    }
    let bestShm = Infinity
    let bestIpc = Infinity
    for (let k = 0; k < reps; k++) {
      if (k % 2 === 0) {
        bestShm = Math.min(bestShm, await once(shmChild, true))
        bestIpc = Math.min(bestIpc, await once(ipcChild, false))
      } else {
        bestIpc = Math.min(bestIpc, await once(ipcChild, false))
        bestShm = Math.min(bestShm, await once(shmChild, true))
      }
    }
    process.stdout.write(`@@RESULT ${JSON.stringify({ shm: bestShm, ipc: bestIpc })}\n`)
  } finally {
    shmChild.disconnect()
    ipcChild.disconnect()
    shm.close()
    shm.unlink()
  }
}

// ---- cases -------------------------------------------------------------------------------------

function run(check: Check, what: string): Row[] {
  const r = spawnSync(process.execPath, [__filename, '--measure', check], { encoding: 'utf8', maxBuffer: 16 << 20 })
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT '))
  if (r.status !== 0 || line === undefined) throw new Error(`measure ${check} failed (status ${r.status}): ${r.stderr}`)
  const t = JSON.parse(line.slice('@@RESULT '.length)) as { shm: number; ipc: number }
  return [row(`hand-off ${sizeName(SIZE)}, child ${what}`, t.shm / 1e3, t.ipc / 1e3, "IPC 'advanced'", 'µs', { kind: 'none' })]
}

const mode = process.argv[2]
if (mode === '--child') child(process.argv[3])
else if (mode === '--measure') {
  measure(process.argv[3] as Check).catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
} else {
  benchMain({
    'shm vs IPC, sampled check': () => run('sampled', 'checks 1 byte per page'),
    'shm vs IPC, full checksum': () => run('full', 'checksums all bytes'),
  })
}
