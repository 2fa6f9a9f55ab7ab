// The typed result of `sync`: what --json prints (a documented, stable schema: see README.md) and what
// the summary table shows.
import {ExitCode} from '../errors.ts'

export type ImageResult =
  /** Sent to Snyk in this run (import job accepted). */
  | 'submitted'
  /** Imported and the import job completed (--wait). */
  | 'monitored'
  /** Submitted by an earlier run within --resubmit-after: nothing to do. */
  | 'unchanged'
  /** Another run holds it right now. */
  | 'in-flight'
  /** Cannot be imported (no integration, digest-only, ...): see reason and fix. */
  | 'skipped'
  /** Snyk refused it or kept failing. */
  | 'failed'
  /** --wait ran out before the import job finished. */
  | 'pending'
  /** Under --dry-run: what a real run would do. */
  | 'would-submit'
  | 'would-skip'
  /** The run was interrupted before this image was done; the next run takes it. */
  | 'interrupted'

export interface ImagePlacementSummary {
  clusters: string[]
  namespaces: number
  workloads: string[]
  containers: number
}

export interface SyncImage {
  /** Canonical reference: registry/repository[:tag][@digest]. */
  image: string
  key: string
  registry: string
  repository: string
  tag?: string
  digest?: string
  result: ImageResult
  reason?: string
  fix?: string
  integration?: {type: string; id: string}
  snykTarget?: string
  importJob?: string
  projects?: Array<{id: string; url?: string}>
  runsIn: ImagePlacementSummary
}

export interface SyncTarget {
  name: string
  context: string
  source: string
  status: 'ok' | 'failed'
  error?: string
  suggestion?: string
  pods: number
  images: number
  skippedPods: number
  warnings: string[]
}

export interface SyncDrift {
  tag: string
  previousDigest: string
  digest: string
}

/** One count per result. Every field is always there (0 when it does not apply), so the schema is the same for every run. */
export interface SyncCounts {
  targets: number
  targetsFailed: number
  pods: number
  containers: number
  images: number
  /** Sent to Snyk: 0 under --dry-run, which sends nothing. */
  submitted: number
  monitored: number
  unchanged: number
  inFlight: number
  /** Recorded as skipped: 0 under --dry-run, which records nothing. */
  skipped: number
  failed: number
  pending: number
  interrupted: number
  /** Under --dry-run: what a real run would submit and skip; 0 otherwise. */
  wouldSubmit: number
  wouldSkip: number
}

export interface SyncResult {
  schemaVersion: 1
  command: 'sync'
  dryRun: boolean
  outcome: 'succeeded' | 'partial' | 'failed' | 'interrupted'
  exitCode: number
  startedAt: string
  finishedAt: string
  durationMs: number
  counts: SyncCounts
  targets: SyncTarget[]
  images: SyncImage[]
  drift: SyncDrift[]
  problems: Array<{target: string; namespace: string; pod: string; container: string; reference: string; message: string}>
}

export function countResults(targets: SyncTarget[], images: SyncImage[], containers: number): SyncCounts {
  const count = (...results: ImageResult[]) => images.filter((image) => results.includes(image.result)).length
  return {
    targets: targets.length,
    targetsFailed: targets.filter((t) => t.status === 'failed').length,
    pods: targets.reduce((sum, t) => sum + t.pods, 0),
    containers,
    images: images.length,
    submitted: count('submitted'),
    monitored: count('monitored'),
    unchanged: count('unchanged'),
    inFlight: count('in-flight'),
    skipped: count('skipped'),
    failed: count('failed'),
    pending: count('pending'),
    interrupted: count('interrupted'),
    wouldSubmit: count('would-submit'),
    wouldSkip: count('would-skip'),
  }
}

/** 0 success; 3 when some targets or images failed while others succeeded (or all failed); 130 interrupted. */
export function outcomeOf(counts: SyncCounts, interrupted: boolean): {outcome: SyncResult['outcome']; exitCode: number} {
  if (interrupted) return {outcome: 'interrupted', exitCode: ExitCode.interrupted}
  const failures = counts.targetsFailed + counts.failed
  if (failures === 0) return {outcome: 'succeeded', exitCode: ExitCode.ok}
  const successes = counts.targets - counts.targetsFailed
  return {outcome: successes > 0 ? 'partial' : 'failed', exitCode: ExitCode.partialFailure}
}
