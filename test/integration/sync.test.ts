// sync end to end in-process: real API servers (three clusters, two kubeconfig files), the Snyk
// emulator with its contract validation, the SQLite state store.
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {expectedSkips, expectedTargets, seedWorkload} from '../helpers/sync-scenario.ts'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'
import {AuthError} from '../../src/errors.ts'
import {resolveSyncOptions} from '../../src/sync/sync-options.ts'
import type {SyncResult} from '../../src/sync/sync-result.ts'
import {runSyncCommand} from '../../src/sync/sync-runner.ts'

const quietStderr = Object.assign(new EventEmitter(), {isTTY: false, write: () => true}) as unknown as NodeJS.WriteStream

describe('sync on real clusters and the Snyk emulator', () => {
  let set: ClusterSet
  let first: string
  let second: string
  let stateCount = 0

  before(async () => {
    set = await startClusters(3, {names: ['east', 'west', 'north']})
    await seedWorkload(set)
    const [a, b, c] = set.clusters as [typeof set.clusters[0], typeof set.clusters[0], typeof set.clusters[0]]
    const restricted = await set.fixtures[0]!.createRestrictedUser('shop-reader', ['shop'])
    first = await writeKubeconfig(path.join(set.workDir, 'first.yaml'), [{name: 'east', cluster: a}, {name: 'west', cluster: b}, {name: 'north', cluster: c}])
    second = await writeKubeconfig(path.join(set.workDir, 'second.yaml'), [{name: 'east', cluster: a}, {name: 'east-reader', cluster: a, user: restricted}, {name: 'gone', cluster: c}])
    // The context "gone" points at a port where nothing listens.
    await writeFile(second, (await readFile(second, 'utf8')).replace(new RegExp(`server: ${c.server}`), 'server: https://127.0.0.1:9'))
  })
  after(() => set?.stop())

  const sync = async (snyk: SnykEmulator | undefined, flags: Record<string, unknown>, extra: {env?: NodeJS.ProcessEnv; signals?: EventEmitter} = {}): Promise<SyncResult> => {
    const env = {HOME: set.workDir, SNYK_TOKEN: snyk?.token, ...extra.env}
    const options = resolveSyncOptions({org: snyk?.orgId, api: snyk?.url, state: path.join(set.workDir, `state-${stateCount}.db`), ...flags}, env, undefined)
    return runSyncCommand(options, {env, stderr: quietStderr, json: true, ...(extra.signals ? {signals: extra.signals} : {})})
  }
  const freshState = () => stateCount++

  const assertEachImportedOnce = (snyk: SnykEmulator) => {
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name} imported exactly once`)
    const imports = snyk.requests.filter((r) => r.method === 'POST')
    assert.equal(imports.length, Object.keys(expectedTargets).length, 'nothing else was imported')
  }

  it('two kubeconfig files x three contexts: every image submitted once, unreachable and forbidden targets reported (exit 3)', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    const result = await sync(snyk, {kubeconfig: [first, second], 'all-contexts': true})
    assert.equal(result.exitCode, 3)
    assert.equal(result.outcome, 'partial')
    const byName = new Map(result.targets.map((target) => [target.name, target]))
    assert.deepEqual([...byName.keys()].sort(), ['east-reader', 'gone', 'north', 'west', `${first}:east`, `${second}:east`].sort())
    assert.equal(byName.get('gone')?.status, 'failed')
    assert.match(byName.get('gone')?.error ?? '', /cannot reach https:\/\/127\.0\.0\.1:9/)
    assert.equal(byName.get('east-reader')?.status, 'failed')
    assert.match(byName.get('east-reader')?.error ?? '', /forbidden/)
    assert.match(byName.get('east-reader')?.suggestion ?? '', /-n NAMESPACE/)
    assert.equal(byName.get('north')?.status, 'ok')

    assertEachImportedOnce(snyk)
    for (const [name, type] of Object.entries(expectedTargets)) {
      const image = result.images.find((i) => i.snykTarget === name)
      assert.equal(image?.integration?.type, type, `${name} goes through the ${type} integration`)
      assert.equal(image?.result, 'submitted')
    }
    for (const [image, reason] of Object.entries(expectedSkips)) {
      const found = result.images.find((i) => i.image === image)
      assert.equal(found?.result, 'skipped', image)
      assert.match(found?.reason ?? '', reason)
      assert.ok(found?.fix, 'a skipped image comes with a fix')
    }
    const nginx = result.images.find((i) => i.snykTarget === 'library/nginx:1.27')!
    assert.deepEqual(nginx.runsIn.clusters, ['north', 'west', `${first}:east`, `${second}:east`].sort())
    assert.equal(nginx.runsIn.containers, 2 + 2 + 1 + 2)
    const payments = result.images.find((i) => i.snykTarget === 'team/payments:1.4.2')!
    assert.equal(payments.digest, undefined, 'a docker image id is not a repository digest')
  })

  it('remembers what it submitted: a second run submits nothing, --resubmit-after 0s submits again', async (t) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    const firstRun = await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    assert.equal(firstRun.exitCode, 0)
    assert.equal(firstRun.counts.submitted, Object.keys(expectedTargets).length)
    const again = await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    assert.equal(again.counts.submitted, 0)
    assert.equal(again.counts.unchanged, Object.keys(expectedTargets).length)
    assertEachImportedOnce(snyk)
    const forced = await sync(snyk, {kubeconfig: [first], 'all-contexts': true, 'resubmit-after': '0s'})
    assert.equal(forced.counts.submitted, Object.keys(expectedTargets).length)
  })

  it('--wait records the Snyk projects of each import', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    freshState()
    const result = await sync(snyk, {kubeconfig: [first], context: ['west'], wait: true})
    assert.equal(result.exitCode, 0)
    const api = result.images.find((i) => i.snykTarget === 'acme/api:2.1')!
    assert.equal(api.result, 'monitored')
    assert.ok(api.projects?.[0]?.id)
  })

  it('rides out 429s with and without Retry-After, and 5xx, and loses nothing', async (t) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    snyk.faults.push({when: {operationId: 'Importtargets', times: 2}, fault: {kind: '429', retryAfterSeconds: 1}})
    snyk.faults.push({when: {operationId: 'Importtargets', times: 2, after: 2}, fault: {kind: '429'}})
    snyk.faults.push({when: {operationId: 'Importtargets', times: 2, after: 4}, fault: {kind: 'status', status: 503}})
    const result = await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    assert.equal(result.exitCode, 0, JSON.stringify(result.images.filter((i) => i.result === 'failed')))
    assert.equal(snyk.stats.faultsInjected, 6)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).filter((r) => r.status === 201).length, 1)
  })

  it('stops at once on 401 with an authentication error (exit 2) and submits nothing', async (t) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    await assert.rejects(sync(snyk, {kubeconfig: [first], 'all-contexts': true}, {env: {SNYK_TOKEN: 'not-a-valid-token'}}), (error: unknown) => {
      assert.ok(error instanceof AuthError)
      assert.equal(error.exitCode, 2)
      assert.doesNotMatch(`${error.message} ${error.stack}`, /not-a-valid-token/)
      return true
    })
    assert.equal(snyk.requests.filter((r) => r.method === 'POST').length, 0)
  })

  it('an interrupted run leaves the rest to the next one, without duplicates', async (t) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 300}})
    const signals = new EventEmitter()
    const interrupted = sync(snyk, {kubeconfig: [first], 'all-contexts': true, concurrency: '1'}, {signals})
    const poll = setInterval(() => {
      if (snyk.requests.some((r) => r.method === 'POST' && r.status === 201)) {
        clearInterval(poll)
        signals.emit('SIGINT')
      }
    }, 20)
    const partial = await interrupted
    clearInterval(poll)
    assert.equal(partial.exitCode, 130)
    assert.ok(partial.counts.interrupted > 0, 'some images were left')
    snyk.faults.clear()
    const resumed = await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    assert.equal(resumed.exitCode, 0)
    const accepted = (name: string) => snyk.importsOf(name).filter((r) => r.status === 201).length
    for (const name of Object.keys(expectedTargets)) assert.equal(accepted(name), 1, `${name} accepted exactly once over both runs`)
  })

  it('--dry-run needs no token and sends nothing to Snyk', async () => {
    const result = await sync(undefined, {kubeconfig: [first], 'all-contexts': true, 'dry-run': true}, {env: {SNYK_TOKEN: ''}})
    assert.equal(result.dryRun, true)
    assert.equal(result.exitCode, 0)
    // It submits and records nothing: what it would do has counts of its own.
    assert.equal(result.counts.wouldSubmit, Object.keys(expectedTargets).length)
    assert.equal(result.counts.wouldSkip, Object.keys(expectedSkips).length)
    assert.equal(result.counts.submitted, 0)
    assert.equal(result.counts.skipped, 0)
    assert.ok(result.images.every((i) => i.result === 'would-submit' || i.result === 'would-skip'))
    assert.equal(result.images.find((i) => i.snykTarget === 'acme/migrate:v3')?.integration?.type, 'github-cr')
  })

  // Last: it changes the workload.
  it('reports a tag that now runs at a new digest as drift, and submits it again', async (t) => {
    const snyk = await withSnykEmulator(t)
    freshState()
    await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    await set.fixtures[0]!.createPod({namespace: 'shop', name: 'web-rolled', containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27-rebuilt')}]})
    const after = await sync(snyk, {kubeconfig: [first], 'all-contexts': true})
    assert.deepEqual(after.drift, [{tag: 'docker.io/library/nginx:1.27', previousDigest: digestOf('nginx:1.27'), digest: digestOf('nginx:1.27-rebuilt')}])
    assert.equal(after.counts.submitted, 1)
    assert.equal(snyk.importsOf('library/nginx:1.27').length, 2)
  })
})
