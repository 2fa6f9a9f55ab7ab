// The rules of claiming an image and of keeping `watch`'s queue, written once for every backend: each store reads
// the image's submission row under its own lock (SQLite's write lock, PostgreSQL's row lock) and asks these
// functions what to do, so both backends decide alike.
import type {ClaimOptions, ClaimResult, SubmissionState} from './records.ts'

/** The columns of a submission the rules look at; undefined fields are NULL. */
export interface SubmissionClaimRow {
  state: SubmissionState
  submittedAt?: number | undefined
  claimedBy?: string | undefined
  claimExpiresAt?: number | undefined
  updatedAt: number
  updatedBy?: string | undefined
}

/** `positive`: a finite duration > 0 (a lease); otherwise any duration >= 0, Infinity included (never). */
export function requireDuration(name: string, value: number, {positive}: {positive: boolean}): void {
  const valid = typeof value === 'number' && (positive ? Number.isFinite(value) && value > 0 : value >= 0)
  if (!valid) throw new TypeError(`${name} must be a ${positive ? 'positive, finite' : 'non-negative'} number of milliseconds, got ${String(value)}`)
}

export function checkClaimOptions(options: ClaimOptions): void {
  requireDuration('resubmitAfterMs', options.resubmitAfterMs, {positive: false})
  requireDuration('leaseMs', options.leaseMs, {positive: true})
  if (options.retryAfterMs !== undefined) requireDuration('retryAfterMs', options.retryAfterMs, {positive: false})
}

/**
 * Whether run `options.runId` may claim an image whose submission is `row` (undefined: never claimed) at `now`.
 * Not claimed: when another run (or this one) holds an unexpired claim, when it was submitted less than
 * `resubmitAfterMs` ago, or when this same run recorded it failed or skipped (until `retryAfterMs`). An expired
 * claim (its run crashed or was killed) is taken over.
 */
export function decideClaim(row: SubmissionClaimRow | undefined, options: ClaimOptions, now: number): ClaimResult {
  if (row === undefined) return {claimed: true}
  const {state, claimedBy: holder} = row
  const holderExpiresAt = row.claimExpiresAt ?? 0
  if (holder !== undefined && holderExpiresAt > now) return {claimed: false, reason: 'in-flight', heldBy: holder, expiresAt: holderExpiresAt}
  const {submittedAt} = row
  if ((state === 'submitted' || state === 'monitored') && submittedAt !== undefined && now < submittedAt + options.resubmitAfterMs) {
    return {claimed: false, reason: 'recent', submittedAt, resubmitAt: submittedAt + options.resubmitAfterMs}
  }
  if ((state === 'failed' || state === 'skipped') && row.updatedBy === options.runId) {
    const at = row.updatedAt
    if (options.retryAfterMs === undefined || now < at + options.retryAfterMs) return {claimed: false, reason: state === 'failed' ? 'failed-recently' : 'skipped-recently', at}
  }
  const result: Extract<ClaimResult, {claimed: true}> = {claimed: true, previousState: state}
  if (holder !== undefined && holder !== options.runId) result.takenOverFrom = holder
  return result
}

/**
 * `persistQueue`: whether `watch`'s run `runId` stores an image it still had queued in memory as `queued` (without a
 * claim). Yes when it holds the claim, when no run holds it and it is not already submitted or monitored, or when
 * the holder's claim expired; a live claim of another run, or a finished submission, is left alone.
 */
export function persistsQueued(row: Pick<SubmissionClaimRow, 'state' | 'claimedBy' | 'claimExpiresAt'>, runId: string, now: number): boolean {
  const holder = row.claimedBy
  if (holder === runId) return true
  if (holder === undefined) return row.state !== 'submitted' && row.state !== 'monitored'
  return (row.claimExpiresAt ?? 0) <= now
}
