/**
 * What V8 inlined when it optimized a script: the script runs in a fresh node process with
 * `--allow-natives-syntax` (so that it can force optimization with %OptimizeFunctionOnNextCall) and
 * `--trace-turbo-inlining`, whose "Inlining <callee> into <caller>" lines are read here.
 */
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import path from 'node:path'

/** The package's built entry as a JS string literal, for the child scripts: `require(${LIB})`. */
export const LIB = JSON.stringify(path.join(__dirname, '..', '..', 'lib', 'index.js'))

/**
 * The names of the functions V8 reported inlining into functions named `caller` while it ran
 * `script` (asserting a clean exit). A method's own optimization is traced too ("... into <set>"),
 * so only inlinings into `caller` count. `flags` are passed to node as well.
 */
export function inlinedInto(script: string, caller: string, flags: readonly string[] = []): Set<string> {
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', ...flags, '--trace-turbo-inlining', '-e', script], {
    encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60000,
  })
  expect(run.status, run.stderr).to.equal(0)
  const inlined = new Set<string>()
  for (const [callee, into] of inliningsIn(run.stdout)) if (into === caller) inlined.add(callee)
  return inlined
}

/** Every [callee, caller] pair in the "Inlining <callee> into <caller>" lines of `--trace-turbo-inlining` output. */
export function inliningsIn(stdout: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (const line of stdout.split('\n')) {
    const hit = /^Inlining .*<SharedFunctionInfo ([^>]*)>\} into .*<SharedFunctionInfo ([^>]*)>\}/.exec(line)
    if (hit !== null) pairs.push([hit[1], hit[2]])
  }
  return pairs
}

/**
 * The bytecode lengths of the functions named `fn` that V8 compiled while it ran `script` in a
 * fresh node process (--print-bytecode): deterministic for a Node version, no timing involved.
 */
export function bytecodeLengths(script: string, fn: string): number[] {
  const run = spawnSync(process.execPath, ['--print-bytecode', `--print-bytecode-filter=${fn}`, '-e', script], {
    encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60000,
  })
  expect(run.status, run.stderr).to.equal(0)
  return [...run.stdout.matchAll(/Bytecode length: (\d+)/g)].map((m) => Number(m[1]))
}
