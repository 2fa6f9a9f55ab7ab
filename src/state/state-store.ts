// The embedded state store: which images were found where, and how their submission to Snyk went.
// SQLite through node:sqlite (no native build), WAL, one BEGIN IMMEDIATE transaction per multi-row change, so a
// run killed at any point leaves a consistent file and two overlapping runs never claim the same image.
//
// node:sqlite prints an ExperimentalWarning on Node 22 when it is first loaded. It is loaded lazily, by
// `openStateStore`, so importing this module (for types or `defaultStatePath`) prints nothing; bin/run.js
// filters the warning for the CLI, and tests tolerate it.
import {randomUUID} from 'node:crypto'
import {closeSync, mkdirSync, openSync} from 'node:fs'
import {homedir, hostname} from 'node:os'
import path from 'node:path'
import type {DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync} from 'node:sqlite'
import {BugError} from '../errors.ts'
import type {ContainerKind, ImageObservation, ImageRef} from '../models/image.ts'
import {imageKey, tagName} from './image-key.ts'
import {latestSchemaVersion, migrate, schemaVersion} from './migrations.ts'
import type {
  ClaimHolderRecord,
  ClaimOptions,
  ClaimResult,
  DriftEvent,
  FailureDetails,
  ImageListing,
  ImageSummary,
  IssueCounts,
  ListImagesFilter,
  ObservationResult,
  PendingWork,
  Placement,
  PlacementSummary,
  ProjectIssueCounts,
  RecordObservationsOptions,
  RunOutcome,
  RunRecord,
  SkipDetails,
  SnykProjectRef,
  SubmissionRecord,
  SubmissionState,
  SubmissionSummary,
  SubmittedDetails,
} from './records.ts'
import {redactSecrets} from './redact-secrets.ts'
import {StateStoreError, translateSqliteError} from './state-store-error.ts'

export interface StateStoreOptions {
  /** Milliseconds since the epoch; default `Date.now`. Every time the store writes or compares comes from it. */
  clock?: () => number
  /** How long a write waits for another process's write lock before failing with STATE_STORE_BUSY; default 5000. */
  busyTimeoutMs?: number
}

/** `$XDG_STATE_HOME/kubectl-snyk-watch/state.db`, else `~/.local/state/kubectl-snyk-watch/state.db`. */
export function defaultStatePath(env: NodeJS.ProcessEnv = process.env, home: string = env['HOME'] ?? homedir()): string {
  const xdg = env['XDG_STATE_HOME']
  // The XDG spec says a relative path is invalid and must be ignored.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, '.local', 'state')
  return path.join(base, 'kubectl-snyk-watch', 'state.db')
}

/**
 * Opens (creating it if needed) the state database at `file`, or `:memory:`. New directories get mode 0700, a
 * new file 0600 (SQLite gives its -wal and -shm files the same mode). Applies pending schema migrations.
 * @throws StateStoreError when the file was written by a newer version, is not a state database, or cannot be written.
 */
export function openStateStore(file: string, options: StateStoreOptions = {}): StateStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new TypeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`)
  const {DatabaseSync} = loadSqlite(file)
  if (file !== ':memory:') createPrivateFile(file)
  let db: DatabaseSync
  try {
    db = new DatabaseSync(file, {timeout: busyTimeoutMs, enableForeignKeyConstraints: true})
  } catch (error) {
    throw translateSqliteError(error, file)
  }
  try {
    db.exec('PRAGMA journal_mode = WAL')
    // In WAL mode NORMAL never corrupts the file; a power loss (not a process crash) may lose the last commits.
    db.exec('PRAGMA synchronous = NORMAL')
    db.exec('PRAGMA foreign_keys = ON')
    const version = schemaVersion(db)
    if (version > latestSchemaVersion) {
      throw new StateStoreError(`the state database ${file} has schema version ${version}, written by a newer kubectl-snyk-watch; this version understands up to ${latestSchemaVersion}`, {
        code: 'STATE_STORE_TOO_NEW',
        path: file,
        suggestions: ['upgrade kubectl-snyk-watch (kubectl krew upgrade snyk-watch, or npm install -g kubectl-snyk-watch@latest)', 'or point --state at another file'],
      })
    }
    migrate(db)
  } catch (error) {
    db.close()
    throw translateSqliteError(error, file)
  }
  return new StateStore(db, file, options.clock ?? Date.now)
}

/**
 * node:sqlite, loaded on first use. Needs Node.js 22.16 or later: the busy timeout option and array rows
 * (`setReturnArrays`) appeared there; before 22.13 the module also needed a flag.
 */
function loadSqlite(file: string): typeof import('node:sqlite') {
  const sqlite = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite') | undefined
  if (sqlite === undefined || typeof sqlite.StatementSync.prototype.setReturnArrays !== 'function') {
    throw new StateStoreError(`the state store needs Node.js 22.16 or later with node:sqlite; this is Node.js ${process.version}`, {
      code: 'STATE_STORE_UNSUPPORTED_RUNTIME',
      path: file,
      suggestions: ['upgrade Node.js to 22.16 or later', 'or install the single-executable build (kubectl krew install snyk-watch), which bundles its own Node.js'],
    })
  }
  return sqlite
}

function createPrivateFile(file: string): void {
  try {
    mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
    closeSync(openSync(file, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw new StateStoreError(`cannot create the state database ${file}: ${(error as Error).message}`, {
      code: 'STATE_STORE_UNWRITABLE',
      path: file,
      cause: error,
      suggestions: ['check that the directory is writable by this user', 'or point --state at a writable location'],
    })
  }
}

type Row = Record<string, SQLOutputValue>

function text(row: Row, column: string): string {
  const value = row[column]
  if (typeof value !== 'string') throw new BugError(`state column ${column}: expected text, got ${value === null ? 'null' : typeof value}`)
  return value
}

function optionalText(row: Row, column: string): string | undefined {
  const value = row[column]
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string') throw new BugError(`state column ${column}: expected text, got ${typeof value}`)
  return value
}

function integer(row: Row, column: string): number {
  const value = row[column]
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  throw new BugError(`state column ${column}: expected a number, got ${value === null ? 'null' : typeof value}`)
}

function optionalInteger(row: Row, column: string): number | undefined {
  const value = row[column]
  return value === null || value === undefined ? undefined : integer(row, column)
}

function imageRefOf(row: Row): ImageRef {
  const image: ImageRef = {registry: text(row, 'registry'), repository: text(row, 'repository')}
  const tag = optionalText(row, 'tag')
  const digest = optionalText(row, 'digest')
  if (tag !== undefined) image.tag = tag
  if (digest !== undefined) image.digest = digest
  return image
}

/** `positive`: a finite duration > 0 (a lease); otherwise any duration >= 0, Infinity included (never). */
function requireDuration(name: string, value: number, {positive}: {positive: boolean}): void {
  const valid = typeof value === 'number' && (positive ? Number.isFinite(value) && value > 0 : value >= 0)
  if (!valid) throw new TypeError(`${name} must be a ${positive ? 'positive, finite' : 'non-negative'} number of milliseconds, got ${String(value)}`)
}

const runOutcomes: readonly RunOutcome[] = ['succeeded', 'partial', 'failed', 'interrupted']

// Column lists in the order rows are read as arrays. Each list starts with the columns a report needs
// (`listImageSummaries`), so a summary reads a prefix of the full list: fewer values cross from SQLite to
// JavaScript, which is what reading 20,000 images costs most.
const submissionColumnList = [
  'state',
  'updated_at',
  'submitted_at',
  'monitored_at',
  'last_error',
  'error_retryable',
  'skip_reason',
  'skip_fix',
  // The rest only in full detail.
  'attempts',
  'integration_id',
  'integration_type',
  'target_name',
  'job_url',
  'claimed_by',
  'claim_expires_at',
] as const
const submissionSummaryColumnCount = 8
const submissionColumns = submissionColumnList.map((column) => `s.${column}`).join(', ')

const placementColumns = ['image_id', 'target', 'cluster', 'namespace', 'workload_kind', 'workload_name', 'fips_annotation', 'pod', 'container', 'container_kind', 'reference', 'last_seen', 'run_id'] as const
const placementSummaryColumnCount = 7
const imageColumns = ['id', 'key', 'registry', 'repository', 'tag', 'digest', 'first_seen', 'last_seen'] as const
const imageSummaryColumnCount = 6

/** Column name -> index in a row read as an array. */
function columnIndex<const C extends string>(columns: readonly C[]): Record<C, number> {
  return Object.fromEntries(columns.map((column, index) => [column, index])) as Record<C, number>
}
const PL = columnIndex(placementColumns)
const IM = columnIndex(imageColumns)
const SU = columnIndex(submissionColumnList)

// Array rows: STRICT tables guarantee each column's type, so values are read with casts, not conversions.

/** The submission in an array row whose `submissionColumns` start at `offset`; undefined when `state` is null (never claimed). */
function submissionSummaryAt(row: readonly SQLOutputValue[], offset: number, projects: SnykProjectRef[]): SubmissionSummary | undefined {
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
function submissionAt(row: readonly SQLOutputValue[], offset: number, projects: SnykProjectRef[]): SubmissionRecord | undefined {
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
function projectsOf(rows: readonly SQLOutputValue[][]): Map<number, {refs: SnykProjectRef[]; issues?: IssueCounts & {updatedAt: number}}> {
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

function projectOf(row: Row): SnykProjectRef {
  const project: SnykProjectRef = {id: text(row, 'id')}
  const name = optionalText(row, 'name')
  const url = optionalText(row, 'url')
  if (name !== undefined) project.name = name
  if (url !== undefined) project.url = url
  return project
}

/** SET clauses of an outcome upsert: drop the claim when the run recording the outcome holds it (another live run's claim stays). */
const releaseIfHeld = `claimed_by = CASE WHEN claimed_by = excluded.updated_by THEN NULL ELSE claimed_by END,
  claim_expires_at = CASE WHEN claimed_by = excluded.updated_by THEN NULL ELSE claim_expires_at END`

/** The state store. Synchronous: every method returns once its change is committed. One instance per process. */
export class StateStore {
  /** The database file (or `:memory:`). */
  readonly path: string
  readonly #db: DatabaseSync
  readonly #clock: () => number
  readonly #statements = new Map<string, StatementSync>()
  readonly #arrayStatements = new Map<string, StatementSync>()

  /** Use `openStateStore`. */
  constructor(db: DatabaseSync, file: string, clock: () => number) {
    this.#db = db
    this.path = file
    this.#clock = clock
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    return schemaVersion(this.#db)
  }

  // ---- runs ----

  /** Records the start of a run and returns its id (a UUID), used to claim images and attribute placements. */
  beginRun(command: string): string {
    const id = randomUUID()
    this.#run('INSERT INTO runs (id, command, pid, host, started_at) VALUES (?, ?, ?, ?, ?)', id, command, process.pid, hostname(), this.#now())
    return id
  }

  /** Records how a run ended. Claims it still holds are released (back to `queued`), so the next run takes them at once. */
  finishRun(runId: string, outcome: RunOutcome, counts: Record<string, number> = {}): void {
    if (!runOutcomes.includes(outcome)) throw new TypeError(`outcome must be one of ${runOutcomes.join(', ')}, got ${String(outcome)}`)
    const now = this.#now()
    this.#write(() => {
      const {changes} = this.#statement('UPDATE runs SET finished_at = ?, outcome = ?, counts = ? WHERE id = ?').run(now, outcome, JSON.stringify(counts), runId)
      if (Number(changes) === 0) throw new BugError(`finishRun: unknown run ${runId}`)
      this.#releaseAll(runId, now)
    })
  }

  getRun(runId: string): RunRecord | undefined {
    const row = this.#statement('SELECT * FROM runs WHERE id = ?').get(runId)
    return row === undefined ? undefined : runOf(row)
  }

  /** The most recently started run, of `command` if given. */
  lastRun(command?: string): RunRecord | undefined {
    const row =
      command === undefined
        ? this.#statement('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1').get()
        : this.#statement('SELECT * FROM runs WHERE command = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(command)
    return row === undefined ? undefined : runOf(row)
  }

  // ---- observations ----

  /**
   * Records what a pod source found in `target`, in one transaction: upserts the images, and the target's
   * placements (by default replacing all of the target's previous placements: pass its complete listing, an
   * empty one when it runs nothing). Returns the image keys to claim and the tags that moved to a new digest.
   */
  recordObservations(runId: string, target: string, observations: readonly ImageObservation[], options: RecordObservationsOptions = {}): ObservationResult {
    const mode = options.mode ?? 'replace'
    for (const observation of observations) {
      if (observation.target !== target) throw new BugError(`recordObservations(${target}): got an observation of target ${observation.target}`)
    }
    const now = this.#now()
    return this.#write(() => {
      const imageKeys: string[] = []
      const newImageKeys: string[] = []
      const drift: DriftEvent[] = []
      const ids = new Map<string, number>()
      if (mode === 'replace') this.#statement('DELETE FROM placements WHERE target = ?').run(target)
      const findImage = this.#statement('SELECT id FROM images WHERE key = ?')
      const insertImage = this.#statement('INSERT INTO images (key, registry, repository, tag, digest, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id')
      const touchImage = this.#statement('UPDATE images SET last_seen = ? WHERE id = ?')
      const touchTag = this.#statement('UPDATE tag_digests SET last_seen = ? WHERE tag = ? AND digest = ?')
      const previousDigest = this.#statement('SELECT digest FROM tag_digests WHERE tag = ? ORDER BY last_seen DESC, first_seen DESC LIMIT 1')
      const insertTag = this.#statement('INSERT INTO tag_digests (tag, digest, first_seen, last_seen) VALUES (?, ?, ?, ?)')
      const upsertPlacement = this.#statement(`
        INSERT INTO placements (target, namespace, pod, container_kind, container, cluster, workload_kind, workload_name, reference, image_id, last_seen, run_id, fips_annotation)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (target, namespace, pod, container_kind, container) DO UPDATE SET
          cluster = excluded.cluster, workload_kind = excluded.workload_kind, workload_name = excluded.workload_name,
          reference = excluded.reference, image_id = excluded.image_id, last_seen = excluded.last_seen, run_id = excluded.run_id,
          fips_annotation = excluded.fips_annotation`)
      for (const observation of observations) {
        const {image} = observation
        const digest = observation.runningDigest ?? image.digest
        const key = imageKey(image, observation.runningDigest)
        let id = ids.get(key)
        if (id === undefined) {
          imageKeys.push(key)
          const existing = findImage.get(key)
          if (existing === undefined) {
            const inserted = insertImage.get(key, image.registry, image.repository, image.tag ?? null, digest ?? null, now, now)
            if (inserted === undefined) throw new BugError(`recordObservations: no id for new image ${key}`)
            id = integer(inserted, 'id')
            newImageKeys.push(key)
          } else {
            id = integer(existing, 'id')
            touchImage.run(now, id)
          }
          ids.set(key, id)
          const tag = tagName(image)
          if (tag !== undefined && digest !== undefined && Number(touchTag.run(now, tag, digest).changes) === 0) {
            const previous = previousDigest.get(tag)
            insertTag.run(tag, digest, now, now)
            if (previous !== undefined) drift.push({tag, previousDigest: text(previous, 'digest'), digest, imageKey: key})
          }
        }
        upsertPlacement.run(
          target,
          observation.namespace,
          observation.pod,
          observation.containerKind,
          observation.container,
          observation.cluster,
          observation.workload.kind,
          observation.workload.name,
          observation.reference,
          id,
          now,
          runId,
          observation.fipsAnnotation === undefined ? null : observation.fipsAnnotation ? 1 : 0,
        )
      }
      return {imageKeys, newImageKeys, drift}
    })
  }

  /**
   * Ends a (re)list recorded page by page with `merge`: removes the target's placements not seen since
   * `listStartedAt` (from `now()`), so the target's placements are exactly its listing. Returns how many were removed.
   */
  prunePlacements(target: string, listStartedAt: number): number {
    return Number(this.#run('DELETE FROM placements WHERE target = ? AND last_seen < ?', target, listStartedAt).changes)
  }

  /** The store's clock (ms since the epoch). */
  now(): number {
    return this.#now()
  }

  /** Removes a deleted pod's placements (a watch DELETED event). Returns how many were removed. */
  forgetPod(target: string, namespace: string, pod: string): number {
    return Number(this.#run('DELETE FROM placements WHERE target = ? AND namespace = ? AND pod = ?', target, namespace, pod).changes)
  }

  // ---- claims ----

  /**
   * Decides atomically whether run `options.runId` should submit image `key`, and if so records the claim
   * (state `queued`). Not claimed: when another run (or this one) holds an unexpired claim, when it was
   * submitted less than `resubmitAfterMs` ago, or when this same run already recorded it failed or skipped.
   * An expired claim (its run crashed or was killed) is taken over.
   */
  claim(key: string, options: ClaimOptions): ClaimResult {
    const result = this.claimMany([key], options).get(key)
    if (result === undefined) throw new BugError(`claim(${key}): no result`)
    return result
  }

  /** `claim` for many keys in one transaction (a sync's whole listing): one commit instead of one per image. */
  claimMany(keys: readonly string[], options: ClaimOptions): Map<string, ClaimResult> {
    requireDuration('resubmitAfterMs', options.resubmitAfterMs, {positive: false})
    requireDuration('leaseMs', options.leaseMs, {positive: true})
    if (options.retryAfterMs !== undefined) requireDuration('retryAfterMs', options.retryAfterMs, {positive: false})
    const results = new Map<string, ClaimResult>()
    this.#write(() => {
      // Read the clock once the write lock is held: waiting for it must not make a lease look younger than it is.
      const now = options.now === undefined ? this.#now() : Math.floor(options.now)
      for (const key of keys) if (!results.has(key)) results.set(key, this.#claimOne(key, options, now))
    })
    return results
  }

  #claimOne(key: string, options: ClaimOptions, now: number): ClaimResult {
    const row = this.#statement(`
      SELECT i.id, s.state, s.submitted_at, s.claimed_by, s.claim_expires_at, s.updated_at, s.updated_by
      FROM images i LEFT JOIN submissions s ON s.image_id = i.id WHERE i.key = ?`).get(key)
    if (row === undefined) throw new BugError(`claim: unknown image ${key}; record its observation first`)
    const id = integer(row, 'id')
    const expiresAt = now + options.leaseMs
    const state = optionalText(row, 'state') as SubmissionState | undefined
    if (state === undefined) {
      this.#statement(`INSERT INTO submissions (image_id, state, claimed_by, claim_expires_at, updated_at, updated_by) VALUES (?, 'queued', ?, ?, ?, ?)`).run(
        id,
        options.runId,
        expiresAt,
        now,
        options.runId,
      )
      return {claimed: true}
    }
    const holder = optionalText(row, 'claimed_by')
    const holderExpiresAt = optionalInteger(row, 'claim_expires_at') ?? 0
    if (holder !== undefined && holderExpiresAt > now) return {claimed: false, reason: 'in-flight', heldBy: holder, expiresAt: holderExpiresAt}
    const submittedAt = optionalInteger(row, 'submitted_at')
    if ((state === 'submitted' || state === 'monitored') && submittedAt !== undefined && now < submittedAt + options.resubmitAfterMs) {
      return {claimed: false, reason: 'recent', submittedAt, resubmitAt: submittedAt + options.resubmitAfterMs}
    }
    if ((state === 'failed' || state === 'skipped') && optionalText(row, 'updated_by') === options.runId) {
      const at = integer(row, 'updated_at')
      if (options.retryAfterMs === undefined || now < at + options.retryAfterMs) return {claimed: false, reason: state === 'failed' ? 'failed-recently' : 'skipped-recently', at}
    }
    this.#statement(`UPDATE submissions SET state = 'queued', claimed_by = ?, claim_expires_at = ?, updated_at = ?, updated_by = ? WHERE image_id = ?`).run(
      options.runId,
      expiresAt,
      now,
      options.runId,
      id,
    )
    const result: Extract<ClaimResult, {claimed: true}> = {claimed: true, previousState: state}
    if (holder !== undefined && holder !== options.runId) result.takenOverFrom = holder
    return result
  }

  /**
   * The last check before sending the import request: marks the image `submitting` and counts the attempt,
   * only if `runId` still holds the claim (renewing it for `leaseMs` if given). False: the claim was lost
   * (expired and taken over by another run); do not send.
   */
  markSubmitting(key: string, runId: string, options: {leaseMs?: number} = {}): boolean {
    if (options.leaseMs !== undefined) requireDuration('leaseMs', options.leaseMs, {positive: true})
    const now = this.#now()
    const expiresAt = options.leaseMs === undefined ? null : now + options.leaseMs
    const {changes} = this.#run(
      `UPDATE submissions SET state = 'submitting', attempts = attempts + 1, claim_expires_at = coalesce(?, claim_expires_at), updated_at = ?
       WHERE image_id = (SELECT id FROM images WHERE key = ?) AND claimed_by = ?`,
      expiresAt,
      now,
      key,
      runId,
    )
    return Number(changes) > 0
  }

  /** Renews every claim `runId` holds for another `leaseMs` (a heartbeat for long imports or a long queue). Returns how many. */
  extendClaims(runId: string, leaseMs: number): number {
    requireDuration('leaseMs', leaseMs, {positive: true})
    return Number(this.#run('UPDATE submissions SET claim_expires_at = ? WHERE claimed_by = ?', this.#now() + leaseMs, runId).changes)
  }

  /** Every run holding claims now (expired or not): how many and until when (the latest expiry). Oldest holder first. */
  claimHolders(): ClaimHolderRecord[] {
    return this.#statement(`
      SELECT claimed_by, count(*) AS claims, max(claim_expires_at) AS expires_at FROM submissions
      WHERE claimed_by IS NOT NULL GROUP BY claimed_by ORDER BY min(updated_at), claimed_by`).all().map((row) => ({runId: text(row, 'claimed_by'), claims: integer(row, 'claims'), expiresAt: optionalInteger(row, 'expires_at') ?? 0}))
  }

  /** The keys `runId` holds a claim on, sorted. */
  claimedKeys(runId: string): string[] {
    return this.#statement('SELECT i.key FROM submissions s JOIN images i ON i.id = s.image_id WHERE s.claimed_by = ? ORDER BY i.key').all(runId).map((row) => text(row, 'key'))
  }

  /** Gives back `runId`'s claim on `key` (interrupted before it finished): back to `queued` for the next run at once. */
  release(key: string, runId: string): boolean {
    const now = this.#now()
    const {changes} = this.#run(
      `UPDATE submissions SET state = CASE WHEN state IN ('queued', 'submitting') THEN 'queued' ELSE state END,
         claimed_by = NULL, claim_expires_at = NULL, updated_at = ? WHERE image_id = (SELECT id FROM images WHERE key = ?) AND claimed_by = ?`,
      now,
      key,
      runId,
    )
    return Number(changes) > 0
  }

  /** Gives back every claim `runId` holds. Returns how many. */
  releaseAll(runId: string): number {
    const now = this.#now()
    return this.#write(() => this.#releaseAll(runId, now))
  }

  #releaseAll(runId: string, now: number): number {
    return Number(
      this.#statement(
        `UPDATE submissions SET state = CASE WHEN state IN ('queued', 'submitting') THEN 'queued' ELSE state END,
           claimed_by = NULL, claim_expires_at = NULL, updated_at = ? WHERE claimed_by = ?`,
      ).run(now, runId).changes,
    )
  }

  // ---- outcomes ----

  /** Snyk accepted the import: state `submitted`, and `runId`'s claim is released. */
  recordSubmitted(key: string, runId: string, details: SubmittedDetails): void {
    this.#recordOutcome(
      'recordSubmitted',
      `INSERT INTO submissions (image_id, state, attempts, integration_id, integration_type, target_name, job_url, submitted_at, updated_at, updated_by)
       SELECT id, 'submitted', 1, :integrationId, :integrationType, :targetName, :jobUrl, :now, :now, :runId FROM images WHERE key = :key
       ON CONFLICT (image_id) DO UPDATE SET state = 'submitted', integration_id = excluded.integration_id, integration_type = excluded.integration_type,
         target_name = excluded.target_name, job_url = excluded.job_url, submitted_at = excluded.submitted_at,
         last_error = NULL, error_retryable = NULL, skip_reason = NULL, skip_fix = NULL,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      {key, runId, now: this.#now(), integrationId: details.integrationId, integrationType: details.integrationType, targetName: details.targetName, jobUrl: details.jobUrl},
    )
  }

  /** The import job completed: state `monitored`, with the Snyk projects it created (replacing those recorded before). */
  recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): void {
    const now = this.#now()
    this.#write(() => {
      const row = this.#statement(`
        UPDATE submissions SET state = 'monitored', monitored_at = ?, last_error = NULL, error_retryable = NULL, updated_at = ?
        WHERE image_id = (SELECT id FROM images WHERE key = ?) RETURNING image_id`).get(now, now, key)
      if (row === undefined) throw new BugError(`recordMonitored: ${key} was never submitted`)
      const id = integer(row, 'image_id')
      this.#statement('DELETE FROM projects WHERE image_id = ?').run(id)
      const upsert = this.#statement(`
        INSERT INTO projects (id, image_id, name, url, recorded_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET image_id = excluded.image_id, name = excluded.name, url = excluded.url, recorded_at = excluded.recorded_at`)
      for (const project of details.projects) upsert.run(project.id, id, project.name ?? null, project.url ?? null, now)
    })
  }

  /** The submission failed: state `failed` (retried by the next run), and `runId`'s claim is released. */
  recordFailed(key: string, runId: string, details: FailureDetails): void {
    this.#recordOutcome(
      'recordFailed',
      `INSERT INTO submissions (image_id, state, last_error, error_retryable, updated_at, updated_by)
       SELECT id, 'failed', :error, :retryable, :now, :runId FROM images WHERE key = :key
       ON CONFLICT (image_id) DO UPDATE SET state = 'failed', last_error = excluded.last_error, error_retryable = excluded.error_retryable,
         skip_reason = NULL, skip_fix = NULL, updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      {key, runId, now: this.#now(), error: redactSecrets(details.error), retryable: details.retryable ? 1 : 0},
    )
  }

  /** Not submitted on purpose: state `skipped` with the reason and the fix (reconsidered by the next run); `runId`'s claim is released. */
  recordSkipped(key: string, runId: string, details: SkipDetails): void {
    this.#recordOutcome(
      'recordSkipped',
      `INSERT INTO submissions (image_id, state, skip_reason, skip_fix, updated_at, updated_by)
       SELECT id, 'skipped', :reason, :fix, :now, :runId FROM images WHERE key = :key
       ON CONFLICT (image_id) DO UPDATE SET state = 'skipped', skip_reason = excluded.skip_reason, skip_fix = excluded.skip_fix,
         last_error = NULL, error_retryable = NULL, updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      {key, runId, now: this.#now(), reason: redactSecrets(details.reason), fix: redactSecrets(details.fix)},
    )
  }

  #recordOutcome(method: string, sql: string, params: Record<string, SQLInputValue>): void {
    if (Number(this.#run(sql, params).changes) === 0) throw new BugError(`${method}: unknown image ${String(params['key'])}; record its observation first`)
  }

  // ---- resume ----

  /**
   * `watch`'s shutdown: stores `keys` (still queued in memory) as `queued` without a claim, so the next start
   * resumes them at once. Keys another live run holds, and keys already submitted or monitored (and not
   * claimed), are left alone. Returns how many were stored.
   */
  persistQueue(keys: readonly string[], runId: string): number {
    return this.#write(() => {
      const now = this.#now()
      let stored = 0
      const read = this.#statement('SELECT i.id, s.state, s.claimed_by, s.claim_expires_at FROM images i LEFT JOIN submissions s ON s.image_id = i.id WHERE i.key = ?')
      const requeue = this.#statement(`UPDATE submissions SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL, updated_at = ?, updated_by = ? WHERE image_id = ?`)
      for (const key of new Set(keys)) {
        const row = read.get(key)
        if (row === undefined) throw new BugError(`persistQueue: unknown image ${key}`)
        const id = integer(row, 'id')
        const state = optionalText(row, 'state')
        const holder = optionalText(row, 'claimed_by')
        if (state === undefined) {
          this.#statement(`INSERT INTO submissions (image_id, state, updated_at, updated_by) VALUES (?, 'queued', ?, ?)`).run(id, now, runId)
        } else if (holder === runId || (holder === undefined && state !== 'submitted' && state !== 'monitored') || (holder !== undefined && (optionalInteger(row, 'claim_expires_at') ?? 0) <= now)) {
          requeue.run(now, runId, id)
        } else {
          continue
        }
        stored++
      }
      return stored
    })
  }

  /** Images queued or being submitted and not finished: what to resume after a kill or a shutdown. Oldest first. */
  pendingWork(): PendingWork[] {
    const now = this.#now()
    const rows = this.#statement(`
      SELECT i.key, s.state, s.attempts, s.claimed_by, s.claim_expires_at, i.registry, i.repository, i.tag, i.digest
      FROM submissions s JOIN images i ON i.id = s.image_id
      WHERE s.state IN ('queued', 'submitting') ORDER BY s.updated_at, i.key`).all()
    return rows.map((row) => {
      const work: PendingWork = {key: text(row, 'key'), image: imageRefOf(row), state: text(row, 'state') as PendingWork['state'], attempts: integer(row, 'attempts')}
      const holder = optionalText(row, 'claimed_by')
      if (holder !== undefined) {
        const expiresAt = integer(row, 'claim_expires_at')
        work.claim = {runId: holder, expiresAt, expired: expiresAt <= now}
      }
      return work
    })
  }

  // ---- read side (status) ----

  /** Stores issue counts of Snyk projects (any project of the org; those of our images show up in `listImages`), at the time Snyk counted them when given. */
  recordIssueCounts(counts: readonly ProjectIssueCounts[]): void {
    const now = this.#now()
    this.#write(() => {
      const upsert = this.#statement(`
        INSERT INTO issue_counts (project_id, critical, high, medium, low, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (project_id) DO UPDATE SET critical = excluded.critical, high = excluded.high, medium = excluded.medium, low = excluded.low, updated_at = excluded.updated_at`)
      for (const count of counts) upsert.run(count.projectId, count.critical, count.high, count.medium, count.low, count.updatedAt ?? now)
    })
  }

  getSubmission(key: string): SubmissionRecord | undefined {
    const row = this.#arrayStatement(`SELECT s.image_id, ${submissionColumns} FROM submissions s JOIN images i ON i.id = s.image_id WHERE i.key = ?`).get(key) as SQLOutputValue[] | undefined
    if (row === undefined) return undefined
    const projects = this.#statement('SELECT id, name, url FROM projects WHERE image_id = ? ORDER BY id').all(Number(row[0])).map(projectOf)
    return submissionAt(row, 1, projects)
  }

  /**
   * Images with where they run now, their submission, Snyk projects and summed issue counts, ordered by key.
   * Three flat queries (placements; projects with counts; images with submissions) in one read transaction,
   * joined in memory by image id: a constant number of queries whatever the number of images. Rows are read
   * as arrays, which halves node:sqlite's cost per row (20,000 images: see the state store notes).
   */
  listImages(filter: ListImagesFilter = {}): ImageListing[] {
    // Full detail builds every field of ImageListing (see #visit).
    return this.#collect(filter, true) as ImageListing[]
  }

  /**
   * `listImages` for reports (`status`): the same images, filters and order, with where each runs (target,
   * cluster, namespace, workload, FIPS annotation) but not which pod or container, and the submission without
   * its claim and import details. About half the values to read: what `status` over 20,000 images needs.
   */
  listImageSummaries(filter: ListImagesFilter = {}): ImageSummary[] {
    return this.#collect(filter, false)
  }

  /**
   * `listImageSummaries` for a caller that turns each image into something smaller: hands the images to `visit`
   * a chunk at a time (`chunkSize`, default 1,000), ordered by id (the order they were first seen), not by key,
   * all from one read transaction (one snapshot). A chunk's records can be dropped once visited, so memory holds
   * what the caller keeps, not every record at once.
   */
  visitImageSummaries(filter: ListImagesFilter, visit: (images: ImageSummary[]) => void, chunkSize = 1000): void {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError(`chunkSize must be a positive integer, got ${chunkSize}`)
    this.#visit(filter, false, visit, chunkSize)
  }

  /** A cheap number that changes whenever another connection (another process) commits to the store: poll it to see changes. */
  dataVersion(): number {
    try {
      return Number(this.#statement('PRAGMA data_version').get()?.['data_version'])
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
  }

  #collect(filter: ListImagesFilter, full: boolean): ImageSummary[] {
    const all: ImageSummary[] = []
    this.#visit(filter, full, (chunk) => {
      for (const image of chunk) all.push(image)
    }, 1000)
    return all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /**
   * Reads images a chunk at a time in id order: per chunk, one query for the images with their submissions, one
   * for their placements and one for their projects with counts (both by an image id range, through their
   * by-image indexes), joined in memory. A constant number of queries per chunk whatever the number of
   * placements; rows are read as arrays, which halves node:sqlite's cost per row.
   */
  #visit(filter: ListImagesFilter, full: boolean, visit: (images: ImageSummary[]) => void, chunkSize: number): void {
    const placementConditions: string[] = []
    const placementParams: SQLInputValue[] = []
    for (const [column, values] of [['target', filter.targets], ['cluster', filter.clusters], ['namespace', filter.namespaces]] as const) {
      if (values === undefined) continue
      placementConditions.push(`pl.${column} IN (${values.map(() => '?').join(', ')})`)
      placementParams.push(...values)
    }
    const runningOnly = placementConditions.length > 0 || filter.includeNotRunning !== true
    // With a placement filter, images are limited in SQL to those with a matching placement; without one,
    // images not running now are dropped below (cheaper than a subquery per image).
    const imageConditions = placementConditions.length > 0 ? [`EXISTS (SELECT 1 FROM placements pl WHERE pl.image_id = i.id${placementConditions.map((c) => ` AND ${c}`).join('')})`] : []
    const imageParams: SQLInputValue[] = placementConditions.length > 0 ? [...placementParams] : []
    if (filter.states !== undefined) {
      const stateConditions: string[] = []
      const states = filter.states.filter((state) => state !== 'none')
      if (states.length > 0) {
        stateConditions.push(`s.state IN (${states.map(() => '?').join(', ')})`)
        imageParams.push(...states)
      }
      if (filter.states.includes('none')) stateConditions.push('s.state IS NULL')
      if (stateConditions.length === 0) return
      imageConditions.push(`(${stateConditions.join(' OR ')})`)
    }
    const imageSelect = [
      ...(full ? imageColumns : imageColumns.slice(0, imageSummaryColumnCount)).map((c) => `i.${c}`),
      ...(full ? submissionColumnList : submissionColumnList.slice(0, submissionSummaryColumnCount)).map((c) => `s.${c}`),
    ].join(', ')
    const submissionOffset = full ? imageColumns.length : imageSummaryColumnCount
    const imagesQuery = this.#arrayStatement(`
      SELECT ${imageSelect} FROM images i LEFT JOIN submissions s ON s.image_id = i.id
      WHERE i.id > ?${imageConditions.map((c) => ` AND ${c}`).join('')} ORDER BY i.id LIMIT ?`)
    // The summary columns are all in the placements_by_image index (v3): a range of it answers the query.
    const placementsQuery = this.#arrayStatement(`
      SELECT ${(full ? placementColumns : placementColumns.slice(0, placementSummaryColumnCount)).map((c) => `pl.${c}`).join(', ')}
      FROM placements pl WHERE pl.image_id > ? AND pl.image_id <= ?${placementConditions.map((c) => ` AND ${c}`).join('')}`)
    const projectsQuery = this.#arrayStatement(`
      SELECT p.image_id, p.id, p.name, p.url, c.critical, c.high, c.medium, c.low, c.updated_at
      FROM projects p LEFT JOIN issue_counts c ON c.project_id = p.id WHERE p.image_id > ? AND p.image_id <= ?`)

    this.#read(() => {
      for (let after = 0; ;) {
        const rows = imagesQuery.all(after, ...imageParams, chunkSize) as unknown as SQLOutputValue[][]
        if (rows.length === 0) return
        const last = rows[rows.length - 1]![IM.id] as number
        const placements = this.#placementsOf(placementsQuery.all(after, last, ...placementParams) as unknown as SQLOutputValue[][], full)
        const projects = projectsOf(projectsQuery.all(after, last) as unknown as SQLOutputValue[][])
        const chunk: ImageSummary[] = []
        for (const row of rows) {
          const id = row[IM.id] as number
          const where = placements.get(id)
          if (where === undefined && runningOnly) continue
          const image: ImageRef = {registry: row[IM.registry] as string, repository: row[IM.repository] as string}
          if (row[IM.tag] !== null) image.tag = row[IM.tag] as string
          if (row[IM.digest] !== null) image.digest = row[IM.digest] as string
          const listing: ImageSummary = {key: row[IM.key] as string, image, placements: where ?? []}
          const project = projects.get(id)
          const refs = project?.refs ?? []
          const submission = full ? submissionAt(row, submissionOffset, refs) : submissionSummaryAt(row, submissionOffset, refs)
          if (submission !== undefined) listing.submission = submission
          if (project?.issues !== undefined) listing.issues = project.issues
          if (full) {
            const detail = listing as ImageListing
            detail.firstSeen = row[IM.first_seen] as number
            detail.lastSeen = row[IM.last_seen] as number
          }
          chunk.push(listing)
        }
        if (chunk.length > 0) visit(chunk)
        if (rows.length < chunkSize) return
        after = last
      }
    })
  }

  /** Placement rows by image id, in primary-key order within an image (target, namespace, pod, container): the display order. */
  #placementsOf(rows: SQLOutputValue[][], full: boolean): Map<number, PlacementSummary[]> {
    const placements = new Map<number, PlacementSummary[]>()
    for (const row of rows) {
      const id = row[PL.image_id] as number
      let list = placements.get(id)
      if (list === undefined) placements.set(id, (list = []))
      const placement: PlacementSummary = {
        target: row[PL.target] as string,
        cluster: row[PL.cluster] as string,
        namespace: row[PL.namespace] as string,
        workload: {kind: row[PL.workload_kind] as string, name: row[PL.workload_name] as string},
      }
      const fips = row[PL.fips_annotation]
      if (fips !== null) placement.fipsAnnotation = fips === 1
      if (full) {
        const detail = placement as Placement
        detail.pod = row[PL.pod] as string
        detail.container = row[PL.container] as string
        detail.containerKind = row[PL.container_kind] as ContainerKind
        detail.reference = row[PL.reference] as string
        detail.lastSeen = row[PL.last_seen] as number
        detail.runId = row[PL.run_id] as string
      }
      list.push(placement)
    }
    return placements
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }

  // ---- plumbing ----

  #now(): number {
    return Math.floor(this.#clock())
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /** A statement whose rows are arrays of column values, in select-list order. */
  #arrayStatement(sql: string): StatementSync {
    let statement = this.#arrayStatements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      statement.setReturnArrays(true)
      this.#arrayStatements.set(sql, statement)
    }
    return statement
  }

  /** One statement in its own (implicit) transaction. */
  #run(sql: string, ...params: SQLInputValue[] | [Record<string, SQLInputValue>]): {changes: number | bigint} {
    try {
      return this.#statement(sql).run(...(params as SQLInputValue[]))
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
  }

  /** `fn` in a read transaction: its queries see one snapshot, even while other processes write. */
  #read<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn()
    try {
      this.#db.exec('BEGIN')
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
    try {
      return fn()
    } catch (error) {
      throw translateSqliteError(error, this.path)
    } finally {
      if (this.#db.isTransaction) this.#db.exec('COMMIT')
    }
  }

  /** `fn` in a BEGIN IMMEDIATE transaction: takes the write lock up front (waiting up to the busy timeout), so no other process can interleave. */
  #write<T>(fn: () => T): T {
    try {
      this.#db.exec('BEGIN IMMEDIATE')
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
    try {
      const result = fn()
      this.#db.exec('COMMIT')
      return result
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw translateSqliteError(error, this.path)
    }
  }
}

function runOf(row: Row): RunRecord {
  const run: RunRecord = {id: text(row, 'id'), command: text(row, 'command'), pid: integer(row, 'pid'), host: text(row, 'host'), startedAt: integer(row, 'started_at')}
  const finishedAt = optionalInteger(row, 'finished_at')
  const outcome = optionalText(row, 'outcome')
  const counts = optionalText(row, 'counts')
  if (finishedAt !== undefined) run.finishedAt = finishedAt
  if (outcome !== undefined) run.outcome = outcome as RunOutcome
  if (counts !== undefined) run.counts = JSON.parse(counts) as Record<string, number>
  return run
}
