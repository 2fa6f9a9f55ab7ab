// The pod source of `watch`: per target, a paginated LIST then a WATCH with bookmarks, resumed from the
// last resourceVersion seen, relisted after 410 Gone, reconnected after any failure with the backoff and
// jitter of the shared Kubernetes retry policy (retry-policy.ts, also used by sync's lister), reopened when a
// connection stays silent too long.
//
// - Scope rules and the raw pod -> PodRecord conversion are pod-lister's (podScopeFilter, toPodRecord).
//   Namespace ignore markers and the ReplicaSet/Job owners are read again on each (re)list; a namespace,
//   ReplicaSet or Job first seen in a watch event is read on demand (one metadata GET, cached) so pods of
//   workloads created after the list resolve to their Deployment or CronJob.
// - With -n, one list and one watch per namespace (all watches of a target run concurrently; events are
//   handed over one at a time). A failure of any of them restarts them all from their own resourceVersion.
// - Nothing is kept per pod: a pod that leaves the scope (its ignore marker set) is reported as deleted on
//   each update, which a consumer ignores for a pod it does not know.
// - Backpressure: each event is awaited before the next line is read, so a slow consumer stops the
//   connection instead of filling memory. The inactivity timer does not run while a handler works.
import {setTimeout as sleep} from 'node:timers/promises'
import type {PodRecord} from '../images/pod-images.ts'
import {KubeRequestError, type KubeApiClient} from './kube-api-client.ts'
import {namespacesUnreadableWarning, podScopeFilter, readNamespaceMarks, selectedNamespaces, toPodRecord, type PodList, type PodScopeVerdict, type RawPod, type RawPodMetadata} from './pod-lister.ts'
import {isIgnored, type PodScope} from './pod-scope.ts'
import {KubeRetryPolicy} from './retry-policy.ts'
import {controllerOf, WorkloadResolver} from './workload-resolver.ts'

export interface PodStreamEvents {
  /** A (re)list begins: the first one, after 410 Gone, or after a reconnect that could not resume. */
  listStarted(info: {relist: boolean}): void | Promise<void>
  /** One page of the (re)list, pods in scope only. */
  listPage(pods: PodRecord[]): void | Promise<void>
  /** The (re)list is complete: the pods given by listPage since listStarted are the target's complete set in scope. */
  listed(info: {relist: boolean; resourceVersion: string; podCount: number; skippedPods: number; warnings: string[]}): void | Promise<void>
  /** ADDED or MODIFIED, pod in scope. */
  upserted(pod: PodRecord): void | Promise<void>
  /** DELETED, or a pod that left the scope (became ignored, ...). */
  deleted(pod: {namespace: string; name: string}): void | Promise<void>
  /** The stream broke; it reconnects (or relists) after delayMs. `error` for logs. */
  restarting(info: {reason: string; attempt: number; delayMs: number; relist: boolean}): void
}

export interface FollowOptions {
  signal: AbortSignal
  pageSize?: number
  /** No event or bookmark for this long: the connection is presumed dead and reopened (default 5 min; the server sends bookmarks about every minute). */
  inactivityTimeoutMs?: number
  /** Server-side timeoutSeconds of each watch request (default randomised 5-10 min like client-go). */
  watchTimeoutSeconds?: number
  /**
   * Reconnect delays of the shared policy (src/kube/retry-policy.ts): the first after initialMs-2 x initialMs,
   * doubling, at most maxMs; never shorter than a Retry-After the server sent.
   */
  backoff?: {initialMs?: number; maxMs?: number}
  /** Randomness of the backoff jitter (tests). */
  random?: () => number
}

const defaultInactivityTimeoutMs = 5 * 60_000
const defaultBackoff = {initialMs: 1000, maxMs: 30_000}
/** A single line (one watch event) larger than this is not a pod: the stream is broken. */
const maxLineBytes = 16 * 1024 * 1024

/**
 * Splits a byte stream of newline-delimited JSON into lines (as strings, blank lines dropped). Works on
 * bytes, so chunks that split a line or a multi-byte character are joined before decoding. Reads the next
 * chunk only when the consumer asks for the next line.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array | string>, maxBytes = maxLineBytes): AsyncGenerator<string> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  for await (const chunk of chunks) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    for (let newline = buffer.indexOf(10); newline !== -1; newline = buffer.indexOf(10, start)) {
      const part = buffer.subarray(start, newline)
      const line = pending.length > 0 ? Buffer.concat([...pending, part]) : part
      pending = []
      pendingBytes = 0
      start = newline + 1
      const text = line.toString('utf8')
      if (text.trim() !== '') yield text
    }
    if (start < buffer.length) {
      pending.push(buffer.subarray(start))
      pendingBytes += buffer.length - start
      if (pendingBytes > maxBytes) throw new Error(`a line of the stream exceeds ${maxBytes} bytes`)
    }
  }
  const rest = Buffer.concat(pending).toString('utf8')
  if (rest.trim() !== '') yield rest
}

/** The stream said 410 Gone (HTTP status or ERROR event): the resourceVersion is too old, relist. */
class GoneError extends Error {
  override readonly name = 'GoneError'
}
/** The watch connection stayed silent past the inactivity timeout. */
class InactivityError extends Error {
  override readonly name = 'InactivityError'
}
/** Any other reason to reconnect: an ERROR event, a malformed line, a watch closed at once. */
class WatchError extends Error {
  override readonly name = 'WatchError'
}
/** An event handler threw: not an API error, so followTargetPods rejects with the cause. */
class HandlerError extends Error {
  override readonly name = 'HandlerError'
}

interface WatchEvent {
  type?: string
  object?: RawPod & {kind?: string; code?: number; reason?: string; message?: string}
}

interface NamespaceObject {
  metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>}
}

/**
 * Follows one target until options.signal aborts (then resolves). Never rejects on API errors: every failure
 * (unreachable, 401/403, 5xx, 410) is reported through `restarting` and retried with exponential backoff
 * and jitter; the backoff resets after a healthy period (4 x backoff.maxMs without failure). Rejects only
 * when an event handler throws (with that error).
 */
export async function followTargetPods(client: KubeApiClient, scope: PodScope, events: PodStreamEvents, options: FollowOptions): Promise<void> {
  await new TargetFollower(client, scope, events, options).run()
}

class TargetFollower {
  private readonly client: KubeApiClient
  private readonly scope: PodScope
  private readonly events: PodStreamEvents
  private readonly signal: AbortSignal
  private readonly pageSize: number
  private readonly inactivityTimeoutMs: number
  private readonly watchTimeoutSeconds: number | undefined
  private readonly backoff: {initialMs: number; maxMs: number}
  /** The delays of reconnects; every failure is retried, without bound (a follower runs until stopped). */
  private readonly policy: KubeRetryPolicy
  private readonly paths: string[]
  /** Read again on each (re)list; namespaces first seen in the watch are added. Undefined: namespaces may not be read. */
  private namespaceMarks: Map<string, boolean> | undefined
  private resolver = new WorkloadResolver()
  private inScope: (metadata: RawPodMetadata) => PodScopeVerdict
  /** Hands events over one at a time when several watches (namespaces) run. */
  private handing: Promise<unknown> = Promise.resolve()
  /** Since when connections have worked without failure (undefined after a failure until one works). */
  private healthySince: number | undefined

  constructor(client: KubeApiClient, scope: PodScope, events: PodStreamEvents, options: FollowOptions) {
    this.client = client
    this.scope = scope
    this.events = events
    this.signal = options.signal
    this.pageSize = options.pageSize ?? 250
    this.inactivityTimeoutMs = options.inactivityTimeoutMs ?? defaultInactivityTimeoutMs
    this.watchTimeoutSeconds = options.watchTimeoutSeconds
    this.backoff = {...defaultBackoff, ...options.backoff}
    this.policy = new KubeRetryPolicy({backoff: {minTimeoutMs: this.backoff.initialMs, maxTimeoutMs: this.backoff.maxMs}, ...(options.random ? {random: options.random} : {})})
    this.paths = scope.namespaces.length === 0 ? ['/api/v1/pods'] : scope.namespaces.map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`)
    this.inScope = podScopeFilter(scope, undefined)
  }

  async run(): Promise<void> {
    /** Per path, the resourceVersion to resume from; undefined when a (re)list is needed. */
    let versions: string[] | undefined
    let listedOnce = false
    let attempt = 0
    while (!this.signal.aborted) {
      try {
        if (!versions) {
          versions = await this.list(listedOnce)
          listedOnce = true
        }
        await this.watchAll(versions)
      } catch (error) {
        if (error instanceof HandlerError) throw error.cause
        if (this.signal.aborted) break
        const failure = failureOf(error)
        if (failure.relist) versions = undefined
        if (this.healthySince !== undefined && Date.now() - this.healthySince >= 4 * this.backoff.maxMs) attempt = 0
        this.healthySince = undefined
        attempt++
        const delayMs = this.policy.delayMs(attempt - 1, error)
        this.events.restarting({reason: failure.reason, attempt, delayMs, relist: versions === undefined})
        await sleep(delayMs, undefined, {signal: this.signal}).catch(() => undefined)
      }
    }
  }

  private healthy(): void {
    this.healthySince ??= Date.now()
  }

  /** Calls an event handler, serialised with the other watches of the target; its errors become HandlerError. */
  private hand(call: () => void | Promise<void>): Promise<void> {
    const handed = this.handing.then(async () => {
      try {
        await call()
      } catch (error) {
        throw new HandlerError('an event handler failed', {cause: error})
      }
    })
    this.handing = handed.catch(() => undefined)
    return handed
  }

  /** The (re)list: namespace markers and owners read again, then every path paged through. Returns each path's resourceVersion. */
  private async list(relist: boolean): Promise<string[]> {
    await this.hand(() => this.events.listStarted({relist}))
    const warnings: string[] = []
    const resolver = new WorkloadResolver()
    const [marks] = await Promise.all([readNamespaceMarks(this.client, this.scope, this.signal), resolver.load(this.client, this.scope.namespaces, this.signal)])
    if (!marks) warnings.push(namespacesUnreadableWarning(this.client))
    this.namespaceMarks = marks
    this.resolver = resolver
    this.inScope = podScopeFilter(this.scope, marks)

    const versions: string[] = []
    let podCount = 0
    let skippedPods = 0
    for (const pathname of this.paths) {
      let token: string | undefined
      let resourceVersion = ''
      do {
        // An expired continue token throws 410 here: the list starts again (relist), never mixes snapshots.
        const page = await this.client.getJson<PodList>(pathname, {limit: this.pageSize, continue: token, labelSelector: this.scope.labelSelector}, {signal: this.signal})
        resourceVersion ||= page.metadata?.resourceVersion ?? ''
        const pods: PodRecord[] = []
        for (const raw of page.items ?? []) {
          const metadata = raw.metadata ?? {}
          if (this.inScope(metadata) !== 'in-scope') {
            skippedPods++
            continue
          }
          await this.resolver.learn(this.client, metadata.namespace ?? '', controllerOf(metadata), this.signal)
          pods.push(toPodRecord(raw, this.resolver))
        }
        delete page.items
        podCount += pods.length
        await this.hand(() => this.events.listPage(pods))
        token = page.metadata?.continue || undefined
      } while (token)
      versions.push(resourceVersion)
    }
    this.healthy()
    await this.hand(() => this.events.listed({relist, resourceVersion: versions.at(-1) ?? '', podCount, skippedPods, warnings}))
    return versions
  }

  /** Runs one watch per path until the signal aborts (resolves) or one of them fails (rejects with the first failure). */
  private async watchAll(versions: string[]): Promise<void> {
    const round = new AbortController()
    const stop = (): void => round.abort(this.signal.reason)
    this.signal.addEventListener('abort', stop, {once: true})
    let failure: {error: unknown} | undefined
    try {
      await Promise.all(
        this.paths.map((pathname, index) =>
          this.watchPath(pathname, index, versions, round.signal).catch((error: unknown) => {
            if (!failure && (!round.signal.aborted || error instanceof HandlerError)) failure = {error}
            round.abort(error)
          }),
        ),
      )
    } finally {
      this.signal.removeEventListener('abort', stop)
    }
    if (failure) throw failure.error
  }

  /** Watches one path from versions[index], reopening after each normal end, until aborted or failed. */
  private async watchPath(pathname: string, index: number, versions: string[], round: AbortSignal): Promise<void> {
    while (!round.aborted) {
      const connection = new AbortController()
      const abort = (): void => connection.abort(round.reason)
      round.addEventListener('abort', abort, {once: true})
      let busy = false
      const timeoutMs = this.inactivityTimeoutMs
      const timer = setTimeout(function expire() {
        if (busy) timer.refresh()
        else connection.abort(new InactivityError(`no event or bookmark for ${timeoutMs} ms`))
      }, timeoutMs)
      const opened = Date.now()
      let received = 0
      try {
        const body = await this.client.stream(
          pathname,
          {
            watch: 1,
            allowWatchBookmarks: 'true',
            resourceVersion: versions[index],
            timeoutSeconds: this.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random())),
            labelSelector: this.scope.labelSelector,
          },
          {signal: connection.signal},
        )
        this.healthy()
        timer.refresh()
        for await (const line of splitLines(body)) {
          busy = true
          received++
          let event: WatchEvent
          try {
            event = JSON.parse(line) as WatchEvent
          } catch {
            throw new WatchError(`the watch sent a malformed event: ${line.slice(0, 100)}`)
          }
          const resourceVersion = await this.handle(event)
          if (resourceVersion) versions[index] = resourceVersion
          busy = false
          timer.refresh()
        }
        // A normal end (timeoutSeconds elapsed): reopen from the last resourceVersion. One that ends at once
        // without a word is a broken server or proxy, not a reason to reconnect in a tight loop.
        if (received === 0 && Date.now() - opened < 1000) throw new WatchError('the watch closed as soon as it opened')
      } catch (error) {
        if (connection.signal.reason instanceof InactivityError && !round.aborted) throw connection.signal.reason
        throw error
      } finally {
        clearTimeout(timer)
        round.removeEventListener('abort', abort)
      }
    }
  }

  /** Hands one watch event over; returns the resourceVersion to resume from after it (if it has one). */
  private async handle(event: WatchEvent): Promise<string | undefined> {
    const object = event.object ?? {}
    switch (event.type) {
      case 'BOOKMARK':
        return object.metadata?.resourceVersion
      case 'ERROR': {
        const detail = `${object.code ?? '?'} ${object.reason ?? ''}: ${object.message ?? ''}`.trim()
        if (object.code === 410) throw new GoneError(`410 Gone from the watch (${object.message ?? 'resourceVersion too old'})`)
        throw new WatchError(`the watch reported an error: ${detail}`)
      }
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        await this.hand(() => this.pod(event.type as 'ADDED' | 'MODIFIED' | 'DELETED', object))
        return object.metadata?.resourceVersion
      default:
        throw new WatchError(`the watch sent an event of unknown type ${JSON.stringify(event.type)}`)
    }
  }

  private async pod(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: RawPod): Promise<void> {
    const metadata = raw.metadata ?? {}
    const namespace = metadata.namespace ?? ''
    const name = metadata.name ?? ''
    if (type === 'DELETED') {
      if (this.inScope(metadata) !== 'excluded') await this.events.deleted({namespace, name})
      return
    }
    await this.learnNamespace(namespace)
    const verdict = this.inScope(metadata)
    if (verdict === 'excluded') return
    if (verdict === 'ignored') {
      // It may have been in scope before its marker was set; a pod created with it was never reported.
      if (type === 'MODIFIED') await this.events.deleted({namespace, name})
      return
    }
    await this.resolver.learn(this.client, namespace, controllerOf(metadata), this.signal)
    await this.events.upserted(toPodRecord(raw, this.resolver))
  }

  /** Reads the ignore marker of a namespace created since the (re)list (one metadata GET, cached). */
  private async learnNamespace(namespace: string): Promise<void> {
    const marks = this.namespaceMarks
    if (!marks || marks.has(namespace)) return
    try {
      const object = await this.client.getJson<NamespaceObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}`, {}, {signal: this.signal})
      const selector = this.scope.namespaceSelector
      const excluded = isIgnored(object.metadata ?? {}) || (selector !== undefined && !(await selectedNamespaces(this.client, selector, namespace, this.signal)).has(namespace))
      marks.set(namespace, excluded)
    } catch (error) {
      if (this.signal.aborted) throw error
      // Not readable: the marker cannot be applied to it (as when namespaces may not be read at all).
      if (error instanceof KubeRequestError && error.kind === 'forbidden') marks.set(namespace, false)
    }
  }
}

/** The reason for `restarting`, and whether the failure needs a relist. */
function failureOf(error: unknown): {reason: string; relist: boolean} {
  if (error instanceof GoneError) return {reason: error.message, relist: true}
  if (error instanceof KubeRequestError) {
    if (error.kind === 'expired') return {reason: `410 Gone: ${error.message}`, relist: true}
    return {reason: `${error.kind}: ${error.message}`, relist: false}
  }
  if (error instanceof InactivityError || error instanceof WatchError) return {reason: error.message, relist: false}
  const code = (error as {code?: string} | undefined)?.code
  return {reason: `the connection broke (${code ? `${code}: ` : ''}${(error as Error | undefined)?.message ?? String(error)})`, relist: false}
}
