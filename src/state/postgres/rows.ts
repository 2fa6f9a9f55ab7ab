// Reading rows of the PostgreSQL state store into the store's records. node-postgres hands rows over as objects
// with typed values (bigint as number: see connection.ts; boolean as boolean; jsonb parsed), NULL as null.
import type {ImageRef} from '../../models/image.ts'
import type {SubmissionClaimRow} from '../claim-rules.ts'
import type {RunOutcome, RunRecord, SnykProjectRef, SubmissionRecord, SubmissionState, SubmissionSummary} from '../records.ts'

export type PgRow = Record<string, unknown>

/** NULL (or absent) as undefined. */
export function opt<T>(value: unknown): T | undefined {
  return value === null || value === undefined ? undefined : (value as T)
}

export function runOf(row: PgRow): RunRecord {
  const run: RunRecord = {id: row['id'] as string, command: row['command'] as string, pid: row['pid'] as number, host: row['host'] as string, startedAt: row['started_at'] as number}
  const finishedAt = opt<number>(row['finished_at'])
  const outcome = opt<RunOutcome>(row['outcome'])
  const counts = opt<Record<string, number>>(row['counts'])
  if (finishedAt !== undefined) run.finishedAt = finishedAt
  if (outcome !== undefined) run.outcome = outcome
  if (counts !== undefined) run.counts = counts
  return run
}

export function imageRefOf(row: PgRow): ImageRef {
  const image: ImageRef = {registry: row['registry'] as string, repository: row['repository'] as string}
  const tag = opt<string>(row['tag'])
  const digest = opt<string>(row['digest'])
  if (tag !== undefined) image.tag = tag
  if (digest !== undefined) image.digest = digest
  return image
}

export function claimRowOf(row: PgRow, state: SubmissionState): SubmissionClaimRow {
  return {
    state,
    submittedAt: opt<number>(row['submitted_at']),
    claimedBy: opt<string>(row['claimed_by']),
    claimExpiresAt: opt<number>(row['claim_expires_at']),
    updatedAt: row['updated_at'] as number,
    updatedBy: opt<string>(row['updated_by']),
  }
}

export function projectOf(row: PgRow): SnykProjectRef {
  const project: SnykProjectRef = {id: row['id'] as string}
  const name = opt<string>(row['name'])
  const url = opt<string>(row['url'])
  if (name !== undefined) project.name = name
  if (url !== undefined) project.url = url
  return project
}

/** The columns a report reads of a submission (`submissionSummaryOf`), and the rest of the full record. */
export const submissionSummaryColumns = ['state', 'updated_at', 'submitted_at', 'monitored_at', 'last_error', 'error_retryable', 'skip_reason', 'skip_fix'] as const
export const submissionDetailColumns = ['attempts', 'integration_id', 'integration_type', 'target_name', 'job_url', 'claimed_by', 'claim_expires_at'] as const

/** The submission of a row holding `submissionSummaryColumns`; undefined when `state` is null (never claimed). */
export function submissionSummaryOf(row: PgRow, projects: SnykProjectRef[]): SubmissionSummary | undefined {
  const state = opt<SubmissionState>(row['state'])
  if (state === undefined) return undefined
  const record: SubmissionSummary = {state, updatedAt: row['updated_at'] as number, projects}
  const submittedAt = opt<number>(row['submitted_at'])
  const monitoredAt = opt<number>(row['monitored_at'])
  const error = opt<string>(row['last_error'])
  const skipReason = opt<string>(row['skip_reason'])
  if (submittedAt !== undefined) record.submittedAt = submittedAt
  if (monitoredAt !== undefined) record.monitoredAt = monitoredAt
  if (error !== undefined) record.error = {message: error, retryable: row['error_retryable'] === true}
  if (skipReason !== undefined) record.skip = {reason: skipReason, fix: opt<string>(row['skip_fix']) ?? ''}
  return record
}

/** `submissionSummaryOf` of a row holding every submission column: the full record. */
export function submissionOf(row: PgRow, projects: SnykProjectRef[]): SubmissionRecord | undefined {
  const summary = submissionSummaryOf(row, projects)
  if (summary === undefined) return undefined
  const record: SubmissionRecord = {...summary, attempts: row['attempts'] as number}
  for (const [column, field] of [['integration_id', 'integrationId'], ['integration_type', 'integrationType'], ['target_name', 'targetName'], ['job_url', 'jobUrl']] as const) {
    const value = opt<string>(row[column])
    if (value !== undefined) record[field] = value
  }
  const claimedBy = opt<string>(row['claimed_by'])
  if (claimedBy !== undefined) record.claim = {runId: claimedBy, expiresAt: row['claim_expires_at'] as number}
  return record
}
