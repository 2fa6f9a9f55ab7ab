// status end to end in-process: real API servers (three clusters), `sync --wait` into a state store, the Snyk
// emulator with its contract validation for --refresh and --sbom.
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedSkips, expectedTargets, seedWorkload} from '../helpers/sync-scenario.ts'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'
import {AuthError, ConfigError} from '../../src/errors.ts'
import {renderStatus} from '../../src/render/status-table.ts'
import {openStateStore} from '../../src/state/state-store.ts'
import {resolveStatusOptions} from '../../src/status/status-options.ts'
import type {StatusResult} from '../../src/status/status-result.ts'
import {runStatus} from '../../src/status/status-service.ts'
import {resolveSyncOptions} from '../../src/sync/sync-options.ts'
import {runSyncCommand} from '../../src/sync/sync-runner.ts'

const quietStderr = Object.assign(new EventEmitter(), {isTTY: false, write: () => true}) as unknown as NodeJS.WriteStream

/** Extra Docker Hub images, so that the org has more projects than one page of the listing holds. */
const toolImages = ['alpine:3.19', 'bitnami/postgresql:16', 'bitnami/kafka:3.7', 'grafana/grafana:11.0', 'prom/prometheus:v2.52', 'curlimages/curl:8.8']

describe('status on real clusters and the Snyk emulator', () => {
  let set: ClusterSet
  let kubeconfig: string
  let stateCount = 0

  before(async () => {
    set = await startClusters(3, {names: ['east', 'west', 'north']})
    await seedWorkload(set)
    await set.fixtures[0]!.createNamespace('tools')
    await set.fixtures[0]!.createDeployment('tools', 'toolbox', toolImages.map((image, i) => ({name: `c${i}`, image, digest: digestOf(image)})))
    const [a, b, c] = set.clusters as [typeof set.clusters[0], typeof set.clusters[0], typeof set.clusters[0]]
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'kubeconfig.yaml'), [{name: 'east', cluster: a}, {name: 'west', cluster: b}, {name: 'north', cluster: c}])
  })
  after(() => set?.stop())

  const freshState = (): string => path.join(set.workDir, `state-${stateCount++}.db`)

  const sync = async (snyk: SnykEmulator, state: string, flags: Record<string, unknown> = {}) => {
    const env = {HOME: set.workDir, SNYK_TOKEN: snyk.token}
    const options = resolveSyncOptions({kubeconfig: [kubeconfig], 'all-contexts': true, org: snyk.orgId, api: snyk.url, state, wait: true, ...flags}, env, undefined)
    return runSyncCommand(options, {env, stderr: quietStderr, json: true})
  }

  const status = (state: string, flags: Record<string, unknown> = {}, extra: {snyk?: SnykEmulator; env?: NodeJS.ProcessEnv; pageLimit?: number} = {}): Promise<StatusResult> => {
    const snykFlags = extra.snyk ? {org: extra.snyk.orgId, api: extra.snyk.url} : {}
    const env = {HOME: set.workDir, ...(extra.snyk ? {SNYK_TOKEN: extra.snyk.token} : {}), ...extra.env}
    const options = resolveStatusOptions({state, ...snykFlags, ...flags}, env, undefined)
    return runStatus(options, {env, ...(extra.pageLimit === undefined ? {} : {projectPageLimit: extra.pageLimit})})
  }

  /** A store synced with --wait: every importable image monitored. */
  const syncedStore = async (snyk: SnykEmulator): Promise<string> => {
    const state = freshState()
    const synced = await sync(snyk, state)
    assert.equal(synced.exitCode, 0, JSON.stringify(synced.images.filter((i) => i.result === 'failed')))
    return state
  }

  it('a missing store is a configuration error that says to run sync first, and is not created', async () => {
    const state = freshState()
    await assert.rejects(status(state), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.exitCode, 2)
      assert.match(error.message, /no state store at/)
      assert.match(error.suggestions.join(' '), /kubectl snyk-watch sync/)
      return true
    })
    await assert.rejects(readFile(state), {code: 'ENOENT'})
  })

  it('an empty store says so and what to run first (exit 0)', async () => {
    const state = freshState()
    openStateStore(state).close()
    const result = await status(state)
    assert.equal(result.exitCode, 0)
    assert.deepEqual(result.images, [])
    assert.match(result.message ?? '', /no running images yet: run kubectl snyk-watch sync/)
    assert.match(renderStatus(result, 120), /run kubectl snyk-watch sync first/)
  })

  it('by image: every image with its result, where it runs and a short digest; works offline', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)
    snyk.clearRequests()
    const result = await status(state)
    assert.equal(snyk.requests.length, 0, 'status without --refresh sends nothing to Snyk')
    assert.equal(result.exitCode, 0)
    assert.equal(result.counts.monitored, Object.keys(expectedTargets).length + toolImages.length)
    assert.equal(result.counts.skipped, Object.keys(expectedSkips).length)
    const nginx = result.images.find((i) => i.image === 'docker.io/library/nginx:1.27')!
    assert.equal(nginx.result, 'monitored')
    assert.deepEqual(nginx.runsIn.clusters, ['east', 'north', 'west'])
    assert.deepEqual(nginx.runsIn.workloads, ['east/shop/Deployment/web', 'north/shop/Deployment/web', 'west/shop/Deployment/web'])
    assert.equal(nginx.projects.length, 1)
    assert.ok(nginx.lastSubmitted)
    const debug = result.images.find((i) => i.image === 'registry.internal:5000/tools/debug:3')!
    assert.equal(debug.result, 'skipped')
    assert.match(debug.reason ?? '', /no Snyk integration/)
    assert.ok(debug.fix)

    const text = renderStatus(result, 160)
    assert.match(text, /docker\.io\/library\/nginx/)
    assert.match(text, new RegExp(digestOf('nginx:1.27').slice(7, 19)))
    assert.match(text, /skipped: no Snyk integration/)
    for (const width of [80, 100, 160]) {
      const lines = renderStatus(result, width).split('\n').filter((l) => /^[│┌├└]/.test(l))
      for (const line of lines) assert.ok(line.length <= width, `fits ${width} columns: ${line}`)
    }
    assert.ok(!text.includes('\u001b['), 'no colour')
  })

  it('views by workload, namespace and cluster, and filters by context, namespace, image glob and result', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)

    const byCluster = await status(state, {by: 'cluster'})
    assert.deepEqual(byCluster.groups?.map((g) => g.cluster), ['east', 'north', 'west'])
    const east = byCluster.groups!.find((g) => g.cluster === 'east')!
    assert.ok(east.images.includes('docker.io/library/nginx:1.27'))
    assert.equal(east.results.skipped, 1, 'the toolbox image without integration runs in east')

    const byNamespace = await status(state, {by: 'namespace'})
    assert.deepEqual(byNamespace.groups?.map((g) => `${g.cluster}/${g.namespace}`), ['east/shop', 'east/tools', 'north/shop', 'west/shop'])
    assert.equal(byNamespace.groups!.find((g) => g.namespace === 'tools')!.images.length, toolImages.length)

    const byWorkload = await status(state, {by: 'workload'})
    const workloads = byWorkload.groups!.map((g) => `${g.cluster}/${g.namespace}/${g.workload}`)
    for (const expected of ['east/shop/Deployment/web', 'east/shop/StatefulSet/cache', 'north/shop/CronJob/billing', 'west/shop/Pod/api-0', 'east/tools/Deployment/toolbox']) assert.ok(workloads.includes(expected), expected)
    const text = renderStatus(byWorkload, 120)
    assert.match(text, /WORKLOAD/)
    assert.match(text, /CronJob\/billing/)

    const west = await status(state, {context: ['west']})
    assert.ok(west.images.every((i) => i.runsIn.clusters.join() === 'west'))
    assert.deepEqual(west.images.map((i) => i.image).sort(), ['docker.io/library/alpine', 'docker.io/library/busybox:1.36', 'docker.io/library/nginx:1.27', 'ghcr.io/acme/migrate:v3', 'quay.io/acme/api:2.1'])

    const tools = await status(state, {namespace: ['tools']})
    assert.equal(tools.images.length, toolImages.length)
    const nginx = await status(state, {image: ['*nginx*']})
    assert.deepEqual(nginx.images.map((i) => i.image), ['docker.io/library/nginx:1.27'])
    const bitnami = await status(state, {image: ['bitnami/*']})
    assert.deepEqual(bitnami.images.map((i) => i.image).sort(), ['docker.io/bitnami/kafka:3.7', 'docker.io/bitnami/postgresql:16', 'docker.io/bitnami/redis:7.2'])
    const skipped = await status(state, {result: ['skipped']})
    assert.equal(skipped.images.length, Object.keys(expectedSkips).length)
    const none = await status(state, {image: ['nothing-like-this']})
    assert.match(none.message ?? '', /no image matches/)
  })

  it('--refresh reads counts across several pages of projects, stores them with Snyk\'s time; --fail-on trips and does not', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)
    for (const name of [...Object.keys(expectedTargets), ...toolImages.map((i) => (i.includes('/') ? i : `library/${i}`))]) snyk.setIssueCounts(name, {critical: 0, high: 0, medium: 2, low: 1})
    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 3, medium: 1, low: 0})
    snyk.clearRequests()

    const before = await status(state, {'fail-on': 'high'})
    assert.equal(before.gate?.tripped, false, 'no counts stored yet: nothing to judge')
    assert.equal(before.gate?.unknown, before.counts.images)

    const refreshed = await status(state, {refresh: true, 'fail-on': 'high'}, {snyk, pageLimit: 10})
    const pages = snyk.requestsFor('listOrgProjects')
    assert.ok(pages.length >= 2, `more than one page (${pages.length})`)
    assert.equal(refreshed.refresh?.projects, Object.keys(expectedTargets).length + toolImages.length)
    assert.equal(refreshed.refresh?.counted, refreshed.refresh?.projects)
    assert.equal(refreshed.exitCode, 1)
    assert.equal(refreshed.outcome, 'gate-tripped')
    assert.deepEqual(refreshed.gate?.images.map((i) => i.image), ['docker.io/library/nginx:1.27'])
    assert.match(renderStatus(refreshed, 120), /gate: FAILED \(--fail-on high\).*docker\.io\/library\/nginx:1\.27/)
    const nginx = refreshed.images.find((i) => i.image === 'docker.io/library/nginx:1.27')!
    assert.deepEqual({...nginx.vulnerabilities, updatedAt: undefined}, {critical: 0, high: 3, medium: 1, low: 0, updatedAt: undefined})
    assert.ok(Date.parse(nginx.vulnerabilities!.updatedAt) <= Date.now())

    // Offline again: the stored counts judge the gate.
    snyk.clearRequests()
    const critical = await status(state, {'fail-on': 'critical'})
    assert.equal(snyk.requests.length, 0)
    assert.equal(critical.exitCode, 0)
    assert.equal(critical.gate?.tripped, false)
    const medium = await status(state, {'fail-on': 'medium', namespace: ['tools']})
    assert.equal(medium.exitCode, 1)
    assert.equal(medium.gate?.images.length, toolImages.length)
    assert.equal(medium.counts.medium, 2 * toolImages.length)
  })

  it('--refresh rides out 5xx pages; a refresh that keeps failing is exit 3 with stored counts; a 401 is exit 2', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)
    snyk.faults.push({when: {operationId: 'listOrgProjects', times: 2, after: 1}, fault: {kind: 'status', status: 503}})
    const ridden = await status(state, {refresh: true}, {snyk, pageLimit: 10})
    assert.equal(ridden.exitCode, 0)
    assert.equal(ridden.refresh?.error, undefined)
    assert.equal(ridden.refresh?.counted, ridden.refresh?.projects)
    assert.equal(snyk.stats.faultsInjected, 2)

    snyk.faults.push({when: {operationId: 'listOrgProjects', times: Infinity}, fault: {kind: 'status', status: 503}})
    const failing = await status(state, {refresh: true, 'max-retries': '1'}, {snyk, pageLimit: 10})
    assert.equal(failing.exitCode, 3)
    assert.equal(failing.outcome, 'partial')
    assert.match(failing.refresh?.error ?? '', /could not read Snyk's results/)
    assert.ok(failing.images.some((i) => i.vulnerabilities !== undefined), 'the stored counts are still shown')
    assert.match(renderStatus(failing, 120), /refresh failed/)

    snyk.faults.clear()
    await assert.rejects(status(state, {refresh: true}, {snyk, env: {SNYK_TOKEN: 'not-a-valid-token'}}), (error: unknown) => {
      assert.ok(error instanceof AuthError)
      assert.equal(error.exitCode, 2)
      assert.doesNotMatch(`${error.message} ${error.stack}`, /not-a-valid-token/)
      return true
    })
  })

  it('--sbom writes one CycloneDX document per monitored project', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)
    const dir = path.join(set.workDir, 'sboms')
    const result = await status(state, {sbom: dir, namespace: ['shop']}, {snyk})
    assert.equal(result.exitCode, 0)
    const monitored = result.images.filter((i) => i.result === 'monitored')
    assert.equal(result.sbom?.written.length, monitored.length)
    assert.deepEqual(result.sbom?.failed, [])
    const files = await readdir(dir)
    assert.equal(files.length, monitored.length)
    assert.ok(files.some((f) => f.startsWith('library_nginx_1.27.')))
    for (const file of files) {
      const document = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as {bomFormat: string}
      assert.equal(document.bomFormat, 'CycloneDX')
    }
  })

  it('drift: a tag running at different digests across clusters, and at a digest Snyk has not imported', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const state = await syncedStore(snyk)
    assert.deepEqual((await status(state)).drift, [])
    // A canary in west runs nginx:1.27 rebuilt under the same tag; sync records it without waiting for Snyk.
    await set.fixtures[1]!.createNamespace('canary')
    await set.fixtures[1]!.createDeployment('canary', 'web', [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27-rebuilt')}])
    const resynced = await sync(snyk, state, {wait: false})
    assert.equal(resynced.exitCode, 0)

    const result = await status(state)
    const differ = result.drift.find((d) => d.kind === 'tag-digests-differ')
    assert.ok(differ && differ.kind === 'tag-digests-differ')
    assert.equal(differ.tag, 'docker.io/library/nginx:1.27')
    assert.deepEqual(differ.digests.map((d) => d.digest).sort(), [digestOf('nginx:1.27'), digestOf('nginx:1.27-rebuilt')].sort())
    assert.ok(differ.digests.some((d) => d.runsIn.includes('west/canary')))
    const stale = result.drift.find((d) => d.kind === 'not-what-snyk-imported')
    assert.ok(stale && stale.kind === 'not-what-snyk-imported')
    assert.equal(stale.digest, digestOf('nginx:1.27-rebuilt'))
    assert.equal(stale.monitoredDigest, digestOf('nginx:1.27'))
    assert.equal(result.counts.drift, 2)
    const text = renderStatus(result, 120)
    assert.match(text, /drift: docker\.io\/library\/nginx:1\.27 runs at 2 digests/)
    assert.match(text, /but Snyk last imported/)
  })

  it('FIPS: by name, overridden by the pods\' snyk-watch.io/fips annotation, counted, filtered; disagreeing pods make it not FIPS', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 1}})
    const east = set.fixtures[0]!
    await east.createNamespace('fips')
    const pod = (name: string, image: string, fips?: 'true' | 'false' | 'TRUE') =>
      east.createPod({namespace: 'fips', name, containers: [{name: 'c', image, digest: digestOf(image)}], ...(fips === undefined ? {} : {annotations: {'snyk-watch.io/fips': fips}})})
    await pod('by-name', 'chainguard/nginx-fips:1.27')
    await pod('by-annotation', 'acme/crypto:1.0', 'TRUE')
    await pod('overridden', 'acme/legacy-fips:2.0', 'false')
    await pod('shared-a', 'acme/shared:3.1', 'true')
    await pod('shared-b', 'acme/shared:3.1', 'false')
    await pod('lookalike', 'acme/fipster:1.0')
    const state = await syncedStore(snyk)

    const result = await status(state, {namespace: ['fips']})
    const fipsOf = (name: string) => {
      const image = result.images.find((i) => i.image === name)
      assert.ok(image, name)
      return [image.fips, image.fipsSource]
    }
    assert.deepEqual(fipsOf('docker.io/chainguard/nginx-fips:1.27'), [true, 'name'])
    assert.deepEqual(fipsOf('docker.io/acme/crypto:1.0'), [true, 'annotation'])
    assert.deepEqual(fipsOf('docker.io/acme/legacy-fips:2.0'), [false, 'annotation'])
    assert.deepEqual(fipsOf('docker.io/acme/shared:3.1'), [false, 'conflicting-annotations'])
    assert.deepEqual(fipsOf('docker.io/acme/fipster:1.0'), [false, 'name'])
    assert.equal(result.counts.fips, 2)
    const text = renderStatus(result, 160)
    assert.match(text, /│ FIPS │/)
    assert.match(text, /2 FIPS/)
    assert.match(text, /pods running this image disagree on snyk-watch\.io\/fips \(counted as not FIPS\): docker\.io\/acme\/shared:3\.1/)

    const everywhere = await status(state)
    assert.equal(everywhere.counts.fips, 2, 'nothing else that runs is FIPS')
    assert.deepEqual((await status(state, {fips: true})).images.map((i) => i.image), ['docker.io/acme/crypto:1.0', 'docker.io/chainguard/nginx-fips:1.27'])
    const others = await status(state, {fips: false})
    assert.equal(others.images.length, everywhere.images.length - 2)
    assert.ok(others.images.every((i) => !i.fips))
    assert.equal((await status(state, {by: 'namespace'})).groups?.find((g) => g.namespace === 'fips')?.fips, 2)
  })
})
