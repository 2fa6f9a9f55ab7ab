// Runs `watch` in-process for integration tests: its own signal emitter (SIGTERM, SIGHUP), its JSON log
// lines collected, the URL of its health server, and a way to wait for what it should do.
import {EventEmitter} from 'node:events'
import {Writable} from 'node:stream'
import type {FollowOptions} from '../../src/kube/pod-watcher.ts'
import {runWatchCommand} from '../../src/watch/watch-runner.ts'

export interface RunningWatch {
  /** Resolves with the exit code (rejects with a fatal error). */
  done: Promise<number>
  signals: EventEmitter
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>
  /** The health server (with `listen: '127.0.0.1:0'`). */
  url: string | undefined
  runId: string
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number>
  /** Log lines whose message matches. */
  logged(pattern: RegExp): Array<Record<string, unknown>>
}

export async function startWatch(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, extra: {follow?: Omit<FollowOptions, 'signal'>} = {}): Promise<RunningWatch> {
  const logs: Array<Record<string, unknown>> = []
  let partial = ''
  const stderr = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        partial += chunk.toString('utf8')
        const lines = partial.split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>)
        callback()
      },
    }),
    {isTTY: false},
  )
  const signals = new EventEmitter()
  let started!: (info: {url?: string; runId: string}) => void
  const ready = new Promise<{url?: string; runId: string}>((resolve) => (started = resolve))
  const done = runWatchCommand({flags: {'log-format': 'json', ...flags}, config: undefined}, {env, stderr, signals, started, ...extra})
  const info = await Promise.race([ready, done.then((code) => Promise.reject(new Error(`watch exited with ${code} before starting`)))])
  return {
    done,
    signals,
    logs,
    url: info.url,
    runId: info.runId,
    async stop() {
      signals.emit('SIGTERM', 'SIGTERM')
      return done
    },
    logged: (pattern) => logs.filter((line) => pattern.test(String(line['msg'] ?? ''))),
  }
}

/** Polls `check` until it returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
