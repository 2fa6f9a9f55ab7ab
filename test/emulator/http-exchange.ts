/** Reading requests and writing responses on node:http. */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {EmulatorResponse} from './api-responses.ts'

export interface RequestBody {
  /** The parsed JSON value, or the text when it is not JSON; `undefined` when empty. */
  readonly value: unknown
  readonly isJson: boolean
}

export async function readBody(req: IncomingMessage): Promise<RequestBody> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text === '') return {value: undefined, isJson: false}
  try {
    return {value: JSON.parse(text) as unknown, isJson: true}
  } catch {
    return {value: text, isJson: false}
  }
}

/** The body as text: JSON values are serialised, strings sent as they are. */
export function payloadOf(response: EmulatorResponse): string {
  if (response.body === undefined) return ''
  return typeof response.body === 'string' ? response.body : JSON.stringify(response.body)
}

export function sendResponse(res: ServerResponse, response: EmulatorResponse): void {
  const payload = payloadOf(response)
  res.writeHead(response.status, {...response.headers, 'content-length': Buffer.byteLength(payload)})
  res.end(payload)
}
