// The health and metrics endpoints of `watch` (--listen): what a kubelet probes and Prometheus scrapes.
//
//   GET /healthz   200 "ok", or 503 with the reason: the process is stuck and should be restarted
//   GET /readyz    200 "ok", or 503 with the reason: not ready yet (targets not synced)
//   GET /metrics   the Prometheus text exposition
//
// HEAD works wherever GET does; other methods get 405, other paths 404.
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import {isIP} from 'node:net'
import {ConfigError} from '../errors.ts'
import type {WatchMetrics} from './metrics.ts'

export interface HealthCheck {
  ok: boolean
  /** Why not: the body of the 503 answer. */
  reason?: string
}

export interface HealthServerOptions {
  /** `host:port`, `:port` or `port` (every interface); `[::1]:port` for an IPv6 address. Port 0 picks a free port. */
  listen: string
  metrics: WatchMetrics
  live(): HealthCheck
  ready(): HealthCheck
}

export interface HealthServer {
  /** The base URL to reach the server, e.g. `http://127.0.0.1:9090` (the port actually bound). */
  url: string
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>
}

export interface ListenAddress {
  /** Undefined: every interface. */
  host: string | undefined
  port: number
}

const listenSuggestion = 'pass --listen as host:port, :port or port, e.g. --listen :9090 or --listen 127.0.0.1:9090'

/** Parses `host:port`, `:port`, `port` or `[ipv6]:port`. Throws a ConfigError naming the problem. */
export function parseListenAddress(listen: string): ListenAddress {
  const text = listen.trim()
  const match = /^\d+$/.test(text) ? [text, undefined, undefined, text] : /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text)
  if (!match) {
    throw new ConfigError(`--listen "${listen}" is not an address to listen on`, {code: 'LISTEN_ADDRESS_INVALID', suggestions: [listenSuggestion]})
  }
  const [, ipv6, hostname, portText] = match
  const port = Number(portText)
  if (!Number.isInteger(port) || port > 65_535) {
    throw new ConfigError(`--listen "${listen}": port ${portText} is out of range`, {code: 'LISTEN_ADDRESS_INVALID', suggestions: ['use a port from 1 to 65535 (0 picks a free one)']})
  }
  if (ipv6 !== undefined && isIP(ipv6) !== 6) {
    throw new ConfigError(`--listen "${listen}": ${ipv6} is not an IPv6 address`, {code: 'LISTEN_ADDRESS_INVALID', suggestions: [listenSuggestion]})
  }
  const host = ipv6 ?? (hostname === '' || hostname === undefined ? undefined : hostname)
  return {host, port}
}

/** Starts the server; resolves once it listens. Throws a ConfigError when the address is invalid, taken or not ours. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const address = parseListenAddress(options.listen)
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      // Only reachable if writing the answer itself failed: the connection is gone, nothing to answer.
      response.destroy(error instanceof Error ? error : undefined)
    })
  })
  // A scraper or probe that leaves a connection open must not hold shutdown.
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening)
      reject(listenError(options.listen, error))
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(address.port, address.host)
  })

  const bound = server.address()
  const port = typeof bound === 'object' && bound ? bound.port : address.port
  const host = urlHost(address.host)
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, options: HealthServerOptions): Promise<void> {
  const method = request.method ?? 'GET'
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return send(response, 404, 'not found\n')
  if (method !== 'GET' && method !== 'HEAD') return send(response, 405, 'method not allowed\n', {allow: 'GET, HEAD'})

  if (path === '/metrics') {
    let body: string
    try {
      body = await options.metrics.metrics()
    } catch (error) {
      return send(response, 500, `cannot collect metrics: ${(error as Error).message}\n`)
    }
    return send(response, 200, body, {'content-type': options.metrics.contentType})
  }

  let check: HealthCheck
  try {
    check = path === '/healthz' ? options.live() : options.ready()
  } catch (error) {
    check = {ok: false, reason: `check failed: ${(error as Error).message}`}
  }
  if (check.ok) return send(response, 200, 'ok\n')
  send(response, 503, `${check.reason ?? (path === '/healthz' ? 'not live' : 'not ready')}\n`)
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  // Node sends no body for HEAD.
  response.end(body)
}

/** The host part of the URL to reach a server bound to `host`: loopback when it listens on every interface. */
function urlHost(host: string | undefined): string {
  if (host === undefined || host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return isIP(host) === 6 ? `[${host}]` : host
}

function listenError(listen: string, error: NodeJS.ErrnoException): ConfigError {
  const cause = {cause: error}
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(`cannot listen on ${listen}: the address is already in use`, {
        code: 'LISTEN_ADDRESS_IN_USE',
        suggestions: ['stop the process that uses the port (see: ss -ltnp), or pass another port with --listen', 'another `kubectl snyk-watch watch` may already be running'],
        ...cause,
      })
    case 'EACCES':
      return new ConfigError(`cannot listen on ${listen}: permission denied`, {
        code: 'LISTEN_ADDRESS_DENIED',
        suggestions: ['ports below 1024 need privileges: pass a port above 1024, e.g. --listen :9090'],
        ...cause,
      })
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`cannot listen on ${listen}: no network interface of this machine has that address`, {
        code: 'LISTEN_ADDRESS_INVALID',
        suggestions: ['listen on every interface with --listen :PORT, or on loopback with --listen 127.0.0.1:PORT'],
        ...cause,
      })
    default:
      return new ConfigError(`cannot listen on ${listen}: ${error.message}`, {code: 'LISTEN_FAILED', suggestions: [listenSuggestion], ...cause})
  }
}
