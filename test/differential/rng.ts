/** A small seeded PRNG (mulberry32) so every differential run is reproducible from its seed. */
export class Rng {
  private s: number

  constructor (seed: number) {
    this.s = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next (): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0
    let t = this.s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [lo, hi] (inclusive). */
  int (lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  pick<T> (xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]
  }

  /** Picks a key of `table` with probability proportional to its weight. */
  weighted<K extends string> (table: Record<K, number>): K {
    const keys = Object.keys(table) as K[]
    let total = 0
    for (const k of keys) total += table[k]
    let x = this.next() * total
    for (const k of keys) {
      x -= table[k]
      if (x < 0) return k
    }
    return keys[keys.length - 1]
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255)
    return out
  }
}
