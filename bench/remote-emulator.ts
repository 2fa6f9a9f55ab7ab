// The benchmark's handle on the Snyk emulator running in a worker thread (bench/emulator-worker.ts).
import {Worker} from 'node:worker_threads'
import type {RateLimitSettings} from '../test/emulator/rate-limiter.ts'
import type {EmulatorActivity, EmulatorCommand, EmulatorReport, EmulatorRequest} from './emulator-worker.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export class RemoteEmulator {
  readonly url: string
  readonly token: string
  readonly orgId: string
  readonly dockerHubIntegration: string
  readonly #worker: Worker
  readonly #pending = new Map<number, (value: {report?: EmulatorReport}) => void>()
  #nextId = 1

  private constructor(worker: Worker, ready: {url: string; token: string; orgId: string; dockerHub: string}) {
    this.#worker = worker
    this.url = ready.url
    this.token = ready.token
    this.orgId = ready.orgId
    this.dockerHubIntegration = ready.dockerHub
    worker.on('message', (message: {id?: number; report?: EmulatorReport; activity?: EmulatorActivity; requests?: EmulatorRequest[]}) => {
      if (message.id === undefined) return
      this.#pending.get(message.id)?.(message)
      this.#pending.delete(message.id)
    })
  }

  static start(rateLimit: RateLimitSettings): Promise<RemoteEmulator> {
    const worker = new Worker(new URL('./emulator-worker.ts', import.meta.url), {workerData: {rateLimit}})
    return new Promise((resolve, reject) => {
      worker.once('error', reject)
      worker.once('message', (message: {ready: {url: string; token: string; orgId: string; dockerHub: string}}) => resolve(new RemoteEmulator(worker, message.ready)))
    })
  }

  setRateLimit(settings: RateLimitSettings): Promise<unknown> {
    return this.#send({op: 'setRateLimit', settings})
  }

  async report(prefix: string): Promise<EmulatorReport> {
    const {report} = await this.#send({op: 'report', prefix})
    if (!report) throw new Error('emulator worker sent no report')
    return report
  }

  /** Request totals and the import requests whose target name starts with `prefix` (with the time each arrived). */
  async activity(prefix: string): Promise<EmulatorActivity> {
    const {activity} = await this.#send({op: 'activity', prefix})
    if (!activity) throw new Error('emulator worker sent no activity')
    return activity
  }

  /** Every request that arrived at or after `since` (`Date.now()`), oldest first. */
  async requests(since: number): Promise<EmulatorRequest[]> {
    const {requests} = await this.#send({op: 'requests', since})
    if (!requests) throw new Error('emulator worker sent no requests')
    return requests
  }

  async close(): Promise<void> {
    await this.#send({op: 'close'})
    await this.#worker.terminate()
  }

  #send(command: DistributiveOmit<EmulatorCommand, 'id'>): Promise<{report?: EmulatorReport; activity?: EmulatorActivity; requests?: EmulatorRequest[]}> {
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.#worker.postMessage({...command, id})
    })
  }
}
