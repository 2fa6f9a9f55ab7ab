// The inventory part of the SQLite state store: runs, and what the pod sources found (images, placements, the
// digests each tag had, drift).
import {randomUUID} from 'node:crypto'
import {hostname} from 'node:os'
import {BugError} from '../../errors.ts'
import type {ImageObservation} from '../../models/image.ts'
import {imageKey, tagName} from '../image-key.ts'
import {runOutcomes, type DriftEvent, type ObservationResult, type RecordObservationsOptions, type RunOutcome, type RunRecord} from '../records.ts'
import {releaseClaimsOf} from './claims.ts'
import type {SqliteConnection} from './connection.ts'
import {integer, runOf, text} from './rows.ts'

export class SqliteInventory {
  readonly #c: SqliteConnection

  constructor(connection: SqliteConnection) {
    this.#c = connection
  }

  /** Records the start of a run and returns its id (a UUID), used to claim images and attribute placements. */
  beginRun(command: string): string {
    const id = randomUUID()
    this.#c.run('INSERT INTO runs (id, command, pid, host, started_at) VALUES (?, ?, ?, ?, ?)', id, command, process.pid, hostname(), this.#c.now())
    return id
  }

  /** Records how a run ended. Claims it still holds are released (back to `queued`), so the next run takes them at once. */
  finishRun(runId: string, outcome: RunOutcome, counts: Record<string, number> = {}): void {
    if (!runOutcomes.includes(outcome)) throw new TypeError(`outcome must be one of ${runOutcomes.join(', ')}, got ${String(outcome)}`)
    const now = this.#c.now()
    this.#c.write(() => {
      const {changes} = this.#c.statement('UPDATE runs SET finished_at = ?, outcome = ?, counts = ? WHERE id = ?').run(now, outcome, JSON.stringify(counts), runId)
      if (Number(changes) === 0) throw new BugError(`finishRun: unknown run ${runId}`)
      releaseClaimsOf(this.#c, runId, now)
    })
  }

  getRun(runId: string): RunRecord | undefined {
    const row = this.#c.statement('SELECT * FROM runs WHERE id = ?').get(runId)
    return row === undefined ? undefined : runOf(row)
  }

  /** The most recently started run, of `command` if given. */
  lastRun(command?: string): RunRecord | undefined {
    const row =
      command === undefined
        ? this.#c.statement('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1').get()
        : this.#c.statement('SELECT * FROM runs WHERE command = ? ORDER BY started_at DESC, rowid DESC LIMIT 1').get(command)
    return row === undefined ? undefined : runOf(row)
  }

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
    const now = this.#c.now()
    return this.#c.write(() => {
      const imageKeys: string[] = []
      const newImageKeys: string[] = []
      const drift: DriftEvent[] = []
      const ids = new Map<string, number>()
      if (mode === 'replace') this.#c.statement('DELETE FROM placements WHERE target = ?').run(target)
      const findImage = this.#c.statement('SELECT id FROM images WHERE key = ?')
      const insertImage = this.#c.statement('INSERT INTO images (key, registry, repository, tag, digest, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id')
      const touchImage = this.#c.statement('UPDATE images SET last_seen = ? WHERE id = ?')
      const touchTag = this.#c.statement('UPDATE tag_digests SET last_seen = ? WHERE tag = ? AND digest = ?')
      const previousDigest = this.#c.statement('SELECT digest FROM tag_digests WHERE tag = ? ORDER BY last_seen DESC, first_seen DESC LIMIT 1')
      const insertTag = this.#c.statement('INSERT INTO tag_digests (tag, digest, first_seen, last_seen) VALUES (?, ?, ?, ?)')
      const upsertPlacement = this.#c.statement(`
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
    return Number(this.#c.run('DELETE FROM placements WHERE target = ? AND last_seen < ?', target, listStartedAt).changes)
  }

  /** Retention: removes every target's placements not seen since `cutoff`. Returns how many were removed. */
  forgetPlacementsSeenBefore(cutoff: number): number {
    return Number(this.#c.run('DELETE FROM placements WHERE last_seen < ?', Math.floor(cutoff)).changes)
  }

  /** Removes a deleted pod's placements (a watch DELETED event). Returns how many were removed. */
  forgetPod(target: string, namespace: string, pod: string): number {
    return Number(this.#c.run('DELETE FROM placements WHERE target = ? AND namespace = ? AND pod = ?', target, namespace, pod).changes)
  }
}
