// Leader election on a real API server: two replicas compete for one Lease with short durations (lease 2 s,
// renew deadline 1.5 s, retry 300 ms). Exactly one leads; a stopped leader hands over at once; a leader that
// dies without releasing is replaced once its lease expires; missing permissions are reported, not thrown.
import assert from 'node:assert/strict'
import path from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import {after, before, describe, it} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {LeaderElector, type LeaderElectorOptions} from '../../src/ha/leader-elector.ts'
import {KubeApiClient} from '../../src/kube/kube-api-client.ts'
import {loadKubeconfigs} from '../../src/kube/kubeconfig-loader.ts'
import {resolveTargets, type Target} from '../../src/kube/target.ts'

const NAMESPACE = 'snyk-watch'
const timing = {leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300}

interface LeaseObject {
  metadata: {resourceVersion: string}
  spec: {holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; leaseTransitions?: number}
}

/** One replica: an elector with its own client, running until stopped, recording what it emitted and when. */
class Replica {
  readonly elector: LeaderElector
  readonly client: KubeApiClient
  readonly events: Array<{event: string; at: number; holder?: string}> = []
  readonly problems: string[] = []
  readonly #controller = new AbortController()
  readonly #running: Promise<void>

  constructor(target: Target, options: Omit<LeaderElectorOptions, 'client' | 'namespace'> & {namespace?: string}) {
    this.client = new KubeApiClient(target, {requestTimeoutMs: 5000})
    this.elector = new LeaderElector({namespace: NAMESPACE, ...timing, ...options, client: this.client})
    this.elector.on('leading', () => this.events.push({event: 'leading', at: performance.now()}))
    this.elector.on('following', ({holder}) => this.events.push({event: 'following', at: performance.now(), ...(holder ? {holder} : {})}))
    this.elector.on('problem', (message) => this.problems.push(message))
    this.#running = this.elector.run(this.#controller.signal)
  }

  leadingAt(): number | undefined {
    return this.events.find((entry) => entry.event === 'leading')?.at
  }

  async stop(): Promise<void> {
    this.#controller.abort()
    await this.#running
    await this.client.close()
  }
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(20)
  }
}

describe('leader election on a Lease', () => {
  let set: ClusterSet
  let admin: Target
  let podReader: Target
  const replicas: Replica[] = []
  const start = (options: Omit<LeaderElectorOptions, 'client' | 'namespace'> & {namespace?: string}, target = admin): Replica => {
    const replica = new Replica(target, options)
    replicas.push(replica)
    return replica
  }
  const readLease = (name: string): Promise<LeaseObject> => {
    const client = new KubeApiClient(admin)
    return client.getJson<LeaseObject>(`/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${name}`, {}).finally(() => client.close())
  }

  before(async () => {
    set = await startClusters(1, {names: ['ha']})
    const fixture = set.fixtures[0]!
    await fixture.createNamespace(NAMESPACE)
    const reader = await fixture.createRestrictedUser('pod-reader', [NAMESPACE])
    const file = await writeKubeconfig(path.join(set.workDir, 'config.yaml'), [
      {name: 'admin', cluster: set.clusters[0]!},
      {name: 'pod-reader', cluster: set.clusters[0]!, user: reader},
    ])
    const targets = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
    admin = targets.find((target) => target.context === 'admin')!
    podReader = targets.find((target) => target.context === 'pod-reader')!
  })
  after(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()))
    await set?.stop()
  })

  it('lets exactly one of two replicas lead, and the Lease names it', async () => {
    const a = start({name: 'one-leader', identity: 'replica-a'})
    const b = start({name: 'one-leader', identity: 'replica-b'})
    const leader = await waitFor('a leader', () => [a, b].find((replica) => replica.elector.isLeader))
    const follower = leader === a ? b : a

    // Over two lease durations of renewals, never two leaders and never a change of leader.
    const until = performance.now() + 2 * timing.leaseDurationMs
    while (performance.now() < until) {
      assert.ok(leader.elector.isLeader, 'the leader kept leading')
      assert.ok(!follower.elector.isLeader, 'the follower never leads at the same time')
      await delay(25)
    }
    const lease = await readLease('one-leader')
    assert.equal(lease.spec.holderIdentity, leader.elector.identity)
    assert.equal(lease.spec.leaseDurationSeconds, 2)
    assert.deepEqual(
      follower.events.map(({event, holder}) => ({event, holder})),
      [{event: 'following', holder: leader.elector.identity}],
    )
    assert.deepEqual(leader.problems, [])
    assert.deepEqual(follower.problems, [])
    await Promise.all([a.stop(), b.stop()])
  })

  it('hands over at once when the leader is stopped: it releases the Lease', async () => {
    const a = start({name: 'handover', identity: 'replica-a'})
    await waitFor('replica-a to lead', () => a.elector.isLeader)
    const b = start({name: 'handover', identity: 'replica-b'})
    await waitFor('replica-b to follow', () => b.events.length > 0)
    assert.equal(b.elector.holder, 'replica-a')

    const stopped = performance.now()
    await a.stop()
    assert.ok(!a.elector.isLeader)
    assert.deepEqual(a.events.map(({event}) => event), ['leading', 'following'])
    await waitFor('replica-b to lead', () => b.elector.isLeader, 5000)
    const handoverMs = b.leadingAt()! - stopped
    // Within one jittered retry period (at most 2.2 × 300 ms) plus a request, far below the 2 s lease.
    assert.ok(handoverMs < 1000, `handover took ${Math.round(handoverMs)} ms`)

    const lease = await readLease('handover')
    assert.equal(lease.spec.holderIdentity, 'replica-b')
    assert.equal(lease.spec.leaseTransitions, 1)
    await b.stop()
    const released = await readLease('handover')
    assert.equal(released.spec.holderIdentity ?? '', '')
    assert.equal(released.spec.leaseDurationSeconds, 1)
  })

  it('replaces a leader that dies without releasing once its lease expires', async () => {
    const a = start({name: 'failover', identity: 'replica-a', releaseOnCancel: false})
    await waitFor('replica-a to lead', () => a.elector.isLeader)
    const b = start({name: 'failover', identity: 'replica-b'})
    await waitFor('replica-b to follow', () => b.events.length > 0)

    const died = performance.now()
    await a.stop() // stops renewing, leaves the Lease held: what a killed process does
    assert.equal((await readLease('failover')).spec.holderIdentity, 'replica-a')
    await waitFor('replica-b to lead', () => b.elector.isLeader, 10_000)
    const takeoverMs = b.leadingAt()! - died
    // Not before the lease can have expired (2 s after a renewal at most one retry period before the death),
    // and within about the lease duration (plus one jittered retry period and a request).
    assert.ok(takeoverMs > timing.leaseDurationMs - 2 * timing.retryPeriodMs, `took over after ${Math.round(takeoverMs)} ms: too early`)
    assert.ok(takeoverMs < timing.leaseDurationMs + 1500, `took over after ${Math.round(takeoverMs)} ms: too late`)
    assert.equal((await readLease('failover')).spec.holderIdentity, 'replica-b')
    await b.stop()
  })

  it('stops leading when it cannot renew within the renew deadline, and leads again once the API server is back', async () => {
    const a = start({name: 'partition', identity: 'replica-a'})
    await waitFor('replica-a to lead', () => a.elector.isLeader)
    const cluster = set.clusters[0]!
    const stopped = performance.now()
    await cluster.stopApiServer()
    try {
      await waitFor('replica-a to stop leading', () => !a.elector.isLeader, 5000)
      const stepDownMs = performance.now() - stopped
      // The last renewal was at most one retry period before the API server went away.
      assert.ok(stepDownMs < timing.renewDeadlineMs + timing.retryPeriodMs + 200, `stepped down after ${Math.round(stepDownMs)} ms`)
      assert.deepEqual(a.events.map(({event}) => event), ['leading', 'following'])
      assert.ok(a.problems.some((message) => message.includes('no successful renewal within 1500 ms')), a.problems.join('\n'))
    } finally {
      await cluster.startApiServer()
    }
    // Nobody else took the Lease: it is still ours, and we renew it.
    await waitFor('replica-a to lead again', () => a.elector.isLeader, 15_000)
    assert.equal((await readLease('partition')).spec.holderIdentity, 'replica-a')
    await a.stop()
  })

  it('reports a missing namespace and missing permissions as problems, without crashing', async () => {
    const lost = start({name: 'nowhere', identity: 'replica-a', namespace: 'does-not-exist'})
    const denied = start({name: 'denied', identity: 'replica-b'}, podReader)
    await waitFor('both problems', () => lost.problems.length > 0 && denied.problems.length > 0)
    assert.match(lost.problems[0]!, /cannot create Lease does-not-exist\/nowhere: namespace does-not-exist does not exist/)
    assert.match(denied.problems[0]!, /cannot get Lease snyk-watch\/denied: .*forbidden.*leader election needs get, create and update on leases\.coordination\.k8s\.io in namespace snyk-watch/)
    await delay(4 * timing.retryPeriodMs)
    assert.ok(!lost.elector.isLeader && !denied.elector.isLeader)
    assert.equal(lost.problems.length, 1, 'the same problem is reported once')
    await Promise.all([lost.stop(), denied.stop()])
  })
})
