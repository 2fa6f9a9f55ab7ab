// sync's pod listing survives an API server restarted in the middle of a paged list: the cut page is asked
// again with the same continue token (or the list resumes/relists when the token expired meanwhile), and
// every pod, so every container image, is counted exactly once. A throttling TCP proxy between the lister
// and the API server makes the list slow enough that the restart surely lands mid-list (mid-answer).
import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {createServer, connect, type Server, type Socket} from 'node:net'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {FleetSeeder} from '../../bench/fleet-seeder.ts'
import {expectationOf, planFleet, type FleetPlan} from '../../bench/pod-fleet.ts'
import {kubeconfigDocument} from '../controlplane/kubeconfig.ts'
import type {LocalCluster} from '../controlplane/local-cluster.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {imageKeyOf} from '../../src/images/image-key.ts'
import {imagesOfPod} from '../../src/images/pod-images.ts'
import type {ImageObservation} from '../../src/models/image.ts'
import {KubeApiClient, KubeRequestError} from '../../src/kube/kube-api-client.ts'
import {loadKubeconfigs} from '../../src/kube/kubeconfig-loader.ts'
import {listTargetPods, type TargetListing} from '../../src/kube/pod-lister.ts'
import type {PodScope} from '../../src/kube/pod-scope.ts'
import type {KubeRetryOptions, RetryInfo} from '../../src/kube/retry-policy.ts'
import {resolveTargets, type Target} from '../../src/kube/target.ts'

const podCount = 2000
const allScope: PodScope = {namespaces: [], excludeNamespaces: [], skipJobPods: false}

/**
 * A TCP proxy on 127.0.0.1 that forwards to the API server and throttles what comes back (each chunk is
 * held for its share of `bytesPerSecond`). `blocked`: new connections are reset at once, as when nothing
 * listens. `cutAll()` resets every open connection, as a killed server does.
 */
class ThrottlingProxy {
  readonly server: Server
  port = 0
  bytesPerSecond = Infinity
  blocked = false
  /** Bytes sent back to clients so far. */
  bytesDown = 0
  /** Called after each chunk sent back (with bytesDown). */
  onBytes: ((bytesDown: number) => void) | undefined
  private readonly open = new Set<{client: Socket; upstream: Socket}>()
  private readonly upstreamPort: number

  constructor(upstreamPort: number) {
    this.upstreamPort = upstreamPort
    this.server = createServer((client) => this.accept(client))
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as {port: number}).port
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined)
    if (this.blocked) {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(this.upstreamPort, '127.0.0.1')
    const pair = {client, upstream}
    this.open.add(pair)
    const close = (): void => {
      this.open.delete(pair)
      if (!client.destroyed) client.resetAndDestroy()
      if (!upstream.destroyed) upstream.destroy()
    }
    upstream.on('error', close)
    upstream.on('close', close)
    client.on('close', close)
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause()
      client.write(chunk, () => {
        this.bytesDown += chunk.length
        this.onBytes?.(this.bytesDown)
        const holdMs = Number.isFinite(this.bytesPerSecond) ? (chunk.length / this.bytesPerSecond) * 1000 : 0
        setTimeout(() => upstream.resume(), holdMs)
      })
    })
  }

  cutAll(): void {
    for (const {client, upstream} of this.open) {
      client.resetAndDestroy()
      upstream.destroy()
    }
    this.open.clear()
  }

  async close(): Promise<void> {
    this.cutAll()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

interface Counted {
  listing: TargetListing
  pods: string[]
  observations: ImageObservation[]
  retries: RetryInfo[]
  ms: number
}

/** Lists the target as `sync` does (pages handed over as they arrive, turned into image observations). */
async function listAsSync(target: Target, retry: KubeRetryOptions | undefined, onProgress?: (pods: number) => void | Promise<void>): Promise<Counted> {
  const client = new KubeApiClient(target)
  const pods: string[] = []
  const observations: ImageObservation[] = []
  const retries: RetryInfo[] = []
  const started = Date.now()
  try {
    const listing = await listTargetPods(client, allScope, {
      ...(retry ? {retry} : {}),
      onRetry: (info) => retries.push(info),
      ...(onProgress ? {onProgress} : {}),
      onPods: (page) => {
        for (const pod of page) {
          pods.push(`${pod.namespace}/${pod.name}`)
          observations.push(...imagesOfPod(pod, {target: target.id, cluster: target.name}).observations)
        }
      },
    })
    return {listing, pods, observations, retries, ms: Date.now() - started}
  } finally {
    await client.close()
  }
}

/** Every pod of the plan exactly once, and so every container image observation exactly once. */
function assertCountedOnce(counted: Counted, plan: FleetPlan): void {
  const expected = expectationOf([plan], podCount)
  assert.equal(counted.pods.length, podCount, 'pods handed over')
  assert.equal(new Set(counted.pods).size, podCount, 'no pod handed over twice')
  assert.deepEqual(new Set(counted.pods), new Set(plan.pods.map((pod) => `${pod.namespace}/${pod.name}`)), 'no pod lost')
  assert.equal(counted.listing.podCount, podCount)
  assert.equal(counted.observations.length, expected.containers, 'one observation per container')
  const perContainer = new Set(counted.observations.map((o) => `${o.namespace}/${o.pod}/${o.containerKind}/${o.container}`))
  assert.equal(perContainer.size, expected.containers, 'no container observed twice')
  assert.equal(new Set(counted.observations.map(imageKeyOf)).size, expected.images, 'every unique image found')
}

describe('pod listing retries transient failures (an API server restarted mid-list)', () => {
  let set: ClusterSet
  let cluster: LocalCluster
  let plan: FleetPlan
  let proxy: ThrottlingProxy
  let target: Target
  /** Bytes of one whole listing through the proxy. */
  let listBytes = 0

  before(async () => {
    set = await startClusters(1, {names: ['retries']})
    cluster = set.clusters[0]!
    plan = planFleet('retries', 0, podCount)
    const seeder = new FleetSeeder(cluster, plan, {concurrency: 8})
    try {
      await seeder.seedUpTo(podCount)
    } finally {
      await seeder.close()
    }
    proxy = new ThrottlingProxy(cluster.apiserverPort)
    await proxy.listen()
    const document = kubeconfigDocument([{name: 'retries', cluster}]) as {clusters: Array<{cluster: {server: string}}>}
    // The serving certificate covers 127.0.0.1, so TLS verifies through the proxy.
    document.clusters[0]!.cluster.server = `https://127.0.0.1:${proxy.port}`
    const file = path.join(set.workDir, 'through-proxy.json')
    await writeFile(file, JSON.stringify(document), {mode: 0o600})
    target = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})[0]!

    const baseline = await listAsSync(target, undefined)
    listBytes = proxy.bytesDown
    assertCountedOnce(baseline, plan)
    assert.equal(baseline.retries.length, 0)
    assert.ok(baseline.listing.pages >= 8, `paged (${baseline.listing.pages} pages of ${listBytes} bytes)`)
  })
  after(async () => {
    await proxy?.close()
    await set?.stop()
  })

  /** Cuts every connection when ~40% of a listing has gone through, then runs `outage` (the API server down and up). */
  function cutMidList(outage: () => Promise<void>): {done: Promise<void>; cutAt: () => {bytes: number; podsHandedOver: number} | undefined; track: (pods: number) => void} {
    const start = proxy.bytesDown
    let podsHandedOver = 0
    let cut: {bytes: number; podsHandedOver: number} | undefined
    let resolveDone!: () => void
    let rejectDone!: (error: unknown) => void
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve
      rejectDone = reject
    })
    proxy.onBytes = (bytes) => {
      if (cut || bytes - start < listBytes * 0.4) return
      cut = {bytes: bytes - start, podsHandedOver}
      proxy.onBytes = undefined
      proxy.blocked = true
      proxy.cutAll()
      outage().then(resolveDone, rejectDone)
    }
    return {done, cutAt: () => cut, track: (pods) => void (podsHandedOver = pods)}
  }

  it('resumes from the last continue token after a restart cut a page, with the default policy, counting every image once', async (t) => {
    // ~10 s for the whole list: the cut lands in the middle of a page's answer.
    proxy.bytesPerSecond = listBytes / 10
    const restart = cutMidList(async () => {
      await cluster.stopApiServer()
      await cluster.startApiServer()
      proxy.blocked = false
    })
    const counted = await listAsSync(target, undefined, restart.track)
    await restart.done
    const cut = restart.cutAt()
    assert.ok(cut, 'the API server was restarted during the list')
    assert.ok(cut.podsHandedOver > 0 && cut.podsHandedOver < podCount, `mid-list: ${cut.podsHandedOver} pods handed over when it was cut`)
    t.diagnostic(`cut after ${cut.bytes} of ${listBytes} bytes, ${cut.podsHandedOver} pods handed over; ${counted.retries.length} retries, listed in ${counted.ms} ms; ${counted.listing.warnings.join('; ')}`)
    assertCountedOnce(counted, plan)
    assert.ok(counted.retries.length >= 1, 'retried')
    const first = counted.retries[0]!.error
    assert.ok(!(first instanceof KubeRequestError), `the first failure is a page cut while it was read: ${String(first)}`)
    assert.match(counted.listing.warnings.join('\n'), /pod list of retries was resumed after \d+ retr(y|ies) \(last failure: /)
    assert.doesNotMatch(counted.listing.warnings.join('\n'), /expired/)
  })

  it('resumes or relists when the continue token expired while the API server was down, counting every image once', async (t) => {
    proxy.bytesPerSecond = listBytes / 10
    const restart = cutMidList(async () => {
      await cluster.stopApiServer()
      await cluster.startApiServer()
      // Writes then compaction while the lister is kept out: its continue token is now too old (410).
      await set.fixtures[0]!.createNamespace('churn')
      await cluster.compactEtcd()
      proxy.blocked = false
    })
    const counted = await listAsSync(target, {retries: 40, totalRetries: 80, backoff: {minTimeoutMs: 200, maxTimeoutMs: 1000}}, restart.track)
    await restart.done
    const cut = restart.cutAt()
    assert.ok(cut && cut.podsHandedOver > 0 && cut.podsHandedOver < podCount, `mid-list: ${cut?.podsHandedOver} pods handed over when it was cut`)
    t.diagnostic(`cut after ${cut.bytes} of ${listBytes} bytes, ${cut.podsHandedOver} pods handed over; ${counted.retries.length} retries, listed in ${counted.ms} ms; ${counted.listing.warnings.join('; ')}`)
    assertCountedOnce(counted, plan)
    const warnings = counted.listing.warnings.join('\n')
    assert.match(warnings, /expired while paging and was resumed/)
    assert.match(warnings, /was resumed after \d+ retr(y|ies)/)
  })

  it('does not retry a failure that is not transient (a server certificate that does not verify)', async () => {
    proxy.bytesPerSecond = Infinity
    const document = kubeconfigDocument([{name: 'wrong-ca', cluster}]) as {clusters: Array<{cluster: Record<string, string>}>}
    // A CA that did not sign the serving certificate: the admin client certificate's PEM is no CA of the server.
    document.clusters[0]!.cluster.server = `https://127.0.0.1:${proxy.port}`
    document.clusters[0]!.cluster['certificate-authority-data'] = Buffer.from(cluster.admin.certPem).toString('base64')
    const file = path.join(set.workDir, 'wrong-ca.json')
    await writeFile(file, JSON.stringify(document), {mode: 0o600})
    const wrong = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})[0]!
    const started = Date.now()
    const retries: RetryInfo[] = []
    const client = new KubeApiClient(wrong)
    try {
      await assert.rejects(listTargetPods(client, allScope, {onRetry: (info) => retries.push(info)}), (error: unknown) => error instanceof KubeRequestError && ['tls', 'unreachable'].includes(error.kind) && /UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(error.message))
    } finally {
      await client.close()
    }
    assert.equal(retries.length, 0)
    assert.ok(Date.now() - started < 5000)
  })
})
