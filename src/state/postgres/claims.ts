// The claims and outcomes part of the PostgreSQL state store, fleet-wide: a claim locks the image's row
// (SELECT ... FOR NO KEY UPDATE), so two processes claiming the same image at the same moment take turns and the
// second sees the first's claim. Many rows are always locked in id order (two batches cannot deadlock), and NO KEY
// UPDATE does not block another process's foreign-key checks as it writes placements of those images. Leases are
// compared with the database's clock, never the clients'. Single-statement changes (markSubmitting, release,
// outcomes) rely on PostgreSQL re-checking their WHERE on the row they lock.
import {BugError} from '../../errors.ts'
import {checkClaimOptions, decideClaim, persistsQueued, requireDuration} from '../claim-rules.ts'
import type {ClaimHolderRecord, ClaimOptions, ClaimResult, FailureDetails, PendingWork, SkipDetails, SnykProjectRef, SubmissionState, SubmittedDetails} from '../records.ts'
import {redactSecrets} from '../redact-secrets.ts'
import {sqlStates, submissionTransitions, unfinishedStates} from '../submission-states.ts'
import type {PostgresConnection, Queryable} from './connection.ts'
import {claimRowOf, imageRefOf, opt, type PgRow} from './rows.ts'

/** The states `release` sends back to the queue. */
const releasable = sqlStates(submissionTransitions.release.from)

/** SET clauses of an outcome upsert: drop the claim when the run recording the outcome holds it (another live run's claim stays). */
const releaseIfHeld = `claimed_by = CASE WHEN submissions.claimed_by = excluded.updated_by THEN NULL ELSE submissions.claimed_by END,
  claim_expires_at = CASE WHEN submissions.claimed_by = excluded.updated_by THEN NULL ELSE submissions.claim_expires_at END`

/** Gives back every claim `runId` holds, inside the caller's transaction: unfinished ones go back to `queued`. */
export async function releaseClaimsOf(c: PostgresConnection, q: Queryable, runId: string, now: number): Promise<number> {
  const {rowCount} = await c.query(
    `UPDATE submissions SET state = CASE WHEN state IN (${releasable}) THEN '${submissionTransitions.release.to}' ELSE state END,
       claimed_by = NULL, claim_expires_at = NULL, updated_at = $1 WHERE claimed_by = $2`,
    [now, runId],
    q,
  )
  return rowCount ?? 0
}

export class PostgresClaims {
  readonly #c: PostgresConnection

  constructor(connection: PostgresConnection) {
    this.#c = connection
  }

  async claim(key: string, options: ClaimOptions): Promise<ClaimResult> {
    const result = (await this.claimMany([key], options)).get(key)
    if (result === undefined) throw new BugError(`claim(${key}): no result`)
    return result
  }

  /**
   * `claim` for many keys in one transaction: their image rows locked in id order by one statement (two processes
   * claiming overlapping batches take turns row by row and cannot deadlock on them), then the clock, their
   * submissions read in one statement, each decided by the shared rules, and the claimed ones written by one upsert.
   */
  async claimMany(keys: readonly string[], options: ClaimOptions): Promise<Map<string, ClaimResult>> {
    checkClaimOptions(options)
    const unique = [...new Set(keys)]
    if (unique.length === 0) return new Map()
    return this.#c.transaction(async (q) => {
      const locked = await this.#c.query<{id: number; key: string}>('SELECT id, key FROM images WHERE key = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE', [unique], q)
      if (locked.rows.length !== unique.length) {
        const known = new Set(locked.rows.map((row) => row.key))
        throw new BugError(`claim: unknown image ${unique.find((key) => !known.has(key))}; record its observation first`)
      }
      // After every lock is held: waiting for another process's claims must not make a lease look younger. The
      // submissions are read by a statement of their own after the locks: under READ COMMITTED it sees what the
      // process that held a lock just committed.
      const now = options.now === undefined ? await this.#c.now(q) : Math.floor(options.now)
      const ids = locked.rows.map((row) => row.id)
      const {rows} = await this.#c.query('SELECT image_id, state, submitted_at, claimed_by, claim_expires_at, updated_at, updated_by FROM submissions WHERE image_id = ANY($1::bigint[])', [ids], q)
      const current = new Map(rows.map((row) => [row['image_id'] as number, claimRowOf(row, row['state'] as SubmissionState)]))
      const results = new Map<string, ClaimResult>()
      const claimed: number[] = []
      for (const {id, key} of locked.rows) {
        const result = decideClaim(current.get(id), options, now)
        results.set(key, result)
        if (result.claimed) claimed.push(id)
      }
      if (claimed.length > 0) {
        await this.#c.query(
          `INSERT INTO submissions (image_id, state, claimed_by, claim_expires_at, updated_at, updated_by)
           SELECT id, 'queued', $2, $3, $4, $2 FROM unnest($1::bigint[]) AS id
           ON CONFLICT (image_id) DO UPDATE SET state = 'queued', claimed_by = excluded.claimed_by, claim_expires_at = excluded.claim_expires_at,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          [claimed, options.runId, now + options.leaseMs, now],
          q,
        )
      }
      return results
    })
  }

  async markSubmitting(key: string, runId: string, options: {leaseMs?: number} = {}): Promise<boolean> {
    if (options.leaseMs !== undefined) requireDuration('leaseMs', options.leaseMs, {positive: true})
    const now = this.#c.nowParam(1)
    const {rowCount} = await this.#c.query(
      `UPDATE submissions SET state = 'submitting', attempts = attempts + 1,
         claim_expires_at = CASE WHEN $2::bigint IS NULL THEN claim_expires_at ELSE ${now} + $2::bigint END, updated_at = ${now}
       WHERE image_id = (SELECT id FROM images WHERE key = $3) AND claimed_by = $4 AND state IN (${sqlStates(submissionTransitions.markSubmitting.from)})`,
      [this.#c.fixedNow(), options.leaseMs ?? null, key, runId],
    )
    return (rowCount ?? 0) > 0
  }

  async extendClaims(runId: string, leaseMs: number): Promise<number> {
    requireDuration('leaseMs', leaseMs, {positive: true})
    const {rowCount} = await this.#c.query(`UPDATE submissions SET claim_expires_at = ${this.#c.nowParam(1)} + $2::bigint WHERE claimed_by = $3`, [this.#c.fixedNow(), leaseMs, runId])
    return rowCount ?? 0
  }

  async claimHolders(): Promise<ClaimHolderRecord[]> {
    const {rows} = await this.#c.query<{claimed_by: string; claims: number; expires_at: number | null}>(`
      SELECT claimed_by, count(*) AS claims, max(claim_expires_at) AS expires_at FROM submissions
      WHERE claimed_by IS NOT NULL GROUP BY claimed_by ORDER BY min(updated_at), claimed_by`)
    return rows.map((row) => ({runId: row.claimed_by, claims: row.claims, expiresAt: row.expires_at ?? 0}))
  }

  async claimedKeys(runId: string): Promise<string[]> {
    const {rows} = await this.#c.query<{key: string}>('SELECT i.key FROM submissions s JOIN images i ON i.id = s.image_id WHERE s.claimed_by = $1 ORDER BY i.key COLLATE "C"', [runId])
    return rows.map((row) => row.key)
  }

  async release(key: string, runId: string): Promise<boolean> {
    const {rowCount} = await this.#c.query(
      `UPDATE submissions SET state = CASE WHEN state IN (${releasable}) THEN '${submissionTransitions.release.to}' ELSE state END,
         claimed_by = NULL, claim_expires_at = NULL, updated_at = ${this.#c.nowParam(1)} WHERE image_id = (SELECT id FROM images WHERE key = $2) AND claimed_by = $3`,
      [this.#c.fixedNow(), key, runId],
    )
    return (rowCount ?? 0) > 0
  }

  async releaseAll(runId: string): Promise<number> {
    return this.#c.transaction(async (q) => releaseClaimsOf(this.#c, q, runId, await this.#c.now(q)))
  }

  async recordSubmitted(key: string, runId: string, details: SubmittedDetails): Promise<void> {
    await this.#recordOutcome(
      'recordSubmitted',
      `INSERT INTO submissions (image_id, state, attempts, integration_id, integration_type, target_name, job_url, submitted_at, updated_at, updated_by)
       SELECT id, 'submitted', 1, $4, $5, $6, $7, ${this.#c.nowParam(3)}, ${this.#c.nowParam(3)}, $2 FROM images WHERE key = $1
       ON CONFLICT (image_id) DO UPDATE SET state = 'submitted', integration_id = excluded.integration_id, integration_type = excluded.integration_type,
         target_name = excluded.target_name, job_url = excluded.job_url, submitted_at = excluded.submitted_at,
         last_error = NULL, error_retryable = NULL, skip_reason = NULL, skip_fix = NULL,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      [key, runId, this.#c.fixedNow(), details.integrationId, details.integrationType, details.targetName, details.jobUrl],
    )
  }

  async recordMonitored(key: string, details: {projects: readonly SnykProjectRef[]}): Promise<void> {
    await this.#c.transaction(async (q) => {
      const {rows} = await this.#c.query<{image_id: number; now: number}>(
        `UPDATE submissions SET state = 'monitored', monitored_at = ${this.#c.nowParam(1)}, last_error = NULL, error_retryable = NULL, updated_at = ${this.#c.nowParam(1)}
         WHERE image_id = (SELECT id FROM images WHERE key = $2) RETURNING image_id, updated_at AS now`,
        [this.#c.fixedNow(), key],
        q,
      )
      const row = rows[0]
      if (row === undefined) throw new BugError(`recordMonitored: ${key} was never submitted`)
      await this.#c.query('DELETE FROM projects WHERE image_id = $1', [row.image_id], q)
      if (details.projects.length === 0) return
      // A project id given twice keeps its last name and URL, as SQLite's row-by-row upsert does.
      const projects = [...new Map(details.projects.map((p) => [p.id, p])).values()]
      await this.#c.query(
        `INSERT INTO projects (id, image_id, name, url, recorded_at) SELECT u.id, $2, u.name, u.url, $3 FROM unnest($1::text[], $4::text[], $5::text[]) AS u(id, name, url)
         ON CONFLICT (id) DO UPDATE SET image_id = excluded.image_id, name = excluded.name, url = excluded.url, recorded_at = excluded.recorded_at`,
        [projects.map((p) => p.id), row.image_id, row.now, projects.map((p) => p.name ?? null), projects.map((p) => p.url ?? null)],
        q,
      )
    })
  }

  async recordFailed(key: string, runId: string, details: FailureDetails): Promise<void> {
    await this.#recordOutcome(
      'recordFailed',
      `INSERT INTO submissions (image_id, state, last_error, error_retryable, updated_at, updated_by)
       SELECT id, 'failed', $4, $5, ${this.#c.nowParam(3)}, $2 FROM images WHERE key = $1
       ON CONFLICT (image_id) DO UPDATE SET state = 'failed', last_error = excluded.last_error, error_retryable = excluded.error_retryable,
         skip_reason = NULL, skip_fix = NULL, updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      [key, runId, this.#c.fixedNow(), redactSecrets(details.error), details.retryable],
    )
  }

  async recordSkipped(key: string, runId: string, details: SkipDetails): Promise<void> {
    await this.#recordOutcome(
      'recordSkipped',
      `INSERT INTO submissions (image_id, state, skip_reason, skip_fix, updated_at, updated_by)
       SELECT id, 'skipped', $4, $5, ${this.#c.nowParam(3)}, $2 FROM images WHERE key = $1
       ON CONFLICT (image_id) DO UPDATE SET state = 'skipped', skip_reason = excluded.skip_reason, skip_fix = excluded.skip_fix,
         last_error = NULL, error_retryable = NULL, updated_at = excluded.updated_at, updated_by = excluded.updated_by, ${releaseIfHeld}`,
      [key, runId, this.#c.fixedNow(), redactSecrets(details.reason), redactSecrets(details.fix)],
    )
  }

  async #recordOutcome(method: string, sql: string, params: unknown[]): Promise<void> {
    const {rowCount} = await this.#c.query(sql, params)
    if ((rowCount ?? 0) === 0) throw new BugError(`${method}: unknown image ${String(params[0])}; record its observation first`)
  }

  async persistQueue(keys: readonly string[], runId: string): Promise<number> {
    const unique = [...new Set(keys)].sort()
    if (unique.length === 0) return 0
    return this.#c.transaction(async (q) => {
      const now = await this.#c.now(q)
      const {rows} = await this.#c.query(
        `SELECT i.id, i.key, s.state, s.claimed_by, s.claim_expires_at FROM images i LEFT JOIN submissions s ON s.image_id = i.id
         WHERE i.key = ANY($1::text[]) ORDER BY i.id FOR NO KEY UPDATE OF i`,
        [unique],
        q,
      )
      const found = new Set(rows.map((row) => row['key'] as string))
      const unknown = unique.find((key) => !found.has(key))
      if (unknown !== undefined) throw new BugError(`persistQueue: unknown image ${unknown}`)
      // Re-read the submissions after the locks (READ COMMITTED: a fresh snapshot), then decide per image.
      const current = await this.#c.query('SELECT image_id, state, claimed_by, claim_expires_at FROM submissions WHERE image_id = ANY($1::bigint[])', [rows.map((row) => row['id'])], q)
      const byId = new Map<number, PgRow>(current.rows.map((row) => [row['image_id'] as number, row]))
      const store: number[] = []
      for (const row of rows) {
        const id = row['id'] as number
        const submission = byId.get(id)
        const state = opt<SubmissionState>(submission?.['state'])
        if (state === undefined || persistsQueued({state, claimedBy: opt<string>(submission?.['claimed_by']), claimExpiresAt: opt<number>(submission?.['claim_expires_at'])}, runId, now)) store.push(id)
      }
      if (store.length === 0) return 0
      await this.#c.query(
        `INSERT INTO submissions (image_id, state, updated_at, updated_by) SELECT id, 'queued', $2, $3 FROM unnest($1::bigint[]) AS u(id)
         ON CONFLICT (image_id) DO UPDATE SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        [store, now, runId],
        q,
      )
      return store.length
    })
  }

  async pendingWork(): Promise<PendingWork[]> {
    const {rows} = await this.#c.query(`
      SELECT i.key, s.state, s.attempts, s.claimed_by, s.claim_expires_at, i.registry, i.repository, i.tag, i.digest, ${this.#c.nowParam(1)} AS now
      FROM submissions s JOIN images i ON i.id = s.image_id
      WHERE s.state IN (${sqlStates(unfinishedStates)}) ORDER BY s.updated_at, i.key COLLATE "C"`, [this.#c.fixedNow()])
    return rows.map((row) => {
      const work: PendingWork = {key: row['key'] as string, image: imageRefOf(row), state: row['state'] as PendingWork['state'], attempts: row['attempts'] as number}
      const holder = opt<string>(row['claimed_by'])
      if (holder !== undefined) {
        const expiresAt = row['claim_expires_at'] as number
        work.claim = {runId: holder, expiresAt, expired: expiresAt <= (row['now'] as number)}
      }
      return work
    })
  }
}
