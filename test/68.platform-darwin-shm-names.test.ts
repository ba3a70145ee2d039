/**
 * Shared-memory names each system accepts. macOS holds POSIX shared-memory names of at most 31
 * bytes counting the leading slash (PSHMNAMLEN); a longer one is refused with ENAMETOOLONG before
 * any system call. The rule is chosen by platform in lib/platform.ts, and the platform can be injected,
 * so macOS's rule is checked here on Linux as well.
 */
import { afterEach, describe, it } from 'mocha'
import { expect } from 'chai'
import * as fs from 'node:fs'
import * as os from 'node:os'
import { isMemoryViewError, SharedMemory } from 'memoryview'
import { checkShmName, host, shmNameLimit } from '../lib/platform'
import { expectError } from './helpers/errors'

const hostPlatform = host.platform
/** A name unique to this run, `bytes` UTF-8 bytes long (without the slash). */
const nameOf = (bytes: number): string => {
  const stem = `mvt68_${process.pid}_`
  return stem + 'n'.repeat(bytes - stem.length)
}
const created: string[] = []

function segmentExists(name: string): boolean {
  // Linux keeps POSIX shared memory under /dev/shm; elsewhere opening it says.
  if (os.platform() === 'linux') return fs.existsSync(`/dev/shm/${name}`)
  try {
    new SharedMemory({ name }).close()
    return true
  } catch {
    return false
  }
}

describe('68 shared-memory names per platform', () => {
  afterEach(() => {
    host.platform = hostPlatform
    for (const name of created.splice(0)) {
      try {
        const shm = new SharedMemory({ name })
        shm.close()
        shm.unlink()
      } catch {
        // Not created: nothing to remove.
      }
    }
  })

  it('the rule follows process.platform unless injected', () => {
    expect(host.platform).to.equal(process.platform)
  })

  it('macOS allows 31 bytes with the slash (PSHMNAMLEN); Linux and Windows have no rule here', () => {
    expect(shmNameLimit('darwin')).to.equal(31)
    expect(shmNameLimit('linux')).to.equal(undefined)
    expect(shmNameLimit('win32')).to.equal(undefined)
  })

  it('on macOS a 30-byte name passes; 31 bytes is Error ENAMETOOLONG with errno and syscall', () => {
    expect(() => checkShmName('a'.repeat(30), 'darwin')).not.to.throw()
    const err = expectError(() => checkShmName('a'.repeat(31), 'darwin'), Error, 'ENAMETOOLONG') as Error & {
      errno?: number
      syscall?: string
    }
    expect(err.errno).to.equal(-os.constants.errno.ENAMETOOLONG)
    expect(err.syscall).to.equal('shm_open')
    expect(isMemoryViewError(err, 'ENAMETOOLONG')).to.equal(true)
  })

  it('the limit counts UTF-8 bytes, not characters', () => {
    expect(() => checkShmName('é'.repeat(15), 'darwin')).not.to.throw() // 30 bytes
    expectError(() => checkShmName('é'.repeat(16), 'darwin'), Error, 'ENAMETOOLONG') // 16 characters, 32 bytes
  })

  it('on Linux the package checks no length: shm_open decides (255 bytes)', () => {
    expect(() => checkShmName('a'.repeat(300), 'linux')).not.to.throw()
  })

  it("Python's generated names (psm_ + 8 hex digits) fit macOS's limit", () => {
    const shm = new SharedMemory({ create: true, size: 64 })
    created.push(shm.name)
    shm.close()
    expect(Buffer.byteLength(`/${shm.name}`)).to.equal(13)
    expect(() => checkShmName(shm.name, 'darwin')).not.to.throw()
  })

  it('with the macOS rule a long name is refused before shm_open: nothing is created', () => {
    host.platform = 'darwin'
    const name = nameOf(31)
    created.push(name)
    expectError(() => new SharedMemory({ name, create: true, size: 4096 }), Error, 'ENAMETOOLONG')
    host.platform = hostPlatform
    expect(segmentExists(name)).to.equal(false)
  })

  it('with the macOS rule the name is checked before the size limit and when opening too', () => {
    host.platform = 'darwin'
    const name = nameOf(40)
    created.push(name)
    expectError(() => new SharedMemory({ name, create: true, size: 2 ** 52 }), Error, 'ENAMETOOLONG')
    expectError(() => new SharedMemory({ name }), Error, 'ENAMETOOLONG')
  })

  it('with the macOS rule a 30-byte name is created and opened as usual', () => {
    host.platform = 'darwin'
    const name = nameOf(30)
    created.push(name)
    const shm = new SharedMemory({ name, create: true, size: 4096 })
    shm.buf.set(0, 7)
    const again = new SharedMemory({ name })
    expect(again.buf.get(0)).to.equal(7)
    again.close()
    shm.close()
  })
})
