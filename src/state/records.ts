// What the state store hands back: typed records of runs, images, where they run and how their submission went.
// Times are milliseconds since the Unix epoch, as given by the store's clock.
import type {ContainerKind, ImageRef, WorkloadRef} from '../models/image.ts'

/** Where an image stands with Snyk. */
export type SubmissionState =
  /** Claimed or persisted for submission, not sent yet (a run will send it, or the next run resumes it). */
  | 'queued'
  /** The import request is being sent. */
  | 'submitting'
  /** Snyk accepted the import (201 + import job). */
  | 'submitted'
  /** The import job completed: Snyk projects exist for the image. */
  | 'monitored'
  /** The last attempt failed; a later run tries again. */
  | 'failed'
  /** Not submitted on purpose (no integration for its registry, ...); a later run reconsiders it. */
  | 'skipped'

export const submissionStates: readonly SubmissionState[] = ['queued', 'submitting', 'submitted', 'monitored', 'failed', 'skipped']

/** How a run ended. */
export type RunOutcome = 'succeeded' | 'partial' | 'failed' | 'interrupted'

export const runOutcomes: readonly RunOutcome[] = ['succeeded', 'partial', 'failed', 'interrupted']

export interface RunRecord {
  id: string
  command: string
  pid: number
  host: string
  startedAt: number
  finishedAt?: number
  outcome?: RunOutcome
  counts?: Record<string, number>
}

/** A tag that now points to a digest it did not point to before. */
export interface DriftEvent {
  /** `registry/repository:tag`. */
  tag: string
  /** The digest the tag was last seen at before this one. */
  previousDigest: string
  digest: string
  /** Key of the image at the new digest. */
  imageKey: string
}

export interface ObservationResult {
  /** Distinct image keys of the observations, in the order first seen: what to claim. */
  imageKeys: string[]
  /** Keys the store had never seen before. */
  newImageKeys: string[]
  drift: DriftEvent[]
}

export interface RecordObservationsOptions {
  /**
   * `replace` (default): the observations are the target's complete, successful listing; its placements
   * not in it are removed (what `sync` and a watch (re)list do). `merge`: add or update placements only
   * (a watch event).
   */
  mode?: 'replace' | 'merge'
}

export interface ClaimOptions {
  /** The claiming run (from `beginRun`). */
  runId: string
  /** An image submitted (or monitored) less than this long ago is not submitted again. */
  resubmitAfterMs: number
  /** How long the claim holds without renewal (`markSubmitting`, `extendClaims`); after that another run may take it over. */
  leaseMs: number
  /**
   * An image this same run recorded as failed or skipped is reconsidered by this run only after this long;
   * default: never by the same run (any other run reconsiders it at once). For long-running `watch`.
   */
  retryAfterMs?: number
  /** Overrides the store's clock for this call. */
  now?: number
}

/** A run holding claims (`claimHolders`). */
export interface ClaimHolderRecord {
  runId: string
  /** How many images it holds. */
  claims: number
  /** The latest expiry of its claims (ms since the epoch). */
  expiresAt: number
}

export type ClaimResult =
  | {
      claimed: true
      /** The run whose expired claim was taken over (it crashed or was killed). */
      takenOverFrom?: string
      /** State before the claim; absent for an image never claimed before. */
      previousState?: SubmissionState
    }
  | {claimed: false; reason: 'recent'; submittedAt: number; resubmitAt: number}
  | {claimed: false; reason: 'in-flight'; heldBy: string; expiresAt: number}
  | {claimed: false; reason: 'failed-recently' | 'skipped-recently'; at: number}

export interface SubmittedDetails {
  integrationId: string
  integrationType: string
  /** The Import API target name (`org/repo:tag`, ...). */
  targetName: string
  /** The import job URL from the `Location` header. */
  jobUrl: string
}

export interface SnykProjectRef {
  id: string
  name?: string
  url?: string
}

export interface FailureDetails {
  /** A message a user can act on. Anything that looks like a credential is redacted before it is stored. */
  error: string
  /** Whether trying again may help (429, 5xx, network) or not (400, 404, ...). Either way a later run tries again. */
  retryable: boolean
}

export interface SkipDetails {
  reason: string
  fix: string
}

export interface IssueCounts {
  critical: number
  high: number
  medium: number
  low: number
}

export interface ProjectIssueCounts extends IssueCounts {
  projectId: string
  /** When Snyk counted them (ms since the epoch), when it says; default: the store's clock. */
  updatedAt?: number
}

export interface SubmissionRecord {
  state: SubmissionState
  /** Import requests sent so far. */
  attempts: number
  updatedAt: number
  integrationId?: string
  integrationType?: string
  targetName?: string
  jobUrl?: string
  submittedAt?: number
  monitoredAt?: number
  projects: SnykProjectRef[]
  error?: {message: string; retryable: boolean}
  skip?: SkipDetails
  /** Present while a run holds the image for submission. */
  claim?: {runId: string; expiresAt: number}
}

export interface Placement {
  target: string
  cluster: string
  namespace: string
  pod: string
  container: string
  containerKind: ContainerKind
  workload: WorkloadRef
  /** The image as written in the pod spec. */
  reference: string
  lastSeen: number
  runId: string
  /** The pod's `snyk-watch.io/fips` annotation, when it was `true` or `false`. */
  fipsAnnotation?: boolean
}

export interface ImageListing extends ImageSummary {
  firstSeen: number
  lastSeen: number
  /** Where it runs now (each target's latest successful listing). */
  placements: Placement[]
  /** Absent for an image never claimed for submission. */
  submission?: SubmissionRecord
}

/** Where an image runs, as reports need it: without the pod and container (`listImageSummaries`). */
export type PlacementSummary = Pick<Placement, 'target' | 'cluster' | 'namespace' | 'workload' | 'fipsAnnotation'>

/** A submission as reports need it: without its claim, attempts and import details. */
export type SubmissionSummary = Pick<SubmissionRecord, 'state' | 'updatedAt' | 'submittedAt' | 'monitoredAt' | 'projects' | 'error' | 'skip'>

/** An image as reports need it (`listImageSummaries`); `ImageListing` is the full record. */
export interface ImageSummary {
  key: string
  image: ImageRef
  /** Where it runs now (each target's latest successful listing). */
  placements: PlacementSummary[]
  /** Absent for an image never claimed for submission. */
  submission?: SubmissionSummary
  /** Summed over the image's Snyk projects that have counts; absent when none has. */
  issues?: IssueCounts & {updatedAt: number}
}

export interface ListImagesFilter {
  targets?: string[]
  clusters?: string[]
  namespaces?: string[]
  /** Only images in these states; `none` matches images never claimed. */
  states?: Array<SubmissionState | 'none'>
  /** Also list images with no current placement (seen before, not running now). Ignored when filtering by target, cluster or namespace. */
  includeNotRunning?: boolean
}

export interface PendingWork {
  key: string
  image: ImageRef
  state: 'queued' | 'submitting'
  attempts: number
  /** The run holding it, if any; `expired` claims can be taken over at once. */
  claim?: {runId: string; expiresAt: number; expired: boolean}
}
