// `sync`'s driver of the submission stage: every unique image it listed is planned (the org's integrations),
// claimed (src/submit/claim-step.ts), and the claimed ones go through the work pool (src/submit/work-pool.ts) to
// the import step and, under --wait, the job step (src/submit/import-step.ts, job-step.ts), which record each
// outcome. Images another live run holds are waited for (./held-images.ts) and taken over if that run dies.
// Then the pool drains; a stop lets what is in flight finish and gives the rest back.
import {formatImageRef} from '../images/image-reference.ts'
import type {ImageImport, ImportPlan} from '../images/integration-map.ts'
import {claimLeaseMs, holderDescriber, holderName, releaseClaimsOfGoneRuns, type ClaimHolder, type GoneRun} from '../state/claim-holders.ts'
import {claimImages} from '../submit/claim-step.ts'
import {importClaimed} from '../submit/import-step.ts'
import {followImportJob} from '../submit/job-step.ts'
import {workPool} from '../submit/work-pool.ts'
import {waitForHolders} from './held-images.ts'
import type {SubmissionSnapshot} from './sync-progress.ts'
import type {SyncImage} from './sync-result.ts'
import type {SyncDeps, UniqueImage} from './sync-service.ts'
import {placementSummary} from './unique-images.ts'

type Work = {entry: UniqueImage; result: SyncImage; plan: ImageImport}

/** Images claimed per store transaction. */
const CLAIM_BATCH = 200

/** The images' results in key order, and whether the run was stopped before it finished. */
export async function submitListed(deps: SyncDeps, runId: string | undefined, unique: ReadonlyMap<string, UniqueImage>): Promise<{images: SyncImage[]; interrupted: boolean}> {
  const stopped = () => deps.signal.aborted || deps.stop.aborted
  const integrations = deps.submitter && !stopped() ? await deps.submitter.integrationMap() : deps.dryRunIntegrations
  const images: SyncImage[] = []
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
  if (deps.store && runId && deps.submitter && !stopped()) noteGone(await releaseClaimsOfGoneRuns(deps.store, {self: runId}))
  const markHeld = (result: SyncImage, holder: ClaimHolder) => Object.assign(result, {result: 'in-flight', heldBy: holder, reason: `${holderName(holder)} is submitting it; its claim holds until ${holder.until} unless renewed`})
  /** Images to claim, in key order; claimed a batch at a time (one store transaction per batch, not per image). */
  const toClaim: Work[] = []
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
      if (deps.store && runId) await deps.store.recordSkipped(entry.key, runId, {reason: plan.reason, fix: plan.fix})
      continue
    }
    Object.assign(result, {integration: {type: plan.integrationType, id: plan.integrationId}, snykTarget: plan.targetName})
    if (deps.store && runId && deps.submitter) toClaim.push({entry, result, plan})
  }
  if (!deps.submitter || !deps.store || !runId) return {images, interrupted: stopped()}
  const holderOf = holderDescriber(deps.store)
  for (let start = 0; start < toClaim.length; start += CLAIM_BATCH) {
    const batch = toClaim.slice(start, start + CLAIM_BATCH)
    const claims = await claimImages(deps.store, batch.map(({entry}) => entry.key), {runId, resubmitAfterMs: deps.resubmitAfterMs, leaseMs})
    for (const {entry, result, plan} of batch) {
      const claim = claims.get(entry.key)!
      if (claim.claimed) {
        if (claim.takenOverFrom) takenOver.set(entry.key, claim.takenOverFrom)
        const from = takenOver.get(entry.key)
        if (from) result.takenOverFrom = from
        queue.push({entry, result, plan})
        continue
      }
      if (claim.reason === 'in-flight') {
        const holder = await holderOf(claim.heldBy, claim.expiresAt)
        markHeld(result, holder)
        held.push({entry, result, plan, holder})
      } else if (claim.reason === 'recent') Object.assign(result, {result: 'unchanged', reason: `submitted ${new Date(claim.submittedAt).toISOString()}; again after ${new Date(claim.resubmitAt).toISOString()} (--resubmit-after)`})
      else Object.assign(result, {result: 'unchanged', reason: `${claim.reason === 'failed-recently' ? 'failed' : 'skipped'} earlier in this run`})
    }
  }

  const submitter = deps.submitter
  const store = deps.store
  let done = 0
  let failed = 0
  /** Images to submit: those claimed at first, then those taken over while waiting for other runs. */
  let total = queue.length
  const submitStarted = deps.clock()
  const snapshot = (): SubmissionSnapshot => {
    const live = submitter.snapshot()
    const elapsed = deps.clock() - submitStarted
    const rate = done > 0 ? elapsed / done : undefined
    return {done, total, failed, inFlight: live.inFlight, retries: live.retries, ...(live.pausedUntil ? {pausedUntil: live.pausedUntil} : {}), ...(rate ? {etaMs: rate * (total - done)} : {})}
  }
  deps.progress.submissionsStarted(queue.length)
  const ticker = setInterval(() => deps.progress.submissionUpdate(snapshot()), 250)
  let fatal: unknown
  const cancelled = () => stopped() || Boolean(fatal)
  try {
    // Several unique images can become the same Snyk target (the same tag seen with and without its
    // running digest): Snyk imports by tag, so that target is imported once and shares the outcome.
    const groups = new Map<string, Work[]>()
    for (const item of queue) {
      const id = `${item.plan.integrationId}/${item.plan.targetName}`
      groups.set(id, [...(groups.get(id) ?? []), item])
    }
    // At most `concurrency` images are handed to the submission core at a time, so that a graceful stop
    // leaves the rest untouched while the ones in flight finish and are recorded.
    const pool = workPool<Work[]>(deps.concurrency, async (group) => {
      const keys = group.map(({entry}) => entry.key)
      const settle = (fields: Partial<SyncImage>) => {
        for (const {result} of group) Object.assign(result, fields)
      }
      try {
        if (cancelled()) {
          for (const key of keys) await store.release(key, runId)
          settle({result: 'interrupted'})
          return
        }
        for (const key of keys) await store.markSubmitting(key, runId)
        const step = await importClaimed({store, submitter, runId, keys, plan: group[0]!.plan, signal: deps.signal, cancelled})
        if (step.kind === 'cut-off' || step.kind === 'fatal') {
          if (step.kind === 'fatal') fatal ??= step.error
          settle({result: 'interrupted'})
          return
        }
        if (step.kind === 'failed') {
          settle({result: 'failed', reason: step.message})
          failed += group.length
          return
        }
        settle({result: 'submitted', importJob: step.jobUrl})
        if (!deps.wait) return
        const job = await followImportJob({store, submitter, runId, keys, jobUrl: step.jobUrl, signal: AbortSignal.any([deps.signal, deps.stop]), cancelled})
        switch (job.kind) {
          case 'monitored':
            settle({result: 'monitored', projects: job.projects})
            break
          case 'pending':
            settle({result: 'pending', reason: job.reason})
            break
          case 'failed':
            settle({result: 'failed', reason: job.reason})
            failed += group.length
            break
          case 'fatal':
            fatal ??= job.error
            settle({result: 'interrupted'})
            break
          case 'cut-off':
            // Submitted and recorded as such: only the wait for its outcome was cut off.
            break
        }
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
  const interrupted = stopped()
  if (interrupted) await store.releaseAll(runId)
  return {images, interrupted}
}
