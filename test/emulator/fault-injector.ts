/** What each fault does to the HTTP exchange (all but `slow`, which only delays the real answer). */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {apiError, JSON_API_MEDIA_TYPE, V1_MEDIA_TYPE} from './api-responses.ts'
import type {ApiName} from './contract-validator.ts'
import type {Fault} from './fault-plan.ts'
import {sendResponse} from './http-exchange.ts'

/** Applies `fault`; returns the status sent (0 when none was). */
export function injectFault(fault: Exclude<Fault, {kind: 'slow'}>, api: ApiName, req: IncomingMessage, res: ServerResponse): number {
  const mediaType = api === 'v1' ? V1_MEDIA_TYPE : JSON_API_MEDIA_TYPE
  switch (fault.kind) {
    case 'status': {
      if (fault.body === undefined) {
        sendResponse(res, apiError(api, fault.status, `emulated ${fault.status} fault`))
      } else {
        const contentType = typeof fault.body === 'string' ? 'text/plain; charset=utf-8' : mediaType
        sendResponse(res, {status: fault.status, headers: {'content-type': contentType}, body: fault.body})
      }
      return fault.status
    }
    case '429': {
      const response = apiError(api, 429, 'Too many requests, please try again later')
      const retryAfter: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : {'retry-after': String(fault.retryAfterSeconds)}
      sendResponse(res, {...response, headers: {...response.headers, ...retryAfter}})
      return 429
    }
    case 'malformed':
      sendResponse(res, {status: 200, headers: {'content-type': mediaType}, body: '{"data": [{"id": "'})
      return 200
    case 'truncated':
      res.writeHead(200, {'content-type': mediaType, 'content-length': '4096'})
      res.write('{"jsonapi": {"version": "1.0"}, "data": [', () => res.socket?.destroy())
      return 200
    case 'reset':
      req.socket.resetAndDestroy()
      return 0
    case 'hang':
      return 0
  }
}
