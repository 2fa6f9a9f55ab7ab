import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {ImportJob, ImportJobStatus} from '../../../src/snyk/import-job.ts'
import {SnykHttpError} from '../../../src/snyk/snyk-http-error.ts'
import {waitForImportJob} from '../../../src/submit/import-waiter.ts'
import {LimiterRegistry} from '../../../src/submit/limiter-registry.ts'
import {SubmissionCore} from '../../../src/submit/submission-core.ts'

const JOB_URL = 'https://api.snyk.test/v1/org/o/integrations/i/import/job-1'

function job(status: ImportJobStatus): ImportJob {
  const projects = status === 'complete' ? [{projectId: 'p1', projectUrl: 'https://app.snyk.io/org/o/project/p1', targetFile: '', success: true}] : []
  return {id: 'job-1', status, created: undefined, logs: [{name: 'library/nginx:1.27', status, created: undefined, projects}], projects}
}

/** A client whose n-th poll answers `answers[n]` (the last one repeats); 'hang' waits for the signal. */
function client(answers: Array<ImportJobStatus | 'hang' | SnykHttpError>): {getImportJob: (url: string, signal: AbortSignal) => Promise<ImportJob>; polls: string[]} {
  const polls: string[] = []
  return {
    polls,
    getImportJob: (url, signal) => {
      polls.push(url)
      const answer = answers[Math.min(polls.length, answers.length) - 1]
      if (answer instanceof SnykHttpError) return Promise.reject(answer)
      if (answer === 'hang' || answer === undefined) {
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), {once: true}))
      }
      return Promise.resolve(job(answer))
    },
  }
}

function core(signal?: AbortSignal): SubmissionCore {
  return new SubmissionCore({token: 't', registry: new LimiterRegistry(), ratePerMinute: 600_000, backoff: {minTimeoutMs: 1, maxTimeoutMs: 5}, ...(signal ? {signal} : {})})
}

describe('waitForImportJob', () => {
  it('polls through the core until the job is complete and returns its projects', async () => {
    const fake = client(['pending', 'pending', 'complete'])
    const subject = core()
    let sent = 0
    subject.on('sent', () => (sent += 1))
    const result = await waitForImportJob(subject, fake, JOB_URL, {timeoutMs: 5000, intervalMs: 5})
    assert.equal(result.status, 'complete')
    assert.equal(result.polls, 3)
    assert.equal(sent, 3, 'every poll went through the core')
    assert.deepEqual(result.job?.projects.map((project) => project.projectId), ['p1'])
  })

  it('returns failed and aborted jobs as results', async () => {
    for (const status of ['failed', 'aborted'] as const) {
      const result = await waitForImportJob(core(), client(['pending', status]), JOB_URL, {timeoutMs: 5000, intervalMs: 5})
      assert.equal(result.status, status)
    }
  })

  it('times out with a result that keeps the last state seen', async () => {
    const result = await waitForImportJob(core(), client(['pending']), JOB_URL, {timeoutMs: 120, intervalMs: 10})
    assert.equal(result.status, 'timeout')
    assert.equal(result.job?.status, 'pending')
    assert.ok(result.polls >= 2)
    assert.ok(result.waitedMs >= 120 && result.waitedMs < 400)
  })

  it('times out even when a poll hangs', async () => {
    const started = performance.now()
    const result = await waitForImportJob(core(), client(['pending', 'hang']), JOB_URL, {timeoutMs: 150, intervalMs: 10})
    assert.equal(result.status, 'timeout')
    assert.equal(result.job?.status, 'pending')
    assert.ok(performance.now() - started < 500)
  })

  it('rejects when a poll fails for good, and on the command signal', async () => {
    const notFound = new SnykHttpError({kind: 'http', method: 'GET', path: '/v1/x', status: 404})
    await assert.rejects(waitForImportJob(core(), client([notFound]), JOB_URL, {timeoutMs: 5000, intervalMs: 5}), (error) => error === notFound)

    const controller = new AbortController()
    const waiting = waitForImportJob(core(controller.signal), client(['pending']), JOB_URL, {timeoutMs: 60_000, intervalMs: 5, signal: controller.signal})
    setTimeout(() => controller.abort(new Error('SIGINT')), 30)
    await assert.rejects(waiting, /SIGINT/)
  })
})
