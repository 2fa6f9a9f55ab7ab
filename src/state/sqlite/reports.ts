// The report part of the SQLite state store, for `status`: issue counts, submissions, and the images with where
// they run, read a chunk at a time from one snapshot.
import type {SQLInputValue, SQLOutputValue} from 'node:sqlite'
import type {ContainerKind, ImageRef} from '../../models/image.ts'
import type {ImageListing, ImageSummary, ListImagesFilter, Placement, PlacementSummary, ProjectIssueCounts, SubmissionRecord} from '../records.ts'
import type {SqliteConnection} from './connection.ts'
import {IM, imageColumnList, PL, placementColumnList, projectOf, projectsOf, submissionAt, submissionColumnList, submissionColumns, submissionSummaryAt} from './rows.ts'

export class SqliteReports {
  readonly #c: SqliteConnection

  constructor(connection: SqliteConnection) {
    this.#c = connection
  }

  /** Stores issue counts of Snyk projects (any project of the org; those of our images show up in `listImages`), at the time Snyk counted them when given. */
  recordIssueCounts(counts: readonly ProjectIssueCounts[]): void {
    const now = this.#c.now()
    this.#c.write(() => {
      const upsert = this.#c.statement(`
        INSERT INTO issue_counts (project_id, critical, high, medium, low, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (project_id) DO UPDATE SET critical = excluded.critical, high = excluded.high, medium = excluded.medium, low = excluded.low, updated_at = excluded.updated_at`)
      for (const count of counts) upsert.run(count.projectId, count.critical, count.high, count.medium, count.low, count.updatedAt ?? now)
    })
  }

  getSubmission(key: string): SubmissionRecord | undefined {
    const row = this.#c.arrayStatement(`SELECT s.image_id, ${submissionColumns} FROM submissions s JOIN images i ON i.id = s.image_id WHERE i.key = ?`).get(key) as SQLOutputValue[] | undefined
    if (row === undefined) return undefined
    const projects = this.#c.statement('SELECT id, name, url FROM projects WHERE image_id = ? ORDER BY id').all(Number(row[0])).map(projectOf)
    return submissionAt(row, 1, projects)
  }

  /** In-process and synchronous: a prepared statement per key costs no round trip, so no batched query is needed. */
  getSubmissions(keys: readonly string[]): Map<string, SubmissionRecord> {
    const records = new Map<string, SubmissionRecord>()
    for (const key of new Set(keys)) {
      const record = this.getSubmission(key)
      if (record !== undefined) records.set(key, record)
    }
    return records
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
      ...(full ? imageColumnList.all : imageColumnList.summary).map((c) => `i.${c}`),
      ...(full ? submissionColumnList.all : submissionColumnList.summary).map((c) => `s.${c}`),
    ].join(', ')
    const submissionOffset = (full ? imageColumnList.all : imageColumnList.summary).length
    const imagesQuery = this.#c.arrayStatement(`
      SELECT ${imageSelect} FROM images i LEFT JOIN submissions s ON s.image_id = i.id
      WHERE i.id > ?${imageConditions.map((c) => ` AND ${c}`).join('')} ORDER BY i.id LIMIT ?`)
    // The summary columns are all in the placements_by_image index (v3): a range of it answers the query.
    const placementsQuery = this.#c.arrayStatement(`
      SELECT ${(full ? placementColumnList.all : placementColumnList.summary).map((c) => `pl.${c}`).join(', ')}
      FROM placements pl WHERE pl.image_id > ? AND pl.image_id <= ?${placementConditions.map((c) => ` AND ${c}`).join('')}`)
    const projectsQuery = this.#c.arrayStatement(`
      SELECT p.image_id, p.id, p.name, p.url, c.critical, c.high, c.medium, c.low, c.updated_at
      FROM projects p LEFT JOIN issue_counts c ON c.project_id = p.id WHERE p.image_id > ? AND p.image_id <= ?`)

    this.#c.read(() => {
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
}
