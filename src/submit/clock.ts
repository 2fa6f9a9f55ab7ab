// Time, injected: the submission core reads the time and waits only through a Clock, so unit tests can
// drive pauses, cool-downs and backoff with a manual clock.

export interface Clock {
  /** Milliseconds since the epoch, monotonic (never goes back when the wall clock is adjusted). */
  now(): number
  /** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: sleep,
}

/** `setTimeout` as a promise that rejects with the signal's own reason (not a generic AbortError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, Math.max(0, ms))
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
