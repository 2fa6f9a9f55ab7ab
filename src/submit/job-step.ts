// The last step of the submission protocol, the same for `sync --wait` and `watch`: follow the import job Snyk
// started and record its outcome for every key that became this Snyk target. Complete -> `monitored` with its
// projects (what `status` reads); the job failed, or following it failed -> `failed`, so that the image is tried
// again (by the next run, or by `watch` after --retry-after); still running at the deadline -> left `submitted`.
// Cut off by a stop or an authentication error while following: the import was sent and stays recorded as such.
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from './image-submitter.ts'

export type JobStep =
  | {kind: 'monitored'; projects: Array<{id: string; url?: string}>}
  | {kind: 'pending'; reason: string}
  | {kind: 'failed'; reason: string}
  | {kind: 'cut-off'}
  | {kind: 'fatal'; error: unknown}

export interface JobStepInput {
  store: StateStore
  submitter: ImageSubmitter
  runId: string
  keys: readonly string[]
  jobUrl: string
  signal: AbortSignal
  /** Whether a failure is the run being stopped or cancelled, not Snyk's answer. */
  cancelled: () => boolean
}

export async function followImportJob(input: JobStepInput): Promise<JobStep> {
  const {store, submitter, runId, keys} = input
  try {
    const job = await submitter.waitForJob(input.jobUrl, input.signal)
    if (job.status === 'complete') {
      for (const key of keys) await store.recordMonitored(key, {projects: job.projects})
      return {kind: 'monitored', projects: job.projects}
    }
    if (job.status === 'timeout') return {kind: 'pending', reason: job.error}
    for (const key of keys) await store.recordFailed(key, runId, {error: job.error, retryable: false})
    return {kind: 'failed', reason: job.error}
  } catch (error) {
    if (input.cancelled()) return {kind: 'cut-off'}
    const described = submitter.classify(error)
    if (described.fatal) return {kind: 'fatal', error}
    for (const key of keys) await store.recordFailed(key, runId, {error: described.message, retryable: described.retryable})
    return {kind: 'failed', reason: described.message}
  }
}
