// The elector against an in-memory Lease with the API server's optimistic concurrency (resourceVersion, 409):
// expiry judged on the local clock whatever the holder's clock says, and a release that survives a stale cache.
import assert from 'node:assert/strict'
import {setTimeout as delay} from 'node:timers/promises'
import {describe, it} from 'node:test'
import {LeaderElector, type LeaseClient} from '../../../src/ha/leader-elector.ts'
import {KubeRequestError} from '../../../src/kube/kube-api-client.ts'

interface Spec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  renewTime?: string
  acquireTime?: string
  leaseTransitions?: number
}
interface Lease {
  metadata: {name: string; namespace: string; resourceVersion: string}
  spec: Spec
}

/** One Lease in memory, answering like the API server: 404, 409 on a stale resourceVersion or a duplicate create. */
class FakeLeases implements LeaseClient {
  lease: Lease | undefined
  #version = 0
  /** Writes applied, with their method. */
  readonly writes: Array<{method: string; spec: Spec}> = []

  set(spec: Spec): void {
    this.lease = {metadata: {name: 'lease', namespace: 'ns', resourceVersion: String(++this.#version)}, spec}
  }

  async getJson<T>(): Promise<T> {
    if (!this.lease) throw new KubeRequestError('not-found', 'leases "lease" not found', {status: 404})
    return structuredClone(this.lease) as T
  }

  async sendJson<T>(method: string, _path: string, body: unknown): Promise<T> {
    const sent = body as Lease
    if (method === 'POST' && this.lease) throw new KubeRequestError('conflict', 'already exists', {status: 409})
    if (method === 'PUT' && sent.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new KubeRequestError('conflict', 'the object has been modified', {status: 409})
    this.set(sent.spec)
    this.writes.push({method, spec: sent.spec})
    return structuredClone(this.lease) as T
  }
}

const timing = {leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100}
const hourMs = 3_600_000
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace('Z', '000Z')

describe('LeaderElector', () => {
  it('creates the Lease when there is none, with a MicroTime renewTime', async () => {
    const leases = new FakeLeases()
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const controller = new AbortController()
    const running = elector.run(controller.signal)
    await delay(50)
    assert.ok(elector.isLeader)
    assert.equal(leases.writes[0]?.method, 'POST')
    assert.match(leases.lease?.spec.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    controller.abort()
    await running
    assert.equal(leases.lease?.spec.holderIdentity, '')
    assert.equal(leases.lease?.spec.leaseDurationSeconds, 1)
  })

  it('follows a holder that keeps renewing even if its renewTime is an hour old (clock skew)', async () => {
    const leases = new FakeLeases()
    leases.set({holderIdentity: 'other', leaseDurationSeconds: 1, renewTime: at(-hourMs), leaseTransitions: 3})
    const renewing = setInterval(() => leases.set({...leases.lease!.spec, renewTime: at(-hourMs + Math.random() * 1000)}), 300)
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const following: Array<string | undefined> = []
    elector.on('following', ({holder}) => following.push(holder))
    const controller = new AbortController()
    const running = elector.run(controller.signal)
    try {
      await delay(2500)
      assert.ok(!elector.isLeader)
      assert.deepEqual(following, ['other'])
      assert.equal(leases.lease?.spec.holderIdentity, 'other')
    } finally {
      clearInterval(renewing)
      controller.abort()
      await running
    }
  })

  it('takes over from a holder whose renewTime is an hour ahead once it stops renewing for the lease duration', async () => {
    const leases = new FakeLeases()
    leases.set({holderIdentity: 'other', leaseDurationSeconds: 1, renewTime: at(hourMs), leaseTransitions: 3})
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const controller = new AbortController()
    const started = performance.now()
    const running = elector.run(controller.signal)
    let leadingAt = 0
    elector.on('leading', () => (leadingAt = performance.now()))
    try {
      while (!elector.isLeader && performance.now() - started < 3000) await delay(10)
      assert.ok(elector.isLeader)
      const waited = leadingAt - started
      assert.ok(waited >= 1000 && waited < 1500, `took over after ${Math.round(waited)} ms`)
      assert.equal(leases.lease?.spec.holderIdentity, 'me')
      assert.equal(leases.lease?.spec.leaseTransitions, 4)
    } finally {
      controller.abort()
      await running
    }
  })

  it('stops leading at once when the Lease shows another holder', async () => {
    const leases = new FakeLeases()
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const events: string[] = []
    elector.on('leading', () => events.push('leading'))
    elector.on('following', ({holder}) => events.push(`following ${holder}`))
    const controller = new AbortController()
    const running = elector.run(controller.signal)
    await delay(50)
    assert.ok(elector.isLeader)
    leases.set({holderIdentity: 'intruder', leaseDurationSeconds: 1, renewTime: at(0)})
    await delay(2 * timing.retryPeriodMs + 50)
    assert.ok(!elector.isLeader)
    assert.deepEqual(events, ['leading', 'following intruder'])
    controller.abort()
    await running
    assert.equal(leases.lease?.spec.holderIdentity, 'intruder', 'does not release a Lease that is not its own')
  })

  it('releases the Lease even when it changed since the last renewal, as long as it is still ours', async () => {
    const leases = new FakeLeases()
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const controller = new AbortController()
    const running = elector.run(controller.signal)
    await delay(50)
    assert.ok(elector.isLeader)
    leases.set({...leases.lease!.spec}) // a new resourceVersion, same holder
    controller.abort()
    await running
    assert.equal(leases.lease?.spec.holderIdentity, '')
    assert.equal(leases.lease?.spec.leaseDurationSeconds, 1)
  })

  it('reports a listener that throws as a problem and keeps going', async () => {
    const leases = new FakeLeases()
    const elector = new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', ...timing})
    const problems: string[] = []
    elector.on('leading', () => {
      throw new Error('listener bug')
    })
    elector.on('problem', (message) => problems.push(message))
    const controller = new AbortController()
    const running = elector.run(controller.signal)
    await delay(300)
    assert.ok(elector.isLeader)
    assert.deepEqual(problems, ["a 'leading' listener threw: listener bug"])
    controller.abort()
    await running
  })

  it('refuses timings where a follower could take over before the leader steps down', () => {
    const leases = new FakeLeases()
    assert.throws(() => new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', leaseDurationMs: 10_000, renewDeadlineMs: 10_000}), /must be longer than the renew deadline/)
    assert.throws(() => new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: 'me', retryPeriodMs: 9000}), /renew deadline \(10000 ms\) must be longer than 1.2/)
    assert.throws(() => new LeaderElector({client: leases, namespace: 'ns', name: 'lease', identity: ''}), /needs an identity/)
  })
})
