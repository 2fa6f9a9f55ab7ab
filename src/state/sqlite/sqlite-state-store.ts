// The embedded SQLite state store: the StateStore of one machine, made of three parts over one connection
// (inventory, claims and outcomes, reports). Reads only tests make (every image in full, the last run, ...) are
// in test/helpers/sqlite-store-reads.ts, over `connection`.
import type {ImageObservation} from '../../models/image.ts'
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
} from '../records.ts'
import type {StateStore} from '../state-store.ts'
import {SqliteClaims} from './claims.ts'
import type {SqliteConnection} from './connection.ts'
import {SqliteInventory} from './inventory.ts'
import {SqliteReports} from './reports.ts'

export class SqliteStateStore implements StateStore {
  readonly #c: SqliteConnection
  readonly #inventory: SqliteInventory
  readonly #claims: SqliteClaims
  readonly #reports: SqliteReports

  /** Use `openStateStore`. */
  constructor(connection: SqliteConnection) {
    this.#c = connection
    this.#inventory = new SqliteInventory(connection)
    this.#claims = new SqliteClaims(connection)
    this.#reports = new SqliteReports(connection)
  }

  get path(): string {
    return this.#c.path
  }
  /** The open connection (for test/helpers/sqlite-store-reads.ts). */
  get connection(): SqliteConnection {
    return this.#c
  }
  now(): number {
    return this.#c.now()
  }
  close(): void {
    this.#c.close()
  }
  dataVersion(): number {
    return this.#c.dataVersion()
  }

  beginRun(command: string): string {
    return this.#inventory.beginRun(command)
  }
  finishRun(runId: string, outcome: RunOutcome, counts?: Record<string, number>): void {
    this.#inventory.finishRun(runId, outcome, counts)
  }
  getRun(runId: string): RunRecord | undefined {
    return this.#inventory.getRun(runId)
  }
  recordObservations(runId: string, target: string, observations: readonly ImageObservation[], options?: RecordObservationsOptions): ObservationResult {
    return this.#inventory.recordObservations(runId, target, observations, options)
  }
  prunePlacements(target: string, listStartedAt: number): number {
    return this.#inventory.prunePlacements(target, listStartedAt)
  }
  forgetPod(target: string, namespace: string, pod: string): number {
    return this.#inventory.forgetPod(target, namespace, pod)
  }
  forgetPlacementsSeenBefore(cutoff: number): number {
    return this.#inventory.forgetPlacementsSeenBefore(cutoff)
  }

  claim(key: string, options: ClaimOptions): ClaimResult {
    return this.#claims.claim(key, options)
  }
  claimMany(keys: readonly string[], options: ClaimOptions): Map<string, ClaimResult> {
    return this.#claims.claimMany(keys, options)
  }
  markSubmitting(key: string, runId: string, options?: {leaseMs?: number}): boolean {
    return this.#claims.markSubmitting(key, runId, options)
  }
  extendClaims(runId: string, leaseMs: number): number {
    return this.#claims.extendClaims(runId, leaseMs)
  }
  claimHolders(): ClaimHolderRecord[] {
    return this.#claims.claimHolders()
  }
  claimedKeys(runId: string): string[] {
    return this.#claims.claimedKeys(runId)
  }
  release(key: string, runId: string): boolean {
    return this.#claims.release(key, runId)
  }
  releaseAll(runId: string): number {
    return this.#claims.releaseAll(runId)
  }
  recordSubmitted(key: string, runId: string, details: SubmittedDetails): void {
    this.#claims.recordSubmitted(key, runId, details)
  }
  recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): void {
    this.#claims.recordMonitored(key, details)
  }
  recordFailed(key: string, runId: string, details: FailureDetails): void {
    this.#claims.recordFailed(key, runId, details)
  }
  recordSkipped(key: string, runId: string, details: SkipDetails): void {
    this.#claims.recordSkipped(key, runId, details)
  }
  persistQueue(keys: readonly string[], runId: string): number {
    return this.#claims.persistQueue(keys, runId)
  }
  pendingWork(): PendingWork[] {
    return this.#claims.pendingWork()
  }

  recordIssueCounts(counts: readonly ProjectIssueCounts[]): void {
    this.#reports.recordIssueCounts(counts)
  }
  getSubmission(key: string): SubmissionRecord | undefined {
    return this.#reports.getSubmission(key)
  }

  getSubmissions(keys: readonly string[]): Map<string, SubmissionRecord> {
    return this.#reports.getSubmissions(keys)
  }
  visitImageSummaries(filter: ListImagesFilter, visit: (images: ImageSummary[]) => void, chunkSize?: number): void {
    this.#reports.visitImageSummaries(filter, visit, chunkSize)
  }
}
