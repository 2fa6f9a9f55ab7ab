// Turns what the state store lists into what `status` reports: images with where they run and their result,
// the rows of a view, drift, and the CI gate. Pure: no I/O, so it is unit-tested with plain records.
import {classifyFips} from '../images/fips.ts'
import type {ImageSummary, PlacementSummary} from '../state/records.ts'
import type {StatusFilters} from './status-options.ts'
import {severities, type Severity, type StatusCounts, type StatusDrift, type StatusGate, type StatusGroup, type StatusImage, type StatusImageResult, type StatusView, type Vulnerabilities} from './status-result.ts'

/** `*` matches any run of characters (`/` included), `?` one character; the whole name must match. */
export function imageGlob(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')
  return new RegExp(`^${source}$`)
}

/** The names an image can be matched by: `docker.io/library/nginx:1.27`, `library/nginx:1.27`, `nginx:1.27`, and each without the tag. */
function namesOf(listing: ImageSummary): string[] {
  const {registry, repository, tag} = listing.image
  const short = registry === 'docker.io' && repository.startsWith('library/') ? repository.slice('library/'.length) : repository
  const bases = [`${registry}/${repository}`, repository, short]
  return tag === undefined ? bases : [...bases, ...bases.map((base) => `${base}:${tag}`)]
}

function placementMatches(placement: PlacementSummary, filters: StatusFilters): boolean {
  if (filters.namespaces.length > 0 && !filters.namespaces.includes(placement.namespace)) return false
  if (filters.contexts.length > 0 && !filters.contexts.some((context) => placement.cluster === context || placement.target === context || placement.target.endsWith(`#${context}`))) return false
  return true
}

export function resultOf(listing: ImageSummary): {result: StatusImageResult; reason?: string; fix?: string} {
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

function imageName(image: ImageSummary['image']): string {
  return image.tag === undefined ? `${image.registry}/${image.repository}` : `${image.registry}/${image.repository}:${image.tag}`
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The distinct values, sorted, in an array of their size (an array grown by push keeps room for 16: megabytes over 20,000 images). */
function distinctSorted(values: string[]): string[] {
  return [...new Set(values)].sort(byText).slice()
}

/**
 * Builds the images `status` reports from what the store lists, with only the placements that pass the
 * filters. One builder per report: it shares the strings many images repeat (`cluster/namespace`, times),
 * which keeps a report of 20,000 images small and fast.
 */
export class StatusImageBuilder {
  readonly #filters: StatusFilters
  readonly #globs: RegExp[]
  readonly #filtersPlacements: boolean
  readonly #namespaces = new Map<string, Map<string, string>>()
  readonly #times = new Map<number, string>()

  constructor(filters: StatusFilters, globs: RegExp[] = filters.images.map(imageGlob)) {
    this.#filters = filters
    this.#globs = globs
    this.#filtersPlacements = filters.contexts.length > 0 || filters.namespaces.length > 0
  }

  /** The image as status reports it; undefined when no placement passes the filters or the image does not. */
  build(listing: ImageSummary): StatusImage | undefined {
    const filters = this.#filters
    const placements = this.#filtersPlacements ? listing.placements.filter((p) => placementMatches(p, filters)) : listing.placements
    if (placements.length === 0 && (filters.all !== true || this.#filtersPlacements)) return undefined
    if (this.#globs.length > 0) {
      const names = namesOf(listing)
      if (!this.#globs.some((glob) => names.some((name) => glob.test(name)))) return undefined
    }
    const outcome = resultOf(listing)
    if (filters.results.length > 0 && !filters.results.includes(outcome.result)) return undefined
    // FIPS is the image's: every pod running it may carry the override, whatever the filters select.
    const fips = classifyFips(listing.image, listing.placements)
    if (filters.fips !== undefined && fips.fips !== filters.fips) return undefined

    const {registry, repository, tag, digest} = listing.image
    // Built field by field, in the order -o json shows them; every required field is set below.
    const image = {image: imageName(listing.image), key: listing.key, registry, repository} as StatusImage
    if (tag !== undefined) image.tag = tag
    if (digest !== undefined) image.digest = digest
    image.result = outcome.result
    if (outcome.reason !== undefined) image.reason = outcome.reason
    if (outcome.fix !== undefined) image.fix = outcome.fix
    image.fips = fips.fips
    image.fipsSource = fips.source
    if (listing.issues !== undefined) {
      const {critical, high, medium, low, updatedAt} = listing.issues
      image.vulnerabilities = {critical, high, medium, low, updatedAt: this.#iso(updatedAt)}
    }
    const submittedAt = listing.submission?.submittedAt
    if (submittedAt !== undefined) image.lastSubmitted = this.#iso(submittedAt)
    image.projects = listing.submission?.projects ?? []
    image.runsIn = this.#runsIn(placements)
    return image
  }

  #runsIn(placements: readonly PlacementSummary[]): StatusImage['runsIn'] {
    if (placements.length === 1) {
      const p = placements[0]!
      const namespace = this.#namespace(p.cluster, p.namespace)
      return {clusters: [p.cluster], namespaces: [namespace], workloads: [`${namespace}/${p.workload.kind}/${p.workload.name}`], containers: 1}
    }
    const clusters: string[] = []
    const namespaces: string[] = []
    const workloads: string[] = []
    for (const p of placements) {
      const namespace = this.#namespace(p.cluster, p.namespace)
      clusters.push(p.cluster)
      namespaces.push(namespace)
      workloads.push(`${namespace}/${p.workload.kind}/${p.workload.name}`)
    }
    return {clusters: distinctSorted(clusters), namespaces: distinctSorted(namespaces), workloads: distinctSorted(workloads), containers: placements.length}
  }

  /** `cluster/namespace`, one string per pair. */
  #namespace(cluster: string, namespace: string): string {
    let inCluster = this.#namespaces.get(cluster)
    if (inCluster === undefined) this.#namespaces.set(cluster, (inCluster = new Map()))
    let name = inCluster.get(namespace)
    if (name === undefined) inCluster.set(namespace, (name = `${cluster}/${namespace}`))
    return name
  }

  #iso(ms: number): string {
    let text = this.#times.get(ms)
    if (text === undefined) this.#times.set(ms, (text = new Date(ms).toISOString()))
    return text
  }
}

/** The image as status reports it, with only the placements that pass the filters; undefined when none does. */
export function toStatusImage(listing: ImageSummary, filters: StatusFilters, globs: RegExp[]): StatusImage | undefined {
  return new StatusImageBuilder(filters, globs).build(listing)
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
        group = {cluster, images: [], results: {}, fips: 0, vulnerabilities: {critical: 0, high: 0, medium: 0, low: 0}}
        if (namespace !== undefined) group.namespace = namespace
        if (kind !== undefined) group.workload = `${kind}/${name}`
        groups.set(key, group)
      }
      group.images.push(image.image)
      group.results[image.result] = (group.results[image.result] ?? 0) + 1
      if (image.fips) group.fips++
      addVulnerabilities(group.vulnerabilities, image)
    }
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => group)
}

/** What drift needs to know of an image the store holds, running or not: what Snyk imported of a tag, and when. */
export type ImportedImage = Pick<ImageSummary, 'image' | 'submission'>

/** Whether drift needs `listing` (see findDrift): monitored, with a tag and a digest. */
export function isImportedImage(listing: ImportedImage): boolean {
  return listing.submission?.state === 'monitored' && listing.image.tag !== undefined && listing.image.digest !== undefined
}

/**
 * Drift: a tag running at several digests across clusters or namespaces; and a tag running at a digest other
 * than the one Snyk last imported (`all`: the images the store holds, running or not, or only those
 * `isImportedImage` keeps, to find what Snyk imported).
 */
export function findDrift(images: readonly StatusImage[], all: readonly ImportedImage[]): StatusDrift[] {
  // Most repositories run one image: group by repository first (one cheap lookup per image; the repository
  // string comes from the store, no name is built) and look at tags only where a repository runs several.
  const byRepository = new Map<string, StatusImage | StatusImage[]>()
  for (const image of images) {
    if (image.tag === undefined || image.digest === undefined) continue
    const known = byRepository.get(image.repository)
    if (known === undefined) byRepository.set(image.repository, image)
    else if (Array.isArray(known)) known.push(image)
    else byRepository.set(image.repository, [known, image])
  }
  // Tags run by several images or not monitored (those may run what Snyk has not imported), in order of first appearance.
  const byTag = new Map<string, StatusImage[]>()
  const unmonitored = new Set<string>()
  for (const image of images) {
    if (image.tag === undefined || image.digest === undefined) continue
    if (image.result === 'monitored' && !Array.isArray(byRepository.get(image.repository))) continue
    let list = byTag.get(image.image)
    if (list === undefined) byTag.set(image.image, (list = []))
    list.push(image)
    if (image.result !== 'monitored') unmonitored.add(image.repository)
  }
  const drift: StatusDrift[] = []
  for (const [tag, list] of byTag) {
    if (list.length > 1) drift.push({kind: 'tag-digests-differ', tag, digests: list.map((image) => ({digest: image.digest!, runsIn: image.runsIn.namespaces}))})
  }
  if (unmonitored.size === 0) return drift
  // What Snyk imported last, per tag: the most recently monitored image of the tag.
  const imported = new Map<string, {digest: string; at: number}>()
  for (const listing of all) {
    const submission = listing.submission
    if (submission === undefined || !isImportedImage(listing) || !unmonitored.has(listing.image.repository)) continue
    const tag = imageName(listing.image)
    if (!byTag.has(tag)) continue
    const at = submission.monitoredAt ?? submission.updatedAt
    const known = imported.get(tag)
    if (known === undefined || at > known.at) imported.set(tag, {digest: listing.image.digest!, at})
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
  const counts: StatusCounts = {images: images.length, monitored: 0, pending: 0, failed: 0, skipped: 0, notSubmitted: 0, fips: 0, drift, critical: 0, high: 0, medium: 0, low: 0}
  for (const image of images) {
    if (image.result === 'not-submitted') counts.notSubmitted++
    else counts[image.result]++
    if (image.fips) counts.fips++
    addVulnerabilities(counts, image)
  }
  return counts
}
