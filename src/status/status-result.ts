// The typed result of `status`: what -o json / -o yaml print (a documented, stable schema: see README.md)
// and what the tables show.
import type {FipsSource} from '../images/fips.ts'

/** Where an image stands with Snyk, as `status` reports it. */
export type StatusImageResult =
  /** Snyk imported it: projects exist (counts come with `--refresh`). */
  | 'monitored'
  /** Submitted (or queued, or being submitted) and not imported yet. */
  | 'pending'
  /** The last submission failed: see reason. */
  | 'failed'
  /** Not submitted on purpose: see reason and fix. */
  | 'skipped'
  /** Found running, never claimed for submission. */
  | 'not-submitted'

export const statusImageResults: readonly StatusImageResult[] = ['monitored', 'pending', 'failed', 'skipped', 'not-submitted']

export type StatusView = 'image' | 'workload' | 'namespace' | 'cluster'
export const statusViews: readonly StatusView[] = ['image', 'workload', 'namespace', 'cluster']

export type Severity = 'critical' | 'high' | 'medium' | 'low'
/** Highest first. */
export const severities: readonly Severity[] = ['critical', 'high', 'medium', 'low']

export interface Vulnerabilities {
  critical: number
  high: number
  medium: number
  low: number
}

export interface StatusImage {
  /** registry/repository[:tag]. */
  image: string
  key: string
  registry: string
  repository: string
  tag?: string
  /** The digest it runs at. */
  digest?: string
  result: StatusImageResult
  reason?: string
  fix?: string
  /** FIPS by the name heuristic or the pods' `snyk-watch.io/fips` annotation (see src/images/fips.ts). */
  fips: boolean
  /** What decided `fips`: the name, the annotation, or annotations that disagree (then not FIPS). */
  fipsSource: FipsSource
  /** Summed over the image's Snyk projects; absent until counts were read (`--refresh`). */
  vulnerabilities?: Vulnerabilities & {updatedAt: string}
  /** When it was last submitted to Snyk (ISO 8601). */
  lastSubmitted?: string
  projects: Array<{id: string; name?: string; url?: string}>
  runsIn: {
    clusters: string[]
    /** `cluster/namespace`. */
    namespaces: string[]
    /** `cluster/namespace/Kind/name`. */
    workloads: string[]
    containers: number
  }
}

/** One row of `--by workload|namespace|cluster`. */
export interface StatusGroup {
  cluster: string
  namespace?: string
  /** `Kind/name`. */
  workload?: string
  /** Image names (registry/repository[:tag]) in this group. */
  images: string[]
  results: Partial<Record<StatusImageResult, number>>
  /** How many of the group's images are FIPS. */
  fips: number
  /** Summed over the group's images that have counts. */
  vulnerabilities: Vulnerabilities
}

export type StatusDrift =
  /** One tag runs at several digests across clusters or namespaces. */
  | {kind: 'tag-digests-differ'; tag: string; digests: Array<{digest: string; runsIn: string[]}>}
  /** The tag runs at a digest Snyk has not imported; Snyk's projects are of `monitoredDigest`. */
  | {kind: 'not-what-snyk-imported'; tag: string; digest: string; monitoredDigest: string; runsIn: string[]}

export interface StatusGate {
  failOn: Severity
  tripped: boolean
  /** Selected images with at least one issue at or above `failOn`. */
  images: Array<{image: string; digest?: string} & Vulnerabilities>
  /** Selected images without issue counts (not monitored, or counts never read): the gate cannot judge them. */
  unknown: number
}

export interface StatusRefresh {
  /** Snyk projects asked for and how many came back with counts. */
  projects: number
  counted: number
  /** Set when the refresh failed; the counts shown are the stored ones. */
  error?: string
}

export interface StatusSbomExport {
  dir: string
  written: Array<{image: string; projectId: string; file: string}>
  failed: Array<{image: string; projectId: string; error: string}>
}

export interface StatusCounts extends Vulnerabilities {
  images: number
  monitored: number
  pending: number
  failed: number
  skipped: number
  notSubmitted: number
  /** Images classified FIPS. */
  fips: number
  drift: number
}

export interface StatusResult {
  schemaVersion: 1
  command: 'status'
  /** ok | gate-tripped | partial (a refresh or an SBOM export failed). */
  outcome: 'ok' | 'gate-tripped' | 'partial'
  exitCode: number
  generatedAt: string
  statePath: string
  /** Set when there is nothing to show, saying what to run first. */
  message?: string
  view: StatusView
  counts: StatusCounts
  images: StatusImage[]
  /** Rows of the view when it is not `image`. */
  groups?: StatusGroup[]
  drift: StatusDrift[]
  gate?: StatusGate
  refresh?: StatusRefresh
  sbom?: StatusSbomExport
}
