// The claims and outcomes part of the SQLite state store: who submits which image (claims with leases, taken over
// when they expire), what came of it (submitted, monitored, failed, skipped), and the queue kept over a restart.
import type {SQLInputValue} from 'node:sqlite'
import {BugError} from '../../errors.ts'
import type {ClaimHolderRecord, ClaimOptions, ClaimResult, FailureDetails, PendingWork, SkipDetails, SnykProjectRef, SubmissionState, SubmittedDetails} from '../records.ts'
import {checkClaimOptions, decideClaim, persistsQueued, requireDuration} from '../claim-rules.ts'
import {redactSecrets} from '../redact-secrets.ts'
import {sqlStates, submissionTransitions, unfinishedStates} from '../submission-states.ts'
import type {SqliteConnection} from './connection.ts'
import {claimRowOf, imageRefOf, integer, optionalInteger, optionalText, text} from './rows.ts'

/** SET clauses of an outcome upsert: drop the claim when the run recording the outcome holds it (another live run's claim stays). */
const releaseIfHeld = `claimed_by = CASE WHEN claimed_by = excluded.updated_by THEN NULL ELSE claimed_by END,
  claim_expires_at = CASE WHEN claimed_by = excluded.updated_by THEN NULL ELSE claim_expires_at END`

/** The states `release` sends back to the queue. */
const releasable = sqlStates(submissionTransitions.release.from)

/** Gives back every claim `runId` holds, inside the caller's write transaction: unfinished ones go back to `queued`. */
export function releaseClaimsOf(c: SqliteConnection, runId: string, now: number): number {
  return Number(
    c.statement(
      `UPDATE submissions SET state = CASE WHEN state IN (${releasable}) THEN '${submissionTransitions.release.to}' ELSE state END,
         claimed_by = NULL, claim_expires_at = NULL, updated_at = ? WHERE claimed_by = ?`,
    ).run(now, runId).changes,
  )
}

export class SqliteClaims {
  readonly #c: SqliteConnection

  constructor(connection: SqliteConnection) {
    this.#c = connection
  }



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
    checkClaimOptions(options)
    const results = new Map<string, ClaimResult>()
    this.#c.write(() => {
      // Read the clock once the write lock is held: waiting for it must not make a lease look younger than it is.
      const now = options.now === undefined ? this.#c.now() : Math.floor(options.now)
      for (const key of keys) if (!results.has(key)) results.set(key, this.#claimOne(key, options, now))
    })
    return results
  }

  #claimOne(key: string, options: ClaimOptions, now: number): ClaimResult {
    const row = this.#c.statement(`
      SELECT i.id, s.state, s.submitted_at, s.claimed_by, s.claim_expires_at, s.updated_at, s.updated_by
      FROM images i LEFT JOIN submissions s ON s.image_id = i.id WHERE i.key = ?`).get(key)
    if (row === undefined) throw new BugError(`claim: unknown image ${key}; record its observation first`)
    const id = integer(row, 'id')
    const state = optionalText(row, 'state') as SubmissionState | undefined
    const current = state === undefined ? undefined : claimRowOf(row, state)
    const result = decideClaim(current, options, now)
    if (!result.claimed) return result
    const expiresAt = now + options.leaseMs
    if (current === undefined) {
      this.#c.statement(`INSERT INTO submissions (image_id, state, claimed_by, claim_expires_at, updated_at, updated_by) VALUES (?, 'queued', ?, ?, ?, ?)`).run(
        id,
        options.runId,
        expiresAt,
        now,
        options.runId,
      )
    } else {
      this.#c.statement(`UPDATE submissions SET state = 'queued', claimed_by = ?, claim_expires_at = ?, updated_at = ?, updated_by = ? WHERE image_id = ?`).run(
        options.runId,
        expiresAt,
        now,
        options.runId,
        id,
      )
    }
    return result
  }

  /**
   * The last check before sending the import request: marks the image `submitting` and counts the attempt,
   * only if `runId` still holds the claim (renewing it for `leaseMs` if given). False: the claim was lost
   * (expired and taken over by another run); do not send.
   */
  markSubmitting(key: string, runId: string, options: {leaseMs?: number} = {}): boolean {
    if (options.leaseMs !== undefined) requireDuration('leaseMs', options.leaseMs, {positive: true})
    const now = this.#c.now()
    const expiresAt = options.leaseMs === undefined ? null : now + options.leaseMs
    const {changes} = this.#c.run(
      `UPDATE submissions SET state = 'submitting', attempts = attempts + 1, claim_expires_at = coalesce(?, claim_expires_at), updated_at = ?
       WHERE image_id = (SELECT id FROM images WHERE key = ?) AND claimed_by = ? AND state IN (${sqlStates(submissionTransitions.markSubmitting.from)})`,
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
    return Number(this.#c.run('UPDATE submissions SET claim_expires_at = ? WHERE claimed_by = ?', this.#c.now() + leaseMs, runId).changes)
  }

  /** Every run holding claims now (expired or not): how many and until when (the latest expiry). Oldest holder first. */
  claimHolders(): ClaimHolderRecord[] {
    return this.#c.statement(`
      SELECT claimed_by, count(*) AS claims, max(claim_expires_at) AS expires_at FROM submissions
      WHERE claimed_by IS NOT NULL GROUP BY claimed_by ORDER BY min(updated_at), claimed_by`).all().map((row) => ({runId: text(row, 'claimed_by'), claims: integer(row, 'claims'), expiresAt: optionalInteger(row, 'expires_at') ?? 0}))
  }

  /** The keys `runId` holds a claim on, sorted. */
  claimedKeys(runId: string): string[] {
    return this.#c.statement('SELECT i.key FROM submissions s JOIN images i ON i.id = s.image_id WHERE s.claimed_by = ? ORDER BY i.key').all(runId).map((row) => text(row, 'key'))
  }

  /** Gives back `runId`'s claim on `key` (interrupted before it finished): back to `queued` for the next run at once. */
  release(key: string, runId: string): boolean {
    const now = this.#c.now()
    const {changes} = this.#c.run(
      `UPDATE submissions SET state = CASE WHEN state IN (${releasable}) THEN '${submissionTransitions.release.to}' ELSE state END,
         claimed_by = NULL, claim_expires_at = NULL, updated_at = ? WHERE image_id = (SELECT id FROM images WHERE key = ?) AND claimed_by = ?`,
      now,
      key,
      runId,
    )
    return Number(changes) > 0
  }

  /** Gives back every claim `runId` holds. Returns how many. */
  releaseAll(runId: string): number {
    const now = this.#c.now()
    return this.#c.write(() => releaseClaimsOf(this.#c, runId, now))
  }

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
      {key, runId, now: this.#c.now(), integrationId: details.integrationId, integrationType: details.integrationType, targetName: details.targetName, jobUrl: details.jobUrl},
    )
  }

  /** The import job completed: state `monitored`, with the Snyk projects it created (replacing those recorded before). */
  recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): void {
    const now = this.#c.now()
    this.#c.write(() => {
      const row = this.#c.statement(`
        UPDATE submissions SET state = 'monitored', monitored_at = ?, last_error = NULL, error_retryable = NULL, updated_at = ?
        WHERE image_id = (SELECT id FROM images WHERE key = ?) RETURNING image_id`).get(now, now, key)
      if (row === undefined) throw new BugError(`recordMonitored: ${key} was never submitted`)
      const id = integer(row, 'image_id')
      this.#c.statement('DELETE FROM projects WHERE image_id = ?').run(id)
      const upsert = this.#c.statement(`
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
      {key, runId, now: this.#c.now(), error: redactSecrets(details.error), retryable: details.retryable ? 1 : 0},
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
      {key, runId, now: this.#c.now(), reason: redactSecrets(details.reason), fix: redactSecrets(details.fix)},
    )
  }

  #recordOutcome(method: string, sql: string, params: Record<string, SQLInputValue>): void {
    if (Number(this.#c.run(sql, params).changes) === 0) throw new BugError(`${method}: unknown image ${String(params['key'])}; record its observation first`)
  }

  /**
   * `watch`'s shutdown: stores `keys` (still queued in memory) as `queued` without a claim, so the next start
   * resumes them at once. Keys another live run holds, and keys already submitted or monitored (and not
   * claimed), are left alone. Returns how many were stored.
   */
  persistQueue(keys: readonly string[], runId: string): number {
    return this.#c.write(() => {
      const now = this.#c.now()
      let stored = 0
      const read = this.#c.statement('SELECT i.id, s.state, s.claimed_by, s.claim_expires_at FROM images i LEFT JOIN submissions s ON s.image_id = i.id WHERE i.key = ?')
      const requeue = this.#c.statement(`UPDATE submissions SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL, updated_at = ?, updated_by = ? WHERE image_id = ?`)
      for (const key of new Set(keys)) {
        const row = read.get(key)
        if (row === undefined) throw new BugError(`persistQueue: unknown image ${key}`)
        const id = integer(row, 'id')
        const state = optionalText(row, 'state') as SubmissionState | undefined
        if (state === undefined) {
          this.#c.statement(`INSERT INTO submissions (image_id, state, updated_at, updated_by) VALUES (?, 'queued', ?, ?)`).run(id, now, runId)
        } else if (persistsQueued({state, claimedBy: optionalText(row, 'claimed_by'), claimExpiresAt: optionalInteger(row, 'claim_expires_at')}, runId, now)) {
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
    const now = this.#c.now()
    const rows = this.#c.statement(`
      SELECT i.key, s.state, s.attempts, s.claimed_by, s.claim_expires_at, i.registry, i.repository, i.tag, i.digest
      FROM submissions s JOIN images i ON i.id = s.image_id
      WHERE s.state IN (${sqlStates(unfinishedStates)}) ORDER BY s.updated_at, i.key`).all()
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
}
