// How images reach Snyk, as the submission stage sees it: src/submit/snyk-submitter.ts implements it over the
// Snyk client and the submission core; unit tests of the drivers fake it.
import type {IntegrationMap} from '../images/integration-map.ts'

/** How images reach Snyk: implemented over the Snyk client and the submission core. */
export interface ImageSubmitter {
  /** The org's integrations, used to build the integration map. */
  integrationMap(): Promise<IntegrationMap>
  /** `signal` cancels the call, even in flight; the submission core gives it its limiter, retries and 429 pauses. */
  importImage(plan: {integrationId: string; targetName: string}, signal: AbortSignal): Promise<{jobUrl: string}>
  /** Polls an import job until it is done or the wait times out. */
  waitForJob(jobUrl: string, signal: AbortSignal): Promise<{status: 'complete'; projects: Array<{id: string; url?: string}>} | {status: 'failed' | 'timeout'; error: string}>
  /** Live figures for the progress display. */
  snapshot(): {inFlight: number; retries: number; pausedUntil?: number}
  /** Classifies an error thrown by importImage / waitForJob. `fatal` errors (authentication) stop the run. */
  classify(error: unknown): {fatal: boolean; retryable: boolean; message: string}
}
