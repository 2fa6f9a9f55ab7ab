// The linux-amd64 single executable as a user without Node.js runs it: built from this checkout (scripts/package/sea.ts),
// found by the real kubectl on a PATH that holds only kubectl and the executable, against a real API server.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {buildCli} from '../../scripts/package/cli-build.ts'
import {buildExecutables} from '../../scripts/package/sea.ts'
import {openStateStore} from '../../src/state/state-store.ts'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const {version} = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

describe('the single executable, on a machine without Node.js', () => {
  let work: string
  let pathDir: string
  let set: ClusterSet | undefined
  let kubeconfig: string

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'snyk-watch-sea-'))
    await buildCli(root)
    const [built] = await buildExecutables({root, version, platforms: ['linux-amd64'], bundleDir: path.join(work, 'sea'), outDir: path.join(work, 'bin')})
    set = await startClusters(1, {names: ['sea']})
    await set.fixtures[0]!.createNamespace('shop')
    await set.fixtures[0]!.createPod({namespace: 'shop', name: 'web', containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})
    kubeconfig = await writeKubeconfig(path.join(work, 'kubeconfig'), set.clusters.map((cluster) => ({cluster})))
    // The whole PATH: kubectl and the plugin, nothing else (no node, no shell).
    pathDir = path.join(work, 'path')
    await mkdir(pathDir)
    await symlink(built!.path, path.join(pathDir, 'kubectl-snyk_watch'))
    await symlink(set.binaries.kubectl, path.join(pathDir, 'kubectl'))
    await mkdir(path.join(work, 'home'))
  })
  after(async () => {
    await set?.stop()
    if (work) await rm(work, {recursive: true, force: true})
  })

  const kubectl = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(path.join(pathDir, 'kubectl'), args, {
        cwd: work,
        env: {PATH: pathDir, HOME: path.join(work, 'home'), KUBECONFIG: kubeconfig, NO_COLOR: '1', ...env},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      child.once('error', reject)
      child.once('close', (code) => resolve({code, stdout, stderr}))
    })

  it('has only kubectl and itself on PATH', async () => {
    assert.deepEqual((await readdir(pathDir)).sort(), ['kubectl', 'kubectl-snyk_watch'])
  })

  it('--version names the package version and the Node.js inside', async () => {
    const run = await kubectl(['snyk-watch', '--version'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`^kubectl-snyk-watch/${version.replaceAll('.', '\\.')} linux-x64 node-v22\\.`))
    assert.equal(run.stderr, '')
  })

  it('--help lists sync, watch and status', async () => {
    const run = await kubectl(['snyk-watch', '--help'])
    assert.equal(run.code, 0, run.stderr)
    for (const command of ['sync', 'watch', 'status']) assert.match(run.stdout, new RegExp(`^\\s+${command}\\s+\\S`, 'm'), `${command} in:\n${run.stdout}`)
    assert.equal(run.stderr, '')
    const sync = await kubectl(['snyk-watch', 'sync', '--help'])
    assert.equal(sync.code, 0, sync.stderr)
    assert.match(sync.stdout, /--dry-run/)
  })

  it('status reads a state store (node:sqlite) and prints no ExperimentalWarning', async () => {
    const state = path.join(work, 'empty.db')
    openStateStore(state).close()
    const run = await kubectl(['snyk-watch', 'status', '--state', state])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout + run.stderr, /no running images yet/)
    assert.doesNotMatch(run.stderr, /ExperimentalWarning|Warning/)
  })

  it('sync --dry-run lists the images of the cluster through its API server, without a Snyk token', async () => {
    const run = await kubectl(['snyk-watch', 'sync', '--dry-run', '--json'], {SNYK_WATCH_STATE: path.join(work, 'sync.db')})
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stderr, '', 'nothing but JSON under --json: no warning')
    const result = JSON.parse(run.stdout) as {dryRun: boolean; counts: {pods: number; wouldSubmit: number; submitted: number}; images: Array<{reference: string}>}
    assert.equal(result.dryRun, true)
    assert.deepEqual({pods: result.counts.pods, wouldSubmit: result.counts.wouldSubmit, submitted: result.counts.submitted}, {pods: 1, wouldSubmit: 1, submitted: 0})
    assert.match(JSON.stringify(result.images), /nginx:1\.27/)
  })
})
