// `status --watch`: reads the store again whenever another process (sync, watch) commits to it, and hands
// each new result to a view, until the signal aborts. Asks the store's data version each interval, which costs
// nothing: SQLite's `PRAGMA data_version` changes only on another connection's commit; PostgreSQL's counts the
// change notifications it receives (LISTEN). An idle store is never read again.
import {setTimeout as sleep} from 'node:timers/promises'
import {defaultStatePath} from '../state/state-store.ts'
import type {StatusOptions} from './status-options.ts'
import type {StatusResult} from './status-result.ts'
import {openExistingStore, readStatus} from './status-service.ts'

/** Where results go: the view decides what changed and what to draw. */
export interface StatusWatchView {
  /** Called once the store is open, before the first result. */
  start?(): void
  show(result: StatusResult): void
  /** True once the terminal changed size (cleared by the view when it draws again). */
  readonly resized?: boolean
  /** Draws the last result again (after a resize). */
  redraw?(): void
}

export interface StatusWatchIO {
  env: NodeJS.ProcessEnv
  view: StatusWatchView
  /** Ends the live view (Ctrl+C, SIGTERM, stdout closed). */
  signal: AbortSignal
}

/** Shows the status now, then again on every change of the store, until `io.signal` aborts. */
export async function watchStatus(options: StatusOptions, io: StatusWatchIO): Promise<void> {
  const store = await openExistingStore(options.statePath ?? defaultStatePath(io.env), io.env)
  const statePath = store.path
  try {
    io.view.start?.()
    let seen: number | undefined
    while (!io.signal.aborted) {
      const version = await store.dataVersion()
      if (version !== seen) {
        seen = version
        io.view.show(await readStatus(store, options, statePath))
      } else if (io.view.resized) {
        io.view.redraw?.()
      }
      try {
        await sleep(options.intervalMs, undefined, {signal: io.signal})
      } catch (error) {
        if (!io.signal.aborted) throw error
      }
    }
  } finally {
    await store.close()
  }
}
