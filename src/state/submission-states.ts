// The submission state machine, written once: each store operation, the states it moves an image from and the
// state it moves it to. The SQLite store builds its state conditions from this table, and
// test/unit/state/submission-states.test.ts drives a real store through every operation from every state and
// checks the result against it. `none`: the image was found but never claimed (no submission row).
import type {SubmissionState} from './records.ts'

export type StateOrNone = SubmissionState | 'none'

export interface Transition {
  /** The states the operation applies to; from any other state it changes nothing (or is refused). */
  readonly from: readonly StateOrNone[]
  readonly to: SubmissionState
}

/** Not finished: a run will send it, or the next run resumes it (`pendingWork`). */
export const unfinishedStates = ['queued', 'submitting'] as const satisfies readonly SubmissionState[]

const anyState: readonly StateOrNone[] = ['none', 'queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped']

export const submissionTransitions = {
  /** A run takes the image (when no live claim holds it and it is due): `claim`. */
  claim: {from: anyState, to: 'queued'},
  /** The last check before the import request, by the run holding the claim: `markSubmitting`. */
  markSubmitting: {from: unfinishedStates, to: 'submitting'},
  /** Snyk accepted the import: `recordSubmitted`. */
  recordSubmitted: {from: anyState, to: 'submitted'},
  /** The import job completed: `recordMonitored` (only once submitted; refused for an image never submitted). */
  recordMonitored: {from: ['queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped'], to: 'monitored'},
  recordFailed: {from: anyState, to: 'failed'},
  recordSkipped: {from: anyState, to: 'skipped'},
  /** `watch`'s shutdown keeps its in-memory queue (`persistQueue`); a submitted or monitored image only when its claim is this run's or expired. */
  persistQueue: {from: ['none', 'queued', 'submitting', 'failed', 'skipped'], to: 'queued'},
  /** A claim given back before it finished (`release`, `releaseAll`, `finishRun`): unfinished images go back to the queue, others keep their state. */
  release: {from: unfinishedStates, to: 'queued'},
} as const satisfies Record<string, Transition>

/** `state IN (...)` for a list of states, as SQL literals (the states are fixed words, never user input). */
export function sqlStates(states: readonly StateOrNone[]): string {
  return states.filter((state) => state !== 'none').map((state) => `'${state}'`).join(', ')
}
