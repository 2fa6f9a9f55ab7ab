/**
 * Responses in the shapes Snyk uses: v1 answers `application/json; charset=utf-8` and errors
 * `{code, message, error}` (Snyk's v1 API Blueprint: `{"code": 401, "error": "Not authorised", "message":
 * "Not authorised"}`; the v1 document itself describes no error body); REST answers JSON:API
 * (`application/vnd.api+json`) and errors `{jsonapi, errors: [{id, status, title, detail, source?}]}`.
 */
import {randomUUID} from 'node:crypto'
import {STATUS_CODES} from 'node:http'
import type {ApiName} from './contract-validator.ts'

export const V1_MEDIA_TYPE = 'application/json; charset=utf-8'
export const JSON_API_MEDIA_TYPE = 'application/vnd.api+json'
export const JSON_API = {version: '1.0'} as const

export interface EmulatorResponse {
  readonly status: number
  readonly headers: Record<string, string>
  /** A JSON value to serialise, or raw text when `contentType` is not JSON. */
  readonly body?: unknown
}

/** Where a JSON:API error points: a query parameter or a JSON pointer into the request body. */
export interface ErrorSource {
  readonly parameter?: string
  readonly pointer?: string
}

export function v1Json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {status, headers: {'content-type': V1_MEDIA_TYPE, ...headers}, body}
}

export function v1Error(status: number, message: string): EmulatorResponse {
  const error = status === 401 ? 'Not authorised' : (STATUS_CODES[status] ?? 'Error')
  return v1Json(status, {code: status, message, error})
}

export function restJson(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {status, headers: {'content-type': JSON_API_MEDIA_TYPE, ...headers}, body}
}

export function restError(status: number, details: ReadonlyArray<string | {detail: string; source?: ErrorSource}>): EmulatorResponse {
  const title = STATUS_CODES[status] ?? 'Error'
  const errors = details.map((entry) => {
    const {detail, source} = typeof entry === 'string' ? {detail: entry, source: undefined} : entry
    return {id: randomUUID(), status: String(status), title, detail, ...(source ? {source} : {})}
  })
  return restJson(status, {jsonapi: JSON_API, errors})
}

export function apiError(api: ApiName, status: number, detail: string): EmulatorResponse {
  return api === 'v1' ? v1Error(status, detail) : restError(status, [detail])
}
