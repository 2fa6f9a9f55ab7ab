// A fake submitter for the drivers' unit tests (the real one, the submission core and the Snyk client, is tested
// against the Snyk emulator): records every import it is asked for and answers as the test says.
import {AuthError} from '../../../src/errors.ts'
import {createIntegrationMap} from '../../../src/images/integration-map.ts'
import type {ImageSubmitter} from '../../../src/submit/image-submitter.ts'

type JobAnswer = Awaited<ReturnType<ImageSubmitter['waitForJob']>>

export interface FakeSubmitter extends ImageSubmitter {
  /** Snyk targets imported, in order. */
  imports: string[]
}

export function fakeSubmitter(answers: {importImage?: (targetName: string, signal: AbortSignal) => Promise<void>; job?: (targetName: string) => JobAnswer} = {}): FakeSubmitter {
  const jobs = new Map<string, string>()
  const submitter: FakeSubmitter = {
    imports: [],
    integrationMap: async () => createIntegrationMap({discovered: {'docker-hub': 'int-docker-hub'}}),
    importImage: async (target, signal) => {
      submitter.imports.push(target.targetName)
      await answers.importImage?.(target.targetName, signal)
      const jobUrl = `https://api.snyk.io/v1/org/o/integrations/${target.integrationId}/import/job-${submitter.imports.length}`
      jobs.set(jobUrl, target.targetName)
      return {jobUrl}
    },
    waitForJob: async (jobUrl) => answers.job?.(jobs.get(jobUrl) ?? '') ?? {status: 'complete', projects: [{id: `project-${jobs.get(jobUrl)}`}]},
    snapshot: () => ({inFlight: 0, retries: 0}),
    classify: (error) => ({fatal: error instanceof AuthError, retryable: !(error instanceof AuthError), message: (error as Error).message}),
  }
  return submitter
}
