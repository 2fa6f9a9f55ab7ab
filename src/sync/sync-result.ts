// The typed result of `sync`: what --json prints (a documented, stable schema: see README.md) and what
// the summary table shows.
import {ExitCode} from '../errors.ts'
import type {StatusGate, StatusRefresh} from '../status/status-result.ts'

export type ImageResult =
  /** Sent to Snyk in this run (import job accepted). */
  | 'submitted'
  /** Imported and the import job completed (--wait). */
  | 'monitored'
  /** Submitted by an earlier run within --resubmit-after: nothing to do. */
  | 'unchanged'
  /** Another live run held it for as long as this run waited (see `heldBy`): neither submitted nor confirmed by this run. */
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
  /** `in-flight`: the run holding the image, and until when its claim holds unless it renews it. */
  heldBy?: {runId: string; pid?: number; host?: string; until: string}
  /** This run took the image over from a run that stopped without finishing (killed, crashed): its id. */
  takenOverFrom?: string
  /** First seen in this run: new to the state store (what --fail-on-new judges). */
  new?: true
  runsIn: ImagePlacementSummary
}

/** `sync --fail-on`: the gate of `status --fail-on` over the images this run listed, on counts read after the imports. */
export interface SyncGate extends StatusGate {
  /** --fail-on-new: only images first seen in this run were judged. */
  newOnly: boolean
  /** How many images were judged. */
  judged: number
  /** The read of Snyk's current counts (an error: the stored counts were judged). */
  refresh: StatusRefresh
}

export interface SyncTarget {
  name: string
  context: string
  source: string
  status: 'ok' | 'failed'
  error?: string
  suggestion?: string
  /** The target failed on a kubeconfig mistake (a certificate authority that does not verify the server, credentials refused): exit 2. */
  configurationError?: boolean
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
  /** --fail-on: the gate; tripped sets exit code 1 (which wins over 3). */
  gate?: SyncGate
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

/**
 * 0 success; 3 when some targets or images failed while others succeeded (or all failed), or when images were
 * left in flight elsewhere (held by another live run: neither submitted nor confirmed, so never `succeeded`);
 * 2 instead of 3 when a target failed on a kubeconfig mistake; 130 interrupted.
 */
export function outcomeOf(counts: SyncCounts, interrupted: boolean, configurationError = false): {outcome: SyncResult['outcome']; exitCode: number} {
  if (interrupted) return {outcome: 'interrupted', exitCode: ExitCode.interrupted}
  const failures = counts.targetsFailed + counts.failed
  if (failures === 0) return counts.inFlight > 0 ? {outcome: 'partial', exitCode: ExitCode.partialFailure} : {outcome: 'succeeded', exitCode: ExitCode.ok}
  const successes = counts.targets - counts.targetsFailed
  // A kubeconfig mistake needs its owner, not another run: 2 rather than 3.
  return {outcome: successes > 0 ? 'partial' : 'failed', exitCode: configurationError ? ExitCode.usage : ExitCode.partialFailure}
}
