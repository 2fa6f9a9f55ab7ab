// watch end to end in-process: real API servers, the Snyk emulator with its contract validation, the
// SQLite state store; the command's own signal handling through an emitter.
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {startWatch, until} from '../helpers/watch-fixture.ts'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'
import {AuthError} from '../../src/errors.ts'
import {exitAtOnce} from '../../src/cli/stop-signals.ts'
import {openStateStore} from '../../src/state/state-store.ts'
import {listImages} from '../helpers/sqlite-store-reads.ts'

const imports = (snyk: SnykEmulator) => snyk.requests.filter((r) => r.method === 'POST' && /\/import$/.test(r.path))

describe('watch on real clusters and the Snyk emulator', () => {
  let set: ClusterSet
  let kubeconfig: string
  let stateCount = 0

  before(async () => {
    // --watch-cache=false: watches are served from etcd, so a compaction makes an old resourceVersion expire (410).
    set = await startClusters(3, {names: ['east', 'west', 'north'], apiserverArgs: ['--watch-cache=false']})
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'clusters.yaml'), set.clusters.map((cluster) => ({name: cluster.name, cluster})))
    for (const fixture of set.fixtures) await fixture.createNamespace('shop')
  })
  after(() => set?.stop())

  const env = (snyk: SnykEmulator): NodeJS.ProcessEnv => ({HOME: set.workDir, SNYK_TOKEN: snyk.token})
  const flags = (snyk: SnykEmulator, extra: Record<string, unknown> = {}) => ({
    kubeconfig: [kubeconfig],
    'all-contexts': true,
    org: snyk.orgId,
    api: snyk.url,
    state: path.join(set.workDir, `watch-${stateCount}.db`),
    ...extra,
  })

  it('submits a new image in each of three targets once; updates, deletions and known images send nothing; /readyz and /metrics', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const [east, west, north] = set.fixtures as [typeof set.fixtures[0], typeof set.fixtures[0], typeof set.fixtures[0]]
    await east.createPod({name: 'web', namespace: 'shop', labels: {app: 'web'}, containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})
    await west.createPod({name: 'web', namespace: 'shop', labels: {app: 'web'}, containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})

    const watch = await startWatch(flags(snyk, {listen: '127.0.0.1:0', namespace: ['shop']}), env(snyk))
    t.after(() => watch.stop())

    await until('the first lists', async () => (await fetch(`${watch.url}/readyz`)).status === 200)
    await until('nginx imported', () => snyk.importsOf('library/nginx:1.27').length === 1)

    // A new image in each target.
    await east.createPod({name: 'api', namespace: 'shop', containers: [{name: 'api', image: 'ghcr.io/acme/api:2.0', digest: digestOf('api:2.0')}]})
    await west.createPod({name: 'worker', namespace: 'shop', containers: [{name: 'worker', image: 'quay.io/acme/worker:5', digest: digestOf('worker:5')}]})
    await north.createPod({name: 'cache', namespace: 'shop', containers: [{name: 'redis', image: 'redis:7.4', digest: digestOf('redis:7.4')}]})
    await until('the three new images imported', () => ['acme/api:2.0', 'acme/worker:5', 'library/redis:7.4'].every((name) => snyk.importsOf(name).length === 1))

    // Churn: label updates (MODIFIED, same images), a deletion, a new pod running a known image.
    for (const fixture of [east, west]) {
      const pod = await fixture.readPod('shop', 'web')
      pod.metadata!.labels = {...pod.metadata!.labels, churn: 'yes'}
      await fixture.core.replaceNamespacedPod({namespace: 'shop', name: 'web', body: pod})
    }
    await west.deletePod('shop', 'worker')
    await north.createPod({name: 'web-2', namespace: 'shop', containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})
    // A barrier: events of a target arrive in order, so once this is imported, the churn before it was handled.
    for (const [index, fixture] of [east, west, north].entries()) {
      await fixture.createPod({name: `marker-${index}`, namespace: 'shop', containers: [{name: 'marker', image: `ghcr.io/acme/marker-${index}:1`, digest: digestOf(`marker-${index}`)}]})
    }
    await until('the markers imported', () => [0, 1, 2].every((index) => snyk.importsOf(`acme/marker-${index}:1`).length === 1))
    assert.equal(imports(snyk).length, 7, 'nginx, api, worker, redis and three markers: nothing else, nothing twice')

    // The emulator sees the seventh import before the watch has recorded Snyk's answer: the counter follows.
    await until('seven submissions counted', async () => /^snyk_watch_submissions_total\{result="submitted"\} 7$/m.test(await (await fetch(`${watch.url}/metrics`)).text()), 10_000)
    const metrics = await (await fetch(`${watch.url}/metrics`)).text()
    assert.match(metrics, /^snyk_watch_submissions_total\{result="submitted"\} 7$/m)
    await until('the running-containers gauge', async () => /^snyk_watch_running_containers\{image="docker\.io\/library\/nginx@sha256:[0-9a-f]+"\} 3$/m.test(await (await fetch(`${watch.url}/metrics`)).text()), 10_000)
    assert.match(metrics, /^snyk_watch_leader 1$/m)
    assert.match(metrics, /^snyk_watch_queue_depth 0$/m)
    assert.equal((await fetch(`${watch.url}/healthz`)).status, 200)

    const audit = watch.logs.filter((line) => line['audit'] === true && line['result'] === 'submitted')
    assert.equal(audit.length, 7, 'one audit line per submission')
    assert.ok(audit.every((line) => typeof line['job'] === 'string' && typeof line['image'] === 'string'))
    assert.ok(!JSON.stringify(watch.logs).includes(snyk.token), 'the token is never logged')

    // The store knows where everything runs now: the deleted pod is gone.
    const store = openStateStore(path.join(set.workDir, `watch-${stateCount}.db`))
    try {
      const worker = listImages(store).find((image) => image.image.repository === 'acme/worker')
      assert.equal(worker?.placements.length ?? 0, 0)
      const nginx = listImages(store).find((image) => image.image.repository === 'library/nginx')
      assert.deepEqual(nginx?.placements.map((p) => `${p.cluster}/${p.pod}`).sort(), ['east/web', 'north/web-2', 'west/web'])
    } finally {
      store.close()
    }
    assert.equal(await watch.stop(), 0)
  })

  it('an unreachable target is retried and keeps /readyz at 503 without stopping the others', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const dead = path.join(set.workDir, 'dead.yaml')
    await writeKubeconfig(dead, [{name: 'east', cluster: set.clusters[0]!}, {name: 'gone', cluster: set.clusters[1]!}])
    await writeFile(dead, (await readFile(dead, 'utf8')).replace(`server: ${set.clusters[1]!.server}`, 'server: https://127.0.0.1:9'))
    await set.fixtures[0]!.createPod({name: 'lonely', namespace: 'shop', containers: [{name: 'app', image: 'ghcr.io/acme/lonely:1', digest: digestOf('lonely')}]})
    const watch = await startWatch(flags(snyk, {kubeconfig: [dead], listen: '127.0.0.1:0'}), env(snyk))
    t.after(() => watch.stop())
    await until('the reachable target submitted', () => snyk.importsOf('acme/lonely:1').length === 1)
    await until('a restart of the dead target', () => watch.logged(/reconnecting/).some((line) => line['target'] === 'gone'))
    const readyz = await fetch(`${watch.url}/readyz`)
    assert.equal(readyz.status, 503)
    assert.match(await readyz.text(), /gone/)
    assert.match(await (await fetch(`${watch.url}/metrics`)).text(), /^snyk_watch_watch_restarts_total\{target="gone"\} [1-9]/m)
    assert.equal(await watch.stop(), 0)
  })

  it('the API server killed and restarted mid-watch: no image missed, nothing submitted twice', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const cluster = set.clusters[2]!
    const fixture = set.fixtures[2]!
    const single = path.join(set.workDir, 'north.yaml')
    await writeKubeconfig(single, [{name: 'north', cluster}])
    await fixture.createNamespace('restart')
    await fixture.createPod({name: 'before-restart', namespace: 'restart', containers: [{name: 'app', image: 'ghcr.io/acme/before:1', digest: digestOf('before')}]})
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['restart']}), env(snyk))
    t.after(() => watch.stop())
    await until('the first image', () => snyk.importsOf('acme/before:1').length === 1)

    await cluster.stopApiServer()
    await until('the watch noticing', () => watch.logged(/reconnecting/).length > 0)
    await cluster.startApiServer()
    await fixture.createPod({name: 'after-restart', namespace: 'restart', containers: [{name: 'app', image: 'ghcr.io/acme/after:1', digest: digestOf('after')}]})
    await until('the image created after the restart', () => snyk.importsOf('acme/after:1').length === 1, 30_000)
    assert.equal(snyk.importsOf('acme/before:1').length, 1)
    assert.equal(imports(snyk).length, 2)
    assert.equal(await watch.stop(), 0)
  })

  it('a forced 410 Gone (etcd compacted past the watch) relists without submitting anything twice', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const cluster = set.clusters[1]!
    const fixture = set.fixtures[1]!
    const single = path.join(set.workDir, 'west.yaml')
    await writeKubeconfig(single, [{name: 'west', cluster}])
    await fixture.createNamespace('gone-410')
    await fixture.createPod({name: 'steady', namespace: 'gone-410', containers: [{name: 'app', image: 'ghcr.io/acme/steady:1', digest: digestOf('steady')}]})
    // Watches that end every 2 s reopen from their resourceVersion, which the compaction makes too old.
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['gone-410']}), env(snyk), {follow: {watchTimeoutSeconds: 2}})
    t.after(() => watch.stop())
    await until('the first image', () => snyk.importsOf('acme/steady:1').length === 1)

    // Move etcd two revisions past the watch's resourceVersion (a watch from RV reads from RV + 1), and compact.
    await fixture.createNamespace('noise-410')
    await fixture.createNamespace('noise-410-b')
    await cluster.compactEtcd()
    await until('a relist', () => watch.logged(/^relisted$/).length > 0, 30_000)
    await fixture.createPod({name: 'fresh', namespace: 'gone-410', containers: [{name: 'app', image: 'ghcr.io/acme/fresh:1', digest: digestOf('fresh')}]})
    await until('the new image after the relist', () => snyk.importsOf('acme/fresh:1').length === 1, 30_000)
    assert.equal(snyk.importsOf('acme/steady:1').length, 1, 'the relist resubmits nothing already known')
    assert.equal(imports(snyk).length, 2)
    assert.equal(await watch.stop(), 0)
  })

  it('SIGTERM with a queue: in-flight imports finish, the rest is kept, and a restart submits it exactly once', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const fixture = set.fixtures[0]!
    const single = path.join(set.workDir, 'east.yaml')
    await writeKubeconfig(single, [{name: 'east', cluster: set.clusters[0]!}])
    await fixture.createNamespace('queue')
    const names = Array.from({length: 8}, (_, i) => `acme/queued-${i}:1`)
    for (const [i] of names.entries()) {
      await fixture.createPod({name: `q-${i}`, namespace: 'queue', containers: [{name: 'app', image: `ghcr.io/acme/queued-${i}:1`, digest: digestOf(`queued-${i}`)}]})
    }
    // One import every 2 s: most of the queue is still waiting when SIGTERM comes.
    const first = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['queue'], rate: '30', concurrency: '1', 'shutdown-timeout': '10s'}), env(snyk))
    await until('the first import', () => imports(snyk).length >= 1)
    assert.equal(await first.stop(), 0)
    const sent = imports(snyk).length
    assert.ok(sent < names.length, `a queue was left (${sent} of ${names.length} sent)`)
    const stopped = first.logged(/^stopped/)[0]
    assert.equal(stopped?.['persisted'], names.length - sent, 'everything not sent was persisted')

    // The pods are gone by the next start: only the persisted queue knows these images.
    for (const [i] of names.entries()) await fixture.deletePod('queue', `q-${i}`)
    const second = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['queue']}), env(snyk))
    t.after(() => second.stop())
    await until('the rest submitted', () => names.every((name) => snyk.importsOf(name).length >= 1))
    for (const name of names) assert.equal(snyk.importsOf(name).length, 1, `${name} submitted exactly once`)
    assert.equal(await second.stop(), 0)
  })
  it('--namespace-selector: only labelled namespaces, also one created while watching; --cluster-name labels the store', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const fixture = set.fixtures[2]!
    const single = path.join(set.workDir, 'north-selector.yaml')
    await writeKubeconfig(single, [{name: 'north', cluster: set.clusters[2]!}])
    await fixture.createNamespace('team-a', {labels: {team: 'a'}})
    await fixture.createNamespace('team-b', {labels: {team: 'b'}})
    await fixture.createPod({name: 'a1', namespace: 'team-a', containers: [{name: 'app', image: 'ghcr.io/acme/team-a:1', digest: digestOf('team-a')}]})
    await fixture.createPod({name: 'b1', namespace: 'team-b', containers: [{name: 'app', image: 'ghcr.io/acme/team-b:1', digest: digestOf('team-b')}]})
    const state = path.join(set.workDir, `watch-${stateCount}.db`)
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, 'namespace-selector': 'team=a', 'cluster-name': 'prod-north', state}), env(snyk))
    t.after(() => watch.stop())
    await until('team-a imported', () => snyk.importsOf('acme/team-a:1').length === 1)
    await fixture.createNamespace('team-a-late', {labels: {team: 'a'}})
    await fixture.createPod({name: 'late', namespace: 'team-a-late', containers: [{name: 'app', image: 'ghcr.io/acme/team-a-late:1', digest: digestOf('team-a-late')}]})
    await fixture.createPod({name: 'b2', namespace: 'team-b', containers: [{name: 'app', image: 'ghcr.io/acme/team-b2:1', digest: digestOf('team-b2')}]})
    await until('the late namespace imported', () => snyk.importsOf('acme/team-a-late:1').length === 1)
    assert.equal(snyk.importsOf('acme/team-b:1').length + snyk.importsOf('acme/team-b2:1').length, 0, 'nothing from the unselected namespace')
    assert.equal(await watch.stop(), 0)
    const store = openStateStore(state)
    try {
      const clusters = new Set(listImages(store).flatMap((image) => image.placements.map((p) => p.cluster)))
      assert.deepEqual([...clusters], ['prod-north'])
    } finally {
      store.close()
    }
  })
  it('SIGHUP re-reads the config file: a new selector restarts the streams, the new match is submitted, nothing twice', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const fixture = set.fixtures[1]!
    const single = path.join(set.workDir, 'west-hup.yaml')
    await writeKubeconfig(single, [{name: 'west', cluster: set.clusters[1]!}])
    await fixture.createNamespace('hup')
    await fixture.createPod({name: 'one', namespace: 'hup', labels: {app: 'one'}, containers: [{name: 'app', image: 'ghcr.io/acme/hup-one:1', digest: digestOf('hup-one')}]})
    await fixture.createPod({name: 'two', namespace: 'hup', labels: {app: 'two'}, containers: [{name: 'app', image: 'ghcr.io/acme/hup-two:1', digest: digestOf('hup-two')}]})
    const config = path.join(set.workDir, `hup-${stateCount}.yaml`)
    await writeFile(config, 'selector: app=one\nrate: 600\n')
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['hup']}), {...env(snyk), SNYK_WATCH_CONFIG: config})
    t.after(() => watch.stop())
    await until('app=one imported', () => snyk.importsOf('acme/hup-one:1').length === 1)
    assert.equal(snyk.importsOf('acme/hup-two:1').length, 0)

    await writeFile(config, 'selector: app in (one,two)\nrate: 300\n')
    watch.signals.emit('SIGHUP', 'SIGHUP')
    await until('app=two imported after the reload', () => snyk.importsOf('acme/hup-two:1').length === 1)
    const reloaded = watch.logged(/^SIGHUP: configuration reloaded/)[0]
    assert.deepEqual(reloaded?.['changes'], ['rate 600 -> 300/min', 'filters (the streams restart)'])
    assert.equal(snyk.importsOf('acme/hup-one:1').length, 1, 'the relist resubmits nothing')

    // A broken config file is reported and changes nothing.
    await writeFile(config, 'selector: [unclosed\n')
    watch.signals.emit('SIGHUP', 'SIGHUP')
    await until('the reload error', () => watch.logged(/^SIGHUP: the configuration was not reloaded/).length === 1)
    assert.equal(await watch.stop(), 0)
  })
  it('a token Snyk refuses (401) stops watch at start with exit 2, and the token is not logged', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const single = path.join(set.workDir, 'east-401.yaml')
    await writeKubeconfig(single, [{name: 'east', cluster: set.clusters[0]!}])
    // Nothing runs in this namespace: the token is checked at start, not at the first new image.
    await set.fixtures[0]!.createNamespace('empty-401')
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['empty-401']}), {...env(snyk), SNYK_TOKEN: 'not-the-token'})
    await assert.rejects(watch.done, (error: unknown) => error instanceof AuthError && error.exitCode === 2)
    assert.equal(imports(snyk).length, 0)
    assert.ok(!JSON.stringify(watch.logs).includes('not-the-token'), 'the token is never logged')
  })
  it('a second Ctrl+C exits at once with 130 and still keeps the queue', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    stateCount++
    const fixture = set.fixtures[2]!
    const single = path.join(set.workDir, 'north-twice.yaml')
    await writeKubeconfig(single, [{name: 'north', cluster: set.clusters[2]!}])
    await fixture.createNamespace('twice')
    for (const i of [0, 1, 2, 3]) await fixture.createPod({name: `t-${i}`, namespace: 'twice', containers: [{name: 'app', image: `ghcr.io/acme/twice-${i}:1`, digest: digestOf(`twice-${i}`)}]})
    const state = path.join(set.workDir, `watch-${stateCount}.db`)
    const watch = await startWatch(flags(snyk, {kubeconfig: [single], 'all-contexts': false, namespace: ['twice'], rate: '6', concurrency: '1', state}), env(snyk))
    await until('the first import', () => imports(snyk).length >= 1)
    watch.signals.emit('SIGINT', 'SIGINT')
    watch.signals.emit('SIGINT', 'SIGINT')
    // 130 without the graceful stop: --shutdown-timeout (20 s) would let the in-flight import finish.
    assert.equal(await watch.done, 130)
    assert.equal(exitAtOnce(), true, 'the entry point is asked to end the process at once')
    const store = openStateStore(state)
    try {
      const pending = store.pendingWork().map((work) => work.image.repository).sort()
      const sent = new Set(['acme/twice-0', 'acme/twice-1', 'acme/twice-2', 'acme/twice-3'].filter((name) => snyk.importsOf(`${name}:1`).length > 0))
      assert.deepEqual(pending, ['acme/twice-0', 'acme/twice-1', 'acme/twice-2', 'acme/twice-3'].filter((name) => !sent.has(name)), 'every image not sent is pending for the next start')
      assert.ok(pending.every((name) => store.pendingWork().find((w) => w.image.repository === name)?.claim === undefined), 'and not held by the run that exited')
    } finally {
      store.close()
    }
  })
})
