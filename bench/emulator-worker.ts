// The Snyk emulator in a worker thread, for benchmarks: its request handling and contract validation run
// on their own event loop, so they do not delay the timers of the client being measured (as a remote
// Snyk would not). Driven by messages from bench/remote-emulator.ts.
import {parentPort, workerData} from 'node:worker_threads'
import {startSnykEmulator} from '../test/emulator/snyk-emulator.ts'
import type {RateLimitSettings} from '../test/emulator/rate-limiter.ts'

export type EmulatorCommand =
  | {readonly id: number; readonly op: 'setRateLimit'; readonly settings: RateLimitSettings}
  | {readonly id: number; readonly op: 'report'; readonly prefix: string}
  | {readonly id: number; readonly op: 'close'}

export interface EmulatorReport {
  readonly requests: number
  readonly tooManyRequests: number
  readonly violations: number
  /** Distinct target names imported (201) whose name starts with the prefix. */
  readonly importedTargets: number
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
      case 'close':
        await emulator.close()
        port.postMessage({id: command.id})
        port.close()
        return
    }
  })()
})
