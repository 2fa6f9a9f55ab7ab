// `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or an HTTP date. Snyk does not document it for
// its rate limits, so it is honoured when present and never relied on.

/** Longest wait we accept from a server (a broken header must not park the run for hours). */
export const MAX_RETRY_AFTER_MS = 10 * 60_000

/** Milliseconds to wait from `nowMs`, or undefined when the header is absent or unreadable. */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number = Date.now()): number | undefined {
  const header = (Array.isArray(value) ? value[0] : value) as string | undefined
  if (header === undefined) return undefined
  const text = header.trim()
  if (text === '') return undefined
  let ms: number
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000
  } else {
    const date = Date.parse(text)
    if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined
    ms = date - nowMs
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms))
}
