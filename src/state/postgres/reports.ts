// The report part of the PostgreSQL state store, for `status`: issue counts, submissions, and the images with where
// they run, read a chunk at a time from one snapshot (a REPEATABLE READ, read-only transaction).
import type {ImageRef} from '../../models/image.ts'
import type {ImageSummary, IssueCounts, ListImagesFilter, PlacementSummary, ProjectIssueCounts, SnykProjectRef, SubmissionRecord} from '../records.ts'
import type {PostgresConnection, Queryable} from './connection.ts'
import {opt, projectOf, submissionDetailColumns, submissionOf, submissionSummaryColumns, submissionSummaryOf, type PgRow} from './rows.ts'

type ProjectsOfImage = {refs: SnykProjectRef[]; issues?: IssueCounts & {updatedAt: number}}

export class PostgresReports {
  readonly #c: PostgresConnection

  constructor(connection: PostgresConnection) {
    this.#c = connection
  }

  async recordIssueCounts(counts: readonly ProjectIssueCounts[]): Promise<void> {
    if (counts.length === 0) return
    // One row per project: a project counted twice keeps its last counts.
    const unique = [...new Map(counts.map((count) => [count.projectId, count])).values()]
    await this.#c.query(
      `INSERT INTO issue_counts (project_id, critical, high, medium, low, updated_at)
       SELECT u.project_id, u.critical, u.high, u.medium, u.low, coalesce(u.updated_at, ${this.#c.nowParam(7)})
       FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::bigint[]) AS u(project_id, critical, high, medium, low, updated_at)
       ON CONFLICT (project_id) DO UPDATE SET critical = excluded.critical, high = excluded.high, medium = excluded.medium, low = excluded.low, updated_at = excluded.updated_at`,
      [
        unique.map((c) => c.projectId),
        unique.map((c) => c.critical),
        unique.map((c) => c.high),
        unique.map((c) => c.medium),
        unique.map((c) => c.low),
        unique.map((c) => c.updatedAt ?? null),
        this.#c.fixedNow(),
      ],
    )
  }

  /** One statement (one round trip, one snapshot): the submission with its projects aggregated. */
  async getSubmission(key: string): Promise<SubmissionRecord | undefined> {
    return (await this.getSubmissions([key])).get(key)
  }

  /** One statement for every key (their projects aggregated per image): a waiting `sync` reads all it waits for at once. */
  async getSubmissions(keys: readonly string[]): Promise<Map<string, SubmissionRecord>> {
    const records = new Map<string, SubmissionRecord>()
    if (keys.length === 0) return records
    const columns = [...submissionSummaryColumns, ...submissionDetailColumns].map((c) => `s.${c}`).join(', ')
    const {rows} = await this.#c.query(
      `SELECT i.key AS image_key, ${columns}, (SELECT coalesce(json_agg(json_build_object('id', p.id, 'name', p.name, 'url', p.url) ORDER BY p.id COLLATE "C"), '[]')
                           FROM projects p WHERE p.image_id = s.image_id) AS projects
       FROM submissions s JOIN images i ON i.id = s.image_id WHERE i.key = ANY($1::text[])`,
      [[...new Set(keys)]],
    )
    for (const row of rows) {
      const record = submissionOf(row, (row['projects'] as PgRow[]).map(projectOf))
      if (record !== undefined) records.set(row['image_key'] as string, record)
    }
    return records
  }

  /**
   * Images with where they run, a chunk at a time in id order (the order first seen), from one snapshot: per chunk
   * one query for the images with their submissions, one for their placements and one for their projects with
   * counts (both by an image id range, through their by-image indexes), joined in memory.
   */
  async visitImageSummaries(filter: ListImagesFilter, visit: (images: ImageSummary[]) => void, chunkSize = 1000): Promise<void> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError(`chunkSize must be a positive integer, got ${chunkSize}`)
    const placementConditions: string[] = []
    const placementParams: unknown[] = []
    for (const [column, values] of [['target', filter.targets], ['cluster', filter.clusters], ['namespace', filter.namespaces]] as const) {
      if (values === undefined) continue
      placementParams.push(values)
      placementConditions.push(`pl.${column} = ANY($${placementParams.length + 2}::text[])`)
    }
    const runningOnly = placementConditions.length > 0 || filter.includeNotRunning !== true
    // Images: $1 the id after which the chunk starts, $2 its size, then the placement filters, then the states.
    const imageConditions = placementConditions.length > 0 ? [`EXISTS (SELECT 1 FROM placements pl WHERE pl.image_id = i.id${placementConditions.map((c) => ` AND ${c}`).join('')})`] : []
    const imageParams: unknown[] = [...placementParams]
    if (filter.states !== undefined) {
      const stateConditions: string[] = []
      const states = filter.states.filter((state) => state !== 'none')
      if (states.length > 0) {
        imageParams.push(states)
        stateConditions.push(`s.state = ANY($${imageParams.length + 2}::text[])`)
      }
      if (filter.states.includes('none')) stateConditions.push('s.state IS NULL')
      if (stateConditions.length === 0) return
      imageConditions.push(`(${stateConditions.join(' OR ')})`)
    }
    const imagesQuery = `
      SELECT i.id, i.key, i.registry, i.repository, i.tag, i.digest, ${submissionSummaryColumns.map((c) => `s.${c}`).join(', ')}
      FROM images i LEFT JOIN submissions s ON s.image_id = i.id
      WHERE i.id > $1${imageConditions.map((c) => ` AND ${c}`).join('')} ORDER BY i.id LIMIT $2`
    // Placements: $1 and $2 the id range, then the placement filters (numbered as in the images query).
    const placementsQuery = `
      SELECT pl.image_id, pl.target, pl.cluster, pl.namespace, pl.workload_kind, pl.workload_name, pl.fips_annotation
      FROM placements pl WHERE pl.image_id > $1 AND pl.image_id <= $2${placementConditions.map((c) => ` AND ${c}`).join('')}
      ORDER BY pl.image_id, pl.target COLLATE "C", pl.namespace COLLATE "C", pl.pod COLLATE "C", pl.container_kind COLLATE "C", pl.container COLLATE "C"`
    const projectsQuery = `
      SELECT p.image_id, p.id, p.name, p.url, c.critical, c.high, c.medium, c.low, c.updated_at
      FROM projects p LEFT JOIN issue_counts c ON c.project_id = p.id WHERE p.image_id > $1 AND p.image_id <= $2 ORDER BY p.image_id, p.id COLLATE "C"`

    await this.#c.snapshot(async (q) => {
      for (let after = 0; ;) {
        const {rows} = await this.#c.query(imagesQuery, [after, chunkSize, ...imageParams], q)
        if (rows.length === 0) return
        const last = rows[rows.length - 1]!['id'] as number
        const placements = await this.#placements(q, placementsQuery, [after, last, ...placementParams])
        const projects = await this.#projects(q, projectsQuery, [after, last])
        const chunk: ImageSummary[] = []
        for (const row of rows) {
          const id = row['id'] as number
          const where = placements.get(id)
          if (where === undefined && runningOnly) continue
          const image: ImageRef = {registry: row['registry'] as string, repository: row['repository'] as string}
          const tag = opt<string>(row['tag'])
          const digest = opt<string>(row['digest'])
          if (tag !== undefined) image.tag = tag
          if (digest !== undefined) image.digest = digest
          const listing: ImageSummary = {key: row['key'] as string, image, placements: where ?? []}
          const project = projects.get(id)
          const submission = submissionSummaryOf(row, project?.refs ?? [])
          if (submission !== undefined) listing.submission = submission
          if (project?.issues !== undefined) listing.issues = project.issues
          chunk.push(listing)
        }
        if (chunk.length > 0) visit(chunk)
        if (rows.length < chunkSize) return
        after = last
      }
    })
  }

  async #placements(q: Queryable, sql: string, params: unknown[]): Promise<Map<number, PlacementSummary[]>> {
    const {rows} = await this.#c.query(sql, params, q)
    const placements = new Map<number, PlacementSummary[]>()
    for (const row of rows) {
      const id = row['image_id'] as number
      let list = placements.get(id)
      if (list === undefined) placements.set(id, (list = []))
      const placement: PlacementSummary = {
        target: row['target'] as string,
        cluster: row['cluster'] as string,
        namespace: row['namespace'] as string,
        workload: {kind: row['workload_kind'] as string, name: row['workload_name'] as string},
      }
      const fips = opt<boolean>(row['fips_annotation'])
      if (fips !== undefined) placement.fipsAnnotation = fips
      list.push(placement)
    }
    return placements
  }

  /** Projects by image id (sorted by id), with issue counts summed over those that have them. */
  async #projects(q: Queryable, sql: string, params: unknown[]): Promise<Map<number, ProjectsOfImage>> {
    const {rows} = await this.#c.query(sql, params, q)
    const projects = new Map<number, ProjectsOfImage>()
    for (const row of rows as PgRow[]) {
      const imageId = row['image_id'] as number
      const project = projectOf(row)
      let entry = projects.get(imageId)
      if (entry === undefined) projects.set(imageId, (entry = {refs: [project]}))
      else entry.refs.push(project)
      const countedAt = opt<number>(row['updated_at'])
      if (countedAt === undefined) continue
      const issues = (entry.issues ??= {critical: 0, high: 0, medium: 0, low: 0, updatedAt: countedAt})
      issues.critical += row['critical'] as number
      issues.high += row['high'] as number
      issues.medium += row['medium'] as number
      issues.low += row['low'] as number
      issues.updatedAt = Math.max(issues.updatedAt, countedAt)
    }
    return projects
  }
}
