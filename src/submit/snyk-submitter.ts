// The ImageSubmitter of both drivers (sync and watch) over the Snyk client and the submission core: every request,
// imports and job polls alike, goes through the core's one limiter, gate and retry layer.
import {AuthError, messageOf} from '../errors.ts'
import {createIntegrationMap, type IntegrationMap, type IntegrationOption} from '../images/integration-map.ts'
import type {SnykClient} from '../snyk/snyk-client.ts'
import {SnykHttpError} from '../snyk/snyk-http-error.ts'
import {waitForImportJob} from './import-waiter.ts'
import type {SubmissionCore} from './submission-core.ts'
import type {ImageSubmitter} from './image-submitter.ts'

export interface SnykSubmitterOptions {
  client: SnykClient
  core: SubmissionCore
  orgId: string
  integrations: readonly IntegrationOption[]
  waitTimeoutMs: number
}

export function createSnykSubmitter(options: SnykSubmitterOptions): ImageSubmitter {
  const {client, core, orgId} = options
  let inFlight = 0
  let pausedUntil: number | undefined
  core.on('paused', (event) => (pausedUntil = Date.now() + event.durationMs))
  core.on('resumed', () => (pausedUntil = undefined))

  const tracked = async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight++
    try {
      return await work()
    } finally {
      inFlight--
    }
  }

  return {
    async integrationMap(): Promise<IntegrationMap> {
      const discovered = await core.run('list integrations', (signal) => client.listIntegrations(orgId, signal))
      return createIntegrationMap({options: options.integrations, discovered})
    },
    importImage(plan) {
      return tracked(() => core.run(`import ${plan.targetName}`, (signal) => client.importImage(orgId, plan.integrationId, plan.targetName, signal)))
    },
    async waitForJob(jobUrl, signal) {
      const waited = await waitForImportJob(core, client, jobUrl, {timeoutMs: options.waitTimeoutMs, signal})
      if (waited.status === 'complete') return {status: 'complete', projects: waited.job.projects.map((p) => ({id: p.projectId, url: p.projectUrl}))}
      if (waited.status === 'timeout') return {status: 'timeout', error: `the import job was still pending after ${Math.round(waited.waitedMs / 1000)} s (see --wait-timeout)`}
      const log = waited.job.logs.find((entry) => entry.status !== 'complete')
      return {status: 'failed', error: `Snyk's import job ${waited.status}${log ? ` for ${log.name}` : ''}`}
    },
    snapshot() {
      return {inFlight, retries: core.stats.retried, ...(pausedUntil ? {pausedUntil} : {})}
    },
    classify(error) {
      if (error instanceof AuthError) return {fatal: true, retryable: false, message: error.message}
      if (error instanceof SnykHttpError) return {fatal: false, retryable: error.retryable, message: error.message}
      return {fatal: false, retryable: false, message: messageOf(error)}
    },
  }
}
