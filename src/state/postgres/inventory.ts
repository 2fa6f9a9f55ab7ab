// The inventory part of the PostgreSQL state store: runs, and what the pod sources found (images, placements, the
// digests each tag had, drift). A page of observations is a handful of set-based statements (arrays through
// `unnest`), not one statement per pod: the database may be a network hop away.
import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import {BugError} from '../../errors.ts'
import type {ImageObservation} from '../../models/image.ts'
import {imageKey, tagName} from '../image-key.ts'
import {runOutcomes, type DriftEvent, type ObservationResult, type RecordObservationsOptions, type RunOutcome, type RunRecord} from '../records.ts'
import {releaseClaimsOf} from './claims.ts'
import type {PostgresConnection, Queryable} from './connection.ts'
import {runOf} from './rows.ts'

/** How stale an image's (or a tag digest's) `last_seen` may get before a listing writes it again. */
const touchEveryMs = 60_000

interface ImageRow {
  key: string
  registry: string
  repository: string
  tag: string | null
  digest: string | null
}

export class PostgresInventory {
  readonly #c: PostgresConnection

  constructor(connection: PostgresConnection) {
    this.#c = connection
  }

  async beginRun(command: string): Promise<string> {
    const id = randomUUID()
    await this.#c.query(`INSERT INTO runs (id, command, pid, host, started_at) VALUES ($1, $2, $3, $4, ${this.#c.nowParam(5)})`, [id, command, process.pid, hostname(), this.#c.fixedNow()])
    return id
  }

  async finishRun(runId: string, outcome: RunOutcome, counts: Record<string, number> = {}): Promise<void> {
    if (!runOutcomes.includes(outcome)) throw new TypeError(`outcome must be one of ${runOutcomes.join(', ')}, got ${String(outcome)}`)
    await this.#c.transaction(async (q) => {
      const now = await this.#c.now(q)
      const {rowCount} = await this.#c.query('UPDATE runs SET finished_at = $1, outcome = $2, counts = $3 WHERE id = $4', [now, outcome, JSON.stringify(counts), runId], q)
      if (rowCount === 0) throw new BugError(`finishRun: unknown run ${runId}`)
      await releaseClaimsOf(this.#c, q, runId, now)
    })
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const {rows} = await this.#c.query('SELECT * FROM runs WHERE id = $1', [runId])
    return rows[0] === undefined ? undefined : runOf(rows[0])
  }

  /**
   * Records what a pod source found in `target`, in one transaction (see StateStore.recordObservations). Images are
   * upserted in key order, so two processes recording overlapping images lock them in the same order.
   */
  async recordObservations(runId: string, target: string, observations: readonly ImageObservation[], options: RecordObservationsOptions = {}): Promise<ObservationResult> {
    const mode = options.mode ?? 'replace'
    const images = new Map<string, ImageRow>()
    const placements = new Map<string, {observation: ImageObservation; key: string}>()
    for (const observation of observations) {
      if (observation.target !== target) throw new BugError(`recordObservations(${target}): got an observation of target ${observation.target}`)
      const {image} = observation
      const key = imageKey(image, observation.runningDigest)
      if (!images.has(key)) images.set(key, {key, registry: image.registry, repository: image.repository, tag: image.tag ?? null, digest: observation.runningDigest ?? image.digest ?? null})
      // One row per container: a later observation of the same container wins, as with SQLite's upsert.
      placements.set(`${observation.namespace}\u0000${observation.pod}\u0000${observation.containerKind}\u0000${observation.container}`, {observation, key})
    }
    const imageKeys = [...images.keys()]
    // Images the store has not seen are inserted first, in a short transaction of their own: a new key's row is
    // locked until its insert commits, and every process of a fleet lists the same new images at once; holding
    // those locks for the whole page would make them wait for each other's pages. An image row without a
    // placement is history, harmless if the page then fails.
    // The tags' digests (drift) the same way: pairs every process of a fleet sees at once.
    const {inserted, drift} = await this.#c.transaction(async (q) => {
      const at = await this.#c.now(q)
      return {inserted: await this.#insertNewImages(q, [...images.values()], at), drift: await this.#recordTagDigests(q, imageKeys.map((key) => images.get(key)!), at)}
    })
    return this.#c.transaction(async (q) => {
      const now = await this.#c.now(q)
      if (mode === 'replace') await this.#c.query('DELETE FROM placements WHERE target = $1', [target], q)
      const ids = await this.#imageIds(q, [...images.values()], now)
      if (placements.size > 0) {
        const rows = [...placements.values()]
        const column = <T>(of: (o: ImageObservation, key: string) => T): T[] => rows.map(({observation, key}) => of(observation, key))
        await this.#c.query(
          `INSERT INTO placements (target, namespace, pod, container_kind, container, cluster, workload_kind, workload_name, reference, image_id, last_seen, run_id, fips_annotation)
           SELECT $1, u.namespace, u.pod, u.container_kind, u.container, u.cluster, u.workload_kind, u.workload_name, u.reference, u.image_id, $11, $12, u.fips
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $13::boolean[])
             AS u(namespace, pod, container_kind, container, cluster, workload_kind, workload_name, reference, image_id, fips)
           ON CONFLICT (target, namespace, pod, container_kind, container) DO UPDATE SET
             cluster = excluded.cluster, workload_kind = excluded.workload_kind, workload_name = excluded.workload_name,
             reference = excluded.reference, image_id = excluded.image_id, last_seen = excluded.last_seen, run_id = excluded.run_id,
             fips_annotation = excluded.fips_annotation`,
          [
            target,
            column((o) => o.namespace),
            column((o) => o.pod),
            column((o) => o.containerKind),
            column((o) => o.container),
            column((o) => o.cluster),
            column((o) => o.workload.kind),
            column((o) => o.workload.name),
            column((o) => o.reference),
            column((_, key) => ids.get(key)!),
            now,
            runId,
            column((o) => o.fipsAnnotation ?? null),
          ],
          q,
        )
      }
      return {imageKeys, newImageKeys: imageKeys.filter((key) => inserted.has(key)), drift}
    })
  }

  /** Inserts the images the store has not seen, in key order; returns the keys this call inserted. */
  async #insertNewImages(q: Queryable, images: readonly ImageRow[], now: number): Promise<Set<string>> {
    const inserted = new Set<string>()
    if (images.length === 0) return inserted
    const known = await this.#c.query<{key: string}>('SELECT key FROM images WHERE key = ANY($1::text[])', [images.map((image) => image.key)], q)
    const seen = new Set(known.rows.map((row) => row.key))
    const missing = images.filter((image) => !seen.has(image.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    if (missing.length === 0) return inserted
    // ON CONFLICT DO NOTHING: another process inserting the same key at the same moment inserts it, not both.
    const added = await this.#c.query<{key: string}>(
      `INSERT INTO images (key, registry, repository, tag, digest, first_seen, last_seen)
       SELECT u.key, u.registry, u.repository, u.tag, u.digest, $6, $6
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(key, registry, repository, tag, digest, n) ORDER BY u.n
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [missing.map((i) => i.key), missing.map((i) => i.registry), missing.map((i) => i.repository), missing.map((i) => i.tag), missing.map((i) => i.digest), now],
      q,
    )
    for (const row of added.rows) inserted.add(row.key)
    return inserted
  }

  /**
   * The images' ids (all exist: see #insertNewImages). Rows are read without a lock, and `last_seen` written only
   * when older than `touchEveryMs`: every process of a fleet lists the same images, and a row a page's transaction
   * writes stays locked until it commits, so touching every row on every page would make the processes (their
   * claims too) wait for each other.
   */
  async #imageIds(q: Queryable, images: readonly ImageRow[], now: number): Promise<Map<string, number>> {
    const ids = new Map<string, number>()
    if (images.length === 0) return ids
    const known = await this.#c.query<{id: number; key: string; last_seen: number}>('SELECT id, key, last_seen FROM images WHERE key = ANY($1::text[])', [images.map((image) => image.key)], q)
    for (const row of known.rows) ids.set(row.key, row.id)
    const gone = images.find((image) => !ids.has(image.key))
    if (gone !== undefined) throw new BugError(`recordObservations: image ${gone.key} vanished between its insert and its page`)
    const stale = known.rows.filter((row) => row.last_seen < now - touchEveryMs).map((row) => row.id).sort((a, b) => a - b)
    // Locked in id order, as claims lock them: two transactions touching overlapping rows take turns, never deadlock.
    if (stale.length > 0) {
      await this.#c.query(
        'UPDATE images SET last_seen = $1 WHERE id IN (SELECT id FROM images WHERE id = ANY($2::bigint[]) AND last_seen < $1 ORDER BY id FOR NO KEY UPDATE)',
        [now, stale],
        q,
      )
    }
    return ids
  }

  /** Marks each image's (tag, digest) seen; a pair new for a tag seen before at another digest is drift. */
  async #recordTagDigests(q: Queryable, images: readonly ImageRow[], now: number): Promise<DriftEvent[]> {
    const pairs = new Map<string, {tag: string; digest: string; key: string}>()
    for (const image of images) {
      const tag = tagName({registry: image.registry, repository: image.repository, ...(image.tag === null ? {} : {tag: image.tag})})
      if (tag === undefined || image.digest === null) continue
      const id = `${tag}\u0000${image.digest}`
      if (!pairs.has(id)) pairs.set(id, {tag, digest: image.digest, key: image.key})
    }
    if (pairs.size === 0) return []
    const all = [...pairs.values()].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
    // Read without a lock; written only when stale (see #upsertImages): the same pairs are every process's.
    const known = await this.#c.query<{tag: string; digest: string; last_seen: number}>(
      'SELECT t.tag, t.digest, t.last_seen FROM tag_digests t JOIN unnest($1::text[], $2::text[]) AS u(tag, digest) ON t.tag = u.tag AND t.digest = u.digest',
      [all.map((p) => p.tag), all.map((p) => p.digest)],
      q,
    )
    const stale = known.rows.filter((row) => row.last_seen < now - touchEveryMs)
    if (stale.length > 0) {
      await this.#c.query(
        'UPDATE tag_digests t SET last_seen = $3 FROM unnest($1::text[], $2::text[]) AS u(tag, digest) WHERE t.tag = u.tag AND t.digest = u.digest AND t.last_seen < $3',
        [stale.map((p) => p.tag), stale.map((p) => p.digest), now],
        q,
      )
    }
    const seen = new Set(known.rows.map((row) => `${row.tag}\u0000${row.digest}`))
    const fresh = all.filter((p) => !seen.has(`${p.tag}\u0000${p.digest}`))
    if (fresh.length === 0) return []
    const tags = [...new Set(fresh.map((p) => p.tag))]
    const previous = await this.#c.query<{tag: string; digest: string}>(
      'SELECT DISTINCT ON (tag) tag, digest FROM tag_digests WHERE tag = ANY($1::text[]) ORDER BY tag, last_seen DESC, first_seen DESC',
      [tags],
      q,
    )
    const previousOf = new Map(previous.rows.map((row) => [row.tag, row.digest]))
    // Another process may insert the same pair at the same moment: only the one whose insert lands reports the drift.
    const added = await this.#c.query<{tag: string; digest: string}>(
      `INSERT INTO tag_digests (tag, digest, first_seen, last_seen) SELECT u.tag, u.digest, $3, $3 FROM unnest($1::text[], $2::text[]) AS u(tag, digest)
       ON CONFLICT (tag, digest) DO NOTHING RETURNING tag, digest`,
      [fresh.map((p) => p.tag), fresh.map((p) => p.digest), now],
      q,
    )
    const landed = new Set(added.rows.map((row) => `${row.tag}\u0000${row.digest}`))
    const drift: DriftEvent[] = []
    for (const pair of pairs.values()) {
      const before = previousOf.get(pair.tag)
      if (before !== undefined && landed.has(`${pair.tag}\u0000${pair.digest}`)) drift.push({tag: pair.tag, previousDigest: before, digest: pair.digest, imageKey: pair.key})
    }
    return drift
  }

  async prunePlacements(target: string, listStartedAt: number): Promise<number> {
    const {rowCount} = await this.#c.query('DELETE FROM placements WHERE target = $1 AND last_seen < $2', [target, listStartedAt])
    return rowCount ?? 0
  }

  async forgetPlacementsSeenBefore(cutoff: number): Promise<number> {
    const {rowCount} = await this.#c.query('DELETE FROM placements WHERE last_seen < $1', [Math.floor(cutoff)])
    return rowCount ?? 0
  }

  async forgetPod(target: string, namespace: string, pod: string): Promise<number> {
    const {rowCount} = await this.#c.query('DELETE FROM placements WHERE target = $1 AND namespace = $2 AND pod = $3', [target, namespace, pod])
    return rowCount ?? 0
  }
}
