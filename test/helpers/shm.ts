/**
 * Shared-memory segments made for one test and removed after it, whatever the test left behind.
 */
import { afterEach } from 'mocha'
import { randomBytes } from 'node:crypto'
import { SharedMemory } from 'memoryview'

/**
 * Returns `createShm(size = 4096)`, which makes a segment named `mvt<tag>_<pid>_<random>`; an
 * `afterEach` registered here unlinks and closes every segment made during the test.
 */
export function shmPerTest(tag: string): (size?: number) => SharedMemory {
  const created: SharedMemory[] = []
  afterEach(() => {
    for (const shm of created.splice(0)) {
      try {
        shm.unlink()
      } catch {
        // Already unlinked by the test.
      }
      try {
        shm.close()
      } catch {
        // A test left an export held on purpose (or closed it itself); the process exit unmaps it.
      }
    }
  })
  return (size = 4096) => {
    const shm = new SharedMemory({ name: `mvt${tag}_${process.pid}_${randomBytes(4).toString('hex')}`, create: true, size })
    created.push(shm)
    return shm
  }
}
