// Images another live run holds while this `sync` runs: waited for, reported as that run recorded them, or taken
// over when that run is gone.
import {setTimeout as sleep} from 'node:timers/promises'
import type {ImportPlan} from '../images/integration-map.ts'
import {holderDescriber, holderName, releaseClaimsOfGoneRuns, releaseGoneHolders, type ClaimHolder, type GoneRun} from '../state/claim-holders.ts'
import type {ClaimResult, SubmissionRecord} from '../state/records.ts'
import type {StateStore} from '../state/state-store.ts'
import {claimImages} from '../submit/claim-step.ts'
import type {SyncDeps} from './sync-service.ts'
import type {UniqueImage} from './unique-images.ts'
import type {SyncImage} from './sync-result.ts'

export type HeldWork = {entry: UniqueImage; result: SyncImage; plan: Extract<ImportPlan, {outcome: 'import'}>; holder: ClaimHolder}

/**
 * Images another live run holds: polls the store until that run has recorded their outcome (reported as it
 * recorded it), gives them back (interrupted), or is gone (killed: its pid is gone on this host, or its lease
 * ran out elsewhere), in which case this run claims and submits them itself (`submit`). Bounded by `holderWaitMs`
 * and by the run's own stop and cancel signals: what is still held then stays `in-flight` with `heldBy`.
 */
export async function waitForHolders(o: {
  store: StateStore
  runId: string
  held: HeldWork[]
  leaseMs: number
  deps: SyncDeps
  fatal: () => unknown
  noteGone: (gone: GoneRun[]) => void
  markHeld: (result: SyncImage, holder: ClaimHolder) => void
  submit: (item: HeldWork) => void
  takenOver: Map<string, string>
}): Promise<void> {
  const {store, runId, held, deps} = o
  if (held.length === 0) return
  const deadline = deps.clock() + (deps.holderWaitMs ?? 5 * 60_000)
  const pollMs = deps.holderPollMs ?? 500
  const waitStarted = await store.now()
  const claimOptions = {runId, resubmitAfterMs: deps.resubmitAfterMs, leaseMs: o.leaseMs}
  const signal = AbortSignal.any([deps.signal, deps.stop])
  // One round looks at every held image: the store's clock, the images' records and each holder's run are read
  // once per round, not once per image (many processes sharing a database wait for each other's images by the thousand).
  let round = {now: 0, holderOf: holderDescriber(store)}
  /** A held image as its record shows it this round: still held by a live run, failed by that run meanwhile (settled: reported so), or free to claim. */
  const viewOf = async (item: HeldWork, record: SubmissionRecord | undefined): Promise<'held' | 'settled' | 'free'> => {
    if (record?.claim && record.claim.runId !== runId && record.claim.expiresAt > round.now) {
      item.holder = await round.holderOf(record.claim.runId, record.claim.expiresAt)
      o.markHeld(item.result, item.holder)
      return 'held'
    }
    if (record?.state === 'failed' && record.claim === undefined && record.updatedAt >= waitStarted) {
      delete item.result.heldBy
      Object.assign(item.result, {result: 'failed', reason: `${holderName(item.holder)} failed to submit it while this run waited: ${record.error?.message ?? 'unknown error'}`})
      return 'settled'
    }
    return 'free'
  }
  /** What the claim of an image no live run holds any more says: this run submits it, or its outcome is final. */
  const settle = async (item: HeldWork, claim: ClaimResult, record: SubmissionRecord | undefined): Promise<boolean> => {
    if (claim.claimed) {
      if (claim.takenOverFrom) o.takenOver.set(item.entry.key, claim.takenOverFrom)
      delete item.result.heldBy
      delete item.result.reason
      item.result.result = 'would-submit'
      o.submit(item)
      return true
    }
    if (claim.reason === 'in-flight') {
      item.holder = await round.holderOf(claim.heldBy, claim.expiresAt)
      o.markHeld(item.result, item.holder)
      return false
    }
    delete item.result.heldBy
    if (claim.reason === 'recent') {
      Object.assign(item.result, {
        result: 'unchanged',
        reason: `submitted by ${holderName(item.holder)} at ${new Date(claim.submittedAt).toISOString()} while this run waited for it; again after ${new Date(claim.resubmitAt).toISOString()} (--resubmit-after)`,
        ...(record?.jobUrl ? {importJob: record.jobUrl} : {}),
        ...(record && record.projects.length > 0 ? {projects: record.projects.map((p) => ({id: p.id, ...(p.url ? {url: p.url} : {})}))} : {}),
      })
    } else {
      Object.assign(item.result, {result: 'unchanged', reason: `${claim.reason === 'failed-recently' ? 'failed' : 'skipped'} earlier in this run`})
    }
    return true
  }
  let rounds = 0
  while (held.length > 0 && !signal.aborted && !o.fatal() && deps.clock() < deadline) {
    try {
      await sleep(Math.max(1, Math.min(pollMs, deadline - deps.clock())), undefined, {signal})
    } catch {
      break
    }
    if (o.fatal()) break
    // A holder on this host whose process is gone is given back at once: a local check of the pids this run waits
    // for, every round. Every holder's run is read (a finished run still holding claims) every 20th round only.
    if (rounds++ % 20 === 0) o.noteGone(await releaseClaimsOfGoneRuns(store, {self: runId}))
    else {
      const released = new Set(await releaseGoneHolders(store, held.map((item) => item.holder)))
      for (const item of held) if (released.has(item.holder.runId)) o.takenOver.set(item.entry.key, item.holder.runId)
    }
    round = {now: await store.now(), holderOf: holderDescriber(store)}
    // One read for every image still waited for, then one claim for those no live run holds any more.
    const records = await store.getSubmissions(held.map((item) => item.entry.key))
    const waiting: HeldWork[] = []
    const free: HeldWork[] = []
    for (const item of held) {
      const view = await viewOf(item, records.get(item.entry.key))
      if (view === 'held') waiting.push(item)
      else if (view === 'free') free.push(item)
    }
    const claims = free.length > 0 ? await claimImages(store, free.map((item) => item.entry.key), claimOptions) : new Map<string, ClaimResult>()
    for (const item of free) if (!(await settle(item, claims.get(item.entry.key)!, records.get(item.entry.key)))) waiting.push(item)
    held.splice(0, held.length, ...waiting)
  }
}
