// `sync --fail-on SEVERITY`, the one-step CI gate: once the run's imports are done (--fail-on implies --wait), read
// Snyk's current issue counts of the images this run listed, through the run's own limiter and retries, record them,
// and judge them as `status --fail-on` does. With --fail-on-new only images first seen in this run are judged.
import {ExitCode} from '../errors.ts'
import type {StateStore} from '../state/state-store.ts'
import {refreshIssueCounts, type SnykDeps} from '../status/status-service.ts'
import {evaluateGate, StatusImageBuilder} from '../status/status-report.ts'
import type {Severity, StatusImage} from '../status/status-result.ts'
import type {SyncGate, SyncResult} from './sync-result.ts'

export interface SyncGateOptions {
  failOn: Severity
  /** --fail-on-new: judge only the images this run saw first (new to the state store). */
  newOnly: boolean
}

/** The run's images as `status` reports them (projects and summed counts), read from the store. */
async function imagesOf(store: StateStore, keys: ReadonlySet<string>): Promise<StatusImage[]> {
  const builder = new StatusImageBuilder({contexts: [], namespaces: [], images: [], results: [], all: true})
  const images: StatusImage[] = []
  await store.visitImageSummaries({includeNotRunning: true}, (chunk) => {
    for (const listing of chunk) {
      if (!keys.has(listing.key)) continue
      const image = builder.build(listing)
      if (image !== undefined) images.push(image)
    }
  })
  return images.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

/**
 * Reads the counts and judges them; sets `result.gate` and, when the gate trips, exit code 1 (which wins over
 * the 3 of a partial run: the gate's answer is what a pipeline acts on). Counts that could not be read leave the
 * gate to the counts stored before, and a run that had passed becomes partial (3). An interrupted run is not judged.
 */
export async function judgeSync(result: SyncResult, store: StateStore, snyk: SnykDeps, options: SyncGateOptions): Promise<void> {
  if (result.outcome === 'interrupted') return
  const keys = new Set(result.images.filter((image) => !options.newOnly || image.new === true).map((image) => image.key))
  const refresh = await refreshIssueCounts(store, await imagesOf(store, keys), snyk, undefined)
  const gate = evaluateGate(await imagesOf(store, keys), options.failOn)
  const judged: SyncGate = {...gate, newOnly: options.newOnly, judged: keys.size, refresh}
  result.gate = judged
  if (gate.tripped) result.exitCode = ExitCode.gateTripped
  else if (refresh.error !== undefined && result.exitCode === ExitCode.ok) {
    result.outcome = 'partial'
    result.exitCode = ExitCode.partialFailure
  }
}
