// Nothing that looks like a credential reaches the state file: error texts are redacted before they are stored.
// The store API never takes a token; this guards against a message that quotes one (a header, a URL, an env var).

const REDACTED = '[redacted]'

const patterns: Array<[RegExp, string]> = [
  // Authorization: token abc / Bearer abc / Basic abc
  [/(authorization["']?\s*[:=]\s*["']?)(?:(?:token|bearer|basic)\s+)?[^\s"',;]+/gi, `$1${REDACTED}`],
  // SNYK_TOKEN=abc, token: abc, "api_key":"abc", password=abc, ?access_token=abc
  [/([a-z0-9_-]*(?:token|api[_-]?key|apikey|password|passwd|secret)["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, `$1${REDACTED}`],
  // Snyk personal access / service account tokens: snyk_uat.xxx, snyk_sat.xxx
  [/\bsnyk_[a-z]{2,4}\.[A-Za-z0-9._-]+/g, REDACTED],
  // JWTs (OAuth access tokens)
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // Credentials in URLs: https://user:pass@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${REDACTED}@`],
]

/** `text` with anything that looks like a credential replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let result = text
  for (const [pattern, replacement] of patterns) result = result.replace(pattern, replacement)
  return result
}
