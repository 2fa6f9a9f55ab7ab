// `status`: reads the state store (offline), optionally refreshes Snyk's issue counts and exports SBOMs through
// the same limiter and retry core as `sync`, and builds the typed result.
import {existsSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {AuthError, ConfigError, ExitCode, messageOf} from '../errors.ts'
import type {ProjectIssueCounts} from '../state/records.ts'
import {isPostgresUrl} from '../state/postgres/location.ts'
import {defaultStatePath, openStore, type StateStore} from '../state/state-store.ts'
import type {SnykConnection} from '../submit/snyk-connection.ts'
import type {StatusOptions} from './status-options.ts'
import {countImages, evaluateGate, findDrift, groupImages, isImportedImage, StatusImageBuilder, type ImportedImage} from './status-report.ts'
import type {StatusImage, StatusRefresh, StatusResult, StatusSbomExport} from './status-result.ts'

export interface StatusIO {
  env: NodeJS.ProcessEnv
  /** Page size of the REST projects listing (10..100; default 100). */
  projectPageLimit?: number
  /** Process signals to stop on (tests pass their own emitter). */
  signals?: NodeJS.EventEmitter
}

/** What the Snyk reads need of a connection (src/submit/snyk-connection.ts). */
export type SnykDeps = Pick<SnykConnection, 'client' | 'core' | 'orgId'>

/** Reads the current counts of the selected images' Snyk projects and stores them with the time Snyk counted them. */
export async function refreshIssueCounts(store: StateStore, images: readonly StatusImage[], snyk: SnykDeps, limit: number | undefined): Promise<StatusRefresh> {
  const ids = [...new Set(images.flatMap((image) => image.projects.map((project) => project.id)))].sort()
  const refresh: StatusRefresh = {projects: ids.length, counted: 0}
  if (ids.length === 0) return refresh
  try {
    const run = snyk.core.run.bind(snyk.core)
    const projects = await snyk.client.listProjects(snyk.orgId, {ids, ...(limit === undefined ? {} : {limit})}, snyk.core.signal, run)
    const counts: ProjectIssueCounts[] = []
    for (const project of projects) {
      if (project.issueCounts === undefined) continue
      const {critical, high, medium, low, updatedAt} = project.issueCounts
      const at = updatedAt === undefined ? Number.NaN : Date.parse(updatedAt)
      counts.push({projectId: project.id, critical, high, medium, low, ...(Number.isNaN(at) ? {} : {updatedAt: at})})
    }
    await store.recordIssueCounts(counts)
    refresh.counted = counts.length
  } catch (error) {
    // A refused token or org stops the command (exit 2); anything else is reported with the stored counts.
    if (error instanceof AuthError || snyk.core.signal.aborted) throw error
    refresh.error = `could not read Snyk's results: ${messageOf(error)}`
  }
  return refresh
}

function fileNameOf(image: StatusImage, projectId: string): string {
  const base = `${image.repository}${image.tag === undefined ? '' : `_${image.tag}`}`.replace(/[^A-Za-z0-9._-]+/g, '_')
  return `${base}.${projectId}.cdx.json`
}

/** One CycloneDX document per Snyk project of each selected monitored image. */
async function exportSboms(dir: string, images: readonly StatusImage[], snyk: SnykDeps): Promise<StatusSbomExport> {
  const result: StatusSbomExport = {dir, written: [], failed: []}
  await mkdir(dir, {recursive: true})
  const jobs = images.filter((image) => image.result === 'monitored').flatMap((image) => image.projects.map((project) => ({image, project})))
  await Promise.all(jobs.map(async ({image, project}) => {
    try {
      const document = await snyk.core.run(`SBOM of project ${project.id}`, (signal) => snyk.client.getProjectSbom(snyk.orgId, project.id, signal))
      const file = path.join(dir, fileNameOf(image, project.id))
      await writeFile(file, `${JSON.stringify(document, null, 2)}\n`)
      result.written.push({image: image.image, projectId: project.id, file})
    } catch (error) {
      if (error instanceof AuthError || snyk.core.signal.aborted) throw error
      result.failed.push({image: image.image, projectId: project.id, error: messageOf(error)})
    }
  }))
  result.written.sort((a, b) => a.file.localeCompare(b.file))
  return result
}

/** The images status reports, and what drift needs of every image the store holds. */
interface Selection {
  /** Sorted by key. */
  images: StatusImage[]
  /** Monitored images with a tag and a digest, running or not: what Snyk imported (see findDrift). */
  imported: ImportedImage[]
  /** Whether any image runs anywhere (else the store has nothing to show yet). */
  running: boolean
}

/**
 * Reads the store a chunk at a time and keeps only what the report needs: each record becomes a StatusImage
 * (or nothing) right away, so memory and garbage collection hold the report, not every record of the store.
 */
async function select(store: StateStore, options: StatusOptions): Promise<Selection> {
  const builder = new StatusImageBuilder(options.filters)
  const selection: Selection = {images: [], imported: [], running: false}
  await store.visitImageSummaries({includeNotRunning: true}, (chunk) => {
    for (const listing of chunk) {
      if (listing.placements.length > 0) selection.running = true
      if (isImportedImage(listing)) selection.imported.push({image: listing.image, submission: listing.submission!})
      const image = builder.build(listing)
      if (image !== undefined) selection.images.push(image)
    }
  })
  selection.images.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return selection
}

/** The state store at `statePath` (a file, which must exist: status never creates one; or a PostgreSQL URL). */
export async function openExistingStore(statePath: string, env: NodeJS.ProcessEnv = process.env): Promise<StateStore> {
  if (!isPostgresUrl(statePath) && !existsSync(statePath)) {
    throw new ConfigError(`no state store at ${statePath}: nothing has been synced with it yet`, {code: 'STATE_STORE_MISSING', suggestions: ['run kubectl snyk-watch sync first (with the same --state, if you pass one)', 'or point --state at the store sync wrote']})
  }
  return openStore(statePath, {env})
}

/** What the store says now: images, view, drift, gate and counts (no Snyk request). */
export async function readStatus(store: StateStore, options: StatusOptions, statePath: string): Promise<StatusResult> {
  return buildResult(await select(store, options), options, statePath)
}

function buildResult(selection: Selection, options: StatusOptions, statePath: string, extra: {refresh?: StatusRefresh; sbom?: StatusSbomExport} = {}): StatusResult {
  const {refresh, sbom} = extra
  const {images} = selection
  const drift = findDrift(images, selection.imported)
  const gate = options.failOn === undefined ? undefined : evaluateGate(images, options.failOn)
  const partial = refresh?.error !== undefined || (sbom !== undefined && sbom.failed.length > 0)
  const result: StatusResult = {
    schemaVersion: 1,
    command: 'status',
    outcome: gate?.tripped ? 'gate-tripped' : partial ? 'partial' : 'ok',
    exitCode: gate?.tripped ? ExitCode.gateTripped : partial ? ExitCode.partialFailure : ExitCode.ok,
    generatedAt: new Date().toISOString(),
    statePath,
    view: options.view,
    counts: countImages(images, drift.length),
    images,
    drift,
  }
  if (!selection.running) result.message = `the state store ${statePath} has no running images yet: run kubectl snyk-watch sync first`
  else if (images.length === 0) result.message = 'no image matches the filters'
  if (options.view !== 'image') result.groups = groupImages(images, options.view)
  if (gate) result.gate = gate
  if (refresh) result.refresh = refresh
  if (sbom) result.sbom = sbom
  return result
}

export async function runStatus(options: StatusOptions, io: StatusIO): Promise<StatusResult> {
  const store = await openExistingStore(options.statePath ?? defaultStatePath(io.env), io.env)
  // What users see of the store: its file, or its URL with the password masked.
  const statePath = store.path
  const needsSnyk = options.refresh || options.sbomDir !== undefined
  if (!needsSnyk) {
    try {
      return await readStatus(store, options, statePath)
    } finally {
      await store.close()
    }
  }
  const controller = new AbortController()
  const signals = io.signals ?? process
  const stop = (name: string) => controller.abort(new Error(`interrupted by ${name}`))
  signals.on('SIGINT', stop)
  signals.on('SIGTERM', stop)
  let snyk: SnykConnection | undefined
  try {
    const signal = options.timeoutMs ? AbortSignal.any([controller.signal, AbortSignal.timeout(options.timeoutMs)]) : controller.signal
    // Loaded only when needed: offline status starts faster without undici and the limiter.
    const {connectSnyk} = await import('../submit/snyk-connection.ts')
    snyk = connectSnyk(options, signal)
    let selection = await select(store, options)
    let refresh: StatusRefresh | undefined
    if (options.refresh) {
      refresh = await refreshIssueCounts(store, selection.images, snyk, io.projectPageLimit)
      selection = await select(store, options)
    }
    const sbom = options.sbomDir !== undefined ? await exportSboms(options.sbomDir, selection.images, snyk) : undefined
    return buildResult(selection, options, statePath, {...(refresh ? {refresh} : {}), ...(sbom ? {sbom} : {})})
  } finally {
    await snyk?.close()
    signals.off('SIGINT', stop)
    signals.off('SIGTERM', stop)
    await store.close()
  }
}
