// The PostgreSQL state store: the StateStore of a fleet, shared by every process pointed at the same database
// (`--state postgres://...`). The same three parts as the SQLite store (inventory, claims and outcomes, reports)
// over one small pool; `dataVersion` counts the change notifications the schema's triggers send (LISTEN), so a
// live view learns of another process's commit without polling the tables.
import pg from 'pg'
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
import {PostgresClaims} from './claims.ts'
import {openPostgresConnection, translatePostgresError, type PostgresConnection, type PostgresStoreOptions} from './connection.ts'
import {PostgresInventory} from './inventory.ts'
import {PostgresReports} from './reports.ts'
import {changesChannel} from './schema.ts'

/** Opens the store at `url` (creating its tables on first use). @throws StateStoreError when the database cannot be used. */
export async function openPostgresStateStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStateStore> {
  return new PostgresStateStore(await openPostgresConnection(url, options))
}

export class PostgresStateStore implements StateStore {
  readonly #c: PostgresConnection
  readonly #inventory: PostgresInventory
  readonly #claims: PostgresClaims
  readonly #reports: PostgresReports
  #listener: Promise<pg.Client> | undefined
  #changes = 0

  /** Use `openPostgresStateStore`. */
  constructor(connection: PostgresConnection) {
    this.#c = connection
    this.#inventory = new PostgresInventory(connection)
    this.#claims = new PostgresClaims(connection)
    this.#reports = new PostgresReports(connection)
  }

  /** The database's URL with the password masked. */
  get path(): string {
    return this.#c.path
  }
  now(): Promise<number> {
    return this.#c.now()
  }
  async close(): Promise<void> {
    const listener = this.#listener
    this.#listener = undefined
    if (listener !== undefined) await listener.then((client) => client.end()).catch(() => {})
    await this.#c.close()
  }

  /**
   * How many change notifications arrived since the first call (which starts listening). A lost listening
   * connection counts as a change (what happened meanwhile is unknown) and the next call listens again.
   */
  async dataVersion(): Promise<number> {
    if (this.#listener === undefined) {
      const listener = this.#listen()
      this.#listener = listener
      listener.catch(() => {
        if (this.#listener === listener) this.#listener = undefined
      })
    }
    await this.#listener
    return this.#changes
  }

  async #listen(): Promise<pg.Client> {
    const client = new pg.Client({connectionString: this.#c.connectionString, application_name: 'kubectl-snyk-watch (live view)'})
    const lost = () => {
      this.#changes++
      this.#listener = undefined
      client.end().catch(() => {})
    }
    client.on('notification', (message) => {
      if (message.channel === changesChannel) this.#changes++
    })
    client.on('error', lost)
    client.on('end', () => {
      if (this.#listener !== undefined) lost()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${changesChannel}`)
    } catch (error) {
      await client.end().catch(() => {})
      throw translatePostgresError(error, this.#c.connectionString)
    }
    return client
  }

  beginRun(command: string): Promise<string> {
    return this.#inventory.beginRun(command)
  }
  finishRun(runId: string, outcome: RunOutcome, counts?: Record<string, number>): Promise<void> {
    return this.#inventory.finishRun(runId, outcome, counts)
  }
  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#inventory.getRun(runId)
  }
  recordObservations(runId: string, target: string, observations: readonly ImageObservation[], options?: RecordObservationsOptions): Promise<ObservationResult> {
    return this.#inventory.recordObservations(runId, target, observations, options)
  }
  prunePlacements(target: string, listStartedAt: number): Promise<number> {
    return this.#inventory.prunePlacements(target, listStartedAt)
  }
  forgetPod(target: string, namespace: string, pod: string): Promise<number> {
    return this.#inventory.forgetPod(target, namespace, pod)
  }
  forgetPlacementsSeenBefore(cutoff: number): Promise<number> {
    return this.#inventory.forgetPlacementsSeenBefore(cutoff)
  }

  claim(key: string, options: ClaimOptions): Promise<ClaimResult> {
    return this.#claims.claim(key, options)
  }
  claimMany(keys: readonly string[], options: ClaimOptions): Promise<Map<string, ClaimResult>> {
    return this.#claims.claimMany(keys, options)
  }
  markSubmitting(key: string, runId: string, options?: {leaseMs?: number}): Promise<boolean> {
    return this.#claims.markSubmitting(key, runId, options)
  }
  extendClaims(runId: string, leaseMs: number): Promise<number> {
    return this.#claims.extendClaims(runId, leaseMs)
  }
  claimHolders(): Promise<ClaimHolderRecord[]> {
    return this.#claims.claimHolders()
  }
  claimedKeys(runId: string): Promise<string[]> {
    return this.#claims.claimedKeys(runId)
  }
  release(key: string, runId: string): Promise<boolean> {
    return this.#claims.release(key, runId)
  }
  releaseAll(runId: string): Promise<number> {
    return this.#claims.releaseAll(runId)
  }
  recordSubmitted(key: string, runId: string, details: SubmittedDetails): Promise<void> {
    return this.#claims.recordSubmitted(key, runId, details)
  }
  recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): Promise<void> {
    return this.#claims.recordMonitored(key, details)
  }
  recordFailed(key: string, runId: string, details: FailureDetails): Promise<void> {
    return this.#claims.recordFailed(key, runId, details)
  }
  recordSkipped(key: string, runId: string, details: SkipDetails): Promise<void> {
    return this.#claims.recordSkipped(key, runId, details)
  }
  persistQueue(keys: readonly string[], runId: string): Promise<number> {
    return this.#claims.persistQueue(keys, runId)
  }
  pendingWork(): Promise<PendingWork[]> {
    return this.#claims.pendingWork()
  }

  recordIssueCounts(counts: readonly ProjectIssueCounts[]): Promise<void> {
    return this.#reports.recordIssueCounts(counts)
  }
  getSubmission(key: string): Promise<SubmissionRecord | undefined> {
    return this.#reports.getSubmission(key)
  }

  getSubmissions(keys: readonly string[]): Promise<Map<string, SubmissionRecord>> {
    return this.#reports.getSubmissions(keys)
  }
  visitImageSummaries(filter: ListImagesFilter, visit: (images: ImageSummary[]) => void, chunkSize?: number): Promise<void> {
    return this.#reports.visitImageSummaries(filter, visit, chunkSize)
  }
}
