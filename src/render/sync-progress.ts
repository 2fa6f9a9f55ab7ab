// Progress of a sync on stderr (the pipeline's SyncProgress, src/sync/sync-progress.ts): listr2 tasks on a terminal, plain lines elsewhere, nothing under --json.
import {Listr, ListrLogger, ProcessOutput} from 'listr2'
import type {SubmissionSnapshot, SyncProgress} from '../sync/sync-progress.ts'

export class SilentProgress implements SyncProgress {
  targetsStarted(): void {}
  targetListing(): void {}
  targetDone(): void {}
  submissionsStarted(): void {}
  submissionUpdate(): void {}
  submissionsDone(): void {}
  async close(): Promise<void> {}
}

function describeSubmission(s: SubmissionSnapshot, now: number): string {
  const parts = [`${s.done}/${s.total} done`, `${s.inFlight} in flight`]
  if (s.retries > 0) parts.push(`${s.retries} retries`)
  if (s.failed > 0) parts.push(`${s.failed} failed`)
  if (s.pausedUntil !== undefined && s.pausedUntil > now) parts.push(`paused by Snyk's rate limit, resuming in ${Math.ceil((s.pausedUntil - now) / 1000)} s`)
  else if (s.etaMs !== undefined && s.done < s.total) parts.push(`ETA ${Math.ceil(s.etaMs / 1000)} s`)
  return parts.join(', ')
}

/** One line per event, for CI logs and CronJobs. */
export class LineProgress implements SyncProgress {
  private readonly write: (line: string) => void
  private readonly names = new Map<string, string>()
  private lastUpdate = 0
  private readonly clock: () => number

  constructor(write: (line: string) => void, clock: () => number = Date.now) {
    this.write = write
    this.clock = clock
  }

  targetsStarted(targets: Array<{id: string; name: string}>): void {
    for (const target of targets) this.names.set(target.id, target.name)
    this.write(`listing pods in ${targets.length} target${targets.length === 1 ? '' : 's'}: ${targets.map((t) => t.name).join(', ')}`)
  }
  targetListing(): void {}
  targetDone(id: string, outcome: {pods: number; images: number} | {error: string}): void {
    const name = this.names.get(id) ?? id
    this.write('error' in outcome ? `${name}: failed: ${outcome.error}` : `${name}: ${outcome.pods} pods, ${outcome.images} images`)
  }
  private submitting = 0

  submissionsStarted(total: number): void {
    this.submitting = total
    if (total > 0) this.write(`submitting ${total} image${total === 1 ? '' : 's'} to Snyk`)
  }
  submissionUpdate(snapshot: SubmissionSnapshot): void {
    const now = this.clock()
    if (this.lastUpdate === 0) this.lastUpdate = now
    if (now - this.lastUpdate < 5000) return
    this.lastUpdate = now
    this.write(`snyk: ${describeSubmission(snapshot, now)}`)
  }
  submissionsDone(snapshot: SubmissionSnapshot): void {
    if (this.submitting > 0) this.write(`snyk: ${describeSubmission(snapshot, this.clock())}`)
  }
  async close(): Promise<void> {}
}

interface Deferred {
  promise: Promise<void>
  resolve: () => void
  reject: (error: Error) => void
  setOutput?: (text: string) => void
  setTitle?: (text: string) => void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return {promise, resolve, reject}
}

/** listr2 tasks on stderr: one per target, then one for the submissions. */
export class ListrProgress implements SyncProgress {
  private readonly tasks = new Map<string, Deferred>()
  private readonly names = new Map<string, string>()
  private readonly submissions = deferred()
  private run: Promise<unknown> = Promise.resolve()
  private readonly clock: () => number
  private readonly stream: NodeJS.WriteStream

  constructor(stream: NodeJS.WriteStream, clock: () => number = Date.now) {
    this.stream = stream
    this.clock = clock
  }

  targetsStarted(targets: Array<{id: string; name: string}>): void {
    for (const target of targets) {
      this.tasks.set(target.id, deferred())
      this.names.set(target.id, target.name)
    }
    const list = new Listr(
      [
        {
          title: `Listing pods in ${targets.length} target${targets.length === 1 ? '' : 's'}`,
          task: (_ctx, task) =>
            task.newListr(
              targets.map((target) => ({
                title: target.name,
                task: async (_c, sub) => {
                  const entry = this.tasks.get(target.id)!
                  entry.setOutput = (text) => (sub.output = text)
                  entry.setTitle = (text) => (sub.title = text)
                  await entry.promise
                },
              })),
              {concurrent: true, exitOnError: false},
            ),
        },
        {
          title: 'Submitting to Snyk',
          task: async (_ctx, task) => {
            this.submissions.setOutput = (text) => (task.output = text)
            this.submissions.setTitle = (text) => (task.title = text)
            await this.submissions.promise
          },
        },
      ],
      {exitOnError: false, rendererOptions: {collapseSubtasks: false, logger: new ListrLogger({processOutput: new ProcessOutput(this.stream, this.stream)})}},
    )
    this.run = list.run().catch(() => undefined)
  }

  targetListing(id: string, pods: number): void {
    this.tasks.get(id)?.setOutput?.(`${pods} pods`)
  }

  targetDone(id: string, outcome: {pods: number; images: number} | {error: string}): void {
    const entry = this.tasks.get(id)
    if (!entry) return
    if ('error' in outcome) entry.reject(new Error(outcome.error))
    else {
      entry.setTitle?.(`${this.names.get(id) ?? id}: ${outcome.pods} pods, ${outcome.images} images`)
      entry.resolve()
    }
  }

  submissionsStarted(total: number): void {
    this.submissions.setTitle?.(`Submitting ${total} image${total === 1 ? '' : 's'} to Snyk`)
  }

  submissionUpdate(snapshot: SubmissionSnapshot): void {
    this.submissions.setOutput?.(describeSubmission(snapshot, this.clock()))
  }

  submissionsDone(snapshot: SubmissionSnapshot): void {
    this.submissions.setTitle?.(`Snyk: ${describeSubmission(snapshot, this.clock())}`)
    if (snapshot.failed > 0) this.submissions.reject(new Error(`${snapshot.failed} failed`))
    else this.submissions.resolve()
  }

  async close(): Promise<void> {
    for (const entry of this.tasks.values()) entry.resolve()
    this.submissions.resolve()
    await this.run
  }
}
