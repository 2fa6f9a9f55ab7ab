// The submission core with a fake Snyk at the HTTP boundary: a real SnykClient talking to a tiny node:http
// server whose answers each test scripts, recording when every request arrived and was answered.
import assert from 'node:assert/strict'
import {setTimeout as delay} from 'node:timers/promises'
import {describe, it} from 'node:test'
import type {TestContext} from 'node:test'
import {createServer} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {Agent} from 'undici'
import {AuthError} from '../../../src/errors.ts'
import {SnykClient} from '../../../src/snyk/snyk-client.ts'
import {SnykHttpError} from '../../../src/snyk/snyk-http-error.ts'
import {LimiterRegistry, tokenKey} from '../../../src/submit/limiter-registry.ts'
import {SubmissionCore} from '../../../src/submit/submission-core.ts'
import type {SubmissionCoreOptions, SubmissionEvents} from '../../../src/submit/submission-core.ts'

const API = 'https://api.snyk.test'
const TOKEN = 'aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb'
const ORG = '6e225e08-7e52-4ded-aa4a-b8c0b40f97f9'
const INTEGRATION = 'bff7ceba-bbc4-47b3-8946-e9598837dbc8'
const IMPORT_PATH = `/v1/org/${ORG}/integrations/${INTEGRATION}/import`

interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string | object
  /** Answer after this long. */
  readonly delayMs?: number
  /** Never answer. */
  readonly hang?: boolean
}

const CREATED: Reply = {status: 201, headers: {location: `${API}${IMPORT_PATH}/job-1`}}

interface FakeSnyk {
  readonly client: SnykClient
  /** performance.now() when each request arrived, in order. */
  readonly received: number[]
  /** performance.now() when each answer was sent, in order of requests. */
  readonly answered: Array<number | undefined>
  inFlight: number
  maxInFlight: number
}

/** A fake Snyk (node:http on 127.0.0.1) answering import requests with `script(n)` for the n-th request (1-based). */
async function fakeSnyk(t: TestContext, script: (n: number) => Reply): Promise<FakeSnyk> {
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    req.resume()
    req.once('end', () => {
      if (req.url !== IMPORT_PATH || req.method !== 'POST') {
        res.writeHead(404).end()
        return
      }
      const n = fake.received.push(performance.now())
      fake.inFlight += 1
      fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight)
      const reply = script(n)
      res.once('close', () => (fake.inFlight -= 1))
      if (reply.hang) return
      setTimeout(() => {
        fake.answered[n - 1] = performance.now()
        const body = typeof reply.body === 'object' ? JSON.stringify(reply.body) : (reply.body ?? '')
        res.writeHead(reply.status, {'content-type': 'application/json; charset=utf-8', ...reply.headers}).end(body)
      }, reply.delayMs ?? 0)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const agent = new Agent({connections: 64})
  t.after(async () => {
    await agent.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const fake: FakeSnyk = {client: new SnykClient({token: TOKEN, apiBase: `http://127.0.0.1:${port}`, dispatcher: agent}), received: [], answered: [], inFlight: 0, maxInFlight: 0}
  return fake
}

function core(options: Partial<SubmissionCoreOptions> = {}): SubmissionCore {
  return new SubmissionCore({
    token: TOKEN,
    registry: new LimiterRegistry(),
    concurrency: 4,
    ratePerMinute: 600_000,
    backoff: {minTimeoutMs: 10, maxTimeoutMs: 1000},
    ...options,
  })
}

function recordEvents(subject: SubmissionCore): Array<{[K in keyof SubmissionEvents]: {event: K; args: SubmissionEvents[K]}}[keyof SubmissionEvents]> {
  const events: Array<{event: keyof SubmissionEvents; args: unknown[]}> = []
  for (const event of ['sent', 'succeeded', 'retrying', 'failed', 'paused', 'resumed', 'rate-changed', 'circuit-open', 'circuit-closed', 'stopped'] as const) {
    subject.on(event, (...args: unknown[]) => events.push({event, args}))
  }
  return events as never
}

function submit(subject: SubmissionCore, fake: FakeSnyk, name = 'library/nginx:1.27'): Promise<unknown> {
  return subject.run(`import ${name}`, (signal) => fake.client.importImage(ORG, INTEGRATION, name, signal))
}

describe('SubmissionCore retries', () => {
  it('retries 5xx with exponential backoff and jitter, and reports each delay', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n <= 3 ? {status: 503} : CREATED))
    const randoms = [0, 0.5, 0.25]
    const subject = core({backoff: {minTimeoutMs: 20, factor: 2, maxTimeoutMs: 1000}, random: () => randoms.shift() ?? 0})
    const events = recordEvents(subject)
    await submit(subject, fake)
    const retrying = events.filter((entry) => entry.event === 'retrying').map((entry) => entry.args[0] as SubmissionEvents['retrying'][0])
    // 20 * 2^n * (1 + random)
    assert.deepEqual(retrying.map((event) => [event.attempt, event.delayMs, event.reason]), [[1, 20, '503 from Snyk'], [2, 60, '503 from Snyk'], [3, 100, '503 from Snyk']])
    const gaps = fake.received.slice(1).map((at, i) => at - (fake.answered[i] ?? 0))
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= (retrying[i]?.delayMs ?? 0) - 2, `gap ${gap} before retry ${i + 1}`)
    assert.equal(fake.received.length, 4)
  })

  it('randomises backoff within [d, 2d) by default', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n % 4 === 0 ? CREATED : {status: 500}))
    const subject = core({backoff: {minTimeoutMs: 5, factor: 3, maxTimeoutMs: 10_000}})
    const delays: number[] = []
    subject.on('retrying', ({delayMs}) => delays.push(delayMs))
    for (let i = 0; i < 3; i += 1) await submit(subject, fake, `library/app${i}:1`)
    for (const [i, delayMs] of delays.entries()) {
      const base = 5 * 3 ** (i % 3)
      assert.ok(delayMs >= base && delayMs <= 2 * base, `delay ${delayMs} for retry ${(i % 3) + 1}`)
    }
    assert.ok(new Set(delays).size > 3, 'jitter varies the delays')
  })

  it('gives up after maxRetries with the last error', async (t) => {
    const fake = await fakeSnyk(t, () => ({status: 502}))
    const subject = core({maxRetries: 2})
    const failed: Array<SubmissionEvents['failed'][0]> = []
    subject.on('failed', (event) => failed.push(event))
    await assert.rejects(submit(subject, fake), (error) => error instanceof SnykHttpError && error.status === 502)
    assert.equal(fake.received.length, 3)
    assert.deepEqual(failed.map((event) => [event.attempts, event.aborted]), [[3, false]])
  })

  for (const status of [400, 404]) {
    it(`${status} fails the call at once: one request, no retry`, async (t) => {
      const fake = await fakeSnyk(t, () => ({status, body: {code: status, message: 'no such thing', error: 'x'}}))
      const subject = core()
      const events = recordEvents(subject)
      await assert.rejects(submit(subject, fake), (error) => error instanceof SnykHttpError && error.status === status && /no such thing/.test(error.message))
      assert.equal(fake.received.length, 1)
      assert.deepEqual(events.map((entry) => entry.event), ['sent', 'failed'])
      assert.equal(subject.signal.aborted, false, 'the run goes on')
    })
  }
})

describe('SubmissionCore 429', () => {
  it('honours Retry-After in seconds', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 1 ? {status: 429, headers: {'retry-after': '1'}} : CREATED))
    const subject = core()
    const paused: Array<SubmissionEvents['paused'][0]> = []
    subject.on('paused', (event) => paused.push(event))
    await submit(subject, fake)
    assert.equal(fake.received.length, 2)
    assert.ok((fake.received[1] ?? 0) - (fake.answered[0] ?? 0) >= 995, `waited ${(fake.received[1] ?? 0) - (fake.answered[0] ?? 0)} ms`)
    assert.deepEqual(paused.map((event) => event.reason), ['retry-after'])
  })

  it('honours Retry-After as an HTTP date', async (t) => {
    let until = 0
    const fake = await fakeSnyk(t, (n) => {
      if (n > 1) return CREATED
      until = Math.ceil((Date.now() + 1500) / 1000) * 1000
      return {status: 429, headers: {'retry-after': new Date(until).toUTCString()}}
    })
    const subject = core()
    const wallAtSecond: number[] = []
    subject.on('sent', ({attempt}) => {
      if (attempt === 2) wallAtSecond.push(Date.now())
    })
    await submit(subject, fake)
    assert.equal(fake.received.length, 2)
    assert.ok((wallAtSecond[0] ?? 0) >= until - 5, `sent ${until - (wallAtSecond[0] ?? 0)} ms before the date`)
  })

  it('a 429 pauses every worker: nobody sends until the pause ends, then everything goes through', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 1 ? {status: 429, headers: {'retry-after': '1'}, delayMs: 20} : {...CREATED, delayMs: 20}))
    const subject = core({concurrency: 4})
    // When the core sends each request (not when the fake receives it: on a loaded machine a request sent just
    // before the 429 was answered may arrive after it).
    const sentAt: number[] = []
    subject.on('sent', () => sentAt.push(performance.now()))
    const results = await Promise.allSettled(Array.from({length: 12}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    assert.ok(results.every((result) => result.status === 'fulfilled'))
    const pausedAt = fake.answered[0] ?? 0
    const during = sentAt.filter((at) => at > pausedAt + 5 && at < pausedAt + 990)
    assert.deepEqual(during, [], 'requests sent during the pause')
    assert.equal(fake.received.length, 13)
    assert.ok(fake.maxInFlight <= 4)
  })

  it('without Retry-After pauses adaptively (until the observed window ends) and lowers the rate', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 6 ? {status: 429} : CREATED))
    const subject = core({concurrency: 1, ratePerMinute: 60, minuteMs: 500})
    const events = recordEvents(subject)
    await Promise.all(Array.from({length: 8}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    const paused = events.find((entry) => entry.event === 'paused')?.args[0] as SubmissionEvents['paused'][0]
    assert.equal(paused.reason, 'window')
    const rate = events.find((entry) => entry.event === 'rate-changed')?.args[0] as SubmissionEvents['rate-changed'][0]
    assert.equal(rate.reason, 'rate-limited')
    assert.ok(rate.ratePerMinute < 60)
    // the window began with the first request; nothing was sent until it (plus a margin) was over
    assert.ok((fake.received[6] ?? 0) - (fake.received[0] ?? 0) >= 500)
  })

  it('rate-limited attempts do not use the retry budget', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n <= 4 ? {status: 429, headers: {'retry-after': '0'}} : CREATED))
    const subject = core({maxRetries: 1})
    await submit(subject, fake)
    assert.equal(fake.received.length, 5)
  })
})

describe('SubmissionCore authentication failures', () => {
  it('401 stops the run: every call rejects with AuthError and no request is sent after it', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 1 ? {status: 401, body: {code: 401, message: 'Not authorised', error: 'Not authorised'}} : {...CREATED, delayMs: 50}))
    const registry = new LimiterRegistry()
    const subject = core({concurrency: 2, ratePerMinute: 6000, registry})
    const stopped: AuthError[] = []
    subject.on('stopped', (error) => stopped.push(error))
    const results = await Promise.allSettled(Array.from({length: 10}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    const rejectedAt = fake.answered[0] ?? 0
    assert.deepEqual(fake.received.filter((at) => at > rejectedAt), [], 'requests after the 401')
    assert.ok(results.every((result) => result.status === 'rejected' && result.reason instanceof AuthError))
    const [first] = results
    const error = first?.status === 'rejected' ? (first.reason as AuthError) : assert.fail()
    assert.equal(error.exitCode, 2)
    assert.equal(error.code, 'SNYK_TOKEN_REJECTED')
    assert.equal(stopped.length, 1)
    assert.ok(subject.signal.aborted)

    // later calls, and other cores of the same token in the process, do not send either
    await assert.rejects(submit(subject, fake), AuthError)
    const other = core({registry})
    await assert.rejects(submit(other, fake), AuthError)
    assert.equal(fake.received.filter((at) => at > rejectedAt).length, 0)
  })

  it('403 stops this run with an AuthError naming the org', async (t) => {
    const fake = await fakeSnyk(t, () => ({status: 403, body: {code: 403, message: 'Forbidden', error: 'Forbidden'}}))
    const subject = core({orgId: ORG})
    await assert.rejects(submit(subject, fake), (error) => error instanceof AuthError && error.code === 'SNYK_ORG_FORBIDDEN' && error.message.includes(ORG))
    assert.ok(subject.signal.aborted)
    assert.equal(fake.received.length, 1)
  })
})

describe('SubmissionCore circuit breaker', () => {
  it('opens after consecutive failures, sends nothing during the cool-down, probes, and closes on success', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n <= 4 ? {status: 503} : CREATED))
    const subject = core({concurrency: 1, maxRetries: 10, breaker: {failureThreshold: 3, cooldownMs: 300, maxCooldownMs: 1000}})
    const events = recordEvents(subject)
    await submit(subject, fake)
    const circuit = events.filter((entry) => entry.event.startsWith('circuit')).map((entry) => entry.event)
    assert.deepEqual(circuit, ['circuit-open', 'circuit-open', 'circuit-closed'])
    const at = fake.received
    assert.equal(at.length, 5)
    assert.ok((at[3] ?? 0) - (fake.answered[2] ?? 0) >= 295, 'first cool-down')
    assert.ok((at[4] ?? 0) - (fake.answered[3] ?? 0) >= 595, 'doubled cool-down after a failed probe')
  })

  it('keeps concurrent workers from hammering while open', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n <= 6 ? {status: 500, delayMs: 5} : {...CREATED, delayMs: 5}))
    const subject = core({concurrency: 4, maxRetries: 10, breaker: {failureThreshold: 3, cooldownMs: 300}})
    let openedAt = 0
    subject.on('circuit-open', () => (openedAt ||= performance.now()))
    await Promise.all(Array.from({length: 8}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    const duringCooldown = fake.received.filter((at) => at > openedAt + 10 && at < openedAt + 290)
    assert.deepEqual(duringCooldown, [])
  })
})

describe('SubmissionCore cancellation', () => {
  it('the command signal cancels in-flight and waiting calls at once, with its reason', async (t) => {
    const fake = await fakeSnyk(t, () => ({status: 201, hang: true}))
    const controller = new AbortController()
    const subject = core({concurrency: 2, signal: controller.signal})
    const calls = Array.from({length: 6}, (_, i) => submit(subject, fake, `library/app${i}:1`))
    await delay(50)
    const reason = new Error('SIGTERM')
    const started = performance.now()
    controller.abort(reason)
    const results = await Promise.allSettled(calls)
    assert.ok(performance.now() - started < 1000, 'cancelled at once, not after the requests ended')
    assert.ok(results.every((result) => result.status === 'rejected' && result.reason === reason))
    assert.equal(fake.received.length, 2, 'only the two in flight were sent')
  })

  it('cancels calls waiting out a 429 pause or a backoff', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 1 ? {status: 429, headers: {'retry-after': '30'}} : {status: 503}))
    const controller = new AbortController()
    const subject = core({signal: controller.signal, backoff: {minTimeoutMs: 30_000, maxTimeoutMs: 30_000}})
    const calls = [submit(subject, fake, 'library/a:1'), submit(subject, fake, 'library/b:1')]
    await delay(100)
    controller.abort(new Error('stop'))
    const results = await Promise.allSettled(calls)
    assert.ok(results.every((result) => result.status === 'rejected' && (result.reason as Error).message === 'stop'))
  })

  it('a per-call signal cancels only that call', async (t) => {
    const fake = await fakeSnyk(t, (n) => (n === 1 ? {status: 201, hang: true} : CREATED))
    const subject = core()
    const controller = new AbortController()
    const cancelled = subject.run('a', (signal) => fake.client.importImage(ORG, INTEGRATION, 'library/a:1', signal), {signal: controller.signal})
    await delay(20)
    controller.abort(new Error('deadline'))
    await assert.rejects(cancelled, /deadline/)
    await submit(subject, fake, 'library/b:1')
    assert.equal(subject.signal.aborted, false)
  })
})

describe('SubmissionCore limits', () => {
  it('never has more than --concurrency requests in flight', async (t) => {
    const fake = await fakeSnyk(t, () => ({...CREATED, delayMs: 10}))
    const subject = core({concurrency: 3})
    await Promise.all(Array.from({length: 20}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    assert.equal(fake.maxInFlight, 3)
  })

  it('keeps to --rate', async (t) => {
    const fake = await fakeSnyk(t, () => CREATED)
    const subject = core({concurrency: 8, ratePerMinute: 60_000 / 20})
    await Promise.all(Array.from({length: 10}, (_, i) => submit(subject, fake, `library/app${i}:1`)))
    // slots are 20 ms apart on an absolute schedule (a late one may be made up, never sent early)
    const span = (fake.received[9] ?? 0) - (fake.received[0] ?? 0)
    assert.ok(span >= 170, `10 requests within ${span} ms`)
  })

  it('one lane (limiter, gate, breaker) per token for the whole registry, keyed by a hash of the token', () => {
    const registry = new LimiterRegistry()
    const first = new SubmissionCore({token: TOKEN, registry, concurrency: 3})
    const second = new SubmissionCore({token: TOKEN, registry, concurrency: 9})
    const other = new SubmissionCore({token: 'another-token-value', registry})
    assert.equal(first.lane, second.lane)
    assert.notEqual(first.lane, other.lane)
    assert.equal(first.lane.settings.concurrency, 3)
    assert.equal(first.lane.key, tokenKey(TOKEN))
    assert.ok(!first.lane.key.includes(TOKEN) && !TOKEN.includes(first.lane.key))
  })
})
