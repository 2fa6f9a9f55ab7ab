// Builds the self-contained executables: one bundle of the CLI, injected into the Node.js binary of each platform as
// a Node.js single executable application (SEA), so that a user needs no Node.js.
//
// 1. esbuild bundles bin/single-executable.ts (oclif, every command, every dependency) into dist/sea/cli.cjs, and
//    the SEA's main script, bin/single-executable-main.ts, into dist/sea/main.cjs: on Node.js 22 a SEA runs one
//    CommonJS script whose `require` knows only Node's built-in modules.
// 2. `node --experimental-sea-config` writes the blob: main.cjs, with cli.cjs and its sha256 as assets; no V8 code
//    cache or snapshot (both can only be made on the platform that runs them; main.cjs keeps a code cache of its
//    own at run time). Node.js 22 has no `--build-sea` (25.5+). The blob is written by the Node.js version of the
//    binary it goes into: the build's own, or the pinned package of that version for this machine.
// 3. postject copies it into each platform's Node.js binary (scripts/package/node-binaries.ts) and flips the SEA
//    fuse; Windows binaries lose their Authenticode signature first, macOS ones are signed ad hoc again after
//    (scripts/package/code-signatures.ts).
//
// Same commit, same executables: the bundle, the blob and the injection are deterministic (paths in the blob are
// relative), and so is an ad-hoc signature.
import {createHash} from 'node:crypto'
import {chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'
import * as esbuild from 'esbuild'
import {adHocSign, ensureRcodesign, removeAuthenticodeSignature} from './code-signatures.ts'
import {blobWriterFor, nodeBinaryOf, readNodePins, type NodeBinary} from './node-binaries.ts'
import {executableName, osArchOf, platforms as allPlatforms, type Arch, type Os, type Platform} from './platforms.ts'
import {runTool} from './run-tool.ts'

/** The fuse postject flips so that Node.js looks for the blob: fixed by Node.js for every version. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

export interface BuildExecutablesOptions {
  /** The repository root. */
  root: string
  /** The version the executables report: must be package.json's (checked). */
  version: string
  /** Default: every platform. */
  platforms?: readonly Platform[]
  log?: (line: string) => void
  /** Where the bundle and the blobs go; default <root>/dist/sea. */
  bundleDir?: string
  /** Where the executables go, as <os>-<arch>/kubectl-snyk_watch[.exe]; default <root>/dist/release/bin. */
  outDir?: string
  /** Sign the macOS executables ad hoc (default true). Without, macOS on Apple silicon refuses to run them. */
  signMacos?: boolean
  /** Where the Node.js packages are kept; default ~/.cache/kubectl-snyk-watch/node-platforms. */
  cacheDir?: string
}

export interface BuiltExecutable {
  platform: Platform
  os: Os
  arch: Arch
  path: string
  /** The Node.js version inside. */
  nodeVersion: string
  size: number
}

export interface CliBundle {
  dir: string
  /** main.cjs: the SEA's main script. */
  main: string
  /** cli.cjs: the CLI. */
  cli: string
  sha256: string
}

/**
 * Rewrites `createRequire(import.meta.url)` in our sources to the bundle's `require`: a module loaded on demand
 * that way (yaml, in src/config/option-sources.ts) is then bundled like any other, lazily. In CommonJS output
 * `import.meta` is empty, which the build treats as an error, so no other use of it gets through unnoticed.
 */
const bundledCreateRequire: esbuild.Plugin = {
  name: 'bundled-create-require',
  setup(build) {
    build.onLoad({filter: /[\\/]src[\\/].*\.ts$/}, async (args) => {
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('createRequire(import.meta.url)')) return undefined
      return {contents: text.replaceAll('createRequire(import.meta.url)', 'require'), loader: 'ts'}
    })
  },
}

async function bundle(root: string, entry: string, outfile: string, plugins: esbuild.Plugin[]): Promise<esbuild.Metafile> {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node}`,
    minify: true,
    // Class and function names stay as written: error names and stack traces read as from the npm install.
    keepNames: true,
    legalComments: 'eof',
    sourcemap: 'external',
    sourcesContent: false,
    // oclif reads tsconfig.json with TypeScript only to run a plugin's .ts sources in development: never here.
    external: ['typescript'],
    metafile: true,
    logLevel: 'silent',
    logOverride: {'empty-import-meta': 'error'},
    plugins,
  })
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, {kind: 'warning'})
    throw new Error(`esbuild warned about the bundle ${path.basename(outfile)}:\n${text.join('\n')}`)
  }
  return result.metafile
}

/** Bundles the CLI and the SEA's main script into `dir` (dist/sea), and checks that the bundle runs. */
export async function bundleCli(root: string, dir = path.join(root, 'dist', 'sea')): Promise<CliBundle> {
  await mkdir(dir, {recursive: true})
  const cli = path.join(dir, 'cli.cjs')
  const main = path.join(dir, 'main.cjs')
  const metafile = await bundle(root, 'bin/single-executable.ts', cli, [bundledCreateRequire])
  // Which files (and so which packages) the bundle holds: for the licenses shipped beside it.
  await writeFile(path.join(dir, 'cli.meta.json'), `${JSON.stringify(metafile, null, 2)}\n`)
  await bundle(root, 'bin/single-executable-main.ts', main, [])
  const sha256 = createHash('sha256').update(await readFile(cli)).digest('hex')
  await writeFile(path.join(dir, 'cli.cjs.sha256'), sha256)
  // The bundle runs on plain Node.js too: a mistake shows here in a second, not after the injections.
  const version = await runTool(process.execPath, [cli, '--version'], {env: {...process.env, NODE_OPTIONS: ''}})
  const pjson = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {name: string; version: string}
  if (!version.startsWith(`${pjson.name}/${pjson.version} `)) throw new Error(`the bundle ${cli} answers --version with "${version.trim()}"`)
  return {dir, main, cli, sha256}
}

/** Writes the SEA blob for Node.js `nodeVersion` into the bundle's directory (paths in it relative, for reproducibility). */
async function writeBlob(bundled: CliBundle, nodeVersion: string, writer: string): Promise<string> {
  const name = `sea-node-${nodeVersion}`
  const config = {
    main: path.basename(bundled.main),
    output: `${name}.blob`,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    assets: {'cli.cjs': path.basename(bundled.cli), 'cli.cjs.sha256': 'cli.cjs.sha256'},
  }
  await writeFile(path.join(bundled.dir, `${name}.json`), `${JSON.stringify(config, null, 2)}\n`)
  await runTool(writer, ['--experimental-sea-config', `${name}.json`], {cwd: bundled.dir, env: {...process.env, NODE_OPTIONS: ''}})
  return path.join(bundled.dir, config.output)
}

const postjectCli = createRequire(import.meta.url).resolve('postject/dist/cli.js')

/** Makes one executable at `target` from a Node.js binary and the blob. */
async function makeExecutable(platform: Platform, node: NodeBinary, blob: string, target: string, rcodesign: string | undefined): Promise<void> {
  const {os} = osArchOf(platform)
  await mkdir(path.dirname(target), {recursive: true})
  // Made beside the target and renamed at the end: a failed build leaves no half-made executable behind.
  const staging = `${target}.partial`
  await rm(staging, {force: true})
  try {
    await copyFile(node.path, staging)
    await chmod(staging, 0o755)
    if (os === 'windows') await removeAuthenticodeSignature(staging)
    // postject (LIEF in WebAssembly) takes about 1 GB for a Node.js binary: in a process of its own, which gives it back.
    const machO = os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []
    await runTool(process.execPath, [postjectCli, staging, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, ...machO])
    if (os === 'darwin' && rcodesign) await adHocSign(staging, 'kubectl-snyk_watch', rcodesign)
    await rename(staging, target)
  } finally {
    await rm(staging, {force: true})
  }
}

/** Builds the executables of `platforms` (default all) into dist/release/bin/<os>-<arch>/. */
export async function buildExecutables(options: BuildExecutablesOptions): Promise<BuiltExecutable[]> {
  const {root, version} = options
  const log = options.log ?? (() => undefined)
  const selected = options.platforms ?? allPlatforms
  const outDir = options.outDir ?? path.join(root, 'dist', 'release', 'bin')
  const pjson = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {version: string}
  if (version !== pjson.version) throw new Error(`asked for executables of version ${version}, but package.json says ${pjson.version}: the executables report package.json's`)

  const pins = await readNodePins(root)
  const started = performance.now()
  const bundled = await bundleCli(root, options.bundleDir)
  log(`bundle    ${path.relative(root, bundled.cli)} (${((await stat(bundled.cli)).size / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const signMacos = options.signMacos ?? true
  const needsSigning = signMacos && selected.some((platform) => osArchOf(platform).os === 'darwin')
  const rcodesign = needsSigning ? await ensureRcodesign(log) : undefined
  const fetchOptions = {log, ...(options.cacheDir ? {cacheDir: options.cacheDir} : {})}

  const blobs = new Map<string, string>()
  const built: BuiltExecutable[] = []
  for (const platform of selected) {
    const began = performance.now()
    const node = await nodeBinaryOf(platform, pins, fetchOptions)
    let blob = blobs.get(node.version)
    if (!blob) {
      blob = await writeBlob(bundled, node.version, await blobWriterFor(node.version, pins, fetchOptions))
      blobs.set(node.version, blob)
    }
    const target = path.join(outDir, platform, executableName(platform))
    await makeExecutable(platform, node, blob, target, rcodesign)
    const {size} = await stat(target)
    const {os, arch} = osArchOf(platform)
    built.push({platform, os, arch, path: target, nodeVersion: node.version, size})
    const notes = [
      `Node.js ${node.version}${node.version === process.versions.node ? '' : `, not the build's ${process.versions.node}`}`,
      ...(os === 'darwin' ? [rcodesign ? 'signed ad hoc' : 'UNSIGNED: macOS needs `codesign --sign -` on it'] : []),
    ]
    log(`${platform.padEnd(13)} ${path.relative(root, target)} (${(size / 1e6).toFixed(0)} MB; ${notes.join('; ')}) in ${((performance.now() - began) / 1000).toFixed(1)} s`)
  }
  return built
}
