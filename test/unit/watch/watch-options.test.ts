import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {UsageError} from '../../../src/errors.ts'
import {resolveWatchOptions} from '../../../src/watch/watch-options.ts'

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: '/nonexistent', SNYK_TOKEN: 'tok', SNYK_WATCH_ORG: 'org', ...extra})

describe('watch options', () => {
  it('serves nothing on a laptop and :8080 in a pod; leader election off unless asked', () => {
    const laptop = resolveWatchOptions({}, env(), undefined)
    assert.equal(laptop.listen, undefined)
    assert.equal(laptop.leaderElection, undefined)
    assert.equal(laptop.logFormat, 'auto')
    assert.equal(laptop.shutdownTimeoutMs, 20_000)
    assert.equal(laptop.resubmitAfterMs, 24 * 3600_000)
    const pod = resolveWatchOptions({'leader-elect': true}, env({KUBERNETES_SERVICE_HOST: '10.0.0.1'}), undefined)
    assert.equal(pod.listen, ':8080')
    assert.deepEqual(pod.leaderElection, {namespace: 'default', name: 'kubectl-snyk-watch', leaseDurationMs: 15_000})
  })

  it('reads every watch flag from the environment too', () => {
    const options = resolveWatchOptions({}, env({SNYK_WATCH_LISTEN: '127.0.0.1:9090', SNYK_WATCH_LEADER_ELECT: 'true', SNYK_WATCH_LEADER_ELECT_NAMESPACE: 'ops', SNYK_WATCH_SHUTDOWN_TIMEOUT: '45s', SNYK_WATCH_NAMESPACE_SELECTOR: 'team=a', SNYK_WATCH_LOG_FORMAT: 'json'}), undefined)
    assert.equal(options.listen, '127.0.0.1:9090')
    assert.equal(options.leaderElection?.namespace, 'ops')
    assert.equal(options.shutdownTimeoutMs, 45_000)
    assert.equal(options.namespaceSelector, 'team=a')
    assert.equal(options.logFormat, 'json')
  })

  it('rejects what it cannot use, with a usage error (exit 2)', () => {
    assert.throws(() => resolveWatchOptions({'log-format': 'xml'}, env(), undefined), (error: unknown) => error instanceof UsageError && /--log-format must be one of auto, json, text/.test(error.message))
    assert.throws(() => resolveWatchOptions({}, env({SNYK_TOKEN: ''}), undefined), (error: unknown) => error instanceof UsageError && /no Snyk API token/.test(error.message))
    assert.throws(() => resolveWatchOptions({'leader-elect-lease-duration': '1s'}, env(), undefined), UsageError)
  })
})
