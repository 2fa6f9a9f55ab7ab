// The Prometheus metrics of `watch`, on a registry of their own (never prom-client's global one), so that
// several instances (tests, several commands in one process) never clash and nothing else leaks into /metrics.
//
// Names follow Prometheus conventions: a `snyk_watch_` prefix, `_total` on counters, base units (`_seconds`);
// the exposition passes `promtool check metrics`.
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'
import type {FailedEvent, RetryingEvent, SentEvent, SubmissionCore, SucceededEvent} from '../submit/submission-core.ts'

/** How the submission of one image ended. */
export type SubmissionResult = 'submitted' | 'monitored' | 'failed' | 'skipped'

const submissionResults: readonly SubmissionResult[] = ['submitted', 'monitored', 'failed', 'skipped']

/** Snyk request durations: 25 ms to 30 s, which covers a fast answer up to a slow import call. */
const requestDurationBuckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

const metricPrefix = 'snyk_watch_'

/**
 * prom-client default metrics dropped from the exposition: gauges named like counters (`_total`), which
 * `promtool check metrics` rejects. They can't be renamed to `..._nodejs_active_handles` and so on, since those
 * names are taken by the per-type gauges prom-client registers next to them (`{type="TCPWrap"}`, ...), which stay:
 * `sum(snyk_watch_nodejs_active_handles)` is the total. collectDefaultMetrics has no per-metric exclusion, so
 * they are removed from our registry after registration (a name the installed version lacks is a no-op).
 */
export const droppedDefaultMetrics: readonly string[] = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map(
  (name) => metricPrefix + name,
)

export class WatchMetrics {
  readonly registry = new Registry()
  readonly #imagesDiscovered: Counter
  readonly #submissions: Counter<'result'>
  readonly #queueDepth: Gauge
  readonly #inFlight: Gauge
  readonly #snykRetries: Counter
  readonly #rateLimitPauses: Counter
  readonly #requestDuration: Histogram<'outcome'>
  readonly #watchRestarts: Counter<'target'>
  readonly #targetSynced: Gauge<'target'>
  readonly #runningContainers: Gauge<'image'>
  readonly #leader: Gauge

  /**
   * @param options.defaultMetrics prom-client's process metrics (CPU, memory, file descriptors, event loop lag,
   *   GC, heap, active handles/requests/resources by type), prefixed `snyk_watch_`, without `droppedDefaultMetrics`; default true.
   */
  constructor(options: {defaultMetrics?: boolean} = {}) {
    const registers = [this.registry]
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({register: this.registry, prefix: metricPrefix})
      for (const name of droppedDefaultMetrics) this.registry.removeSingleMetric(name)
    }
    this.#imagesDiscovered = new Counter({
      name: 'snyk_watch_images_discovered_total',
      help: 'Unique images (repository and digest) found running for the first time.',
      registers,
    })
    this.#submissions = new Counter({
      name: 'snyk_watch_submissions_total',
      help: 'Images handed to Snyk, by result: submitted (import requested), monitored (import job done), failed, skipped (no integration, digest-only reference).',
      labelNames: ['result'],
      registers,
    })
    // Every result exists from the start, so that rate() and alerts see a 0 rather than no series.
    for (const result of submissionResults) this.#submissions.inc({result}, 0)
    this.#queueDepth = new Gauge({name: 'snyk_watch_queue_depth', help: 'Images waiting to be submitted.', registers})
    this.#inFlight = new Gauge({name: 'snyk_watch_submissions_in_flight', help: 'Submissions being sent to Snyk now.', registers})
    this.#snykRetries = new Counter({
      name: 'snyk_watch_snyk_retries_total',
      help: 'Snyk requests that are tried again (5xx, timeouts, network errors, 429s, open circuit).',
      registers,
    })
    this.#rateLimitPauses = new Counter({
      name: 'snyk_watch_snyk_rate_limit_pauses_total',
      help: 'Times every request of the token paused because Snyk answered 429.',
      registers,
    })
    this.#requestDuration = new Histogram({
      name: 'snyk_watch_snyk_request_duration_seconds',
      help: 'Duration of each request to Snyk (one attempt), by outcome: ok, or error (any failed attempt, including 429).',
      labelNames: ['outcome'],
      buckets: requestDurationBuckets,
      registers,
    })
    this.#watchRestarts = new Counter({
      name: 'snyk_watch_watch_restarts_total',
      help: 'Watches of a target that ended and were started again (reconnects, relists after 410 Gone).',
      labelNames: ['target'],
      registers,
    })
    this.#targetSynced = new Gauge({
      name: 'snyk_watch_target_synced',
      help: '1 when the initial list of the target is done and its watch is running, else 0.',
      labelNames: ['target'],
      registers,
    })
    this.#runningContainers = new Gauge({
      name: 'snyk_watch_running_containers',
      help: 'Containers running each image (repository and digest) across the targets.',
      labelNames: ['image'],
      registers,
    })
    this.#leader = new Gauge({name: 'snyk_watch_leader', help: '1 when this replica holds the leader election lease (or runs without leader election), else 0.', registers})
  }

  /** The content type of `metrics()`, for the Content-Type header. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** The text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  imageDiscovered(count = 1): void {
    this.#imagesDiscovered.inc(count)
  }

  submission(result: SubmissionResult): void {
    this.#submissions.inc({result})
  }

  setQueueDepth(depth: number): void {
    this.#queueDepth.set(depth)
  }

  setInFlight(count: number): void {
    this.#inFlight.set(count)
  }

  watchRestarted(target: string): void {
    this.#watchRestarts.inc({target})
  }

  targetSynced(target: string, synced: boolean): void {
    this.#targetSynced.set({target}, synced ? 1 : 0)
  }

  /** Replaces every `snyk_watch_running_containers` series: an image absent from `counts` has no series any more. */
  setRunningContainers(counts: ReadonlyMap<string, number>): void {
    this.#runningContainers.reset()
    for (const [image, count] of counts) if (count > 0) this.#runningContainers.set({image}, count)
  }

  setLeader(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0)
  }

  /**
   * Feeds the Snyk metrics (retries, 429 pauses, request durations) from a submission core's events.
   * Returns the function that stops listening.
   */
  attachCore(core: SubmissionCore): () => void {
    // Send times of attempts not answered yet, by `label#attempt` (several calls may share a label).
    const pending = new Map<string, number[]>()
    const observe = (label: string, attempt: number, outcome: 'ok' | 'error'): void => {
      const key = `${label}#${attempt}`
      const times = pending.get(key)
      const sentAt = times?.shift()
      if (sentAt === undefined) return // the attempt was never sent (open circuit, aborted while waiting)
      if (times?.length === 0) pending.delete(key)
      this.#requestDuration.observe({outcome}, (performance.now() - sentAt) / 1000)
    }
    const onSent = ({label, attempt}: SentEvent): void => {
      const key = `${label}#${attempt}`
      const times = pending.get(key)
      if (times) times.push(performance.now())
      else pending.set(key, [performance.now()])
    }
    const onRetrying = ({label, attempt}: RetryingEvent): void => {
      this.#snykRetries.inc()
      observe(label, attempt, 'error')
    }
    const onSucceeded = ({label, attempts}: SucceededEvent): void => observe(label, attempts, 'ok')
    const onFailed = ({label, attempts}: FailedEvent): void => observe(label, attempts, 'error')
    const onPaused = (): void => {
      this.#rateLimitPauses.inc()
    }
    core.on('sent', onSent)
    core.on('retrying', onRetrying)
    core.on('succeeded', onSucceeded)
    core.on('failed', onFailed)
    core.on('paused', onPaused)
    return () => {
      core.off('sent', onSent)
      core.off('retrying', onRetrying)
      core.off('succeeded', onSucceeded)
      core.off('failed', onFailed)
      core.off('paused', onPaused)
      pending.clear()
    }
  }
}
