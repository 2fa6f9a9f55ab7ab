// A clock that moves only when the test says so: `advance(ms)` fires due sleeps in time order and lets the
// promise chains they resume run before going on.
import type {Clock} from '../../../src/submit/clock.ts'

interface Timer {
  readonly at: number
  readonly resolve: () => void
}

export class ManualClock implements Clock {
  #now: number
  #timers: Timer[] = []

  constructor(start = 1_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((t) => t !== timer)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      this.#timers.push(timer)
    })
  }

  /** Sleeps not yet due. */
  get pending(): number {
    return this.#timers.length
  }

  /** Moves time on by `ms`, firing every sleep that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms
    await settle()
    for (;;) {
      const due = this.#timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.#timers = this.#timers.filter((timer) => timer !== due)
      this.#now = Math.max(this.#now, due.at)
      due.resolve()
      await settle()
    }
    this.#now = target
    await settle()
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve))
}
