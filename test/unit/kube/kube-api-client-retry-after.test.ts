// The API server's "come back later" (429 from API priority and fairness, 503 while it starts) reaches the
// listing retry policy as KubeRequestError.retryAfterMs: from the Retry-After header, else from the Status'
// details.retryAfterSeconds. A plain HTTP server stands in for the API server at the module boundary.
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {KubeApiClient, KubeRequestError} from '../../../src/kube/kube-api-client.ts'
import {Kubeconfig} from '../../../src/kube/kubeconfig.ts'

describe('KubeApiClient: Retry-After', () => {
  let server: Server
  let url: string
  before(async () => {
    server = createServer((request, response) => {
      const status = (details?: object) => JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too many requests, please try again later', reason: 'TooManyRequests', code: 429, ...(details ? {details} : {})})
      if (request.url?.startsWith('/header')) {
        response.writeHead(429, {'content-type': 'application/json', 'retry-after': '7'})
        response.end(status())
      } else if (request.url?.startsWith('/details')) {
        response.writeHead(429, {'content-type': 'application/json'})
        response.end(status({retryAfterSeconds: 3}))
      } else {
        response.writeHead(500, {'content-type': 'application/json'})
        response.end(JSON.stringify({kind: 'Status', message: 'boom', code: 500}))
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const client = () =>
    new KubeApiClient({
      id: 'test#local',
      name: 'local',
      context: 'local',
      source: 'test',
      config: new Kubeconfig({clusters: [{name: 'local', server: url}], users: [{name: 'anonymous'}], contexts: [{name: 'local', cluster: 'local', user: 'anonymous'}], currentContext: 'local'}),
    })

  const failureOf = async (pathname: string): Promise<KubeRequestError> => {
    const kube = client()
    try {
      await kube.getJson(pathname, {})
    } catch (error) {
      assert.ok(error instanceof KubeRequestError, String(error))
      return error
    } finally {
      await kube.close()
    }
    assert.fail('the request should have failed')
  }

  it('reads the Retry-After header', async () => {
    const error = await failureOf('/header')
    assert.equal(error.status, 429)
    assert.equal(error.retryAfterMs, 7_000)
  })

  it("falls back to the Status' details.retryAfterSeconds", async () => {
    assert.equal((await failureOf('/details')).retryAfterMs, 3_000)
  })

  it('has none when the server asks for nothing', async () => {
    const error = await failureOf('/other')
    assert.equal(error.status, 500)
    assert.equal(error.retryAfterMs, undefined)
  })
})
