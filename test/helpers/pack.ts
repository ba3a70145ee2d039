/**
 * Packing and installing the package the way a user gets it, offline: shared by the package test
 * (60) and the TypeScript resolution test (61).
 */
import { expect } from 'chai'
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

/** The repository root (this file runs as dist/test/helpers/pack.js). */
export const root = path.join(__dirname, '..', '..', '..')

/** Where node-gyp finds headers without a download: the running node's own include/node. */
export function offlineNodedir(): Record<string, string> {
  const prefix = path.dirname(path.dirname(process.execPath))
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return { npm_config_nodedir: prefix }
  return {}
}

/** Runs a command to completion and returns its stdout; a non-zero exit fails the test with the output. */
export function run(cmd: string, args: string[], options: SpawnSyncOptions): string {
  const child = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...options })
  const output = `${String(child.stdout)}\n${String(child.stderr)}`
  expect(child.status, `${cmd} ${args.join(' ')} failed (${child.status} ${child.signal}):\n${output}`).to.equal(0)
  return String(child.stdout)
}

/** Tarballs of the package's runtime dependencies, packed from this repository's node_modules. */
export function packDependencies(dest: string, env: NodeJS.ProcessEnv): string[] {
  const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies ?? {})
  fs.mkdirSync(dest)
  const dirs = deps.map((name) => path.join(root, 'node_modules', name))
  const out = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest, ...dirs], { cwd: dest, env })
  return (JSON.parse(out) as Array<{ filename: string }>).map((info) => path.join(dest, info.filename))
}

/**
 * Installs `tarball` and the packed dependencies into `app` (which has a package.json) with an
 * empty npm cache of its own and --offline: a registry request of any kind fails the install
 * (ENOTCACHED) instead of going unnoticed.
 */
export function installOffline(app: string, tarball: string, deps: string[], cache: string, env: NodeJS.ProcessEnv, extra: string[] = []): void {
  run('npm', ['install', '--offline', '--cache', cache, '--no-audit', '--no-fund', ...extra, tarball, ...deps], { cwd: app, env })
}
