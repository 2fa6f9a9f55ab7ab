// A fixed-size pool of workers fed while it runs: `sync` hands each Snyk target to it, images taken over from
// other runs join it late; at most `concurrency` run at once, so a graceful stop leaves the rest untouched.

/** A fixed-size pool of workers fed while it runs (images taken over from other runs join it late). */
export function workPool<T>(concurrency: number, work: (item: T) => Promise<void>): {push(item: T): void; close(): void; done: Promise<void>} {
  const items: T[] = []
  let running = 0
  let closed = false
  let settled = false
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  const pump = () => {
    while (!settled && running < Math.max(1, concurrency) && items.length > 0) {
      const item = items.shift()!
      running++
      work(item).then(
        () => {
          running--
          pump()
        },
        (error: unknown) => {
          running--
          if (!settled) {
            settled = true
            reject(error)
          }
        },
      )
    }
    if (!settled && closed && running === 0 && items.length === 0) {
      settled = true
      resolve()
    }
  }
  return {
    push: (item) => {
      items.push(item)
      pump()
    },
    close: () => {
      closed = true
      pump()
    },
    done,
  }
}
