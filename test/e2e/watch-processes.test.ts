// `kubectl snyk-watch watch` as real processes started through the real kubectl: leader failover between
// two replicas, and nothing lost after kill -9.
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {fileURLToPath} from 'node:url'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {followJsonLog} from '../helpers/json-log-lines.ts'
import {until} from '../helpers/watch-fixture.ts'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface WatchProcess {
  child: ChildProcess
  logs: Array<Record<string, unknown>>
  exited: Promise<number | null>
  logged(pattern: RegExp): Array<Record<string, unknown>>
}

describe('watch processes through kubectl', () => {
  let set: ClusterSet
  let kubeconfig: string
  let pathDir: string
  let count = 0

  before(async () => {
    set = await startClusters(1, {names: ['ha']})
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), [{name: 'ha', cluster: set.clusters[0]!}])
    pathDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-path-'))
    await symlink(path.join(root, 'bin', 'run.js'), path.join(pathDir, 'kubectl-snyk_watch'))
  })
  after(async () => {
    await set?.stop()
    if (pathDir) await rm(pathDir, {recursive: true, force: true})
  })

  const start = (t: TestContext, snyk: SnykEmulator, args: string[]): WatchProcess => {
    const child = spawn(set.binaries.kubectl, ['snyk-watch', 'watch', '--org', snyk.orgId, '--api', snyk.url, ...args], {
      env: {PATH: [pathDir, path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter), HOME: set.workDir, KUBECONFIG: kubeconfig, SNYK_TOKEN: snyk.token},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const {logs, logged} = followJsonLog(child.stderr!)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    return {child, logs, exited, logged}
  }

  it('two replicas with --leader-elect: one submits; when it is killed, the other takes over within the lease duration', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('ha-apps')
    await fixture.createPod({name: 'one', namespace: 'ha-apps', containers: [{name: 'app', image: 'ghcr.io/acme/one:1', digest: digestOf('one')}]})
    const state = path.join(set.workDir, `ha-${count++}.db`)
    const args = ['-n', 'ha-apps', '--state', state, '--leader-elect', '--leader-elect-namespace', 'default', '--leader-elect-name', 'snyk-watch-test', '--leader-elect-lease-duration', '3s', '--listen', '127.0.0.1:0']
    const a = start(t, snyk, args)
    const b = start(t, snyk, args)
    const leader = await until('a leader', () => [a, b].find((p) => p.logged(/^leading/).length > 0), 30_000)
    const standby = leader === a ? b : a
    await until('the first image', () => snyk.importsOf('acme/one:1').length === 1, 30_000)
    await until('the standby following', () => standby.logged(/^following/).length > 0)
    assert.equal(standby.logged(/^leading/).length, 0, 'only one leads')
    assert.equal(standby.logs.filter((line) => line['audit'] === true).length, 0, 'the standby submits nothing')
    // The standby is ready too: it follows the streams.
    const standbyUrl = String(standby.logged(/^serving/)[0]?.['url'])
    await until('the standby ready', async () => (await fetch(`${standbyUrl}/readyz`)).status === 200)

    leader.child.kill('SIGKILL')
    const killedAt = Date.now()
    await until('the standby leading', () => standby.logged(/^leading/).length > 0, 15_000)
    const takeoverMs = Date.now() - killedAt
    assert.ok(takeoverMs < 3_000 + 3_000, `took over in ${takeoverMs} ms (lease 3 s)`)
    await fixture.createPod({name: 'two', namespace: 'ha-apps', containers: [{name: 'app', image: 'ghcr.io/acme/two:1', digest: digestOf('two')}]})
    await until('the new leader submitting', () => snyk.importsOf('acme/two:1').length === 1, 30_000)
    assert.equal(snyk.importsOf('acme/one:1').length, 1, 'the new leader does not resubmit what the old one did')

    standby.child.kill('SIGTERM')
    assert.equal(await standby.exited, 0)
  })

  it('kill -9 with a queue: the next start submits everything that was found', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('killed')
    const names = Array.from({length: 6}, (_, i) => `acme/killed-${i}:1`)
    for (const [i] of names.entries()) {
      await fixture.createPod({name: `k-${i}`, namespace: 'killed', containers: [{name: 'app', image: `ghcr.io/acme/killed-${i}:1`, digest: digestOf(`killed-${i}`)}]})
    }
    const state = path.join(set.workDir, `killed-${count++}.db`)
    const first = start(t, snyk, ['-n', 'killed', '--state', state, '--rate', '30', '--concurrency', '1'])
    await until('the first import', () => snyk.requests.some((r) => r.method === 'POST'), 30_000)
    first.child.kill('SIGKILL')
    await first.exited
    const sentBefore = names.filter((name) => snyk.importsOf(name).length > 0).length
    assert.ok(sentBefore < names.length, 'killed with a queue')

    // The pods are gone: only the store remembers what was found.
    for (const [i] of names.entries()) await fixture.deletePod('killed', `k-${i}`)
    const second = start(t, snyk, ['-n', 'killed', '--state', state])
    await until('everything submitted', () => names.every((name) => snyk.importsOf(name).length >= 1), 30_000)
    const total = names.reduce((sum, name) => sum + snyk.importsOf(name).length, 0)
    // At most the one import in flight at the kill can be sent twice (Snyk answered, the answer was not recorded).
    assert.ok(total <= names.length + 1, `${total} imports for ${names.length} images`)
    second.child.kill('SIGTERM')
    assert.equal(await second.exited, 0)
  })
  it('a second Ctrl+C ends the process at once with 130, while an import hangs in flight', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    // Every import hangs for a minute, and the graceful stop would wait a minute for it (--shutdown-timeout).
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 60_000}})
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('twice')
    await fixture.createPod({name: 'hung', namespace: 'twice', containers: [{name: 'app', image: 'ghcr.io/acme/hung:1', digest: digestOf('hung')}]})
    const watch = start(t, snyk, ['-n', 'twice', '--state', path.join(set.workDir, `twice-${count++}.db`), '--shutdown-timeout', '60s'])
    await until('the import in flight', () => snyk.requests.some((r) => r.method === 'POST'), 30_000)
    watch.child.kill('SIGINT')
    await until('the graceful stop', () => watch.logged(/stopping \(again to exit at once\)/).length > 0, 10_000)
    watch.child.kill('SIGINT')
    const code = await Promise.race([watch.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running 15 s after the second SIGINT'), 15_000))])
    assert.equal(code, 130)
    assert.equal(watch.logged(/^second SIGINT: exiting at once/).length, 1, JSON.stringify(watch.logs.map((l) => l['msg'])))
  })
  it('deploy/watch.yaml is accepted by a real API server, and its least-privilege RBAC lets the service account watch and lead', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    const kubectl = (...args: string[]) => {
      const run = spawnSync(set.binaries.kubectl, args, {env: {...process.env, KUBECONFIG: kubeconfig, HOME: set.workDir}, encoding: 'utf8'})
      assert.equal(run.status, 0, `kubectl ${args.join(' ')}: ${run.stderr}`)
      return run.stdout.trim()
    }
    kubectl('create', 'namespace', 'snyk-watch')
    kubectl('apply', '-f', path.join(root, 'deploy', 'watch.yaml'))
    const token = kubectl('-n', 'snyk-watch', 'create', 'token', 'snyk-watch')
    const asServiceAccount = await writeKubeconfig(path.join(set.workDir, 'service-account.yaml'), [{name: 'ha', cluster: set.clusters[0]!, user: {name: 'snyk-watch', token}}])

    const fixture = set.fixtures[0]!
    await fixture.createNamespace('rbac-check')
    await fixture.createPod({name: 'app', namespace: 'rbac-check', containers: [{name: 'app', image: 'ghcr.io/acme/rbac-check:1', digest: digestOf('rbac-check')}]})
    const watch = start(t, snyk, ['--kubeconfig', asServiceAccount, '--state', path.join(set.workDir, `rbac-${count++}.db`), '--leader-elect', '--leader-elect-namespace', 'snyk-watch', '--leader-elect-lease-duration', '3s'])
    await until('leading with the service account', () => watch.logged(/^leading/).length > 0, 30_000)
    await until('the image submitted', () => snyk.importsOf('acme/rbac-check:1').length === 1, 30_000)
    const complaints = watch.logs.filter((line) => /forbidden|not allowed/i.test(JSON.stringify(line)))
    assert.deepEqual(complaints, [], 'nothing was refused')
    watch.child.kill('SIGTERM')
    assert.equal(await watch.exited, 0)
  })
})
