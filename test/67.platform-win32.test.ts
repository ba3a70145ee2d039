/**
 * What the TypeScript layer does differently on Windows (lib/platform.ts), checked on this OS by
 * asking the helpers for another platform's answers, and that this OS gets its own.
 */
import { expect } from 'chai'
import { shmNaming, shmSizePath } from '../lib/platform'

describe('67 platform differences in the TypeScript layer', () => {
  describe('shared-memory names', () => {
    it('POSIX (linux, darwin): generated names are psm_ + 8 hex digits, passed to shm_open with a leading slash', () => {
      for (const platform of ['linux', 'darwin'] as const) {
        const naming = shmNaming(platform)
        expect(naming.prefix).to.equal('psm_')
        expect(naming.generate()).to.match(/^psm_[0-9a-f]{8}$/)
        expect(naming.nativeName('psm_0123abcd')).to.equal('/psm_0123abcd')
        expect(naming.canUnlink).to.equal(true)
      }
    })

    it("Windows: generated names are wnsm_ + 8 hex digits (Python's), passed as they are, and unlink() does nothing", () => {
      const naming = shmNaming('win32')
      expect(naming.prefix).to.equal('wnsm_')
      expect(naming.generate()).to.match(/^wnsm_[0-9a-f]{8}$/)
      expect(naming.nativeName('wnsm_0123abcd')).to.equal('wnsm_0123abcd')
      expect(naming.canUnlink).to.equal(false)
    })

    it("generated names fit Python's 14-character limit and are fresh each time", () => {
      for (const platform of ['linux', 'win32'] as const) {
        const naming = shmNaming(platform)
        const names = new Set(Array.from({ length: 20 }, () => naming.generate()))
        expect(names.size).to.equal(20)
        for (const name of names) expect(name.length).to.be.at.most(14)
      }
    })

    it('a segment\'s size is read from /dev/shm on Linux only (macOS has no such directory, Windows no file)', () => {
      expect(shmSizePath('psm_0123abcd', 'linux')).to.equal('/dev/shm/psm_0123abcd')
      expect(shmSizePath('psm_0123abcd', 'darwin')).to.equal(null)
      expect(shmSizePath('wnsm_0123abcd', 'win32')).to.equal(null)
    })

    it("this process gets its own platform's naming by default", () => {
      expect(shmNaming()).to.equal(shmNaming(process.platform))
      expect(shmNaming().prefix).to.equal(process.platform === 'win32' ? 'wnsm_' : 'psm_')
    })
  })
})
