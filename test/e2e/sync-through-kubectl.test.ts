// `kubectl snyk-watch sync` as a user runs it: the built CLI found by the real kubectl on PATH, real
// API servers, the Snyk emulator. Also two overlapping runs sharing one state store.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets, seedWorkload} from '../helpers/sync-scenario.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

describe('kubectl snyk-watch sync, end to end', () => {
  let set: ClusterSet
  let pathDir: string
  let kubeconfig: string
  before(async () => {
    set = await startClusters(3, {names: ['e2e-a', 'e2e-b', 'e2e-c']})
    await seedWorkload(set)
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), set.clusters.map((cluster) => ({cluster})))
    pathDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-path-'))
    await symlink(path.join(root, 'bin', 'run.js'), path.join(pathDir, 'kubectl-snyk_watch'))
  })
  after(async () => {
    await set?.stop()
    if (pathDir) await rm(pathDir, {recursive: true, force: true})
  })

  const kubectl = (args: string[], env: NodeJS.ProcessEnv): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(set.binaries.kubectl, args, {
        env: {
          PATH: [pathDir, path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter),
          HOME: set.workDir,
          KUBECONFIG: kubeconfig,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      child.on('close', (code) => resolve({code, stdout, stderr}))
    })

  it('submits every image once, prints a summary, exits 0; then --json shows nothing left to do', async (t) => {
    const snyk = await withSnykEmulator(t)
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'e2e.db')}
    const run = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--wait'], env)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /TARGET/)
    assert.match(run.stdout, /9 unique images in \d+ pods, 7 submitted \(7 monitored\)/)
    assert.match(run.stdout, /registry\.internal:5000\/tools\/debug:3/)
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(snyk.token), 'the token never appears')
    assert.doesNotMatch(run.stderr, /ExperimentalWarning/)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1)

    const again = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--json'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stderr, '', 'nothing but JSON under --json')
    const result = JSON.parse(again.stdout) as {counts: {submitted: number; unchanged: number}}
    assert.equal(result.counts.submitted, 0)
    assert.equal(result.counts.unchanged, 7)
  })

  it('two overlapping runs on one state store submit each image exactly once', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 150}})
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'overlap.db')}
    const [one, two] = await Promise.all([kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env), kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env)])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(two.code, 0, two.stderr)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name} imported once across both runs`)
    const submitted = [one, two].map((run) => (JSON.parse(run.stdout) as {counts: {submitted: number}}).counts.submitted)
    assert.equal(submitted[0]! + submitted[1]!, 7)
  })

  it('answers a usage mistake with exit 2, a suggestion and no stack trace', async () => {
    const run = await kubectl(['snyk-watch', 'sync', '--context', 'nope', '--dry-run'], {})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /context "nope" not found/)
    assert.match(run.stderr, /e2e-a, e2e-b, e2e-c/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    const noToken = await kubectl(['snyk-watch', 'sync'], {SNYK_TOKEN: ''})
    assert.equal(noToken.code, 2)
    assert.match(noToken.stderr, /no Snyk API token/)
  })

  it('exits 2 with an authentication error when Snyk refuses the token', async (t) => {
    const snyk = await withSnykEmulator(t)
    const run = await kubectl(['snyk-watch', 'sync', '--all-contexts'], {SNYK_TOKEN: 'wrong-token-1234', SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'auth.db')})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /401|token/i)
    assert.doesNotMatch(run.stderr, /wrong-token-1234/)
    assert.doesNotMatch(run.stderr, /\n\s+at /)
  })
})
