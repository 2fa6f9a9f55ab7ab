// The main script of the single executables: runs the CLI's bundle (bin/single-executable.ts, carried as the asset
// cli.cjs) with a V8 code cache, as Node.js's compile cache does for the npm install (bin/run.js). Without one, each
// start compiles oclif and our code again (about 50 ms). Node.js's own SEA code cache (`useCodeCache`) is not used:
// it can only be written on the platform the executable runs on, and holds only the top-level code.
//
// The cache is written once per bundle, Node.js version and command, at exit, after the command has compiled the
// functions it runs, into the user's cache directory (never a shared temporary one):
// $XDG_CACHE_HOME or ~/.cache, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows, then kubectl-snyk-watch/code-cache.
// A cache V8 rejects (other V8 flags) is written again; NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for node.
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {getAsset} from 'node:sea'
import vm from 'node:vm'

const source = getAsset('cli.cjs', 'utf8')
const bundleHash = getAsset('cli.cjs.sha256', 'utf8').slice(0, 16)

function cacheDirectory(): string {
  const base =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'darwin' ? path.join(homedir(), 'Library', 'Caches') : undefined) ||
    (process.platform === 'win32' ? process.env.LOCALAPPDATA : undefined) ||
    path.join(homedir(), '.cache')
  return path.join(base, 'kubectl-snyk-watch', 'code-cache')
}

// One cache per command: each compiles other functions (--help loads no command at all).
const command = ['status', 'sync', 'watch'].includes(process.argv[2] ?? '') ? process.argv[2] : 'other'
const prefix = `${bundleHash}-${process.version}-${process.arch}-`
const useCache = process.env.NODE_DISABLE_COMPILE_CACHE !== '1'
const directory = cacheDirectory()
const cacheFile = path.join(directory, `${prefix}${command}.v8`)

let cachedData: Buffer | undefined
if (useCache) {
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // Not written yet (or unreadable): this run writes it.
  }
}

const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: path.join(path.dirname(process.execPath), 'cli.cjs'),
  ...(cachedData ? {cachedData} : {}),
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
})

if (useCache && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', () => {
    try {
      mkdirSync(directory, {recursive: true, mode: 0o700})
      // Caches of other bundles or Node.js versions (an older executable) are of no more use.
      for (const name of readdirSync(directory)) if (!name.startsWith(prefix)) rmSync(path.join(directory, name), {force: true})
      const staging = `${cacheFile}.${process.pid}`
      writeFileSync(staging, script.createCachedData(), {mode: 0o600})
      renameSync(staging, cacheFile)
    } catch {
      // A read-only home (a container) or a full disk: the next start compiles again, nothing worse.
    }
  })
}

const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: NodeJS.Module, filename: string, dirname: string) => void
run(module.exports, require, module, __filename, __dirname)
