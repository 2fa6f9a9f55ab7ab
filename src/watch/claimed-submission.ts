// Submitting one key `watch` holds the claim of: plan the import, mark it submitting (the last check that the
// claim still holds), import, record; then (`waitForJobs`) follow the import job in the background and record
// its projects. Each outcome tells the work queue when the key is due again.
import {messageOf} from '../errors.ts'
import type {IntegrationMap} from '../images/integration-map.ts'
import {formatImageRef} from '../images/image-reference.ts'
import type {ImageRef} from '../models/image.ts'
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from '../submit/image-submitter.ts'
import {importClaimed} from '../submit/import-step.ts'
import {followImportJob} from '../submit/job-step.ts'
import type {WorkQueue} from '../submit/work-queue.ts'
import type {WatchLogger, WatchMetricsSink} from './watch-ports.ts'

/** What submitting a claimed key needs of the watch service. */
export interface ClaimedSubmission {
  readonly store: StateStore
  readonly submitter: ImageSubmitter
  readonly logger: WatchLogger
  readonly metrics?: WatchMetricsSink | undefined
  readonly runId: string
  readonly signal: AbortSignal
  readonly clock: () => number
  readonly leaseMs: number
  readonly retryAfterMs: number
  readonly resubmitAfterMs: number
  readonly waitForJobs: boolean
  readonly integrations: IntegrationMap
  /** The service's queue: each outcome says when the key is due again. */
  readonly work: WorkQueue<ImageRef>
  /** Import jobs followed in the background (stop() waits for them). */
  readonly jobs: Set<Promise<void>>
  /** The token was rejected: the service cannot go on. */
  fatal(error: unknown): void
}

export async function submitClaimed(c: ClaimedSubmission, key: string, image: ImageRef): Promise<void> {
  const {store, submitter, logger} = c
  const reference = formatImageRef(image)
  const plan = c.integrations.planImport(image)
  if (plan.outcome === 'skip') {
    await store.recordSkipped(key, c.runId, {reason: plan.reason, fix: plan.fix})
    c.work.addAfter(key, c.clock() + c.retryAfterMs)
    c.metrics?.submission('skipped')
    logger.info({audit: true, image: reference, key, result: 'skipped', reason: plan.reason}, `skipped ${reference}: ${plan.reason}`)
    return
  }
  if (!(await store.markSubmitting(key, c.runId, {leaseMs: c.leaseMs}))) {
    logger.debug({image: reference}, 'claim lost to another run; not sending')
    return
  }
  const step = await importClaimed({store, submitter, runId: c.runId, keys: [key], plan, signal: c.signal, cancelled: () => c.signal.aborted})
  switch (step.kind) {
    case 'submitted':
      c.work.addAfter(key, c.clock() + c.resubmitAfterMs)
      c.metrics?.submission('submitted')
      logger.info({audit: true, image: reference, key, target: plan.targetName, integration: plan.integrationType, result: 'submitted', job: step.jobUrl}, `submitted ${reference}`)
      if (c.waitForJobs) followJob(c, key, reference, step.jobUrl)
      return
    case 'cut-off':
      c.work.requeue(key, image)
      return
    case 'fatal':
      c.work.requeue(key, image)
      c.fatal(step.error)
      return
    case 'failed':
      c.work.addAfter(key, c.clock() + c.retryAfterMs)
      c.metrics?.submission('failed')
      logger.warn({audit: true, image: reference, key, target: plan.targetName, result: 'failed', error: step.message}, `failed to submit ${reference}: ${step.message}`)
  }
}

function followJob(c: ClaimedSubmission, key: string, reference: string, jobUrl: string): void {
  const {store, submitter, logger} = c
  const job = followImportJob({store, submitter, runId: c.runId, keys: [key], jobUrl, signal: c.signal, cancelled: () => c.signal.aborted})
    .then((step) => {
      switch (step.kind) {
        case 'monitored':
          c.metrics?.submission('monitored')
          logger.info({audit: true, image: reference, key, result: 'monitored', projects: step.projects.map((p) => p.id)}, `monitored ${reference}`)
          return
        case 'failed':
          // Recorded failed: tried again after --retry-after, not only at the next --resubmit-after.
          c.work.addAfter(key, c.clock() + c.retryAfterMs)
          c.metrics?.submission('failed')
          logger.warn({audit: true, image: reference, key, job: jobUrl, result: 'failed', error: step.reason}, `import of ${reference} failed: ${step.reason}`)
          return
        case 'pending':
          logger.warn({image: reference, key, job: jobUrl, error: step.reason}, `import of ${reference}: ${step.reason}`)
          return
        case 'fatal':
          c.fatal(step.error)
          return
        case 'cut-off':
      }
    })
    .catch((error: unknown) => logger.warn({image: reference, job: jobUrl, error: messageOf(error)}, `could not record the import job of ${reference}`))
    .finally(() => c.jobs.delete(job))
  c.jobs.add(job)
}
