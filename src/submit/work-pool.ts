// `sync`'s driver of the work queue (./work-queue.ts): every Snyk target it listed and claimed is added under its
// key, images taken over from other runs join late, at most `concurrency` run at once (so that a graceful stop
// leaves the rest untouched), and `done` settles once the pool is closed and drained, or at the first error.
import {WorkQueue} from './work-queue.ts'

export interface WorkPool<T> {
  /** Adds an item under `key`; an item whose key is queued or in flight is not added again. */
  push(key: string, item: T): void
  /** No more items: `done` resolves once what is queued and in flight has finished. */
  close(): void
  readonly done: Promise<void>
}

export function workPool<T>(concurrency: number, work: (item: T) => Promise<void>): WorkPool<T> {
  const queue = new WorkQueue<T>()
  let closed = false
  let settled = false
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  const fail = (error: unknown) => {
    if (settled) return
    settled = true
    reject(error)
  }
  const pump = (): void => {
    if (settled) return
    while (queue.startNext(Math.max(1, concurrency), (_key, item) => work(item).catch(fail), pump));
    if (!settled && closed && queue.size === 0 && queue.inFlight === 0) {
      settled = true
      resolve()
    }
  }
  return {
    push: (key, item) => {
      queue.add(key, item)
      pump()
    },
    close: () => {
      closed = true
      pump()
    },
    done,
  }
}
