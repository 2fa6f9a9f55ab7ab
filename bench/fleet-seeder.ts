// Writes a planned fleet to a real API server the fast way that still goes through the front door:
// plain HTTPS requests (undici, the admin client certificate, keep-alive connections) with bounded
// concurrency. Each pod is one POST, then one merge-patch of its status subresource, as a kubelet
// would write it (the API server drops the status given on create).
import {Agent, request} from 'undici'
import type {LocalCluster} from '../test/controlplane/local-cluster.ts'
import type {FleetPlan, FleetPod} from './pod-fleet.ts'

export interface SeedOptions {
  /** Requests in flight at once to this API server. */
  concurrency: number
}

export interface SeedStats {
  requests: number
  retries: number
}

const retryable = new Set([429, 500, 503, 504])
/** What `send` returns for a retried POST whose first attempt created the object. */
const alreadyCreated = Symbol('already created')

/** Seeds pods of a plan into one cluster, remembering which objects already exist across calls. */
export class FleetSeeder {
  readonly cluster: LocalCluster
  readonly plan: FleetPlan
  readonly stats: SeedStats = {requests: 0, retries: 0}
  private readonly agent: Agent
  private readonly concurrency: number
  /** Object key (FleetPlan.objects) -> uid the server gave it. */
  private readonly created = new Map<string, string>()
  private seeded = 0

  constructor(cluster: LocalCluster, plan: FleetPlan, options: SeedOptions) {
    this.cluster = cluster
    this.plan = plan
    this.concurrency = options.concurrency
    this.agent = new Agent({connect: {ca: cluster.pki.caCertPem, cert: cluster.admin.certPem, key: cluster.admin.keyPem}, connections: options.concurrency})
  }

  /** Pods of the plan written so far. */
  get pods(): number {
    return this.seeded
  }

  /** Writes the plan's pods up to `count` (those before were written by an earlier call) and what they need. */
  async seedUpTo(count: number): Promise<void> {
    const pods = this.plan.pods.slice(this.seeded, count)
    // Namespaces first, then the ReplicaSets and Jobs the pods name as owners.
    const needed = [...new Set(pods.flatMap((pod) => pod.needs))].filter((key) => !this.created.has(key))
    const namespaces = needed.filter((key) => key.split('/').length === 5)
    await forEachLimit(namespaces, this.concurrency, (key) => this.createObject(key))
    await forEachLimit(needed.filter((key) => !namespaces.includes(key)), this.concurrency, (key) => this.createObject(key))
    await forEachLimit(pods, this.concurrency, (pod) => this.createPod(pod))
    this.seeded = count
  }

  private async createObject(key: string): Promise<void> {
    const object = this.plan.objects.get(key)
    if (!object) throw new Error(`bench bug: the plan of ${this.plan.cluster} has no object ${key}`)
    let created = (await this.send('POST', object.path, object.body, 'application/json')) as {metadata?: {uid?: string}} | typeof alreadyCreated
    // A retried POST whose first attempt went through: read the object for its uid (the key is its path).
    if (created === alreadyCreated) created = (await this.send('GET', key)) as {metadata?: {uid?: string}}
    this.created.set(key, created.metadata?.uid ?? '')
  }

  private async createPod(pod: FleetPod): Promise<void> {
    if (pod.ownerPath) {
      const uid = this.created.get(pod.ownerPath)
      if (!uid) throw new Error(`bench bug: ${pod.ownerPath} was not created before pod ${pod.namespace}/${pod.name}`)
      const owners = (pod.body as {metadata: {ownerReferences: Array<{uid: string}>}}).metadata.ownerReferences
      owners[0]!.uid = uid
    }
    const base = `/api/v1/namespaces/${pod.namespace}/pods`
    await this.send('POST', base, pod.body, 'application/json')
    await this.send('PATCH', `${base}/${pod.name}/status`, {status: pod.status}, 'application/merge-patch+json')
  }

  /**
   * One request, retried on 429/5xx and on connection failures (the API server may close a connection, e.g. an
   * HTTP/2 GOAWAY). A POST answered 409 after a retry went through the first time: `alreadyCreated`.
   */
  private async send(method: 'POST' | 'PATCH' | 'GET', pathname: string, body?: object, contentType?: string): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    for (let attempt = 1; ; attempt++) {
      this.stats.requests++
      let statusCode: number
      let text: string
      try {
        const response = await request(`${this.cluster.server}${pathname}`, {
          dispatcher: this.agent,
          method,
          headers: {...(contentType ? {'content-type': contentType} : {}), accept: 'application/json'},
          ...(payload === undefined ? {} : {body: payload}),
          signal: AbortSignal.timeout(60_000),
        })
        statusCode = response.statusCode
        text = await response.body.text()
      } catch (error) {
        if (attempt >= 5) throw error
        this.stats.retries++
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
        continue
      }
      if (statusCode < 300) return JSON.parse(text) as unknown
      if (method === 'POST' && statusCode === 409 && attempt > 1) return alreadyCreated
      if (retryable.has(statusCode) && attempt < 5) {
        this.stats.retries++
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
        continue
      }
      throw new Error(`${method} ${pathname} on ${this.plan.cluster} answered ${statusCode}: ${text.slice(0, 500)}`)
    }
  }

  async close(): Promise<void> {
    await this.agent.close()
  }
}

/** Runs `task` over `items` with at most `limit` at once; the first failure rejects (after the others settle). */
export async function forEachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: {error: unknown} | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++]!
      try {
        await task(item)
      } catch (error) {
        failure ??= {error}
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  if (failure) throw failure.error
}
