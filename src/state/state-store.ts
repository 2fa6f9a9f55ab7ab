// The state store: which images were found where, and how their submission to Snyk went. The pipeline, `status`
// and `watch` depend on the StateStore interface below; the embedded SQLite store (src/state/sqlite/) is its
// implementation: node:sqlite (no native build), WAL, one BEGIN IMMEDIATE transaction per multi-row change, so a
// run killed at any point leaves a consistent file and two overlapping runs never claim the same image.
import {homedir} from 'node:os'
import path from 'node:path'
import type {ImageObservation} from '../models/image.ts'
import type {
  ClaimHolderRecord,
  ClaimOptions,
  ClaimResult,
  FailureDetails,
  ImageSummary,
  ListImagesFilter,
  ObservationResult,
  PendingWork,
  ProjectIssueCounts,
  RecordObservationsOptions,
  RunOutcome,
  RunRecord,
  SkipDetails,
  SnykProjectRef,
  SubmissionRecord,
  SubmittedDetails,
} from './records.ts'
import {hidePasswordFromProcessTitle, isPostgresUrl} from './postgres/location.ts'
import {openSqliteConnection} from './sqlite/connection.ts'
import {SqliteStateStore} from './sqlite/sqlite-state-store.ts'

export interface StateStoreOptions {
  /** Milliseconds since the epoch; default `Date.now`. Every time the store writes or compares comes from it. */
  clock?: () => number
  /** How long a write waits for another process's write lock before failing with STATE_STORE_BUSY; default 5000. */
  busyTimeoutMs?: number
}

/** A value, or a promise of it: what a method of the seam returns. */
export type Awaitable<T> = T | Promise<T>

/**
 * What the pipeline, `status` and `watch` need of a state store. Each method settles once its change is committed.
 * Callers always await the result: the embedded SQLite store answers at once (node:sqlite is synchronous), a
 * network store (PostgreSQL) with a promise; the seam is the same for both.
 */
export interface StateStore {
  /** Where the store is (a file, or `:memory:`), as shown to users. */
  readonly path: string
  /** The store's clock (ms since the epoch). */
  now(): Awaitable<number>
  /** Closes the store (idempotent). */
  close(): Awaitable<void>

  // Inventory: runs, observations, placements, drift.
  /** Records the start of a run and returns its id (a UUID), used to claim images and attribute placements. */
  beginRun(command: string): Awaitable<string>
  /** Records how a run ended. Claims it still holds are released (back to `queued`), so the next run takes them at once. */
  finishRun(runId: string, outcome: RunOutcome, counts?: Record<string, number>): Awaitable<void>
  getRun(runId: string): Awaitable<RunRecord | undefined>
  /**
   * Records what a pod source found in `target`, in one transaction: upserts the images, and the target's placements
   * (by default replacing all of the target's previous placements). Returns the image keys to claim and the drift.
   */
  recordObservations(runId: string, target: string, observations: readonly ImageObservation[], options?: RecordObservationsOptions): Awaitable<ObservationResult>
  /** Ends a (re)list recorded page by page with `merge`: removes the target's placements not seen since `listStartedAt`. */
  prunePlacements(target: string, listStartedAt: number): Awaitable<number>
  /** Removes a deleted pod's placements (a watch DELETED event). Returns how many were removed. */
  forgetPod(target: string, namespace: string, pod: string): Awaitable<number>
  /**
   * Retention (--forget-after): removes every target's placements not seen since `cutoff`, so that a store shared
   * by a fleet does not grow with pod churn and clusters gone away. Images with no placement left stay as history.
   */
  forgetPlacementsSeenBefore(cutoff: number): Awaitable<number>

  // Claims and outcomes.
  /** Decides atomically whether run `options.runId` should submit image `key`, and if so records the claim (state `queued`). */
  claim(key: string, options: ClaimOptions): Awaitable<ClaimResult>
  /** `claim` for many keys in one transaction, each decided as `claim` would (a sync claims what it listed a batch at a time). */
  claimMany(keys: readonly string[], options: ClaimOptions): Awaitable<Map<string, ClaimResult>>
  /** The last check before sending the import: marks it `submitting` if `runId` still holds the claim. */
  markSubmitting(key: string, runId: string, options?: {leaseMs?: number}): Awaitable<boolean>
  /** Renews every claim `runId` holds for another `leaseMs`. Returns how many. */
  extendClaims(runId: string, leaseMs: number): Awaitable<number>
  /** Every run holding claims now (expired or not). Oldest holder first. */
  claimHolders(): Awaitable<ClaimHolderRecord[]>
  /** The keys `runId` holds a claim on, sorted. */
  claimedKeys(runId: string): Awaitable<string[]>
  /** Gives back `runId`'s claim on `key`: back to `queued` for the next run at once. */
  release(key: string, runId: string): Awaitable<boolean>
  /** Gives back every claim `runId` holds. Returns how many. */
  releaseAll(runId: string): Awaitable<number>
  recordSubmitted(key: string, runId: string, details: SubmittedDetails): Awaitable<void>
  recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): Awaitable<void>
  recordFailed(key: string, runId: string, details: FailureDetails): Awaitable<void>
  recordSkipped(key: string, runId: string, details: SkipDetails): Awaitable<void>
  /** `watch`'s shutdown: stores `keys` (still queued in memory) as `queued` without a claim. Returns how many. */
  persistQueue(keys: readonly string[], runId: string): Awaitable<number>
  /** Images queued or being submitted and not finished: what to resume after a kill or a shutdown. Oldest first. */
  pendingWork(): Awaitable<PendingWork[]>

  // Reports (status).
  recordIssueCounts(counts: readonly ProjectIssueCounts[]): Awaitable<void>
  getSubmission(key: string): Awaitable<SubmissionRecord | undefined>
  /** `getSubmission` of many keys in one read (a waiting `sync` looks at every image another run holds once a round); keys without a record are absent. */
  getSubmissions(keys: readonly string[]): Awaitable<Map<string, SubmissionRecord>>
  /** The images with where they run, a chunk at a time, from one snapshot. */
  visitImageSummaries(filter: ListImagesFilter, visit: (images: ImageSummary[]) => void, chunkSize?: number): Awaitable<void>
  /** A cheap number that changes whenever another process commits to the store: poll it to see changes. */
  dataVersion(): Awaitable<number>
}

/** `$XDG_STATE_HOME/kubectl-snyk-watch/state.db`, else `~/.local/state/kubectl-snyk-watch/state.db`. */
export function defaultStatePath(env: NodeJS.ProcessEnv = process.env, home: string = env['HOME'] ?? homedir()): string {
  const xdg = env['XDG_STATE_HOME']
  // The XDG spec says a relative path is invalid and must be ignored.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, '.local', 'state')
  return path.join(base, 'kubectl-snyk-watch', 'state.db')
}

/**
 * Opens (creating it if needed) the SQLite state database at `file`, or `:memory:`. New directories get mode 0700, a
 * new file 0600 (SQLite gives its -wal and -shm files the same mode). Applies pending schema migrations.
 * @throws StateStoreError when the file was written by a newer version, is not a state database, or cannot be written.
 */
export function openStateStore(file: string, options: StateStoreOptions = {}): SqliteStateStore {
  return new SqliteStateStore(openSqliteConnection(file, options))
}

/**
 * Opens the state store `--state` names: a PostgreSQL database for a `postgres://` or `postgresql://` URL (the
 * fleet store; its client is loaded only then), otherwise the SQLite file at that path (or `:memory:`).
 * @throws StateStoreError when the store cannot be used (see openStateStore and src/state/postgres/connection.ts).
 */
export async function openStore(location: string, options: StateStoreOptions & {env?: NodeJS.ProcessEnv} = {}): Promise<StateStore> {
  if (isPostgresUrl(location)) {
    hidePasswordFromProcessTitle(location)
    const {openPostgresStateStore} = await import('./postgres/postgres-state-store.ts')
    return openPostgresStateStore(location, options)
  }
  return openStateStore(location, options)
}
