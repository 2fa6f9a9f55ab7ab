// The gate's verdict in one line, as `status --fail-on` and `sync --fail-on` print it under their tables.
import type {StatusGate} from '../status/status-result.ts'

/** `qualifier` follows the flag in the parentheses (`--fail-on-new: 3 new images judged`). */
export function gateLine(gate: StatusGate, qualifier?: string): string {
  const n = gate.images.length
  const flag = `--fail-on ${gate.failOn}${qualifier ? ` ${qualifier}` : ''}`
  return gate.tripped
    ? `gate: FAILED (${flag}): ${n} image${n === 1 ? '' : 's'} with ${gate.failOn} or worse issues: ${gate.images.map((i) => i.image).join(', ')}`
    : `gate: passed (${flag})${gate.unknown ? `; ${gate.unknown} images have no counts and were not judged` : ''}`
}
