// The sync pipeline: list every target concurrently, extract and deduplicate images and record them in the
// state store page by page, then hand every unique image to the submission stage (./sync-submissions.ts: the
// claim, import and job steps of src/submit). The `watch` command drives the same stages from list+watch.
import {messageOf} from '../errors.ts'
import {imageKeyOf} from '../images/image-key.ts'
import type {IntegrationMap} from '../images/integration-map.ts'
import {imagesOfPod, type ImageProblem} from '../images/pod-images.ts'
import {configurationFailures, KubeApiClient, KubeRequestError} from '../kube/kube-api-client.ts'
import {listTargetPods} from '../kube/pod-lister.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {Target} from '../kube/target.ts'
import type {ImageObservation} from '../models/image.ts'
import {claimLeaseMs, startClaimHeartbeat} from '../state/claim-holders.ts'
import {ListingRecording} from '../state/listing-recording.ts'
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from '../submit/image-submitter.ts'
import type {SyncProgress} from './sync-progress.ts'
import {countResults, outcomeOf, type SyncDrift, type SyncResult, type SyncTarget} from './sync-result.ts'
import {submitListed} from './sync-submissions.ts'
import {addPlacement, mergeImages, uniqueImageOf, type UniqueImage} from './unique-images.ts'

export type {UniqueImage} from './unique-images.ts'

export interface SyncDeps {
  targets: Target[]
  scope: PodScope
  /** Absent under --dry-run: nothing is written. */
  store?: StateStore
  /** Absent under --dry-run. */
  submitter?: ImageSubmitter
  /** Used under --dry-run (no token: built from --integration and the well-known registries). */
  dryRunIntegrations?: IntegrationMap
  progress: SyncProgress
  clock: () => number
  /** Cancels everything, in-flight requests too (a second Ctrl+C, --timeout, the drain deadline). */
  signal: AbortSignal
  /** A graceful stop (first Ctrl+C, SIGTERM): no new work starts, what is in flight finishes and is recorded. */
  stop: AbortSignal
  resubmitAfterMs: number
  wait: boolean
  /** Images handed to the submission core at once (--concurrency). */
  concurrency: number
  /**
   * How long a claim holds without renewal (default 60 s, src/state/claim-holders.ts): the run renews its claims
   * every third of it while it goes on, so only a run that died loses them (at once on the same host: its pid is gone).
   */
  leaseMs?: number
  /** How long to wait for the outcome of images another live run holds before reporting them in flight elsewhere (default 5 minutes). */
  holderWaitMs?: number
  /** How often held images are looked at again while waiting (default 500 ms). */
  holderPollMs?: number
  pageSize?: number
  /** Retention: placements (of any target) not seen for this long are removed when the run ends (--forget-after). */
  forgetAfterMs?: number
  /** The API client of a target (tests give a fake). */
  createClient?: (target: Target) => KubeApiClient
}

function describeTargetError(error: unknown, target: Target): {error: string; suggestion?: string; configurationError?: boolean} {
  if (error instanceof KubeRequestError) {
    const configuration = configurationFailures.has(error.kind) ? {configurationError: true} : {}
    if (error.suggestion) return {error: error.message, suggestion: error.suggestion, ...configuration}
    if (error.kind === 'forbidden') {
      const user = target.config.getContextObject(target.context)?.user
      return {error: `forbidden: ${error.message}`, suggestion: `list pods in namespaces you may read with -n NAMESPACE, or ask for list permission on pods for user "${user ?? ''}" (context ${target.context})`}
    }
    return {error: error.message, ...configuration}
  }
  return {error: messageOf(error)}
}

export async function runSync(deps: SyncDeps): Promise<SyncResult> {
  const runId = deps.store ? await deps.store.beginRun('sync') : undefined
  // Renews this run's claims while it goes on: a live run keeps what it holds, a killed one loses it within a lease.
  const heartbeat = deps.store && runId ? startClaimHeartbeat(deps.store, runId, deps.leaseMs ?? claimLeaseMs) : undefined
  try {
    return await runPipeline(deps, runId)
  } catch (error) {
    // An authentication error or a bug: the run is recorded as failed and its claims are given back.
    if (deps.store && runId) await deps.store.finishRun(runId, 'failed', {})
    throw error
  } finally {
    heartbeat?.stop()
  }
}

async function runPipeline(deps: SyncDeps, runId: string | undefined): Promise<SyncResult> {
  const started = deps.clock()
  const targets: SyncTarget[] = []
  const unique = new Map<string, UniqueImage>()
  const problems: ImageProblem[] = []
  const drift: SyncDrift[] = []
  /** Images this run inserted into the store: first seen now (--fail-on-new). */
  const newKeys = new Set<string>()
  let containers = 0

  deps.progress.targetsStarted(deps.targets.map((t) => ({id: t.id, name: t.name})))
  await Promise.all(
    deps.targets.map(async (target) => {
      const client = deps.createClient?.(target) ?? new KubeApiClient(target)
      try {
        // Each page is recorded (merged into the target's placements) and summed up into this target's images,
        // then dropped; once the listing is complete, placements it did not see are pruned. The target's images
        // join the run's only when its listing succeeded.
        const found = new Map<string, UniqueImage>()
        const foundDrift: SyncDrift[] = []
        let foundContainers = 0
        const recording = deps.store && runId ? await ListingRecording.start(deps.store, runId, target.id) : undefined
        const listing = await listTargetPods(client, deps.scope, {
          signal: AbortSignal.any([deps.signal, deps.stop]),
          ...(deps.pageSize ? {pageSize: deps.pageSize} : {}),
          onProgress: (pods) => deps.progress.targetListing(target.id, pods),
          onPods: async (pods) => {
            const page: ImageObservation[] = []
            for (const pod of pods) {
              const images = imagesOfPod(pod, {target: target.id, cluster: target.name})
              for (const observation of images.observations) page.push(observation)
              for (const problem of images.problems) problems.push(problem)
            }
            if (recording) {
              const recorded = await recording.page(page)
              for (const key of recorded.newImageKeys) newKeys.add(key)
              for (const event of recorded.drift) foundDrift.push({tag: event.tag, previousDigest: event.previousDigest, digest: event.digest})
            }
            for (const observation of page) {
              const key = imageKeyOf(observation)
              let entry = found.get(key)
              if (entry === undefined) found.set(key, (entry = uniqueImageOf(key, observation)))
              addPlacement(entry, observation)
            }
            foundContainers += page.length
          },
        })
        await recording?.complete()
        containers += foundContainers
        for (const event of foundDrift) drift.push(event)
        mergeImages(unique, found)
        targets.push({name: target.name, context: target.context, source: target.source, status: 'ok', pods: listing.podCount, images: found.size, skippedPods: listing.skippedPods, warnings: listing.warnings})
        deps.progress.targetDone(target.id, {pods: listing.podCount, images: found.size})
      } catch (error) {
        if (deps.signal.aborted || deps.stop.aborted) {
          targets.push({name: target.name, context: target.context, source: target.source, status: 'failed', error: 'interrupted', pods: 0, images: 0, skippedPods: 0, warnings: []})
          return
        }
        const described = describeTargetError(error, target)
        targets.push({name: target.name, context: target.context, source: target.source, status: 'failed', ...described, pods: 0, images: 0, skippedPods: 0, warnings: []})
        deps.progress.targetDone(target.id, {error: described.error})
      } finally {
        await client.close()
      }
    }),
  )
  targets.sort((a, b) => a.name.localeCompare(b.name))

  const {images, interrupted} = await submitListed(deps, runId, unique)
  for (const image of images) if (newKeys.has(image.key)) image.new = true

  const counts = countResults(targets, images, containers)
  const {outcome, exitCode} = outcomeOf(counts, interrupted, targets.some((t) => t.configurationError))
  if (deps.store && runId) {
    if (deps.forgetAfterMs !== undefined) await deps.store.forgetPlacementsSeenBefore((await deps.store.now()) - deps.forgetAfterMs)
    await deps.store.finishRun(runId, outcome, {...counts})
  }
  const finished = deps.clock()
  return {
    schemaVersion: 1,
    command: 'sync',
    dryRun: !deps.store,
    outcome,
    exitCode,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    counts,
    targets,
    images,
    drift,
    problems: problems.map((p) => ({target: p.cluster, namespace: p.namespace, pod: p.pod, container: p.container, reference: p.reference, message: p.message})),
  }
}
