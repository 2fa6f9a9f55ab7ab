// Builds the Go tools the packaging tests use (krew, krew's manifest validator, Helm) with `go install
// MODULE/cmd@VERSION` through the Go module proxy, and caches each outside the repository, keyed by module
// and version: `go install pkg@version` builds against the module's own go.mod, so a version pins the build.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rename, rm} from 'node:fs/promises'
import {homedir} from 'node:os'
import path from 'node:path'

export interface GoTool {
  /** The binary's name, e.g. `krew`. */
  name: string
  /** The main package, e.g. `sigs.k8s.io/krew/cmd/krew`. */
  pkg: string
  version: string
}

export const krew: GoTool = {name: 'krew', pkg: 'sigs.k8s.io/krew/cmd/krew', version: 'v0.4.3'}
export const validateKrewManifest: GoTool = {name: 'validate-krew-manifest', pkg: 'sigs.k8s.io/krew/cmd/validate-krew-manifest', version: 'v0.4.3'}
export const helm: GoTool = {name: 'helm', pkg: 'helm.sh/helm/v3/cmd/helm', version: 'v3.22.0'}

function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache')
  return path.join(base, 'kubectl-snyk-watch', 'tools')
}

function goInstall(tool: GoTool, gobin: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', '-trimpath', '-ldflags=-s -w', `${tool.pkg}@${tool.version}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, GOBIN: gobin, CGO_ENABLED: '0'},
    })
    let output = ''
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-32_000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', (error) => reject(new Error(`cannot run go: ${error.message}. Is Go installed and on PATH?`)))
    child.on('close', (code) => {
      if (code === 0) resolve()
      else {
        log(output)
        reject(new Error(`go install ${tool.pkg}@${tool.version} exited with ${code}`))
      }
    })
  })
}

/**
 * The path of the tool's binary, building it first when the cache has none. A build goes to a temporary
 * directory beside the cache entry and is renamed into place, so a concurrent or interrupted build never
 * leaves a half-written binary behind.
 */
export async function ensureGoTool(tool: GoTool, log: (line: string) => void = () => {}): Promise<string> {
  const dir = path.join(cacheRoot(), `${tool.name}-${tool.version}`)
  const binary = path.join(dir, tool.name)
  if (existsSync(binary)) return binary
  await mkdir(cacheRoot(), {recursive: true})
  const staging = await mkdtemp(path.join(cacheRoot(), '.build-'))
  try {
    const started = Date.now()
    log(`building ${tool.name} ${tool.version} through the Go module proxy...`)
    await goInstall(tool, staging, log)
    log(`built ${tool.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    await rename(staging, dir).catch((error: NodeJS.ErrnoException) => {
      // Another process finished the same build first: keep its entry.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    })
  } finally {
    await rm(staging, {recursive: true, force: true})
  }
  return binary
}
