/**
 * Builds test/fixtures/consumer (an addon that uses include/memoryview.h) with node-gyp, offline:
 * node's headers come from the running node's prefix. Used by test 80 and bench 10.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

export const root = path.join(__dirname, '..', '..', '..')
export const consumerDir = path.join(root, 'test', 'fixtures', 'consumer')

export interface ConsumerBuild {
  example: string
  consumer: string
  /** The same sources as `consumer`, built as a second, independent addon. */
  consumer2: string
  /** Wall-clock time of the build: grows with whatever else the machine is running. */
  ms: number
  /** CPU time (user + system) of the build's processes: what the build itself costs, under any load. */
  cpuMs: number
}

/**
 * CPU time of this process's waited-for children and their waited-for descendants, in ms
 * (cutime + cstime of /proc/self/stat, in USER_HZ ticks, which Linux fixes at 100 per second).
 */
function childrenCpuMs(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
  // Fields 16 and 17 of proc(5); the split above starts at field 3.
  return (Number(fields[13]) + Number(fields[14])) * 10
}

/** Where node-gyp finds headers without a download: the running node's own include/node. */
function offlineNodedir(): Record<string, string> {
  const prefix = path.dirname(path.dirname(process.execPath))
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return { npm_config_nodedir: prefix }
  return {}
}

/** Runs `node-gyp rebuild` (or only when nothing is built yet, with `onlyIfMissing`). */
export function buildConsumer(onlyIfMissing = false): ConsumerBuild {
  const release = path.join(consumerDir, 'build', 'Release')
  const result = {
    example: path.join(release, 'example.node'),
    consumer: path.join(release, 'consumer.node'),
    consumer2: path.join(release, 'consumer2.node'), ms: 0, cpuMs: 0,
  }
  if (onlyIfMissing && [result.example, result.consumer, result.consumer2].every((file) => fs.existsSync(file))) return result
  const start = Date.now()
  const cpuStart = childrenCpuMs()
  const gyp = require.resolve('node-gyp/bin/node-gyp.js')
  const child = spawnSync(process.execPath, [gyp, 'rebuild', '-j', '2'], {
    cwd: consumerDir,
    encoding: 'utf8',
    // A guard against a hung compiler, not a speed check: with both cores busy the build's wall
    // time is several times its CPU time.
    timeout: 300_000,
    env: { ...process.env, ...offlineNodedir() },
  })
  if (child.status !== 0) {
    throw new Error(`node-gyp rebuild of the consumer failed (${child.status} ${child.signal}):\n${child.stdout}\n${child.stderr}`)
  }
  result.ms = Date.now() - start
  result.cpuMs = childrenCpuMs() - cpuStart
  return result
}
