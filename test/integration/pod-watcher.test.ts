// The watch pod source on real API servers: list then watch, updates and deletions, scope changes, owners
// and namespaces created after the list, API server restart (resume without relist), 410 after an etcd
// compaction (relist), bookmarks carrying the resourceVersion across normal watch ends, inactivity, abort.
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import type {LocalCluster} from '../controlplane/local-cluster.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf, imageIdFor, type KubeFixture} from '../helpers/kube-objects.ts'
import type {PodRecord} from '../../src/images/pod-images.ts'
import {KubeApiClient} from '../../src/kube/kube-api-client.ts'
import {loadKubeconfigs} from '../../src/kube/kubeconfig-loader.ts'
import type {PodScope} from '../../src/kube/pod-scope.ts'
import {followTargetPods, type FollowOptions, type PodStreamEvents} from '../../src/kube/pod-watcher.ts'
import {resolveTargets, type Target} from '../../src/kube/target.ts'

const allScope: PodScope = {namespaces: [], excludeNamespaces: [], skipJobPods: false}
const quickBackoff = {initialMs: 100, maxMs: 500}

type Entry =
  | {kind: 'listStarted'; relist: boolean}
  | {kind: 'listPage'; pods: PodRecord[]}
  | {kind: 'listed'; relist: boolean; resourceVersion: string; podCount: number; skippedPods: number; warnings: string[]}
  | {kind: 'upserted'; pod: PodRecord}
  | {kind: 'deleted'; pod: {namespace: string; name: string}}
  | {kind: 'restarting'; reason: string; attempt: number; delayMs: number; relist: boolean}

/** Records every event and lets a test wait for one. */
class Recorder implements PodStreamEvents {
  readonly log: Entry[] = []
  listStarted(info: {relist: boolean}): void {
    this.log.push({kind: 'listStarted', ...info})
  }
  listPage(pods: PodRecord[]): void {
    this.log.push({kind: 'listPage', pods})
  }
  listed(info: {relist: boolean; resourceVersion: string; podCount: number; skippedPods: number; warnings: string[]}): void {
    this.log.push({kind: 'listed', ...info})
  }
  upserted(pod: PodRecord): void {
    this.log.push({kind: 'upserted', pod})
  }
  deleted(pod: {namespace: string; name: string}): void {
    this.log.push({kind: 'deleted', pod})
  }
  restarting(info: {reason: string; attempt: number; delayMs: number; relist: boolean}): void {
    this.log.push({kind: 'restarting', ...info})
  }

  of<K extends Entry['kind']>(kind: K): Array<Extract<Entry, {kind: K}>> {
    return this.log.filter((entry): entry is Extract<Entry, {kind: K}> => entry.kind === kind)
  }

  /** Pods of the listPage calls since the last listStarted. */
  lastListing(): PodRecord[] {
    const start = this.log.findLastIndex((entry) => entry.kind === 'listStarted')
    return this.log.slice(start).flatMap((entry) => (entry.kind === 'listPage' ? entry.pods : []))
  }

  async until<T>(what: string, find: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = find()
      if (found !== undefined && found !== false) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.log.map(summary))}`)
      await sleep(20)
    }
  }

  upsertOf(name: string, after = 0): Extract<Entry, {kind: 'upserted'}> | undefined {
    return this.log.slice(after).find((entry): entry is Extract<Entry, {kind: 'upserted'}> => entry.kind === 'upserted' && entry.pod.name === name)
  }
}

function summary(entry: Entry): string {
  switch (entry.kind) {
    case 'listPage':
      return `listPage(${entry.pods.map((pod) => pod.name).join(',')})`
    case 'upserted':
      return `upserted(${entry.pod.name})`
    case 'deleted':
      return `deleted(${entry.pod.name})`
    case 'restarting':
      return `restarting(${entry.reason}, relist=${entry.relist})`
    default:
      return `${entry.kind}(relist=${entry.relist})`
  }
}

/** A KubeApiClient that records the watch requests it opens. */
class RecordingClient extends KubeApiClient {
  readonly watches: Array<{pathname: string; resourceVersion: string}> = []
  /** While set, opening a watch waits for it: a reconnect that comes late, deterministically. */
  hold: Promise<void> | undefined
  override async stream(pathname: string, query: Record<string, string | number | undefined>, options: {signal: AbortSignal; accept?: string}): ReturnType<KubeApiClient['stream']> {
    await this.hold
    this.watches.push({pathname, resourceVersion: String(query.resourceVersion ?? '')})
    return super.stream(pathname, query, options)
  }
}

interface Following {
  events: Recorder
  client: RecordingClient
  done: Promise<void>
  stop(): Promise<void>
}

function follow(target: Target, scope: PodScope, options: Omit<FollowOptions, 'signal'> = {}): Following {
  const client = new RecordingClient(target, {requestTimeoutMs: 5000})
  const events = new Recorder()
  const controller = new AbortController()
  const done = followTargetPods(client, scope, events, {backoff: quickBackoff, ...options, signal: controller.signal})
  return {
    events,
    client,
    done,
    async stop() {
      controller.abort()
      await done
      await client.close()
    },
  }
}

async function targetOf(set: ClusterSet, cluster: LocalCluster, name: string): Promise<Target> {
  const file = await writeKubeconfig(path.join(set.workDir, `${name}.yaml`), [{name, cluster}])
  const [target] = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
  return target!
}

async function setImageID(fixture: KubeFixture, namespace: string, name: string, image: string, seed: string): Promise<void> {
  const pod = await fixture.readPod(namespace, name)
  pod.status!.containerStatuses = pod.status!.containerStatuses!.map((status) => ({...status, image, imageID: imageIdFor('containerd', image, digestOf(seed))}))
  await fixture.core.replaceNamespacedPodStatus({namespace, name, body: pod})
}

const web = (seed: string) => [{name: 'web', image: 'nginx:1.27', digest: digestOf(seed)}]

describe('pod watcher on real API servers', () => {
  // Without the watch cache, a compaction of etcd makes an old resourceVersion answer 410 and no bookmarks are sent;
  // with it (the default, as in real clusters) the server sends bookmarks.
  let uncached: ClusterSet
  let cached: ClusterSet
  let target: Target
  let fixture: KubeFixture
  before(async () => {
    ;[uncached, cached] = await Promise.all([startClusters(1, {names: ['watch-nocache'], apiserverArgs: ['--watch-cache=false']}), startClusters(1, {names: ['watch-cache']})])
    fixture = uncached.fixtures[0]!
    target = await targetOf(uncached, uncached.clusters[0]!, 'nocache')
    await fixture.createNamespace('shop')
    await fixture.createNamespace('quiet', {labels: {'snyk-watch.io/ignore': 'true'}})
    await fixture.createDeployment('shop', 'frontend', web('nginx'), 2)
    await fixture.createPod({namespace: 'shop', name: 'bare', containers: web('bare')})
    await fixture.createPod({namespace: 'shop', name: 'skipme', annotations: {'snyk-watch.io/ignore': 'true'}, containers: web('skip')})
    await fixture.createPod({namespace: 'quiet', name: 'hidden', containers: web('hidden')})
  })
  after(async () => {
    await Promise.all([uncached?.stop(), cached?.stop()])
  })

  it('lists in pages, then delivers additions, status updates, deletions and scope changes', async () => {
    const following = follow(target, allScope, {pageSize: 2})
    const {events} = following
    try {
      const listed = await events.until('listed', () => events.of('listed')[0])
      assert.deepEqual(events.log[0], {kind: 'listStarted', relist: false})
      assert.equal(listed.relist, false)
      assert.match(listed.resourceVersion, /^\d+$/)
      assert.equal(listed.podCount, 3)
      assert.equal(listed.skippedPods, 2)
      assert.ok(events.of('listPage').length >= 2, 'several pages')
      const pods = events.lastListing()
      assert.deepEqual(pods.map((pod) => pod.name).filter((name) => name === 'bare'), ['bare'])
      assert.deepEqual(pods.map((pod) => `${pod.workload.kind}/${pod.workload.name}`).sort(), ['Deployment/frontend', 'Deployment/frontend', 'Pod/bare'])

      let mark = events.log.length
      await fixture.createPod({namespace: 'shop', name: 'newcomer', containers: [{name: 'web', image: 'nginx:1.27'}]})
      await events.until('the new pod', () => events.upsertOf('newcomer', mark))
      await setImageID(fixture, 'shop', 'newcomer', 'nginx:1.27', 'newcomer')
      const updated = await events.until('its status', () => events.log.slice(mark).find((e) => e.kind === 'upserted' && e.pod.name === 'newcomer' && (e.pod.containerStatuses?.length ?? 0) > 0))
      assert.equal((updated as Extract<Entry, {kind: 'upserted'}>).pod.containerStatuses?.[0]?.imageID, `docker.io/library/nginx@${digestOf('newcomer')}`)

      mark = events.log.length
      await fixture.deletePod('shop', 'newcomer')
      await events.until('the deletion', () => events.log.slice(mark).find((e) => e.kind === 'deleted' && e.pod.name === 'newcomer'))

      // A pod that becomes ignored leaves the scope.
      mark = events.log.length
      const bare = await fixture.readPod('shop', 'bare')
      bare.metadata!.labels = {'snyk-watch.io/ignore': 'true'}
      await fixture.core.replaceNamespacedPod({namespace: 'shop', name: 'bare', body: bare})
      await events.until('bare leaving the scope', () => events.log.slice(mark).find((e) => e.kind === 'deleted' && e.pod.name === 'bare'))

      // A Deployment (its ReplicaSet) created after the list resolves through an on-demand lookup; a
      // namespace created since, marked ignored, is read on demand too.
      mark = events.log.length
      await fixture.createNamespace('muted', {annotations: {'snyk-watch.io/ignore': 'true'}})
      await fixture.createPod({namespace: 'muted', name: 'muted-pod', containers: web('muted')})
      const [late] = await fixture.createDeployment('shop', 'late', web('late'), 1)
      const lateUpsert = await events.until('the late Deployment pod', () => events.upsertOf(late!.metadata!.name!, mark))
      assert.deepEqual(lateUpsert.pod.workload, {kind: 'Deployment', name: 'late'})
      assert.ok(!events.log.slice(mark).some((e) => (e.kind === 'upserted' || e.kind === 'deleted') && e.pod.name === 'muted-pod'), 'a pod of an ignored namespace is never reported')
      assert.equal(events.of('restarting').length, 0)
      assert.equal(events.of('listStarted').length, 1)
    } finally {
      await following.stop()
    }
  })

  it('watches each namespace of -n and relists after a 410 caused by an etcd compaction', async () => {
    await fixture.createNamespace('north')
    await fixture.createNamespace('south')
    await fixture.createPod({namespace: 'north', name: 'n1', containers: web('n1')})
    await fixture.createPod({namespace: 'south', name: 's1', containers: web('s1')})
    // Watches that end every 2 s reopen from their resourceVersion, which the compaction makes too old.
    const following = follow(target, {...allScope, namespaces: ['north', 'south']}, {watchTimeoutSeconds: 2})
    const {events, client} = following
    try {
      await events.until('listed', () => events.of('listed')[0])
      assert.deepEqual(events.lastListing().map((pod) => pod.name).sort(), ['n1', 's1'])
      await events.until('both watches', () => client.watches.length >= 2)
      assert.deepEqual(client.watches.map((w) => w.pathname).sort(), ['/api/v1/namespaces/north/pods', '/api/v1/namespaces/south/pods'])
      await fixture.createPod({namespace: 'south', name: 's2', containers: web('s2')})
      await events.until('s2', () => events.upsertOf('s2'))

      await fixture.createNamespace('churn') // moves etcd past the watchers' resourceVersions
      await uncached.clusters[0]!.compactEtcd()
      const restart = await events.until('a restart for 410', () => events.of('restarting').find((e) => e.relist))
      assert.match(restart.reason, /410|too old|Gone/i)
      const relisted = await events.until('the relist', () => events.of('listed').find((e) => e.relist))
      assert.equal(relisted.podCount, 3)
      assert.deepEqual(events.of('listStarted').map((e) => e.relist), [false, true])
      assert.deepEqual(events.lastListing().map((pod) => pod.name).sort(), ['n1', 's1', 's2'])

      const mark = events.log.length
      await fixture.createPod({namespace: 'north', name: 'n2', containers: web('n2')})
      await events.until('n2 after the relist', () => events.upsertOf('n2', mark))
    } finally {
      await following.stop()
    }
  })

  it('survives an API server restart: restarting, then resumes without a relist and misses nothing', async () => {
    const cluster = uncached.clusters[0]!
    await fixture.createNamespace('restart')
    await fixture.createPod({namespace: 'restart', name: 'before', containers: web('before')})
    const following = follow(target, {...allScope, namespaces: ['restart']}, {backoff: {initialMs: 200, maxMs: 1000}})
    const {events} = following
    try {
      await events.until('listed', () => events.of('listed')[0])
      const {client} = following
      await events.until('the watch', () => client.watches.length >= 1)
      let reconnect: () => void = () => undefined
      client.hold = new Promise<void>((resolve) => (reconnect = resolve))
      await cluster.stopApiServer()
      const restart = await events.until('restarting', () => events.of('restarting')[0])
      assert.match(restart.reason, /connection broke|unreachable/)
      await cluster.startApiServer()
      // Created while the watcher is disconnected: only a watch resumed from its resourceVersion (or a relist) finds it.
      await fixture.createPod({namespace: 'restart', name: 'during', containers: web('during')})
      assert.equal(events.upsertOf('during'), undefined)
      client.hold = undefined
      reconnect()
      await events.until('the pod created while disconnected', () => events.upsertOf('during'))
      assert.equal(events.of('listStarted').length, 1, 'resumed from its resourceVersion, no relist')
      assert.ok(events.of('restarting').every((e) => !e.relist))
      assert.equal(client.watches.length, 2)
      assert.equal(client.watches[1]!.resourceVersion, client.watches[0]!.resourceVersion, 'resumed where it was')
    } finally {
      await following.stop()
    }
  })

  it('follows bookmarks across normal watch ends without relisting', async () => {
    const cachedFixture = cached.fixtures[0]!
    const cachedTarget = await targetOf(cached, cached.clusters[0]!, 'cache')
    await cachedFixture.createNamespace('calm')
    await cachedFixture.createNamespace('busy')
    await cachedFixture.createPod({namespace: 'calm', name: 'c1', containers: web('c1')})
    // A watch of 3 s gets its bookmark about 2 s before its end.
    const following = follow(cachedTarget, {...allScope, namespaces: ['calm']}, {watchTimeoutSeconds: 3})
    const {events, client} = following
    try {
      const listed = await events.until('listed', () => events.of('listed')[0])
      for (let i = 0; i < 3; i++) await cachedFixture.createPod({namespace: 'busy', name: `b${i}`, containers: web(`b${i}`)})
      // The calm namespace has no event; only a bookmark can move the watch past the list's resourceVersion.
      await events.until('a watch reopened past the list', () => client.watches.some((w) => Number(w.resourceVersion) > Number(listed.resourceVersion)), 15_000)
      await cachedFixture.createPod({namespace: 'calm', name: 'c2', containers: web('c2')})
      await events.until('c2', () => events.upsertOf('c2'))
      assert.equal(events.of('listStarted').length, 1)
      assert.equal(events.of('restarting').length, 0, 'a normal end of a watch is not a failure')
    } finally {
      await following.stop()
    }
  })

  it('reopens a connection that stays silent past the inactivity timeout, and resumes', async () => {
    await fixture.createNamespace('silent')
    const following = follow(target, {...allScope, namespaces: ['silent']}, {inactivityTimeoutMs: 400, watchTimeoutSeconds: 60})
    const {events} = following
    try {
      const restart = await events.until('an inactivity restart', () => events.of('restarting')[0])
      assert.match(restart.reason, /no event or bookmark for 400 ms/)
      assert.equal(restart.relist, false)
      await events.until('a second connection', () => following.client.watches.length >= 2)
      await fixture.createPod({namespace: 'silent', name: 'speaks', containers: web('speaks')})
      await events.until('the pod', () => events.upsertOf('speaks'))
      assert.equal(events.of('listStarted').length, 1)
    } finally {
      await following.stop()
    }
  })

  it('waits for a slow consumer instead of reading ahead, and resolves promptly on abort', async () => {
    await fixture.createNamespace('slow')
    const client = new RecordingClient(target, {requestTimeoutMs: 5000})
    const controller = new AbortController()
    const upserts: string[] = []
    const restarts: number[] = []
    let release: () => void = () => undefined
    let blocked = 0
    const events: PodStreamEvents = {
      listStarted: () => undefined,
      listPage: () => undefined,
      listed: () => undefined,
      upserted: async (pod) => {
        upserts.push(pod.name)
        if (pod.name === 'p0' && blocked === 0) {
          blocked++
          await new Promise<void>((resolve) => (release = resolve))
        }
      },
      deleted: () => undefined,
      restarting: () => void restarts.push(Date.now()),
    }
    // A short inactivity timeout must not fire while a handler is busy.
    const done = followTargetPods(client, {...allScope, namespaces: ['slow']}, events, {signal: controller.signal, inactivityTimeoutMs: 300, backoff: quickBackoff})
    try {
      const deadline = Date.now() + 10_000
      while (client.watches.length === 0 && Date.now() < deadline) await sleep(20)
      for (let i = 0; i < 3; i++) await fixture.createPod({namespace: 'slow', name: `p${i}`, containers: web(`p${i}`)})
      while (blocked === 0 && Date.now() < deadline) await sleep(20)
      const blockedAt = Date.now()
      await sleep(800)
      assert.deepEqual(upserts, ['p0'], 'the next events wait for the handler')
      assert.deepEqual(restarts.filter((at) => at >= blockedAt), [], 'no inactivity restart while the handler works')
      release()
      while (new Set(upserts).size < 3 && Date.now() < deadline) await sleep(20)
      assert.deepEqual([...new Set(upserts)], ['p0', 'p1', 'p2'])
    } finally {
      release()
      const aborted = Date.now()
      controller.abort()
      await done
      assert.ok(Date.now() - aborted < 1000, `resolved ${Date.now() - aborted} ms after abort`)
      await client.close()
    }
  })

  it('keeps retrying an unreachable target with growing delays until aborted', async () => {
    const file = await writeKubeconfig(path.join(uncached.workDir, 'down.yaml'), [{name: 'down', cluster: uncached.clusters[0]!}])
    await writeFile(file, (await readFile(file, 'utf8')).replace(uncached.clusters[0]!.server, 'https://127.0.0.1:9'))
    const [down] = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: uncached.workDir}), {contexts: [], allContexts: true})
    const following = follow(down!, allScope, {backoff: {initialMs: 20, maxMs: 200}})
    const {events} = following
    try {
      await events.until('several restarts', () => events.of('restarting').length >= 4)
      const restarts = events.of('restarting')
      assert.deepEqual(restarts.slice(0, 4).map((e) => e.attempt), [1, 2, 3, 4])
      assert.ok(restarts.every((e) => e.relist && /unreachable: cannot reach/.test(e.reason)))
      assert.equal(events.of('listed').length, 0)
    } finally {
      const aborted = Date.now()
      await following.stop()
      assert.ok(Date.now() - aborted < 1000)
    }
  })
})
