// The Snyk emulator in a worker thread, for benchmarks: its request handling and contract validation run
// on their own event loop, so they do not delay the timers of the client being measured (as a remote
// Snyk would not). Driven by messages from bench/remote-emulator.ts.
import {parentPort, workerData} from 'node:worker_threads'
import {startSnykEmulator} from '../test/emulator/snyk-emulator.ts'
import type {RateLimitSettings} from '../test/emulator/rate-limiter.ts'

export type EmulatorCommand =
  | {readonly id: number; readonly op: 'setRateLimit'; readonly settings: RateLimitSettings}
  | {readonly id: number; readonly op: 'report'; readonly prefix: string}
  | {readonly id: number; readonly op: 'activity'; readonly prefix: string}
  | {readonly id: number; readonly op: 'requests'; readonly since: number}
  | {readonly id: number; readonly op: 'close'}

export interface EmulatorReport {
  readonly requests: number
  readonly tooManyRequests: number
  readonly violations: number
  /** Distinct target names imported (201) whose name starts with the prefix. */
  readonly importedTargets: number
}

/** What the emulator received: totals, and each import request whose target name starts with a prefix. */
export interface EmulatorActivity {
  readonly requests: number
  /** `Date.now()` of the latest request (0: none yet). */
  readonly lastRequestAt: number
  /** Import requests (`POST .../import`) whose target name starts with the prefix, oldest first, whatever their answer. */
  readonly imports: ReadonlyArray<{readonly name: string; readonly at: number; readonly status: number; readonly answeredAt?: number; readonly clientGone?: boolean}>
}

/** One request as the emulator logged it (`at`: `Date.now()` when it arrived). */
export interface EmulatorRequest {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly operationId: string
  readonly status: number
  /** The target name of an import request. */
  readonly target: string
}

const port = parentPort
if (!port) throw new Error('emulator-worker.ts must run in a worker thread')
const emulator = await startSnykEmulator(workerData as {rateLimit: RateLimitSettings})
port.postMessage({ready: {url: emulator.url, token: emulator.token, orgId: emulator.orgId, dockerHub: emulator.integrationId('docker-hub')}})

port.on('message', (command: EmulatorCommand) => {
  void (async () => {
    switch (command.op) {
      case 'setRateLimit':
        emulator.setRateLimit(command.settings)
        port.postMessage({id: command.id})
        return
      case 'report': {
        const imported = new Set(emulator.world.jobs.map((job) => job.targetName).filter((name) => name.startsWith(command.prefix)))
        const report: EmulatorReport = {
          requests: emulator.stats.requests,
          tooManyRequests: emulator.stats.tooManyRequests,
          violations: emulator.violations.length,
          importedTargets: imported.size,
        }
        port.postMessage({id: command.id, report})
        return
      }
      case 'activity': {
        const imports = emulator.requestsFor('Importtargets').flatMap((entry) => {
          const name = (entry.body as {target?: {name?: unknown}} | undefined)?.target?.name
          return typeof name === 'string' && name.startsWith(command.prefix) ? [{name, at: entry.at, status: entry.status, ...(entry.answeredAt ? {answeredAt: entry.answeredAt} : {}), ...(entry.clientGone ? {clientGone: true} : {})}] : []
        })
        const activity: EmulatorActivity = {requests: emulator.stats.requests, lastRequestAt: emulator.requests.at(-1)?.at ?? 0, imports}
        port.postMessage({id: command.id, activity})
        return
      }
      case 'requests': {
        const requests: EmulatorRequest[] = emulator.requests
          .filter((entry) => entry.at >= command.since)
          .map((entry) => ({at: entry.at, method: entry.method, path: entry.path, operationId: entry.operationId ?? '', status: entry.status, target: String((entry.body as {target?: {name?: unknown}} | undefined)?.target?.name ?? '')}))
        port.postMessage({id: command.id, requests})
        return
      }
      case 'close':
        await emulator.close()
        port.postMessage({id: command.id})
        port.close()
        return
    }
  })()
})
