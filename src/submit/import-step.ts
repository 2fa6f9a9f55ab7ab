// The import step of the submission protocol, the same for `sync` and `watch`: with the claim marked
// `submitting`, send the import through the submitter (the submission core's limiter, gate and retries), record
// what Snyk answered for every key that becomes this Snyk target, and on the way out of a failure leave the store
// as the next run needs it: cut off -> the claims given back (unless Snyk's answer was recorded); an
// authentication error -> the claims given back and the run stops; any other error -> recorded failed.
import type {ImageImport} from '../images/integration-map.ts'
import {isStoreUnavailable} from '../state/store-health.ts'
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from './image-submitter.ts'

export type ImportStep =
  | {kind: 'submitted'; jobUrl: string}
  | {kind: 'cut-off'}
  | {kind: 'fatal'; error: unknown}
  | {kind: 'failed'; message: string; retryable: boolean}

export interface ImportStepInput {
  store: StateStore
  submitter: ImageSubmitter
  runId: string
  /** The images that become this Snyk target (one, or a tag seen with and without its running digest). */
  keys: readonly string[]
  plan: ImageImport
  /** Cancels the request in flight. */
  signal: AbortSignal
  /** Whether a failure is the run being stopped or cancelled, not Snyk's answer. */
  cancelled: () => boolean
}

export async function importClaimed(input: ImportStepInput): Promise<ImportStep> {
  const {store, submitter, runId, keys, plan} = input
  let jobUrl: string
  try {
    ;({jobUrl} = await submitter.importImage({integrationId: plan.integrationId, targetName: plan.targetName}, input.signal))
  } catch (error) {
    return failedImport(input, error)
  }
  // Snyk has the import: recording it must not fail on a store that does not answer for a moment (a database
  // restart), or the next attempt would import it again. Tried again until it lands, or the run is cut off.
  const details = {integrationId: plan.integrationId, integrationType: plan.integrationType, targetName: plan.targetName, jobUrl}
  for (const key of keys) await untilStored(async () => store.recordSubmitted(key, runId, details), input.signal)
  return {kind: 'submitted', jobUrl}
}

/** `write`, tried again with a growing pause (0.25 s to 5 s) while the store is unavailable, until `signal` aborts. */
export async function untilStored<T>(write: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let pauseMs = 250; ; pauseMs = Math.min(pauseMs * 2, 5_000)) {
    try {
      return await write()
    } catch (error) {
      if (!isStoreUnavailable(error) || signal.aborted) throw error
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }
}

async function failedImport(input: ImportStepInput, error: unknown): Promise<ImportStep> {
  const {store, submitter, runId, keys} = input
  if (input.cancelled()) {
    // Not sent, or cut off: the next run takes it (a submitted image keeps its record).
    for (const key of keys) if ((await store.getSubmission(key))?.state !== 'submitted') await store.release(key, runId)
    return {kind: 'cut-off'}
  }
  const described = submitter.classify(error)
  if (described.fatal) {
    for (const key of keys) await store.release(key, runId)
    return {kind: 'fatal', error}
  }
  for (const key of keys) await store.recordFailed(key, runId, {error: described.message, retryable: described.retryable})
  return {kind: 'failed', message: described.message, retryable: described.retryable}
}
