// Reading rows of the SQLite state store: typed column reads for object rows, the column lists of array rows
// (summary columns first, so a report reads a prefix), and the records built from them.
import type {SQLOutputValue} from 'node:sqlite'
import {BugError} from '../../errors.ts'
import type {ImageRef} from '../../models/image.ts'
import type {SubmissionClaimRow} from '../claim-rules.ts'
import type {IssueCounts, RunOutcome, RunRecord, SnykProjectRef, SubmissionRecord, SubmissionState, SubmissionSummary} from '../records.ts'

export type Row = Record<string, SQLOutputValue>

export function text(row: Row, column: string): string {
  const value = row[column]
  if (typeof value !== 'string') throw new BugError(`state column ${column}: expected text, got ${value === null ? 'null' : typeof value}`)
  return value
}

export function optionalText(row: Row, column: string): string | undefined {
  const value = row[column]
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string') throw new BugError(`state column ${column}: expected text, got ${typeof value}`)
  return value
}

export function integer(row: Row, column: string): number {
  const value = row[column]
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  throw new BugError(`state column ${column}: expected a number, got ${value === null ? 'null' : typeof value}`)
}

export function optionalInteger(row: Row, column: string): number | undefined {
  const value = row[column]
  return value === null || value === undefined ? undefined : integer(row, column)
}

export function imageRefOf(row: Row): ImageRef {
  const image: ImageRef = {registry: text(row, 'registry'), repository: text(row, 'repository')}
  const tag = optionalText(row, 'tag')
  const digest = optionalText(row, 'digest')
  if (tag !== undefined) image.tag = tag
  if (digest !== undefined) image.digest = digest
  return image
}

/** The columns the claim rules read (src/state/claim-rules.ts) of a submission row in `state`. */
export function claimRowOf(row: Row, state: SubmissionState): SubmissionClaimRow {
  return {
    state,
    submittedAt: optionalInteger(row, 'submitted_at'),
    claimedBy: optionalText(row, 'claimed_by'),
    claimExpiresAt: optionalInteger(row, 'claim_expires_at'),
    updatedAt: integer(row, 'updated_at'),
    updatedBy: optionalText(row, 'updated_by'),
  }
}

// Column lists in the order rows are read as arrays. Each list starts with the columns a report needs
// (`visitImageSummaries`), so a summary reads a prefix of the full list: fewer values cross from SQLite to
// JavaScript, which is what reading 20,000 images costs most.
const submissionSummaryColumns = ['state', 'updated_at', 'submitted_at', 'monitored_at', 'last_error', 'error_retryable', 'skip_reason', 'skip_fix'] as const
const submissionDetailColumns = ['attempts', 'integration_id', 'integration_type', 'target_name', 'job_url', 'claimed_by', 'claim_expires_at'] as const
const placementSummaryColumns = ['image_id', 'target', 'cluster', 'namespace', 'workload_kind', 'workload_name', 'fips_annotation'] as const
const placementDetailColumns = ['pod', 'container', 'container_kind', 'reference', 'last_seen', 'run_id'] as const
const imageSummaryColumns = ['id', 'key', 'registry', 'repository', 'tag', 'digest'] as const
const imageDetailColumns = ['first_seen', 'last_seen'] as const

/** The columns of each table as read: `summary` a prefix of `all`. */
function columnList<const S extends string, const D extends string>(summary: readonly S[], detail: readonly D[]): {summary: readonly S[]; all: ReadonlyArray<S | D>} {
  return {summary, all: [...summary, ...detail]}
}
export const submissionColumnList = columnList(submissionSummaryColumns, submissionDetailColumns)
export const placementColumnList = columnList(placementSummaryColumns, placementDetailColumns)
export const imageColumnList = columnList(imageSummaryColumns, imageDetailColumns)
/** Every submission column, prefixed for a query joining `submissions s`. */
export const submissionColumns = submissionColumnList.all.map((column) => `s.${column}`).join(', ')

/** Column name -> index in a row read as an array. */
function columnIndex<const C extends string>(columns: readonly C[]): Record<C, number> {
  return Object.fromEntries(columns.map((column, index) => [column, index])) as Record<C, number>
}
export const PL = columnIndex(placementColumnList.all)
export const IM = columnIndex(imageColumnList.all)
export const SU = columnIndex(submissionColumnList.all)

// Array rows: STRICT tables guarantee each column's type, so values are read with casts, not conversions.

/** The submission in an array row whose `submissionColumns` start at `offset`; undefined when `state` is null (never claimed). */
export function submissionSummaryAt(row: readonly SQLOutputValue[], offset: number, projects: SnykProjectRef[]): SubmissionSummary | undefined {
  const state = row[offset + SU.state]
  if (state === null || state === undefined) return undefined
  const record: SubmissionSummary = {state: state as SubmissionState, updatedAt: row[offset + SU.updated_at] as number, projects}
  const submittedAt = row[offset + SU.submitted_at]
  const monitoredAt = row[offset + SU.monitored_at]
  const error = row[offset + SU.last_error]
  const skipReason = row[offset + SU.skip_reason]
  if (submittedAt !== null) record.submittedAt = submittedAt as number
  if (monitoredAt !== null) record.monitoredAt = monitoredAt as number
  if (error !== null) record.error = {message: error as string, retryable: row[offset + SU.error_retryable] === 1}
  if (skipReason !== null) record.skip = {reason: skipReason as string, fix: (row[offset + SU.skip_fix] as string | null) ?? ''}
  return record
}

/** `submissionSummaryAt` with every column: the full record. */
export function submissionAt(row: readonly SQLOutputValue[], offset: number, projects: SnykProjectRef[]): SubmissionRecord | undefined {
  const summary = submissionSummaryAt(row, offset, projects)
  if (summary === undefined) return undefined
  const at = (column: keyof typeof SU): SQLOutputValue | undefined => row[offset + SU[column]]
  const record: SubmissionRecord = {...summary, attempts: Number(at('attempts'))}
  const integrationId = at('integration_id')
  const integrationType = at('integration_type')
  const targetName = at('target_name')
  const jobUrl = at('job_url')
  const claimedBy = at('claimed_by')
  if (integrationId !== null) record.integrationId = String(integrationId)
  if (integrationType !== null) record.integrationType = String(integrationType)
  if (targetName !== null) record.targetName = String(targetName)
  if (jobUrl !== null) record.jobUrl = String(jobUrl)
  if (claimedBy !== null) record.claim = {runId: String(claimedBy), expiresAt: Number(at('claim_expires_at'))}
  return record
}

/** Project rows (image id, id, name, url, then issue counts) by image id: the projects sorted by id, counts summed over those that have them. */
export function projectsOf(rows: readonly SQLOutputValue[][]): Map<number, {refs: SnykProjectRef[]; issues?: IssueCounts & {updatedAt: number}}> {
  const projects = new Map<number, {refs: SnykProjectRef[]; issues?: IssueCounts & {updatedAt: number}}>()
  for (const row of rows) {
    const imageId = row[0] as number
    const project: SnykProjectRef = {id: row[1] as string}
    if (row[2] !== null) project.name = row[2] as string
    if (row[3] !== null) project.url = row[3] as string
    let entry = projects.get(imageId)
    // A literal array of one: an array grown by push keeps room for 16 (most images have one project).
    if (entry === undefined) projects.set(imageId, (entry = {refs: [project]}))
    else entry.refs.push(project)
    const countedAt = row[8]
    if (countedAt === null || countedAt === undefined) continue
    const issues = (entry.issues ??= {critical: 0, high: 0, medium: 0, low: 0, updatedAt: countedAt as number})
    issues.critical += row[4] as number
    issues.high += row[5] as number
    issues.medium += row[6] as number
    issues.low += row[7] as number
    issues.updatedAt = Math.max(issues.updatedAt, countedAt as number)
  }
  for (const {refs} of projects.values()) if (refs.length > 1) refs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return projects
}

export function projectOf(row: Row): SnykProjectRef {
  const project: SnykProjectRef = {id: text(row, 'id')}
  const name = optionalText(row, 'name')
  const url = optionalText(row, 'url')
  if (name !== undefined) project.name = name
  if (url !== undefined) project.url = url
  return project
}


export function runOf(row: Row): RunRecord {
  const run: RunRecord = {id: text(row, 'id'), command: text(row, 'command'), pid: integer(row, 'pid'), host: text(row, 'host'), startedAt: integer(row, 'started_at')}
  const finishedAt = optionalInteger(row, 'finished_at')
  const outcome = optionalText(row, 'outcome')
  const counts = optionalText(row, 'counts')
  if (finishedAt !== undefined) run.finishedAt = finishedAt
  if (outcome !== undefined) run.outcome = outcome as RunOutcome
  if (counts !== undefined) run.counts = JSON.parse(counts) as Record<string, number>
  return run
}
