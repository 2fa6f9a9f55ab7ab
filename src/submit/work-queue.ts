// The submission stage's queue, in the manner of client-go's workqueue: a key is queued at most once and never
// while it is in flight; keys not due yet (an image waiting for its running digest, a resubmission, a retry)
// wait with the time they become due; on stop, what is still queued is handed back to be persisted.
export class WorkQueue<T> {
  /** Queued, not started; insertion order is the order they start. */
  readonly #queued = new Map<string, T>()
  readonly #inFlight = new Map<string, Promise<void>>()
  /** Keys not due yet: when to consider them again. */
  readonly #due = new Map<string, number>()

  get size(): number {
    return this.#queued.size
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  /** Queued or in flight. */
  has(key: string): boolean {
    return this.#queued.has(key) || this.#inFlight.has(key)
  }

  /** Queues `key` (no longer due later); false when it is already queued or in flight. */
  add(key: string, item: T): boolean {
    this.#due.delete(key)
    if (this.has(key)) return false
    this.#queued.set(key, item)
    return true
  }

  /** Puts an item that was cut off back at the end of the queue (it is no longer in flight once its work settles). */
  requeue(key: string, item: T): void {
    this.#queued.set(key, item)
  }

  /**
   * Starts the next queued item when fewer than `limit` are in flight: `work` runs it, and the key is in flight until
   * the returned promise settles. Returns false when nothing was started.
   */
  startNext(limit: number, work: (key: string, item: T) => Promise<void>, settled: () => void): boolean {
    if (this.#inFlight.size >= limit || this.#queued.size === 0) return false
    const [key, item] = this.#queued.entries().next().value as [string, T]
    this.#queued.delete(key)
    const running = work(key, item).finally(() => {
      this.#inFlight.delete(key)
      settled()
    })
    this.#inFlight.set(key, running)
    return true
  }

  /** Considers `key` again at `at` (ms). */
  addAfter(key: string, at: number): void {
    this.#due.set(key, at)
  }

  isWaiting(key: string): boolean {
    return this.#due.has(key)
  }

  /** No longer waits to be considered again. */
  forget(key: string): void {
    this.#due.delete(key)
  }

  /** Takes the keys whose time has come (they no longer wait). */
  takeDue(now: number): string[] {
    const due: string[] = []
    for (const [key, at] of this.#due) {
      if (at > now) continue
      this.#due.delete(key)
      due.push(key)
    }
    return due
  }

  /** Empties the queue (not what is in flight) and returns its keys, in queue order. */
  drain(): string[] {
    const keys = [...this.#queued.keys()]
    this.#queued.clear()
    return keys
  }

  /** The work in flight now. */
  inFlightWork(): Array<Promise<void>> {
    return [...this.#inFlight.values()]
  }
}
