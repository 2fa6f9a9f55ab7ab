// The Kubernetes retry policy shared by sync's pod listing and watch's reconnects: which failures are
// transient, bounded attempts, Retry-After honoured, jittered backoff within bounds. Fakes only.
import assert from 'node:assert/strict'
import {createServer} from 'node:net'
import {describe, it} from 'node:test'
import {request} from 'undici'
import {KubeRequestError} from '../../../src/kube/kube-api-client.ts'
import {isTransientKubeError, KubeRetryPolicy, retryAfterMsOf, type RetryInfo} from '../../../src/kube/retry-policy.ts'

const networkError = (code: string, message = code) => Object.assign(new Error(message), {code})
const unreachable = (cause: unknown) => new KubeRequestError('unreachable', 'cannot reach https://127.0.0.1:6443', {cause})
const status = (code: number, retryAfterMs?: number) => {
  const kind = code === 401 ? 'unauthorized' : code === 403 ? 'forbidden' : code === 404 ? 'not-found' : code === 409 ? 'conflict' : code === 410 ? 'expired' : 'server'
  const error = new KubeRequestError(kind, `answered ${code}`, {status: code})
  return retryAfterMs === undefined ? error : Object.assign(error, {retryAfterMs})
}

/** A policy that records its waits instead of sleeping. */
function recording(options: ConstructorParameters<typeof KubeRetryPolicy>[0] = {}): {policy: KubeRetryPolicy; waits: number[]} {
  const waits: number[] = []
  const policy = new KubeRetryPolicy({
    random: () => 0,
    ...options,
    sleep: async (ms) => {
      waits.push(ms)
    },
  })
  return {policy, waits}
}

describe('which Kubernetes failures are transient', () => {
  it('retries refused, reset and closed connections, timeouts, GOAWAY, 429 and 5xx', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ERR_HTTP2_GOAWAY_SESSION']) {
      assert.equal(isTransientKubeError(unreachable(networkError(code))), true, code)
    }
    // A body cut while it was read is not wrapped in a KubeRequestError by getJson.
    assert.equal(isTransientKubeError(networkError('UND_ERR_SOCKET', 'other side closed')), true)
    assert.equal(isTransientKubeError(networkError('ECONNRESET', 'read ECONNRESET')), true)
    assert.equal(isTransientKubeError(unreachable(new Error('HTTP/2: "GOAWAY" frame received with code 0'))), true)
    // happy eyeballs: an AggregateError of refused connections
    assert.equal(isTransientKubeError(unreachable(Object.assign(new AggregateError([networkError('ECONNREFUSED'), networkError('ECONNREFUSED')]), {code: 'ECONNREFUSED'}))), true)
    assert.equal(isTransientKubeError(unreachable(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))), true)
    for (const code of [429, 500, 502, 503, 504]) assert.equal(isTransientKubeError(status(code)), true, String(code))
  })

  it('does not retry 4xx, 501, TLS failures, unknown hosts, a kubeconfig entry without a cluster, or anything else', () => {
    for (const code of [400, 401, 403, 404, 409, 410, 422, 501, 505]) assert.equal(isTransientKubeError(status(code)), false, String(code))
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ENOTFOUND']) {
      assert.equal(isTransientKubeError(unreachable(networkError(code))), false, code)
    }
    // a TLS failure wins over a reset further down the chain
    assert.equal(isTransientKubeError(unreachable(Object.assign(networkError('CERT_HAS_EXPIRED'), {cause: networkError('ECONNRESET')}))), false)
    assert.equal(isTransientKubeError(new KubeRequestError('unreachable', 'context dev names no cluster')), false)
    // kinds a kubeconfig mistake gets (a TLS or credentials entry at fault), whatever their cause
    for (const kind of ['tls', 'credentials', 'unauthorized', 'forbidden', 'not-found']) {
      assert.equal(isTransientKubeError(new KubeRequestError(kind as never, 'entry at fault', {cause: networkError('ECONNRESET')})), false, kind)
    }
    assert.equal(isTransientKubeError(new SyntaxError('Unexpected end of JSON input')), false)
    assert.equal(isTransientKubeError(new Error('a bug')), false)
    assert.equal(isTransientKubeError(undefined), false)
  })

  it('classifies what undici really throws for a refused connection and a connection closed mid-answer', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const refusedPort = (closed.address() as {port: number}).port
    await new Promise((resolve) => closed.close(resolve))
    const refused = await request(`http://127.0.0.1:${refusedPort}/`).then(() => undefined, (error: unknown) => error)
    assert.equal(isTransientKubeError(unreachable(refused)), true, String(refused))

    const cutter = createServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{"items":[{"a":1', () => socket.destroy()))
    })
    await new Promise<void>((resolve) => cutter.listen(0, '127.0.0.1', resolve))
    try {
      const response = await request(`http://127.0.0.1:${(cutter.address() as {port: number}).port}/`)
      const cut = await response.body.json().then(() => undefined, (error: unknown) => error)
      assert.ok(cut, 'the cut body fails')
      assert.equal(isTransientKubeError(cut), true, String(cut))
    } finally {
      await new Promise((resolve) => cutter.close(resolve))
    }
  })
})

describe('KubeRetryPolicy', () => {
  it('retries a transient failure with backoff until the request succeeds, and says so', async () => {
    const {policy, waits} = recording({backoff: {minTimeoutMs: 100, maxTimeoutMs: 10_000}})
    await policy.run(async () => 'the server answered once')
    const failures = [unreachable(networkError('ECONNREFUSED')), status(503), networkError('ECONNRESET')]
    const retries: RetryInfo[] = []
    const result = await policy.run(
      async () => {
        const failure = failures.shift()
        if (failure) throw failure
        return 'page'
      },
      {onRetry: (info) => retries.push(info)},
    )
    assert.equal(result, 'page')
    assert.deepEqual(waits, [100, 200, 400])
    assert.deepEqual(retries.map((r) => r.attempt), [1, 2, 3])
    assert.equal(policy.retried, 3)
  })

  it('gives up after `retries` consecutive retries of one request, with the last failure', async () => {
    const {policy, waits} = recording({retries: 3, backoff: {minTimeoutMs: 10, maxTimeoutMs: 1000}})
    await policy.run(async () => 'the server answered once')
    let calls = 0
    const last = status(502)
    await assert.rejects(
      policy.run(async () => {
        calls++
        throw calls === 4 ? last : status(503)
      }),
      (error) => error === last,
    )
    assert.equal(calls, 4, 'one try and three retries')
    assert.deepEqual(waits, [10, 20, 40])
  })

  it('gives a server that never answered only `retriesBeforeFirstAnswer` retries (refusing from the start: down or misnamed)', async () => {
    const {policy, waits} = recording({retries: 6, retriesBeforeFirstAnswer: 2, backoff: {minTimeoutMs: 10, maxTimeoutMs: 1000}})
    let calls = 0
    await assert.rejects(policy.run(async () => {
      calls++
      throw unreachable(networkError('ECONNREFUSED'))
    }))
    assert.equal(calls, 3)
    assert.deepEqual(waits, [10, 20])
    assert.deepEqual([new KubeRetryPolicy().retries, new KubeRetryPolicy().retriesBeforeFirstAnswer, new KubeRetryPolicy().totalRetries], [6, 2, 20], 'the defaults')
  })

  it('counts consecutive retries per request, and bounds the retries of all requests together', async () => {
    const {policy} = recording({retries: 2, totalRetries: 5, backoff: {minTimeoutMs: 1, maxTimeoutMs: 1}})
    await policy.run(async () => 'the server answered once')
    const flaky = () => {
      let calls = 0
      return async () => {
        if (++calls <= 2) throw status(500)
        return calls
      }
    }
    assert.equal(await policy.run(flaky()), 3, 'two retries: within the per-request limit')
    assert.equal(await policy.run(flaky()), 3, 'the count starts again for the next request')
    await assert.rejects(policy.run(flaky()), (error) => error instanceof KubeRequestError && error.status === 500, 'the fifth retry in all was the last')
    assert.equal(policy.retried, 5)
  })

  it('never retries a failure that is not transient', async () => {
    for (const failure of [status(401), status(403), status(404), unreachable(networkError('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), new KubeRequestError('unreachable', 'context x names no cluster')]) {
      const {policy, waits} = recording()
      let calls = 0
      await assert.rejects(
        policy.run(async () => {
          calls++
          throw failure
        }),
        (error) => error === failure,
      )
      assert.equal(calls, 1, failure.message)
      assert.deepEqual(waits, [])
    }
  })

  it('waits at least the Retry-After the server asked for, and gives up when it asks for too long', async () => {
    const {policy, waits} = recording({backoff: {minTimeoutMs: 100, maxTimeoutMs: 1000}, maxRetryAfterMs: 60_000})
    await policy.run(async () => 'the server answered once')
    const failures = [status(429, 3000), status(503, 50), status(429, 0)]
    await policy.run(async () => {
      const failure = failures.shift()
      if (failure) throw failure
    })
    assert.deepEqual(waits, [3000, 200, 400], 'Retry-After when longer than the backoff, the backoff otherwise')
    const patient = recording({maxRetryAfterMs: 60_000})
    await assert.rejects(patient.policy.run(() => Promise.reject(status(429, 120_000))), (error) => error instanceof KubeRequestError && error.status === 429)
    assert.deepEqual(patient.waits, [])
  })

  it('reads the Retry-After carried by an error', () => {
    assert.equal(retryAfterMsOf(status(429, 1500)), 1500)
    assert.equal(retryAfterMsOf(status(429)), undefined)
    assert.equal(retryAfterMsOf(Object.assign(new Error('x'), {retryAfterMs: -1})), undefined)
  })

  it('jitters each delay within [d, 2d) of the exponential backoff, capped', () => {
    const policy = new KubeRetryPolicy()
    assert.deepEqual([policy.backoff.minTimeoutMs, policy.backoff.factor, policy.backoff.maxTimeoutMs], [500, 2, 15_000], 'the defaults')
    for (let retriesConsumed = 0; retriesConsumed < 8; retriesConsumed++) {
      const base = 500 * 2 ** retriesConsumed
      for (let i = 0; i < 200; i++) {
        const delay = policy.delayMs(retriesConsumed)
        assert.ok(delay >= Math.min(base, 15_000) && delay <= Math.min(2 * base, 15_000), `retry ${retriesConsumed + 1}: ${delay} ms`)
      }
    }
    const low = new KubeRetryPolicy({random: () => 0})
    const high = new KubeRetryPolicy({random: () => 0.999999})
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => low.delayMs(n)), [500, 1000, 2000, 4000, 8000, 15_000])
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => high.delayMs(n)), [1000, 2000, 4000, 8000, 15_000, 15_000])
  })

  it('stops waiting when the signal aborts, with its reason, and never retries after an abort', async () => {
    const controller = new AbortController()
    const policy = new KubeRetryPolicy({backoff: {minTimeoutMs: 60_000, maxTimeoutMs: 60_000}})
    const reason = new Error('stopped')
    const running = policy.run(() => Promise.reject(status(503)), {signal: controller.signal})
    setTimeout(() => controller.abort(reason), 10)
    await assert.rejects(running, (error) => error === reason)

    let calls = 0
    const aborted = new AbortController()
    await assert.rejects(
      policy.run(
        async () => {
          calls++
          aborted.abort(reason)
          throw networkError('ECONNRESET')
        },
        {signal: aborted.signal},
      ),
      (error) => error === reason,
    )
    assert.equal(calls, 1)
  })
})
