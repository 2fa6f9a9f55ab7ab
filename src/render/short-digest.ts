// How tables show digests: the first 12 hex digits, as `docker images` shows image ids. A column of 71
// characters per digest, or a reason that quotes one, would crowd out everything else; --json keeps every
// digest whole.

/** `sha256:5be1ecc7935f…` as `5be1ecc7935f`; `-` when there is none. */
export function shortDigest(digest: string | undefined): string {
  if (digest === undefined) return '-'
  return digest.replace(/^sha256:/, '').slice(0, 12)
}

/** Every digest in `text` (a reference, a reason) cut the same way, its algorithm kept so it still reads as one: `docker.io/envoyproxy/envoy@sha256:5be1ecc7935f`. */
export function shortDigests(text: string): string {
  return text.replace(/\b(sha256|sha384|sha512):([0-9a-f]{12})[0-9a-f]{20,}/g, '$1:$2')
}
