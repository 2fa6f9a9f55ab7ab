// Turns what the state store lists into what `status` reports: images with where they run and their result,
// the rows of a view, drift, and the CI gate. Pure: no I/O, so it is unit-tested with plain records.
import type {ImageListing, Placement} from '../state/records.ts'
import type {StatusFilters} from './status-options.ts'
import {severities, type Severity, type StatusCounts, type StatusDrift, type StatusGate, type StatusGroup, type StatusImage, type StatusImageResult, type StatusView, type Vulnerabilities} from './status-result.ts'

/** `*` matches any run of characters (`/` included), `?` one character; the whole name must match. */
export function imageGlob(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')
  return new RegExp(`^${source}$`)
}

/** The names an image can be matched by: `docker.io/library/nginx:1.27`, `library/nginx:1.27`, `nginx:1.27`, and each without the tag. */
function namesOf(listing: ImageListing): string[] {
  const {registry, repository, tag} = listing.image
  const short = registry === 'docker.io' && repository.startsWith('library/') ? repository.slice('library/'.length) : repository
  const bases = [`${registry}/${repository}`, repository, short]
  return tag === undefined ? bases : [...bases, ...bases.map((base) => `${base}:${tag}`)]
}

function placementMatches(placement: Placement, filters: StatusFilters): boolean {
  if (filters.namespaces.length > 0 && !filters.namespaces.includes(placement.namespace)) return false
  if (filters.contexts.length > 0 && !filters.contexts.some((context) => placement.cluster === context || placement.target === context || placement.target.endsWith(`#${context}`))) return false
  return true
}

export function resultOf(listing: ImageListing): {result: StatusImageResult; reason?: string; fix?: string} {
  const submission = listing.submission
  if (submission === undefined) return {result: 'not-submitted', reason: 'found running, not submitted yet', fix: 'run kubectl snyk-watch sync'}
  switch (submission.state) {
    case 'monitored':
      return {result: 'monitored'}
    case 'failed':
      return {result: 'failed', reason: submission.error?.message ?? 'the last submission failed', fix: 'the next sync tries again'}
    case 'skipped':
      return submission.skip ? {result: 'skipped', reason: submission.skip.reason, fix: submission.skip.fix} : {result: 'skipped'}
    case 'submitted':
      return {result: 'pending', reason: 'Snyk is importing it', fix: 'run kubectl snyk-watch sync --wait to record the projects'}
    default:
      return {result: 'pending', reason: 'queued for submission', fix: 'run kubectl snyk-watch sync'}
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()

function imageName(listing: ImageListing): string {
  const {registry, repository, tag} = listing.image
  return `${registry}/${repository}${tag === undefined ? '' : `:${tag}`}`
}

/** The image as status reports it, with only the placements that pass the filters; undefined when none does. */
export function toStatusImage(listing: ImageListing, filters: StatusFilters, globs: RegExp[]): StatusImage | undefined {
  const placements = filters.contexts.length > 0 || filters.namespaces.length > 0 ? listing.placements.filter((p) => placementMatches(p, filters)) : listing.placements
  if (placements.length === 0) return undefined
  if (globs.length > 0) {
    const names = namesOf(listing)
    if (!globs.some((glob) => names.some((name) => glob.test(name)))) return undefined
  }
  const outcome = resultOf(listing)
  if (filters.results.length > 0 && !filters.results.includes(outcome.result)) return undefined
  const clusters = new Set<string>()
  const namespaces = new Set<string>()
  const workloads = new Set<string>()
  for (const p of placements) {
    clusters.add(p.cluster)
    namespaces.add(`${p.cluster}/${p.namespace}`)
    workloads.add(`${p.cluster}/${p.namespace}/${p.workload.kind}/${p.workload.name}`)
  }
  const image: StatusImage = {image: imageName(listing), key: listing.key, registry: listing.image.registry, repository: listing.image.repository, ...outcome, projects: listing.submission?.projects ?? [], runsIn: {clusters: [...clusters].sort(), namespaces: [...namespaces].sort(), workloads: [...workloads].sort(), containers: placements.length}}
  if (listing.image.tag !== undefined) image.tag = listing.image.tag
  if (listing.image.digest !== undefined) image.digest = listing.image.digest
  if (listing.issues !== undefined) {
    const {critical, high, medium, low, updatedAt} = listing.issues
    image.vulnerabilities = {critical, high, medium, low, updatedAt: iso(updatedAt)}
  }
  if (listing.submission?.submittedAt !== undefined) image.lastSubmitted = iso(listing.submission.submittedAt)
  return image
}

function addVulnerabilities(sum: Vulnerabilities, image: StatusImage): void {
  if (image.vulnerabilities === undefined) return
  sum.critical += image.vulnerabilities.critical
  sum.high += image.vulnerabilities.high
  sum.medium += image.vulnerabilities.medium
  sum.low += image.vulnerabilities.low
}

/** The rows of `--by workload|namespace|cluster`, sorted by name. Each image counts once per row it runs in. */
export function groupImages(images: readonly StatusImage[], view: Exclude<StatusView, 'image'>): StatusGroup[] {
  const groups = new Map<string, StatusGroup>()
  for (const image of images) {
    const keys = view === 'cluster' ? image.runsIn.clusters : view === 'namespace' ? image.runsIn.namespaces : image.runsIn.workloads
    for (const key of keys) {
      let group = groups.get(key)
      if (group === undefined) {
        const [cluster = '', namespace, kind, name] = key.split('/')
        group = {cluster, images: [], results: {}, vulnerabilities: {critical: 0, high: 0, medium: 0, low: 0}}
        if (namespace !== undefined) group.namespace = namespace
        if (kind !== undefined) group.workload = `${kind}/${name}`
        groups.set(key, group)
      }
      group.images.push(image.image)
      group.results[image.result] = (group.results[image.result] ?? 0) + 1
      addVulnerabilities(group.vulnerabilities, image)
    }
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => group)
}

/**
 * Drift: a tag running at several digests across clusters or namespaces; and a tag running at a digest other
 * than the one Snyk last imported (`all` includes images no longer running, to find what Snyk imported).
 */
export function findDrift(images: readonly StatusImage[], all: readonly ImageListing[]): StatusDrift[] {
  const byTag = new Map<string, StatusImage[]>()
  for (const image of images) {
    if (image.tag === undefined || image.digest === undefined) continue
    let list = byTag.get(image.image)
    if (list === undefined) byTag.set(image.image, (list = []))
    list.push(image)
  }
  const drift: StatusDrift[] = []
  for (const [tag, list] of byTag) {
    if (list.length > 1) drift.push({kind: 'tag-digests-differ', tag, digests: list.map((image) => ({digest: image.digest!, runsIn: image.runsIn.namespaces}))})
  }
  // What Snyk imported last, per tag: the most recently monitored image of the tag.
  const imported = new Map<string, {digest: string; at: number}>()
  for (const listing of all) {
    const submission = listing.submission
    if (submission?.state !== 'monitored' || listing.image.tag === undefined || listing.image.digest === undefined) continue
    const tag = imageName(listing)
    if (!byTag.has(tag)) continue
    const at = submission.monitoredAt ?? submission.updatedAt
    const known = imported.get(tag)
    if (known === undefined || at > known.at) imported.set(tag, {digest: listing.image.digest, at})
  }
  for (const [tag, list] of byTag) {
    const snyk = imported.get(tag)
    if (snyk === undefined) continue
    for (const image of list) {
      if (image.digest !== snyk.digest && image.result !== 'monitored') drift.push({kind: 'not-what-snyk-imported', tag, digest: image.digest!, monitoredDigest: snyk.digest, runsIn: image.runsIn.namespaces})
    }
  }
  return drift
}

/** At least one issue at or above `failOn` in any selected image trips the gate. */
export function evaluateGate(images: readonly StatusImage[], failOn: Severity): StatusGate {
  const counted = severities.slice(0, severities.indexOf(failOn) + 1)
  const gate: StatusGate = {failOn, tripped: false, images: [], unknown: 0}
  for (const image of images) {
    const v = image.vulnerabilities
    if (v === undefined) {
      gate.unknown++
      continue
    }
    if (counted.some((severity) => v[severity] > 0)) {
      gate.images.push({image: image.image, ...(image.digest === undefined ? {} : {digest: image.digest}), critical: v.critical, high: v.high, medium: v.medium, low: v.low})
    }
  }
  gate.tripped = gate.images.length > 0
  return gate
}

export function countImages(images: readonly StatusImage[], drift: number): StatusCounts {
  const counts: StatusCounts = {images: images.length, monitored: 0, pending: 0, failed: 0, skipped: 0, notSubmitted: 0, drift, critical: 0, high: 0, medium: 0, low: 0}
  for (const image of images) {
    if (image.result === 'not-submitted') counts.notSubmitted++
    else counts[image.result]++
    addVulnerabilities(counts, image)
  }
  return counts
}
