// The `watch` pipeline: the same stages as `sync` (image extraction, the state store's claims, the
// integration map, the submission core) fed by a list+watch stream per target instead of one list.
//
// Shaped like an informer: per target the pod watcher (src/kube/pod-watcher.ts, the reflector) feeds the
// inventory (./target-inventory.ts: relists, pruning, what runs where), which hands the keys that start running
// to the submission stage here, over the work queue (src/submit/work-queue.ts).
//
// - Every target is followed independently: a failing target is retried there and never stops the others.
// - Observations reach the store as they arrive, so nothing found is lost even on `kill -9`; only a key that
//   starts running (zero containers to some) is considered for submission, and an update that changes
//   nothing the store records touches neither the store nor the queue (churn-free).
// - A key is submitted when the store's claim grants it (not submitted within --resubmit-after, not held by
//   another run). Keys that are not due yet are remembered with the time they become due and reconsidered
//   by a sweep: periodic resubmission, retries of failures, claims of runs that died.
// - A container whose running digest is not known yet (not started) is given `pendingGraceMs` to start:
//   the key with the digest is what runs, and submitting the tag first would import it twice.
// - Only the leader submits; a standby follows the streams and records what it sees, so that it can take
//   over with an up-to-date picture.
// - stop(): the streams stop, nothing new is sent, in-flight imports may finish until the deadline, and the
//   queue is persisted in the store (state `queued`, no claim) for the next start to resume.
import {messageOf} from '../errors.ts'
import type {IntegrationMap} from '../images/integration-map.ts'
import {KubeApiClient} from '../kube/kube-api-client.ts'
import type {FollowOptions} from '../kube/pod-watcher.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {Target} from '../kube/target.ts'
import type {ImageRef} from '../models/image.ts'
import {startClaimHeartbeat, type ClaimHeartbeat} from '../state/claim-holders.ts'
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from '../submit/image-submitter.ts'
import {claimImage, dueAgainAt} from '../submit/claim-step.ts'
import {WorkQueue} from '../submit/work-queue.ts'
import {submitClaimed, type ClaimedSubmission} from './claimed-submission.ts'
import {resumeEarlierWork} from './crash-resume.ts'
import {RunningImages} from './running-images.ts'
import {TargetInventory} from './target-inventory.ts'
import type {WatchLogger, WatchMetricsSink} from './watch-ports.ts'

export interface WatchServiceOptions {
  targets: Target[]
  scope: PodScope
  store: StateStore
  submitter: ImageSubmitter
  logger: WatchLogger
  metrics?: WatchMetricsSink
  clock?: () => number
  /** Cancels everything in flight (the shutdown deadline, a second Ctrl+C, a fatal error). */
  signal: AbortSignal
  resubmitAfterMs: number
  /** A failed or skipped image is tried again after this long. */
  retryAfterMs: number
  /** How long a claim holds without renewal; renewed every third of it while this process runs. */
  leaseMs: number
  /** Imports in flight at once. */
  concurrency: number
  /** How long a container without a known running digest may take to start before its tag is submitted. */
  pendingGraceMs: number
  /** Wait for each import job in the background and record its Snyk projects (for `status`). */
  waitForJobs: boolean
  /** How often due keys are reconsidered. */
  sweepMs?: number
  /** Retention: the leader removes placements (of any target) not seen for this long, hourly (--forget-after). */
  forgetAfterMs?: number
  follow?: Omit<FollowOptions, 'signal'>
  createClient?: (target: Target) => KubeApiClient
}

export interface WatchStopResult {
  /** Keys still queued, stored for the next start. */
  persisted: number
  /** In-flight imports cut off by the deadline (given back to the queue). */
  cutOff: number
}

export class WatchService {
  readonly runId: string
  readonly running: RunningImages
  readonly #o: WatchServiceOptions
  readonly #clock: () => number
  readonly #inventory: TargetInventory
  /** Claimed by this run and not sent yet, in flight, or due later (src/submit/work-queue.ts). */
  readonly #work = new WorkQueue<ImageRef>()
  readonly #jobs = new Set<Promise<void>>()
  /** Images known only from the persisted queue of an earlier run (not running now). */
  readonly #resumed = new Map<string, ImageRef>()
  /** Keys waiting to be asked about (`#considerAll`), and the loop asking, while it runs. */
  readonly #toConsider = new Set<string>()
  #considering: Promise<void> | undefined
  #scope: PodScope
  #leading = false
  #stopping = false
  #integrations: IntegrationMap | undefined
  #loadingIntegrations: Promise<void> | undefined
  #timers: NodeJS.Timeout[] = []
  #heartbeat: ClaimHeartbeat | undefined
  #metricsDirty = true
  #fatal: unknown
  readonly #failed: Promise<never>
  #fail!: (error: unknown) => void

  /** Records the run in the store and returns the service, not started yet (`start`). */
  static async create(options: WatchServiceOptions): Promise<WatchService> {
    return new WatchService(options, await options.store.beginRun('watch'))
  }

  private constructor(options: WatchServiceOptions, runId: string) {
    this.#o = options
    this.#clock = options.clock ?? Date.now
    this.#scope = options.scope
    this.running = new RunningImages(this.#clock)
    this.runId = runId
    this.#inventory = new TargetInventory({
      targets: options.targets,
      store: options.store,
      runId: this.runId,
      running: this.running,
      logger: options.logger,
      metrics: options.metrics,
      signal: options.signal,
      follow: options.follow,
      createClient: options.createClient,
      started: (keys) => this.#considerAll(keys),
      changed: () => (this.#metricsDirty = true),
    })
    this.#failed = new Promise<never>((_, reject) => (this.#fail = reject))
    this.#failed.catch(() => {})
  }

  /** Rejects when the service cannot go on (the Snyk token was rejected). */
  get failed(): Promise<never> {
    return this.#failed
  }

  get leading(): boolean {
    return this.#leading
  }

  get queueDepth(): number {
    return this.#work.size
  }

  get inFlight(): number {
    return this.#work.inFlight
  }

  /** Ready once every target has completed its first list. */
  readiness(): {ok: boolean; reason?: string} {
    const waiting = this.#inventory.unsynced()
    if (this.#fatal) return {ok: false, reason: 'stopped after a fatal error'}
    return waiting.length === 0 ? {ok: true} : {ok: false, reason: `waiting for the first list of ${waiting.join(', ')}`}
  }

  /** Resumes earlier runs' work, then starts following every target, the sweep and the claim heartbeat. */
  async start(): Promise<void> {
    for (const [key, image] of await resumeEarlierWork(this.#o.store, this.runId, this.#o.logger)) this.#resumed.set(key, image)
    // Leading already (set before the start): what was resumed is considered now, as setLeading does.
    if (this.#leading) this.#considerAll(this.#resumed.keys())
    this.#inventory.start(this.#scope)
    const sweepMs = this.#o.sweepMs ?? 5_000
    this.#timers.push(setInterval(() => this.#sweep(), sweepMs))
    this.#timers.push(setInterval(() => this.#publishRunning(), 5_000))
    if (this.#o.forgetAfterMs !== undefined) this.#timers.push(setInterval(() => void this.#forgetStale(this.#o.forgetAfterMs!), 3_600_000))
    for (const timer of this.#timers) timer.unref()
    this.#heartbeat = startClaimHeartbeat(this.#o.store, this.runId, this.#o.leaseMs, (error) => this.#o.logger.warn({error: messageOf(error)}, 'could not renew the claims'))
  }

  /** Leadership changed (always true without --leader-elect): only the leader submits. */
  setLeading(leading: boolean): void {
    if (this.#leading === leading) return
    this.#leading = leading
    if (leading) {
      this.#o.logger.info({runId: this.runId}, 'leading: submitting images')
      if (this.#o.forgetAfterMs !== undefined) void this.#forgetStale(this.#o.forgetAfterMs)
      // The org's integrations are read at once: a token Snyk refuses stops the command now, not at the
      // first new image.
      if (!this.#integrations) this.#loadIntegrations()
      // Everything running or resumed is reconsidered: the store's claims say what is already done.
      this.#considerAll([...this.running.keys(), ...this.#resumed.keys()])
    } else {
      this.#o.logger.info({runId: this.runId}, 'standing by: another replica submits')
      // Give back what was claimed and not sent; in-flight imports finish and are recorded.
      const keys = this.#work.drain()
      this.#o.metrics?.setQueueDepth(0)
      void this.#release(keys)
    }
  }

  /** SIGHUP: new filters restart the streams (a relist, nothing resubmitted); new integrations reconsider skipped images. */
  reconfigure(change: {scope?: PodScope; integrations?: IntegrationMap}): void {
    if (change.integrations) {
      this.#integrations = change.integrations
      // Skipped images may have an integration now.
      for (const key of this.running.keys()) if (this.#work.isWaiting(key)) this.#work.addAfter(key, 0)
    }
    if (change.scope && JSON.stringify(change.scope) !== JSON.stringify(this.#scope)) {
      this.#scope = change.scope
      this.#inventory.restart(change.scope, () => this.#stopping)
    }
    this.#sweep()
  }

  /**
   * Graceful stop: streams stop, nothing new is sent, in-flight imports may finish until `deadlineMs`
   * (then `abortInFlight` is called to cut them off), and what is still queued is persisted.
   */
  async stop(deadlineMs: number, abortInFlight: () => void): Promise<WatchStopResult> {
    this.#stopping = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#heartbeat?.stop()
    await this.#inventory.stop()
    // A claim being asked for finishes first: what it granted is queued, and persisted below.
    await this.#considering
    let cutOff = 0
    if (this.#work.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)))
      const finished = await Promise.race([Promise.allSettled(this.#work.inFlightWork()).then(() => 'done' as const), deadline])
      clearTimeout(timer)
      if (finished === 'deadline') {
        cutOff = this.#work.inFlight
        abortInFlight()
        await Promise.allSettled(this.#work.inFlightWork())
      }
    }
    if (this.#jobs.size > 0) {
      abortInFlight()
      await Promise.allSettled([...this.#jobs])
    }
    return {persisted: await this.persistQueue(), cutOff}
  }

  /** Stores the queue for the next start and ends the run (also on the way out of a second Ctrl+C). */
  async persistQueue(): Promise<number> {
    const keys = this.#work.drain()
    let persisted = 0
    try {
      persisted = await this.#o.store.persistQueue(keys, this.runId)
      await this.#o.store.releaseAll(this.runId)
      await this.#o.store.finishRun(this.runId, this.#fatal ? 'failed' : 'succeeded', {persisted})
    } catch (error) {
      this.#o.logger.error({error: messageOf(error)}, 'could not persist the queue')
    }
    return persisted
  }

  // ---- deciding what to submit ----

  #imageOf(key: string): ImageRef | undefined {
    return this.running.get(key)?.image ?? this.#resumed.get(key)
  }

  /**
   * Keys to ask the store about: queued here and asked one at a time, in order (the informer's pattern: events
   * feed a set of keys, one worker drains it), so that a key is never asked for twice at once.
   */
  #considerAll(keys: Iterable<string>): void {
    for (const key of keys) this.#toConsider.add(key)
    if (this.#considering || this.#toConsider.size === 0) {
      this.#pump()
      return
    }
    this.#considering = (async () => {
      while (this.#toConsider.size > 0) {
        const key = this.#toConsider.values().next().value as string
        this.#toConsider.delete(key)
        try {
          await this.#consider(key)
        } catch (error) {
          // The store did not answer (busy, unreachable): nothing is submitted without a claim; asked again later.
          this.#o.logger.warn({key, error: messageOf(error)}, 'could not claim the image; trying again at the next sweep')
          this.#work.addAfter(key, this.#clock())
        }
        this.#pump()
      }
    })().finally(() => {
      this.#considering = undefined
      if (this.#toConsider.size > 0) this.#considerAll([])
    })
  }

  async #release(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.#o.store.release(key, this.runId)
      } catch (error) {
        this.#o.logger.warn({key, error: messageOf(error)}, 'could not give the claim back; it expires with its lease')
      }
    }
  }

  async #consider(key: string): Promise<void> {
    if (!this.#leading || this.#stopping || this.#work.has(key)) return
    const running = this.running.get(key)
    const image = this.#imageOf(key)
    if (!image) {
      this.#work.forget(key)
      return
    }
    const now = this.#clock()
    if (running && !running.hasDigest && now < running.since + this.#o.pendingGraceMs) {
      this.#work.addAfter(key, running.since + this.#o.pendingGraceMs)
      return
    }
    const options = {runId: this.runId, resubmitAfterMs: this.#o.resubmitAfterMs, leaseMs: this.#o.leaseMs, retryAfterMs: this.#o.retryAfterMs}
    const claim = await claimImage(this.#o.store, key, options)
    if (!this.#leading || this.#stopping) {
      // Leadership was lost or a stop began while asking: give the claim back rather than queue it.
      if (claim.claimed) await this.#o.store.release(key, this.runId)
      return
    }
    this.#resumed.delete(key)
    // Held by this run but neither queued nor in flight here: a submission that stopped on a store that did not
    // answer. The claim is this run's (its heartbeat keeps it): go on with it.
    if (claim.claimed || (claim.reason === 'in-flight' && claim.heldBy === this.runId)) {
      this.#work.add(key, image)
      this.#o.metrics?.setQueueDepth(this.#work.size)
    } else this.#work.addAfter(key, dueAgainAt(claim, this.#o.retryAfterMs))
  }

  #sweep(): void {
    if (!this.#leading || this.#stopping) return
    const now = this.#clock()
    this.#considerAll([...this.#work.takeDue(now)].filter((key) => this.running.get(key) !== undefined || this.#resumed.has(key)))
  }

  async #forgetStale(forgetAfterMs: number): Promise<void> {
    if (!this.#leading || this.#stopping) return
    try {
      const forgotten = await this.#o.store.forgetPlacementsSeenBefore((await this.#o.store.now()) - forgetAfterMs)
      if (forgotten > 0) this.#o.logger.info({placements: forgotten}, 'forgot where images ran that was not seen within --forget-after')
    } catch (error) {
      this.#o.logger.warn({error: messageOf(error)}, 'could not forget placements not seen within --forget-after; trying again in an hour')
    }
  }

  #publishRunning(): void {
    if (!this.#metricsDirty || !this.#o.metrics) return
    this.#metricsDirty = false
    this.#o.metrics.setRunningContainers(this.running.containerCounts())
  }

  // ---- submitting ----

  #pump(): void {
    if (!this.#leading || this.#stopping || this.#fatal || this.#work.size === 0) return
    if (!this.#integrations) {
      this.#loadIntegrations()
      return
    }
    const settled = () => {
      this.#o.metrics?.setInFlight(this.#work.inFlight)
      this.#pump()
    }
    while (this.#work.startNext(this.#o.concurrency, (key, image) => this.#submitClaimed(key, image), settled));
    this.#o.metrics?.setQueueDepth(this.#work.size)
    this.#o.metrics?.setInFlight(this.#work.inFlight)
  }

  #loadIntegrations(): void {
    if (this.#loadingIntegrations) return
    this.#loadingIntegrations = this.#o.submitter
      .integrationMap()
      .then((map) => {
        this.#integrations = map
      })
      .catch((error: unknown) => {
        if (this.#o.signal.aborted) return
        const described = this.#o.submitter.classify(error)
        if (described.fatal) return this.#fatalError(error)
        this.#o.logger.warn({error: described.message}, 'could not read the org\'s integrations; trying again in 30 s')
        return new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref())
      })
      .finally(() => {
        this.#loadingIntegrations = undefined
        this.#pump()
      })
  }

  async #submitClaimed(key: string, image: ImageRef): Promise<void> {
    try {
      await submitClaimed(this.#submission(), key, image)
    } catch (error) {
      // The store did not answer (before the import was sent, or the import's record was cut off): the claim
      // stays this run's; the key is taken up again at a sweep once the store answers.
      this.#o.logger.warn({key, error: messageOf(error)}, 'could not submit the image: the state store did not answer; trying again at the next sweep')
      this.#work.addAfter(key, this.#clock())
    }
  }

  /** What submitting a claimed key needs of this service (./claimed-submission.ts). */
  #submission(): ClaimedSubmission {
    return {...this.#o, runId: this.runId, clock: this.#clock, work: this.#work, jobs: this.#jobs, integrations: this.#integrations!, fatal: (error) => this.#fatalError(error)}
  }

  #fatalError(error: unknown): void {
    if (this.#fatal) return
    this.#fatal = error
    this.#fail(error)
  }
}
