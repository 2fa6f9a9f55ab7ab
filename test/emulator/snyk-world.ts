/**
 * What the emulated Snyk knows: orgs, tokens, container registry integrations, import jobs and the projects
 * imports create. Ids derive from a seed, so the same options always build the same world.
 */
import {randomUUID} from 'node:crypto'
import {deterministicUuid, stableFraction} from './deterministic-uuid.ts'
import {CONTAINER_INTEGRATION_TYPES, isContainerIntegrationType, splitTargetName} from './target-name-rules.ts'
import type {ContainerIntegrationType} from './target-name-rules.ts'

export interface IssueCounts {
  readonly critical: number
  readonly high: number
  readonly medium: number
  readonly low: number
}

export interface Org {
  readonly id: string
  readonly name: string
  readonly slug: string
}

export interface Integration {
  readonly id: string
  readonly orgId: string
  readonly type: ContainerIntegrationType
  readonly createdAt: string
}

export interface Project {
  readonly id: string
  readonly orgId: string
  readonly integration: Integration
  readonly targetId: string
  /** The imported target name, e.g. `library/nginx:1.27`. */
  readonly name: string
  readonly repository: string
  readonly tag: string
  /** Package manager of the image's OS packages. */
  readonly type: 'deb' | 'apk'
  readonly created: string
  /** Creation order, the key of pagination cursors. */
  readonly ordinal: number
}

export type ImportJobStatus = 'pending' | 'complete' | 'failed'

export interface ImportJob {
  readonly id: string
  readonly integration: Integration
  readonly targetName: string
  readonly created: string
  readonly createdAtMs: number
  readonly outcome: 'complete' | 'failed'
  polls: number
  status: ImportJobStatus
  project?: Project
}

export interface OrgSeed {
  readonly id?: string
  readonly name?: string
  readonly slug?: string
  /** Container registry integrations of the org (default: one of every type). */
  readonly integrations?: ReadonlyArray<ContainerIntegrationType | {readonly type: ContainerIntegrationType; readonly id: string}>
}

export interface TokenSeed {
  readonly token: string
  /** Ids or slugs of the orgs this token may use. */
  readonly orgs: readonly string[]
}

export interface ImportJobTiming {
  /** Polls answered `pending` before the job settles (default 1). Ignored when `pendingMs` is set. */
  readonly pendingPolls?: number
  /** Time a job stays `pending`, in ms, however often it is polled. */
  readonly pendingMs?: number
}

export type ImportMatcher = string | RegExp | ((targetName: string, integration: Integration) => boolean)

export interface WorldOptions {
  /** Seed of every id (default `snyk-emulator`). */
  readonly seed?: string
  /** The token that may use every org (default: a random UUID). */
  readonly token?: string
  /** Orgs; the first is the default org (default: one org `emulated-org`). */
  readonly orgs?: readonly OrgSeed[]
  /** More tokens, each limited to the orgs it lists. */
  readonly tokens?: readonly TokenSeed[]
  readonly importJob?: ImportJobTiming
}

export type OrgAccess = 'allowed' | 'unknown-org' | 'forbidden'

export class SnykWorld {
  readonly seed: string
  readonly token: string
  readonly orgs: readonly Org[]
  readonly integrations: readonly Integration[]
  readonly #tokens = new Map<string, ReadonlySet<string>>()
  readonly #projects = new Map<string, Project>()
  readonly #jobs = new Map<string, ImportJob>()
  readonly #issueCounts = new Map<string, {counts: IssueCounts; updatedAt: string}>()
  readonly #failures = new Set<ImportMatcher>()
  readonly #timing: ImportJobTiming
  #jobCount = 0

  constructor(options: WorldOptions = {}) {
    this.seed = options.seed ?? 'snyk-emulator'
    this.token = options.token ?? randomUUID()
    this.#timing = options.importJob ?? {}
    const createdAt = new Date().toISOString()
    const orgs: Org[] = []
    const integrations: Integration[] = []
    for (const seed of options.orgs ?? [{}]) {
      const name = seed.name ?? seed.slug ?? (orgs.length === 0 ? 'Emulated Org' : `Emulated Org ${orgs.length + 1}`)
      const slug = seed.slug ?? name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
      const org: Org = {id: seed.id ?? deterministicUuid(this.seed, 'org', slug), name, slug}
      if (orgs.some((other) => other.id === org.id || other.slug === org.slug)) throw new Error(`duplicate org ${org.slug}`)
      orgs.push(org)
      for (const entry of seed.integrations ?? CONTAINER_INTEGRATION_TYPES) {
        const type = typeof entry === 'string' ? entry : entry.type
        if (!isContainerIntegrationType(type)) throw new Error(`org ${slug}: unknown container integration type ${String(type)}`)
        if (integrations.some((other) => other.orgId === org.id && other.type === type)) throw new Error(`org ${slug}: two ${type} integrations`)
        const id = typeof entry === 'string' ? deterministicUuid(this.seed, 'integration', org.id, type) : entry.id
        integrations.push({id, orgId: org.id, type, createdAt})
      }
    }
    this.orgs = orgs
    this.integrations = integrations
    this.#tokens.set(this.token, new Set(orgs.map((org) => org.id)))
    for (const {token, orgs: names} of options.tokens ?? []) {
      this.#tokens.set(token, new Set(names.map((name) => this.#orgNamed(name).id)))
    }
  }

  get defaultOrg(): Org {
    return this.orgs[0] as Org
  }

  /** Id of the org's integration of this type (default org by default); throws when there is none. */
  integrationId(type: ContainerIntegrationType, orgId: string = this.defaultOrg.id): string {
    const found = this.integrationOfType(orgId, type)
    if (!found) throw new Error(`org ${orgId} has no ${type} integration`)
    return found.id
  }

  isKnownToken(token: string): boolean {
    return this.#tokens.has(token)
  }

  access(token: string, orgId: string): OrgAccess {
    if (!this.orgs.some((org) => org.id === orgId)) return 'unknown-org'
    return this.#tokens.get(token)?.has(orgId) ? 'allowed' : 'forbidden'
  }

  org(orgId: string): Org | undefined {
    return this.orgs.find((org) => org.id === orgId)
  }

  integrationsOf(orgId: string): Integration[] {
    return this.integrations.filter((integration) => integration.orgId === orgId)
  }

  integration(orgId: string, integrationId: string): Integration | undefined {
    return this.integrations.find((integration) => integration.orgId === orgId && integration.id === integrationId)
  }

  integrationOfType(orgId: string, type: string): Integration | undefined {
    return this.integrations.find((integration) => integration.orgId === orgId && integration.type === type)
  }

  /** Imports of matching targets end `failed` (from now on); returns a function that undoes this. */
  failImports(matcher: ImportMatcher): () => void {
    this.#failures.add(matcher)
    return () => this.#failures.delete(matcher)
  }

  setIssueCounts(targetName: string, counts: IssueCounts): void {
    this.#issueCounts.set(targetName, {counts: {...counts}, updatedAt: new Date().toISOString()})
  }

  issueCounts(project: Project): {counts: IssueCounts; updatedAt: string} {
    const set = this.#issueCounts.get(project.name)
    if (set) return set
    const pick = (severity: string, max: number): number => Math.floor(stableFraction(project.name, severity) * (max + 1))
    return {counts: {critical: pick('critical', 2), high: pick('high', 9), medium: pick('medium', 19), low: pick('low', 29)}, updatedAt: project.created}
  }

  submitImport(integration: Integration, targetName: string): ImportJob {
    const failing = [...this.#failures].some((matcher) => matchesImport(matcher, targetName, integration))
    this.#jobCount += 1
    const job: ImportJob = {
      id: deterministicUuid(this.seed, 'job', String(this.#jobCount)),
      integration,
      targetName,
      created: new Date().toISOString(),
      createdAtMs: performance.now(),
      outcome: failing ? 'failed' : 'complete',
      polls: 0,
      status: 'pending',
    }
    this.#jobs.set(job.id, job)
    return job
  }

  job(integration: Integration, jobId: string): ImportJob | undefined {
    const job = this.#jobs.get(jobId)
    return job?.integration === integration ? job : undefined
  }

  /** Counts a poll of the job and moves it on when its pending time is over. */
  poll(job: ImportJob): ImportJob {
    job.polls += 1
    this.#settle(job)
    return job
  }

  /** Projects of the org, in creation order (time-based import jobs settle first). */
  projectsOf(orgId: string): Project[] {
    for (const job of this.#jobs.values()) this.#settle(job, false)
    return [...this.#projects.values()].filter((project) => project.orgId === orgId)
  }

  project(orgId: string, projectId: string): Project | undefined {
    return this.projectsOf(orgId).find((project) => project.id === projectId)
  }

  /** Every import job so far, oldest first. */
  get jobs(): ImportJob[] {
    return [...this.#jobs.values()]
  }

  #settle(job: ImportJob, polled = true): void {
    if (job.status !== 'pending') return
    const {pendingMs, pendingPolls = 1} = this.#timing
    const due = pendingMs !== undefined ? performance.now() - job.createdAtMs >= pendingMs : polled && job.polls > pendingPolls
    if (!due) return
    job.status = job.outcome
    if (job.outcome === 'complete') job.project = this.#projectFor(job.integration, job.targetName)
  }

  #projectFor(integration: Integration, name: string): Project {
    const id = deterministicUuid(this.seed, 'project', integration.orgId, integration.id, name)
    const existing = this.#projects.get(id)
    if (existing) return existing
    const {repository, tag} = splitTargetName(name)
    const project: Project = {
      id,
      orgId: integration.orgId,
      integration,
      targetId: deterministicUuid(this.seed, 'target', integration.orgId, integration.id, repository),
      name,
      repository,
      tag,
      type: /alpine/.test(name) ? 'apk' : 'deb',
      created: new Date().toISOString(),
      ordinal: this.#projects.size + 1,
    }
    this.#projects.set(id, project)
    return project
  }

  #orgNamed(name: string): Org {
    const org = this.orgs.find((candidate) => candidate.id === name || candidate.slug === name)
    if (!org) throw new Error(`token seed names unknown org ${name}`)
    return org
  }
}

function matchesImport(matcher: ImportMatcher, targetName: string, integration: Integration): boolean {
  if (typeof matcher === 'string') return matcher === targetName
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0
    return matcher.test(targetName)
  }
  return matcher(targetName, integration)
}
