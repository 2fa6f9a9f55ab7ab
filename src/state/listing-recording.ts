// One (re)list of a target recorded as it pages, the same for `sync` and `watch`: each page is merged into the
// target's placements as it arrives (memory holds one page of observations, and a kill loses at most the page in
// hand), and once the listing is complete, the placements it did not touch (pods gone since the last listing)
// are pruned. A listing that fails is never completed, so nothing is pruned on a partial picture.
import type {ImageObservation} from '../models/image.ts'
import type {ObservationResult} from './records.ts'
import type {StateStore} from './state-store.ts'

export class ListingRecording {
  readonly #store: StateStore
  readonly #runId: string
  readonly #target: string
  /** The store's clock when the listing started: placements not touched since are gone. */
  readonly startedAt: number

  private constructor(store: StateStore, runId: string, target: string, startedAt: number) {
    this.#store = store
    this.#runId = runId
    this.#target = target
    this.startedAt = startedAt
  }

  /** A listing of `target` starting now (by the store's clock). */
  static async start(store: StateStore, runId: string, target: string): Promise<ListingRecording> {
    return new ListingRecording(store, runId, target, await store.now())
  }

  /** Records one page; returns the keys it found, those new to the store, and any drift. */
  async page(observations: readonly ImageObservation[]): Promise<ObservationResult> {
    return await this.#store.recordObservations(this.#runId, this.#target, observations, {mode: 'merge'})
  }

  /** The listing is complete: removes the placements it did not see. Returns how many. */
  async complete(): Promise<number> {
    return await this.#store.prunePlacements(this.#target, this.startedAt)
  }
}
