// The one builder of what talks to Snyk, for the three commands: the Snyk client and the submission core (the
// token's lane: limiter, gate, circuit breaker, retries) from the same settings, and the submitter the drivers
// use. close() releases both.
import type {SnykSettings} from '../config/snyk-settings.ts'
import {parseIntegrationOptions} from '../images/integration-map.ts'
import {SnykClient} from '../snyk/snyk-client.ts'
import type {ImageSubmitter} from './image-submitter.ts'
import {createSnykSubmitter} from './snyk-submitter.ts'
import {SubmissionCore} from './submission-core.ts'

export interface SnykConnection {
  readonly orgId: string
  readonly client: SnykClient
  readonly core: SubmissionCore
  /** A submitter over this client and core, for these --integration values. */
  submitter(integrations: readonly string[], waitTimeoutMs: number): ImageSubmitter
  close(): Promise<void>
}

/** `settings` must carry a token and an org (the option resolvers require them where Snyk is used). */
export function connectSnyk(settings: Pick<SnykSettings, 'token' | 'org' | 'api' | 'concurrency' | 'ratePerMinute' | 'maxRetries'>, signal: AbortSignal): SnykConnection {
  const token = settings.token!
  const orgId = settings.org!
  const client = new SnykClient({token, apiBase: settings.api})
  const core = new SubmissionCore({token, signal, orgId, concurrency: settings.concurrency, ratePerMinute: settings.ratePerMinute, maxRetries: settings.maxRetries})
  return {
    orgId,
    client,
    core,
    submitter: (integrations, waitTimeoutMs) => createSnykSubmitter({client, core, orgId, integrations: parseIntegrationOptions(integrations), waitTimeoutMs}),
    async close() {
      core.close()
      await client.close()
    },
  }
}
