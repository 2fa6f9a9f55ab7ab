// Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection package does it, so
// that of several `watch` replicas exactly one submits and a standby takes over when the leader goes away.
//
// - Acquire: GET the Lease (404: create it). Held by someone else and not expired: follow and try again every
//   retryPeriod (with client-go's jitter). Else PUT ourselves as holder with the resourceVersion read, so that of
//   two candidates only one wins (409 Conflict: lost the race).
// - Expiry is judged on the local monotonic clock, never by comparing our wall clock with the holder's
//   renewTime: a record (holder, renewTime, ...) is expired leaseDurationSeconds after the moment *we first saw
//   it*. Clock skew between machines therefore does not matter; only clock rates do.
// - Renew every retryPeriod. Without a successful renewal for renewDeadline (shorter than the lease duration),
//   stop leading before anyone else may take over. A Lease that shows another holder stops leading at once.
// - On stop (the signal aborts), a leader stops leading, then releases the Lease (empty holder, 1 s duration)
//   so that a standby takes over at its next retry instead of waiting for the lease to expire.
//
// Failures never throw out of `run`: they are reported as 'problem' events and retried.
import {EventEmitter} from 'node:events'
import {hostname} from 'node:os'
import {randomUUID} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'
import {ConfigError} from '../errors.ts'
import {KubeRequestError, type KubeApiClient} from '../kube/kube-api-client.ts'

/** What the elector needs of a KubeApiClient (a fake in unit tests). */
export type LeaseClient = Pick<KubeApiClient, 'getJson' | 'sendJson'>

export interface LeaderElectorOptions {
  client: LeaseClient
  /** Namespace of the Lease; it must exist. */
  namespace: string
  /** Name of the Lease, shared by every replica that competes. */
  name: string
  /** Unique per replica (see `defaultIdentity`). */
  identity: string
  /** How long a standby waits, after the last renewal it saw, before taking over. Default 15000; rounded up to whole seconds. */
  leaseDurationMs?: number
  /** How long the leader keeps leading without a successful renewal. Default 10000; less than leaseDurationMs. */
  renewDeadlineMs?: number
  /** Time between attempts to acquire or renew. Default 2000; renewDeadlineMs must exceed 1.2 times it. */
  retryPeriodMs?: number
  /** Release the Lease when the signal aborts, so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean
}

export interface FollowingEvent {
  /** The current holder, when one is known. */
  holder?: string
}

export type LeaderElectorEvents = {
  /** This replica holds the Lease: start acting. */
  leading: []
  /** Another replica holds the Lease (or none does): stop acting. Emitted on each change of holder while following. */
  following: [FollowingEvent]
  /**
   * A request failed; the elector retries. `message` is for people: what failed and, where it helps, how to
   * fix it. Consecutive identical messages are reported once.
   */
  problem: [message: string, cause: unknown]
}

interface LeaseSpec {
  holderIdentity?: string | null
  leaseDurationSeconds?: number | null
  acquireTime?: string | null
  renewTime?: string | null
  leaseTransitions?: number | null
}

interface Lease {
  apiVersion?: string
  kind?: string
  metadata: {name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown}
  spec?: LeaseSpec
}

/** client-go's JitterFactor: an acquire attempt waits retryPeriod to 2.2 × retryPeriod. */
const JITTER_FACTOR = 1.2

/** `hostname_uuid`, as client-go suggests: unique even when two processes share a hostname. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`
}

export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  readonly namespace: string
  readonly name: string
  readonly identity: string
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly retryPeriodMs: number
  readonly #client: LeaseClient
  readonly #releaseOnCancel: boolean
  readonly #leaseDurationSeconds: number
  readonly #path: string
  #leading = false
  #running = false
  /** The Lease as we last read or wrote it. */
  #lease: Lease | undefined
  /** The last record seen, and when (performance.now()) we first saw it. */
  #observedKey: string | undefined
  #observedAt = 0
  #observedDurationMs = 0
  #holder: string | undefined
  #reportedHolder: string | undefined | null = null
  #lastProblem: string | undefined

  constructor(options: LeaderElectorOptions) {
    super()
    this.#client = options.client
    this.namespace = options.namespace
    this.name = options.name
    this.identity = options.identity
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000
    this.#releaseOnCancel = options.releaseOnCancel ?? true
    validate(this)
    this.#leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000)
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`
  }

  /** True between 'leading' and the next 'following'. */
  get isLeader(): boolean {
    return this.#leading
  }

  /** The holder of the Lease as last seen (this replica's identity when leading); undefined when none or not known yet. */
  get holder(): string | undefined {
    return this.#holder
  }

  /**
   * Competes for the Lease until `signal` aborts. Resolves once stopped, after releasing the Lease when held
   * (unless releaseOnCancel is false). Never rejects; failures are 'problem' events.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('LeaderElector.run is already running')
    this.#running = true
    try {
      while (!signal.aborted) {
        try {
          if (await this.#acquire(signal)) await this.#renew(signal)
        } catch (error) {
          // Not expected (every request failure is handled below); keep competing rather than crash.
          if (!signal.aborted) this.#problem(`leader election failed: ${(error as Error).message}`, error)
          await pause(this.retryPeriodMs, signal)
        }
      }
    } finally {
      if (this.#leading) {
        this.#stopLeading(undefined)
        if (this.#releaseOnCancel) await this.#release()
      }
      this.#running = false
    }
  }

  /** Tries every retryPeriod (jittered) until this replica holds the Lease (true) or the signal aborts (false). */
  async #acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal, this.renewDeadlineMs)) {
        this.#startLeading()
        return true
      }
      await pause(this.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR), signal)
    }
    return false
  }

  /** Renews every retryPeriod while leading; returns when leadership is lost or the signal aborts. */
  async #renew(signal: AbortSignal): Promise<void> {
    let renewedAt = performance.now()
    while (!signal.aborted && this.#leading) {
      await pause(this.retryPeriodMs, signal)
      if (signal.aborted) return
      const started = performance.now()
      const remaining = renewedAt + this.renewDeadlineMs - started
      if (remaining > 0 && (await this.#tryAcquireOrRenew(signal, remaining))) {
        renewedAt = started
        continue
      }
      if (signal.aborted) return
      const otherHolder = this.#holder !== undefined && this.#holder !== this.identity
      if (otherHolder || performance.now() - renewedAt >= this.renewDeadlineMs) {
        if (!otherHolder) this.#problem(`lost the leader election lease ${this.namespace}/${this.name}: no successful renewal within ${this.renewDeadlineMs} ms`)
        this.#stopLeading(otherHolder ? this.#holder : undefined)
        return
      }
    }
  }

  /**
   * One attempt, as client-go's tryAcquireOrRenew: true when this replica holds the Lease afterwards.
   * `timeoutMs` bounds the requests of the attempt.
   */
  async #tryAcquireOrRenew(runSignal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.any([runSignal, AbortSignal.timeout(Math.max(1, Math.round(timeoutMs)))])
    const now = microTime(new Date())

    // The leader renews with the Lease it last wrote; a 409 means someone else wrote since: read it.
    if (this.#leading && this.#lease && this.#lease.spec?.holderIdentity === this.identity) {
      const renewed = await this.#write('PUT', this.#withSpec(this.#lease, {...this.#lease.spec, renewTime: now, leaseDurationSeconds: this.#leaseDurationSeconds}), signal, runSignal)
      if (renewed !== 'conflict') return renewed
    }

    let lease: Lease
    try {
      lease = await this.#client.getJson<Lease>(`${this.#path}/${encodeURIComponent(this.name)}`, {}, {signal})
    } catch (error) {
      if (runSignal.aborted) return false
      if (error instanceof KubeRequestError && error.kind === 'not-found') {
        const created = await this.#write('POST', this.#newLease(now), signal, runSignal)
        return created === true
      }
      this.#requestProblem('read', error)
      return false
    }

    this.#lastProblem = undefined
    const spec = lease.spec ?? {}
    this.#observe(spec)
    const holder = spec.holderIdentity ?? ''
    if (holder !== '' && holder !== this.identity && performance.now() < this.#observedAt + this.#observedDurationMs) {
      this.#setHolder(holder)
      return false
    }

    // Free, expired, or ours: write ourselves as holder, on the resourceVersion we read.
    const ours = holder === this.identity
    const transitions = spec.leaseTransitions ?? 0
    const written = await this.#write(
      'PUT',
      this.#withSpec(lease, {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: ours ? transitions : transitions + 1,
      }),
      signal,
      runSignal,
    )
    return written === true
  }

  /** POST or PUT the Lease: true when written, 'conflict' on 409 (someone else wrote first), false on failure. */
  async #write(method: 'POST' | 'PUT', lease: Lease, signal: AbortSignal, runSignal: AbortSignal): Promise<boolean | 'conflict'> {
    const path = method === 'POST' ? this.#path : `${this.#path}/${encodeURIComponent(this.name)}`
    try {
      const written = await this.#client.sendJson<Lease>(method, path, lease, {signal})
      this.#lease = written
      this.#observe(written.spec ?? {})
      this.#holder = this.identity
      this.#lastProblem = undefined
      return true
    } catch (error) {
      if (error instanceof KubeRequestError && error.kind === 'conflict') return 'conflict'
      if (!runSignal.aborted) this.#requestProblem(method === 'POST' ? 'create' : 'update', error)
      return false
    }
  }

  /**
   * Gives the Lease up: empty holder and a 1 s duration, so that a standby acquires it at its next attempt.
   * On a 409 (our last renewal may have been applied after we stopped waiting for it) reads the Lease again
   * and releases it if it is still ours.
   */
  async #release(): Promise<void> {
    const signal = AbortSignal.timeout(this.renewDeadlineMs)
    const path = `${this.#path}/${encodeURIComponent(this.name)}`
    let lease = this.#lease
    for (let attempt = 0; attempt < 2 && lease?.spec?.holderIdentity === this.identity; attempt += 1) {
      const now = microTime(new Date())
      const released = this.#withSpec(lease, {holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0})
      try {
        this.#lease = await this.#client.sendJson<Lease>('PUT', path, released, {signal})
        this.#holder = undefined
        return
      } catch (error) {
        if (!(error instanceof KubeRequestError && error.kind === 'conflict')) {
          this.#requestProblem('release', error)
          return
        }
      }
      try {
        lease = await this.#client.getJson<Lease>(path, {}, {signal})
      } catch (error) {
        this.#requestProblem('release', error)
        return
      }
    }
  }

  #newLease(now: string): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {name: this.name, namespace: this.namespace},
      spec: {holderIdentity: this.identity, leaseDurationSeconds: this.#leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0},
    }
  }

  #withSpec(lease: Lease, spec: LeaseSpec): Lease {
    return {...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec}
  }

  /** Notes the record and, when it changed, the local time we first saw it. */
  #observe(spec: LeaseSpec): void {
    const key = JSON.stringify([spec.holderIdentity ?? '', spec.leaseDurationSeconds ?? 0, spec.acquireTime ?? '', spec.renewTime ?? '', spec.leaseTransitions ?? 0])
    if (key === this.#observedKey) return
    this.#observedKey = key
    this.#observedAt = performance.now()
    this.#observedDurationMs = (spec.leaseDurationSeconds ?? 0) * 1000
  }

  #startLeading(): void {
    this.#leading = true
    this.#holder = this.identity
    this.#reportedHolder = this.identity
    this.#emit('leading')
  }

  #stopLeading(holder: string | undefined): void {
    this.#leading = false
    this.#holder = holder
    this.#reportedHolder = holder
    this.#emit('following', holder === undefined ? {} : {holder})
  }

  /** While following: reports a new holder once. */
  #setHolder(holder: string): void {
    this.#holder = holder
    if (this.#leading) return // #renew stops leading and reports it
    if (this.#reportedHolder === holder) return
    this.#reportedHolder = holder
    this.#emit('following', {holder})
  }

  #requestProblem(action: 'read' | 'create' | 'update' | 'release', error: unknown): void {
    const lease = `Lease ${this.namespace}/${this.name}`
    if (error instanceof KubeRequestError) {
      if (error.kind === 'forbidden') {
        this.#problem(`cannot ${action === 'read' ? 'get' : action === 'release' ? 'update' : action} ${lease}: ${error.message}; leader election needs get, create and update on leases.coordination.k8s.io in namespace ${this.namespace}`, error)
        return
      }
      if (error.kind === 'not-found' && action === 'create') {
        this.#problem(`cannot create ${lease}: namespace ${this.namespace} does not exist (${error.message})`, error)
        return
      }
    }
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'no answer in time' : (error as Error).message
    this.#problem(`cannot ${action} ${lease}: ${reason}`, error)
  }

  #problem(message: string, cause?: unknown): void {
    if (message === this.#lastProblem) return
    this.#lastProblem = message
    this.#emit('problem', message, cause)
  }

  /** Emits without letting a throwing listener break the election loop. */
  #emit<K extends keyof LeaderElectorEvents>(event: K, ...args: LeaderElectorEvents[K]): void {
    try {
      ;(this.emit as (event: K, ...args: LeaderElectorEvents[K]) => boolean)(event, ...args)
    } catch (error) {
      if (event !== 'problem') this.#problem(`a '${event}' listener threw: ${(error as Error).message}`, error)
    }
  }
}

function validate(options: {leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number; identity: string; name: string; namespace: string}): void {
  const fail = (message: string, suggestion: string): never => {
    throw new ConfigError(message, {code: 'LEADER_ELECTION_CONFIG', suggestions: [suggestion]})
  }
  if (!options.identity) fail('leader election needs an identity', 'give each replica a unique identity, e.g. its pod name')
  if (!options.name || !options.namespace) fail('leader election needs a Lease name and namespace', 'pass the Lease namespace and name')
  for (const [name, value] of Object.entries({leaseDuration: options.leaseDurationMs, renewDeadline: options.renewDeadlineMs, retryPeriod: options.retryPeriodMs})) {
    if (!Number.isFinite(value) || value <= 0) fail(`leader election ${name} must be a positive duration (got ${value} ms)`, 'use the defaults: lease 15s, renew deadline 10s, retry period 2s')
  }
  if (options.leaseDurationMs <= options.renewDeadlineMs) {
    fail(`the leader election lease duration (${options.leaseDurationMs} ms) must be longer than the renew deadline (${options.renewDeadlineMs} ms)`, 'e.g. lease 15s, renew deadline 10s, retry period 2s')
  }
  if (options.renewDeadlineMs <= JITTER_FACTOR * options.retryPeriodMs) {
    fail(`the leader election renew deadline (${options.renewDeadlineMs} ms) must be longer than ${JITTER_FACTOR} × the retry period (${options.retryPeriodMs} ms)`, 'e.g. lease 15s, renew deadline 10s, retry period 2s')
  }
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** Sleeps, or returns early (without throwing) when the signal aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, {signal})
  } catch {
    // aborted
  }
}
