// The health and metrics server on a real socket: probes, Prometheus' scrape, and the errors --listen can meet.
import assert from 'node:assert/strict'
import {createServer} from 'node:net'
import {describe, it} from 'node:test'
import {ConfigError} from '../../../src/errors.ts'
import {parseListenAddress, startHealthServer} from '../../../src/observe/http-server.ts'
import {WatchMetrics} from '../../../src/observe/metrics.ts'

describe('health server', () => {
  it('answers /readyz 503 with the reason until ready, then 200', async () => {
    let ready: {ok: boolean; reason?: string} = {ok: false, reason: 'waiting for targets to sync: prod, staging'}
    const server = await startHealthServer({listen: '127.0.0.1:0', metrics: new WatchMetrics({defaultMetrics: false}), live: () => ({ok: true}), ready: () => ready})
    try {
      let response = await fetch(`${server.url}/readyz`)
      assert.equal(response.status, 503)
      assert.equal(await response.text(), 'waiting for targets to sync: prod, staging\n')

      ready = {ok: true}
      response = await fetch(`${server.url}/readyz`)
      assert.equal(response.status, 200)
      assert.equal(await response.text(), 'ok\n')

      response = await fetch(`${server.url}/healthz`)
      assert.equal(response.status, 200)
      assert.equal(await response.text(), 'ok\n')
    } finally {
      await server.close()
    }
  })

  it('serves /metrics in the Prometheus text format', async () => {
    const metrics = new WatchMetrics()
    metrics.submission('monitored')
    const server = await startHealthServer({listen: '127.0.0.1:0', metrics, live: () => ({ok: true}), ready: () => ({ok: true})})
    try {
      const response = await fetch(`${server.url}/metrics`)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('content-type'), metrics.contentType)
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
      const text = await response.text()
      assert.match(text, /^snyk_watch_submissions_total\{result="monitored"\} 1$/m)
      assert.match(text, /^# TYPE snyk_watch_queue_depth gauge$/m)
    } finally {
      await server.close()
    }
  })

  it('answers 404 for other paths, 405 for other methods, and HEAD without a body', async () => {
    const server = await startHealthServer({listen: '127.0.0.1:0', metrics: new WatchMetrics({defaultMetrics: false}), live: () => ({ok: false, reason: 'stuck'}), ready: () => ({ok: true})})
    try {
      assert.equal((await fetch(`${server.url}/`)).status, 404)
      const post = await fetch(`${server.url}/readyz`, {method: 'POST'})
      assert.equal(post.status, 405)
      assert.equal(post.headers.get('allow'), 'GET, HEAD')
      const head = await fetch(`${server.url}/healthz?verbose`, {method: 'HEAD'})
      assert.equal(head.status, 503)
      assert.equal(await head.text(), '')
    } finally {
      await server.close()
    }
  })

  it('reports an address in use as a ConfigError with a fix', async () => {
    const other = createServer()
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const port = (other.address() as {port: number}).port
    try {
      await assert.rejects(
        startHealthServer({listen: `127.0.0.1:${port}`, metrics: new WatchMetrics({defaultMetrics: false}), live: () => ({ok: true}), ready: () => ({ok: true})}),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError)
          assert.equal(error.code, 'LISTEN_ADDRESS_IN_USE')
          assert.match(error.message, /already in use/)
          assert.ok(error.suggestions.some((s) => s.includes('--listen')))
          return true
        },
      )
    } finally {
      await new Promise((resolve) => other.close(resolve))
    }
  })

  it('reports an address of no local interface as a ConfigError with a fix', async () => {
    await assert.rejects(
      startHealthServer({listen: '192.0.2.1:0', metrics: new WatchMetrics({defaultMetrics: false}), live: () => ({ok: true}), ready: () => ({ok: true})}),
      (error: unknown) => error instanceof ConfigError && error.code === 'LISTEN_ADDRESS_INVALID' && /no network interface/.test(error.message),
    )
  })

  it('parses the forms of --listen and rejects the rest', () => {
    assert.deepEqual(parseListenAddress('9090'), {host: undefined, port: 9090})
    assert.deepEqual(parseListenAddress(':9090'), {host: undefined, port: 9090})
    assert.deepEqual(parseListenAddress('0.0.0.0:0'), {host: '0.0.0.0', port: 0})
    assert.deepEqual(parseListenAddress('localhost:8080'), {host: 'localhost', port: 8080})
    assert.deepEqual(parseListenAddress('[::1]:8080'), {host: '::1', port: 8080})
    for (const bad of ['', 'localhost', ':http', '::1:8080', '127.0.0.1:70000', '[nope]:80', 'host:80:81']) {
      assert.throws(() => parseListenAddress(bad), (error: unknown) => error instanceof ConfigError && error.code === 'LISTEN_ADDRESS_INVALID', bad)
    }
  })
})
