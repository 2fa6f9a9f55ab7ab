// The claim mechanism `sync` and `watch` share: who holds an image, whether that run is still alive, and the
// heartbeat that keeps a live run's claims from expiring.
//
// - A claim is a short lease (`claimLeaseMs`, 60 s) that the holder renews every third of it while it runs
//   (`startClaimHeartbeat`). A run killed anywhere stops renewing: its claims expire within a minute and any
//   other run takes them over (the store's `claim`).
// - On the same host we do not wait for that: a run that is unfinished in the store but whose process is gone
//   (`process.kill(pid, 0)` says ESRCH) is dead; `releaseClaimsOfGoneRuns` gives its claims back at once and
//   records the run as failed. A finished run that still holds claims (a race) is treated the same way.
import {hostname} from 'node:os'
import type {RunRecord} from './records.ts'
import type {StateStore} from './state-store.ts'

/** How long a claim holds without renewal. */
export const claimLeaseMs = 60_000

/** Who holds an image, as `sync --json` reports it. */
export interface ClaimHolder {
  runId: string
  pid?: number
  host?: string
  /** When the claim expires unless renewed (ISO 8601). */
  until: string
}

/** A run that stopped without finishing, whose claims were given back. */
export interface GoneRun {
  run: RunRecord
  /** The images it held. */
  keys: string[]
}

/** Whether a process with this id exists on this host (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A run that can no longer renew or finish its claims: finished already, or unfinished on this host with its process gone. */
export function runIsGone(run: RunRecord, host: string = hostname()): boolean {
  return run.finishedAt !== undefined || (run.host === host && !processAlive(run.pid))
}

/**
 * Gives back at once the claims of every run that is gone (see `runIsGone`), except `self`; an unfinished one is
 * recorded as `failed`. Runs on other hosts are left to their lease. Returns the runs released, with their images.
 */
export async function releaseClaimsOfGoneRuns(store: StateStore, options: {self?: string; host?: string} = {}): Promise<GoneRun[]> {
  const host = options.host ?? hostname()
  const gone: GoneRun[] = []
  for (const holder of await store.claimHolders()) {
    if (holder.runId === options.self) continue
    const run = await store.getRun(holder.runId)
    if (run === undefined || !runIsGone(run, host)) continue
    const keys = await store.claimedKeys(holder.runId)
    if (run.finishedAt === undefined) await store.finishRun(run.id, 'failed', {})
    else await store.releaseAll(run.id)
    gone.push({run, keys})
  }
  return gone
}

/** Releases `runId`'s claims at once when that run is gone; true when it was. For a conflict met while claiming. */
export async function releaseIfGone(store: StateStore, runId: string, host: string = hostname()): Promise<boolean> {
  const run = await store.getRun(runId)
  if (run === undefined || !runIsGone(run, host)) return false
  if (run.finishedAt === undefined) await store.finishRun(run.id, 'failed', {})
  else await store.releaseAll(run.id)
  return true
}

/**
 * `releaseIfGone` for the holders a run already knows (their pid and host, from `describeHolder`): only those on
 * this host whose process is gone are read from the store. Cheap enough for every round of a wait. Returns the
 * ids of the runs whose claims were given back.
 */
export async function releaseGoneHolders(store: StateStore, holders: readonly ClaimHolder[], host: string = hostname()): Promise<string[]> {
  const dead = new Set(holders.filter((holder) => holder.host === host && holder.pid !== undefined && !processAlive(holder.pid)).map((holder) => holder.runId))
  const released: string[] = []
  for (const runId of dead) if (await releaseIfGone(store, runId, host)) released.push(runId)
  return released
}

/** Who holds a claim, for a report: the run's pid and host when the store knows the run. */
export async function describeHolder(store: StateStore, runId: string, expiresAt: number): Promise<ClaimHolder> {
  const run = await store.getRun(runId)
  return {runId, ...(run ? {pid: run.pid, host: run.host} : {}), until: new Date(expiresAt).toISOString()}
}

/** `describeHolder` that reads each run once per lease it holds: a fleet's runs hold each other's images by the hundred. */
export function holderDescriber(store: StateStore): (runId: string, expiresAt: number) => Promise<ClaimHolder> {
  const described = new Map<string, Promise<ClaimHolder>>()
  return (runId, expiresAt) => {
    let holder = described.get(`${runId}@${expiresAt}`)
    if (holder === undefined) described.set(`${runId}@${expiresAt}`, (holder = describeHolder(store, runId, expiresAt)))
    return holder
  }
}

/** `run 6ddef488-… (pid 123 on host-a)`. */
export function holderName(holder: Pick<ClaimHolder, 'runId' | 'pid' | 'host'>): string {
  return holder.pid !== undefined ? `run ${holder.runId} (pid ${holder.pid} on ${holder.host})` : `run ${holder.runId}`
}

export interface ClaimHeartbeat {
  /** Renews now (e.g. right after claiming a batch); settles when renewed (a failure goes to `onError`). */
  beat(): Promise<void>
  stop(): void
}

/**
 * Renews every claim `runId` holds for another `leaseMs`, every third of it, until stopped. The timer does not keep
 * the process alive. A failed renewal (the store busy) is reported to `onError` and tried again at the next beat.
 */
export function startClaimHeartbeat(store: StateStore, runId: string, leaseMs: number, onError: (error: unknown) => void = () => {}): ClaimHeartbeat {
  const beat = async (): Promise<void> => {
    try {
      await store.extendClaims(runId, leaseMs)
    } catch (error) {
      onError(error)
    }
  }
  const timer = setInterval(() => void beat(), Math.max(1_000, Math.floor(leaseMs / 3)))
  timer.unref()
  return {beat, stop: () => clearInterval(timer)}
}
