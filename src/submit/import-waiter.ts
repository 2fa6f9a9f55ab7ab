// --wait: polls an import job through the submission core (the same limiter, gate and retries as the
// imports) until Snyk says it is no longer pending, or the wait times out. A timeout is a result, not an
// exception: the caller keeps the job URL and the last state seen, and can record them.
import type {ImportJob} from '../snyk/import-job.ts'
import type {SnykClient} from '../snyk/snyk-client.ts'
import {systemClock} from './clock.ts'
import type {Clock} from './clock.ts'
import type {RequestScheduler} from './submission-core.ts'

export interface ImportWaitOptions {
  /** Give up waiting after this long (--wait-timeout). */
  readonly timeoutMs: number
  /** First interval between polls (default 2 s); grows by half each poll up to `maxIntervalMs`. */
  readonly intervalMs?: number
  /** Longest interval between polls (default 15 s). */
  readonly maxIntervalMs?: number
  /** The command's signal: aborting it rejects with its reason. */
  readonly signal?: AbortSignal
  readonly clock?: Clock
}

export type ImportWaitResult =
  | {
      /** Snyk finished the job: `complete` (its projects are in `job.projects`), `failed` or `aborted`. */
      readonly status: 'complete' | 'failed' | 'aborted'
      readonly job: ImportJob
      readonly polls: number
      readonly waitedMs: number
    }
  | {
      /** Still pending when `timeoutMs` passed. `job` is the last state seen (none if no poll answered). */
      readonly status: 'timeout'
      readonly job: ImportJob | undefined
      readonly polls: number
      readonly waitedMs: number
    }

/**
 * Polls `jobUrl` until the job is not pending or `timeoutMs` passes. Rejects only when a poll fails for good
 * (after the core's retries), when the run stops (AuthError) or when `signal` aborts.
 */
export async function waitForImportJob(
  core: RequestScheduler,
  client: Pick<SnykClient, 'getImportJob'>,
  jobUrl: string,
  options: ImportWaitOptions,
): Promise<ImportWaitResult> {
  const clock = options.clock ?? systemClock
  const maxInterval = options.maxIntervalMs ?? 15_000
  let interval = Math.min(options.intervalMs ?? 2000, maxInterval)
  if (!(options.timeoutMs >= 0)) throw new RangeError('timeoutMs must be >= 0')
  const started = clock.now()
  const deadline = started + options.timeoutMs
  const signal = options.signal ?? new AbortController().signal
  let job: ImportJob | undefined
  let polls = 0
  const timedOut = (): ImportWaitResult => ({status: 'timeout', job, polls, waitedMs: clock.now() - started})

  for (;;) {
    const remaining = deadline - clock.now()
    if (remaining <= 0) return timedOut()
    await clock.sleep(Math.min(interval, remaining), signal)
    interval = Math.min(maxInterval, interval * 1.5)
    const left = deadline - clock.now()
    if (left <= 0) return timedOut()
    // The deadline runs on the injected clock (and keeps the process alive while it runs).
    const pollDeadline = new AbortController()
    const stopTimer = new AbortController()
    clock.sleep(left, stopTimer.signal).then(
      () => pollDeadline.abort(new DOMException('the --wait timeout passed', 'TimeoutError')),
      () => {},
    )
    try {
      job = await core.run(`poll import job ${jobIdOf(jobUrl)}`, (pollSignal) => client.getImportJob(jobUrl, pollSignal), {
        signal: AbortSignal.any([signal, pollDeadline.signal]),
      })
    } catch (error) {
      if (!signal.aborted && pollDeadline.signal.aborted) return timedOut()
      throw error
    } finally {
      stopTimer.abort()
    }
    polls += 1
    if (job.status !== 'pending') return {status: job.status, job, polls, waitedMs: clock.now() - started}
  }
}

function jobIdOf(jobUrl: string): string {
  return jobUrl.slice(jobUrl.lastIndexOf('/') + 1)
}
