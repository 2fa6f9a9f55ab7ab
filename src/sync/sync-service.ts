// The sync pipeline: list every target concurrently, extract and deduplicate images, record them in
// the state store, then submit each unique image once through the submission core. The `watch`
// command drives the same stages with a different pod source.
import {messageOf} from '../errors.ts'
import {formatImageRef} from '../images/image-reference.ts'
import {imageKeyOf} from '../images/image-key.ts'
import type {ImportPlan, IntegrationMap} from '../images/integration-map.ts'
import {imagesOfPod, type ImageProblem} from '../images/pod-images.ts'
import {configurationFailures, KubeApiClient, KubeRequestError} from '../kube/kube-api-client.ts'
import {listTargetPods} from '../kube/pod-lister.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {Target} from '../kube/target.ts'
import type {ImageObservation, ImageRef} from '../models/image.ts'
import {claimLeaseMs, describeHolder, holderName, releaseClaimsOfGoneRuns, releaseIfGone, startClaimHeartbeat, type ClaimHolder, type GoneRun} from '../state/claim-holders.ts'
import type {StateStore} from '../state/state-store.ts'
import type {ImageSubmitter} from '../submit/image-submitter.ts'
import {importClaimed} from '../submit/import-step.ts'
import {workPool} from '../submit/work-pool.ts'
import {waitForHolders} from './held-images.ts'
import type {SubmissionSnapshot, SyncProgress} from './sync-progress.ts'
import {countResults, outcomeOf, type SyncDrift, type SyncImage, type SyncResult, type SyncTarget} from './sync-result.ts'

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
}

/**
 * One unique image and where it runs, summed up as its observations arrive: the observations themselves are
 * recorded page by page and dropped, so memory grows with images and workloads, not with pods.
 */
export interface UniqueImage {
  key: string
  image: ImageRef
  digest: string | undefined
  clusters: Set<string>
  /** `cluster/namespace` */
  namespaces: Set<string>
  /** `namespace/kind/name` */
  workloads: Set<string>
  containers: number
}

function uniqueImageOf(key: string, observation: ImageObservation): UniqueImage {
  return {key, image: observation.image, digest: observation.runningDigest ?? observation.image.digest, clusters: new Set(), namespaces: new Set(), workloads: new Set(), containers: 0}
}

function addPlacement(entry: UniqueImage, observation: ImageObservation): void {
  entry.clusters.add(observation.cluster)
  entry.namespaces.add(`${observation.cluster}/${observation.namespace}`)
  entry.workloads.add(`${observation.namespace}/${observation.workload.kind}/${observation.workload.name}`)
  entry.containers++
}

function placementSummary(entry: UniqueImage): SyncImage['runsIn'] {
  return {clusters: [...entry.clusters].sort(), namespaces: entry.namespaces.size, workloads: [...entry.workloads].sort().slice(0, 20), containers: entry.containers}
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
  const runId = deps.store?.beginRun('sync')
  // Renews this run's claims while it goes on: a live run keeps what it holds, a killed one loses it within a lease.
  const heartbeat = deps.store && runId ? startClaimHeartbeat(deps.store, runId, deps.leaseMs ?? claimLeaseMs) : undefined
  try {
    return await runPipeline(deps, runId)
  } catch (error) {
    // An authentication error or a bug: the run is recorded as failed and its claims are given back.
    if (deps.store && runId) deps.store.finishRun(runId, 'failed', {})
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
  let containers = 0

  deps.progress.targetsStarted(deps.targets.map((t) => ({id: t.id, name: t.name})))
  await Promise.all(
    deps.targets.map(async (target) => {
      const client = new KubeApiClient(target)
      try {
        // Each page is recorded (merged into the target's placements) and summed up into this target's images,
        // then dropped; once the listing is complete, placements it did not see are pruned. The target's images
        // join the run's only when its listing succeeded.
        const found = new Map<string, UniqueImage>()
        const foundDrift: SyncDrift[] = []
        let foundContainers = 0
        const listStartedAt = deps.store?.now()
        const listing = await listTargetPods(client, deps.scope, {
          signal: AbortSignal.any([deps.signal, deps.stop]),
          ...(deps.pageSize ? {pageSize: deps.pageSize} : {}),
          onProgress: (pods) => deps.progress.targetListing(target.id, pods),
          onPods: (pods) => {
            const page: ImageObservation[] = []
            for (const pod of pods) {
              const images = imagesOfPod(pod, {target: target.id, cluster: target.name})
              for (const observation of images.observations) page.push(observation)
              for (const problem of images.problems) problems.push(problem)
            }
            if (deps.store && runId) {
              const recorded = deps.store.recordObservations(runId, target.id, page, {mode: 'merge'})
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
        if (deps.store && listStartedAt !== undefined) deps.store.prunePlacements(target.id, listStartedAt)
        containers += foundContainers
        for (const event of foundDrift) drift.push(event)
        for (const [key, mine] of found) {
          const entry = unique.get(key)
          if (entry === undefined) {
            unique.set(key, mine)
            continue
          }
          for (const cluster of mine.clusters) entry.clusters.add(cluster)
          for (const namespace of mine.namespaces) entry.namespaces.add(namespace)
          for (const workload of mine.workloads) entry.workloads.add(workload)
          entry.containers += mine.containers
        }
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

  const stopped = () => deps.signal.aborted || deps.stop.aborted
  const integrations = deps.submitter && !stopped() ? await deps.submitter.integrationMap() : deps.dryRunIntegrations
  const images: SyncImage[] = []
  type Work = {entry: UniqueImage; result: SyncImage; plan: Extract<ImportPlan, {outcome: 'import'}>}
  const queue: Work[] = []
  /** Images another live run holds: this run waits for their outcome (or takes them over if that run dies). */
  const held: Array<Work & {holder: ClaimHolder}> = []
  const leaseMs = deps.leaseMs ?? claimLeaseMs
  /** Images whose claim this run took over from a run that stopped without finishing: key -> that run's id. */
  const takenOver = new Map<string, string>()
  const noteGone = (gone: GoneRun[]) => {
    for (const {run, keys} of gone) for (const key of keys) takenOver.set(key, run.id)
  }
  // Claims of runs on this host that are gone (killed, crashed) are taken back at once, not after their lease.
  if (deps.store && runId && deps.submitter && !stopped()) noteGone(releaseClaimsOfGoneRuns(deps.store, {self: runId}))
  const markHeld = (result: SyncImage, holder: ClaimHolder) => Object.assign(result, {result: 'in-flight', heldBy: holder, reason: `${holderName(holder)} is submitting it; its claim holds until ${holder.until} unless renewed`})
  for (const entry of [...unique.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    const plan: ImportPlan | undefined = integrations?.planImport(entry.image)
    const result: SyncImage = {
      image: formatImageRef(entry.image),
      key: entry.key,
      registry: entry.image.registry,
      repository: entry.image.repository,
      ...(entry.image.tag ? {tag: entry.image.tag} : {}),
      ...(entry.digest ? {digest: entry.digest} : {}),
      result: 'would-submit',
      runsIn: placementSummary(entry),
    }
    images.push(result)
    if (!plan) {
      result.result = 'interrupted'
      continue
    }
    if (plan.outcome === 'skip') {
      Object.assign(result, {result: deps.store ? 'skipped' : 'would-skip', reason: plan.reason, fix: plan.fix})
      if (deps.store && runId) deps.store.recordSkipped(entry.key, runId, {reason: plan.reason, fix: plan.fix})
      continue
    }
    Object.assign(result, {integration: {type: plan.integrationType, id: plan.integrationId}, snykTarget: plan.targetName})
    if (!deps.store || !runId || !deps.submitter) continue
    const store = deps.store
    const claimOptions = {runId, resubmitAfterMs: deps.resubmitAfterMs, leaseMs}
    let claim = store.claim(entry.key, claimOptions)
    if (!claim.claimed && claim.reason === 'in-flight' && claim.heldBy !== runId && releaseIfGone(store, claim.heldBy)) {
      takenOver.set(entry.key, claim.heldBy)
      claim = store.claim(entry.key, claimOptions)
    }
    if (claim.claimed) {
      if (claim.takenOverFrom) takenOver.set(entry.key, claim.takenOverFrom)
      const from = takenOver.get(entry.key)
      if (from) result.takenOverFrom = from
      queue.push({entry, result, plan})
      continue
    }
    if (claim.reason === 'in-flight') {
      const holder = describeHolder(store, claim.heldBy, claim.expiresAt)
      markHeld(result, holder)
      held.push({entry, result, plan, holder})
    } else if (claim.reason === 'recent') Object.assign(result, {result: 'unchanged', reason: `submitted ${new Date(claim.submittedAt).toISOString()}; again after ${new Date(claim.resubmitAt).toISOString()} (--resubmit-after)`})
    else Object.assign(result, {result: 'unchanged', reason: `${claim.reason === 'failed-recently' ? 'failed' : 'skipped'} earlier in this run`})
  }

  let interrupted = false
  if (deps.submitter && deps.store && runId) {
    const submitter = deps.submitter
    const store = deps.store
    let done = 0
    let failed = 0
    const snapshot = (): SubmissionSnapshot => {
      const live = submitter.snapshot()
      const elapsed = deps.clock() - submitStarted
      const rate = done > 0 ? elapsed / done : undefined
      return {done, total, failed, inFlight: live.inFlight, retries: live.retries, ...(live.pausedUntil ? {pausedUntil: live.pausedUntil} : {}), ...(rate ? {etaMs: rate * (total - done)} : {})}
    }
    /** Images to submit: those claimed at first, then those taken over while waiting for other runs. */
    let total = queue.length
    const submitStarted = deps.clock()
    deps.progress.submissionsStarted(queue.length)
    const ticker = setInterval(() => deps.progress.submissionUpdate(snapshot()), 250)
    let fatal: unknown
    try {
      // Several unique images can become the same Snyk target (the same tag seen with and without its
      // running digest): Snyk imports by tag, so that target is imported once and shares the outcome.
      const groups = new Map<string, typeof queue>()
      for (const item of queue) {
        const id = `${item.plan.integrationId}/${item.plan.targetName}`
        groups.set(id, [...(groups.get(id) ?? []), item])
      }
      // At most `concurrency` images are handed to the submission core at a time, so that a graceful stop
      // leaves the rest untouched while the ones in flight finish and are recorded.
      const pool = workPool<typeof queue>(deps.concurrency, async (group) => {
          const plan = group[0]!.plan
          const settle = (update: (key: string) => void, fields: Partial<SyncImage>) => {
            for (const {entry, result} of group) {
              update(entry.key)
              Object.assign(result, fields)
            }
          }
          if (deps.signal.aborted || deps.stop.aborted || fatal) {
            settle((key) => store.release(key, runId), {result: 'interrupted'})
            done += group.length
            return
          }
          try {
            settle((key) => store.markSubmitting(key, runId), {})
            const step = await importClaimed({store, submitter, runId, keys: group.map(({entry}) => entry.key), plan, signal: deps.signal, cancelled: () => deps.signal.aborted || deps.stop.aborted || Boolean(fatal)})
            if (step.kind === 'cut-off') {
              for (const {result} of group) result.result = 'interrupted'
              return
            }
            if (step.kind === 'fatal') {
              fatal ??= step.error
              settle(() => {}, {result: 'interrupted'})
              return
            }
            if (step.kind === 'failed') {
              settle(() => {}, {result: 'failed', reason: step.message})
              failed += group.length
              return
            }
            const {jobUrl} = step
            settle(() => {}, {result: 'submitted', importJob: jobUrl})
            if (deps.wait) {
              const job = await submitter.waitForJob(jobUrl, AbortSignal.any([deps.signal, deps.stop]))
              if (job.status === 'complete') {
                settle((key) => store.recordMonitored(key, {projects: job.projects}), {result: 'monitored', projects: job.projects})
              } else if (job.status === 'timeout') {
                settle(() => {}, {result: 'pending', reason: job.error})
              } else {
                settle((key) => store.recordFailed(key, runId, {error: job.error, retryable: false}), {result: 'failed', reason: job.error})
                failed += group.length
              }
            }
          } catch (error) {
            // While waiting for the import job (the import step handles its own failures).
            if (deps.signal.aborted || deps.stop.aborted || fatal) {
              // Cut off: the next run takes what was not submitted (a submitted image keeps its record).
              settle((key) => (store.getSubmission(key)?.state === 'submitted' ? undefined : store.release(key, runId)), {})
              for (const {result} of group) if (result.result !== 'submitted') result.result = 'interrupted'
              return
            }
            const described = submitter.classify(error)
            if (described.fatal) {
              fatal ??= error
              settle((key) => store.release(key, runId), {result: 'interrupted'})
              return
            }
            settle((key) => store.recordFailed(key, runId, {error: described.message, retryable: described.retryable}), {result: 'failed', reason: described.message})
            failed += group.length
          } finally {
            done += group.length
          }
        })
      for (const [id, group] of groups) pool.push(id, group)
      await Promise.all([
        waitForHolders({store, runId, held, leaseMs, deps, fatal: () => fatal, noteGone, markHeld, submit: (item) => {
          const from = takenOver.get(item.entry.key)
          if (from) item.result.takenOverFrom = from
          total += 1
          // Under a key of its own: an image taken over joins no group already queued or sent, and its result settles.
          pool.push(`taken-over/${item.entry.key}`, [item])
        }, takenOver}).finally(() => pool.close()),
        pool.done,
      ])
    } finally {
      clearInterval(ticker)
      deps.progress.submissionsDone(snapshot())
    }
    if (fatal) throw fatal
    interrupted = deps.signal.aborted || deps.stop.aborted
    if (interrupted) store.releaseAll(runId)
  }

  interrupted ||= deps.signal.aborted || deps.stop.aborted
  const counts = countResults(targets, images, containers)
  const {outcome, exitCode} = outcomeOf(counts, interrupted, targets.some((t) => t.configurationError))
  if (deps.store && runId) deps.store.finishRun(runId, outcome, {...counts})
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
