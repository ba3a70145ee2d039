/**
 * The hash of a byte string for MemoryView.hash(). CPython hashes bytes with a per-process random
 * SipHash key, so its values cannot be reproduced; what matters is its contract: equal bytes give
 * equal hashes, and the result is a plain integer. This is cyrb53 (53-bit, good dispersion).
 */
export function hashBytes(bytes: Uint8Array): number {
  let h1 = 0xdeadbeef ^ bytes.length
  let h2 = 0x41c6ce57 ^ bytes.length
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    h1 = Math.imul(h1 ^ b, 2654435761)
    h2 = Math.imul(h2 ^ b, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}
