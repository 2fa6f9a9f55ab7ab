// Builds kube-apiserver, etcd and kubectl from the Go module proxy through the wrapper module in ./go,
// and caches them outside the repository, keyed by the Kubernetes version and the wrapper's content.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readFile, rename, rm, mkdtemp} from 'node:fs/promises'
import {homedir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const goModuleDir = fileURLToPath(new URL('./go/', import.meta.url))
const binaryNames = ['etcd', 'kube-apiserver', 'kubectl'] as const

export interface ControlPlaneBinaries {
  kubernetesVersion: string
  etcdVersion: string
  dir: string
  etcd: string
  kubeApiserver: string
  kubectl: string
}

/** Reads the pinned Kubernetes and etcd versions from the wrapper module. */
export async function pinnedVersions(): Promise<{kubernetes: string; etcd: string}> {
  const goMod = await readFile(path.join(goModuleDir, 'go.mod'), 'utf8')
  const kubernetes = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v\S+)\s*$/m.exec(goMod)?.[1]
  const etcd = /^\s*go\.etcd\.io\/etcd\/server\/v3 (v\S+)/m.exec(goMod)?.[1]
  if (!kubernetes || !etcd) throw new Error(`cannot read the pinned versions from ${goModuleDir}go.mod`)
  return {kubernetes, etcd}
}

function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache')
  return path.join(base, 'kubectl-snyk-watch', 'controlplane')
}

async function wrapperDigest(): Promise<string> {
  const hash = createHash('sha256')
  for (const file of ['go.mod', 'go.sum', 'etcd/main.go']) hash.update(await readFile(path.join(goModuleDir, file)))
  return hash.digest('hex').slice(0, 12)
}

function run(command: string, args: string[], cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, CGO_ENABLED: '0'}})
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.length > 64_000) output = output.slice(-32_000)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}. Is Go installed and on PATH?`)))
    child.on('close', (code) => {
      if (code === 0) resolve()
      else {
        log(output)
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))
      }
    })
  })
}

/**
 * Returns the cached binaries, building them first when the cache has none for this wrapper module.
 * A build goes to a temporary directory beside the cache entry and is renamed into place, so an
 * interrupted or concurrent build never leaves a half-written entry behind.
 */
export async function ensureControlPlaneBinaries(log: (line: string) => void = () => {}): Promise<ControlPlaneBinaries> {
  const versions = await pinnedVersions()
  const dir = path.join(cacheRoot(), `${versions.kubernetes}-${await wrapperDigest()}`)
  const result: ControlPlaneBinaries = {
    kubernetesVersion: versions.kubernetes,
    etcdVersion: versions.etcd,
    dir,
    etcd: path.join(dir, 'etcd'),
    kubeApiserver: path.join(dir, 'kube-apiserver'),
    kubectl: path.join(dir, 'kubectl'),
  }
  if (binaryNames.every((name) => existsSync(path.join(dir, name)))) return result

  await mkdir(cacheRoot(), {recursive: true})
  const staging = await mkdtemp(path.join(cacheRoot(), '.build-'))
  try {
    const k8sVersion = versions.kubernetes
    const [major, minor] = k8sVersion.slice(1).split('.')
    const versionFlags = (pkg: string) =>
      [`-X ${pkg}.gitVersion=${k8sVersion}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitTreeState=clean`]
    const ldflags = ['-s -w', ...versionFlags('k8s.io/component-base/version'), ...versionFlags('k8s.io/client-go/pkg/version')].join(' ')
    const targets: Array<[string, string]> = [
      ['etcd', './etcd'],
      ['kube-apiserver', 'k8s.io/kubernetes/cmd/kube-apiserver'],
      ['kubectl', 'k8s.io/kubernetes/cmd/kubectl'],
    ]
    for (const [name, pkg] of targets) {
      const started = Date.now()
      log(`building ${name} (${name === 'etcd' ? versions.etcd : k8sVersion}) through the Go module proxy...`)
      await run('go', ['build', '-trimpath', '-ldflags', ldflags, '-o', path.join(staging, name), pkg], goModuleDir, log)
      log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished the same build first: keep its entry.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error
    })
  } finally {
    await rm(staging, {recursive: true, force: true})
  }
  return result
}
