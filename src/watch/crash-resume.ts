// Crash resume, the first thing a `watch` does: claims of runs that stopped without finishing are given back
// (src/state/claim-holders.ts), and the images earlier runs found and did not submit (a persisted queue, a run
// killed with work in hand) are read, to be considered for submission like running images.
import type {ImageRef} from '../models/image.ts'
import {releaseClaimsOfGoneRuns} from '../state/claim-holders.ts'
import type {StateStore} from '../state/state-store.ts'
import type {WatchLogger} from './watch-ports.ts'

/** The images earlier runs left to do, by key (oldest first); claims of gone runs given back on the way. */
export async function resumeEarlierWork(store: StateStore, runId: string, logger: WatchLogger): Promise<Map<string, ImageRef>> {
  for (const gone of await releaseClaimsOfGoneRuns(store, {self: runId})) {
    logger.info({run: gone.run.id, pid: gone.run.pid, host: gone.run.host, images: gone.keys.length}, 'taking over the claims of a run that stopped without finishing')
  }
  const resumed = new Map<string, ImageRef>()
  for (const work of await store.pendingWork()) resumed.set(work.key, work.image)
  if (resumed.size > 0) logger.info({images: resumed.size}, 'resuming images an earlier run found and did not submit')
  return resumed
}
