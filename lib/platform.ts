/**
 * What differs by operating system in the TypeScript layer, in one place, so that no other module
 * tests `process.platform`. Each helper takes the platform as an argument (default: `host.platform`,
 * this process's), so that tests on Linux can check what Windows or macOS gets.
 * @internal
 */
import { randomBytes } from 'node:crypto'
import { constants as osConstants } from 'node:os'
import { plainError } from './errors'

/**
 * The platform the helpers below assume by default: `process.platform`. Tests replace it to run
 * another system's rules through the public constructors on this one; nothing else assigns it.
 */
export const host: { platform: NodeJS.Platform } = { platform: process.platform }

/** How shared-memory segments are named on one OS, as Python's multiprocessing.shared_memory does. */
export interface ShmNaming {
  /** The prefix of generated names: `'psm_'` (POSIX), `'wnsm_'` (Windows). */
  readonly prefix: string
  /**
   * The name the native layer takes for a segment's user-visible name: POSIX shm_open() wants a
   * leading slash ('/psm_…'); a Windows named file mapping takes the name as it is ('wnsm_…').
   */
  nativeName(name: string): string
  /** A fresh generated name: the prefix and 8 random hex digits (Python: 14 characters at most). */
  generate(): string
  /**
   * False on Windows, where a named segment has no name of its own to remove: it lives exactly
   * while some process has it open, and `unlink()` does nothing (as Python's does there).
   */
  readonly canUnlink: boolean
}

// Python: _SHM_SAFE_NAME_LENGTH = 14, and (14 - len(prefix)) // 2 random bytes, where the POSIX
// prefix counts its slash ('/psm_') and the Windows one has none ('wnsm_'): 4 bytes on both.
const RANDOM_BYTES = 4

const POSIX: ShmNaming = {
  prefix: 'psm_',
  nativeName: (name) => `/${name}`,
  generate: () => `psm_${randomBytes(RANDOM_BYTES).toString('hex')}`,
  canUnlink: true,
}

const WINDOWS: ShmNaming = {
  prefix: 'wnsm_',
  nativeName: (name) => name,
  generate: () => `wnsm_${randomBytes(RANDOM_BYTES).toString('hex')}`,
  canUnlink: false,
}

/** The shared-memory naming of `platform` (default: this process's). */
export function shmNaming(platform: NodeJS.Platform = host.platform): ShmNaming {
  return platform === 'win32' ? WINDOWS : POSIX
}

/**
 * Where a shared-memory segment's size can be read before mapping it (`statSync`), or null where
 * no file shows it: Linux keeps POSIX segments in /dev/shm; macOS has no such directory, and a
 * Windows segment is a named file mapping with no file at all.
 */
export function shmSizePath(name: string, platform: NodeJS.Platform = host.platform): string | null {
  return platform === 'linux' ? `/dev/shm/${name}` : null
}

/**
 * The longest shared-memory name `platform` accepts, in UTF-8 bytes with the leading slash, when it
 * is shorter than anything shm_open() reports well by itself: macOS's PSHMNAMLEN, 31 (xnu counts the
 * slash). `undefined` elsewhere: Linux's limit (255 bytes after the slash) is shm_open's own
 * ENAMETOOLONG, as Python reports it, and Windows names are not shm_open names.
 */
export function shmNameLimit(platform: NodeJS.Platform = host.platform): number | undefined {
  return platform === 'darwin' ? 31 : undefined
}

/**
 * Refuses a name longer than `platform` accepts ({@link shmNameLimit}) before any system call, with
 * the error shm_open() would have given there: Error ENAMETOOLONG (`errno` negative as in Node's own
 * errors, `syscall: 'shm_open'`). Python on macOS raises OSError ENAMETOOLONG too.
 */
export function checkShmName(name: string, platform: NodeJS.Platform = host.platform): void {
  const limit = shmNameLimit(platform)
  if (limit === undefined) return
  const bytes = Buffer.byteLength(`/${name}`)
  if (bytes <= limit) return
  const err = plainError(
    'ENAMETOOLONG',
    `shm_open refused: the name '/${name}' is ${bytes} bytes; ${platform} allows at most ${limit} ` +
      `(with the slash): use a shorter name`,
  ) as Error & { errno: number; syscall: string }
  err.errno = -osConstants.errno.ENAMETOOLONG
  err.syscall = 'shm_open'
  throw err
}
