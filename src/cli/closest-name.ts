// "Did you mean": the closest of the valid names to a mistyped one (a command, a flag), when it is close enough to
// be what was meant: within 3 edits, and within half the typed length (no suggestion for a short word far away).
import {closest, distance} from 'fastest-levenshtein'

export function closestName(typed: string, names: readonly string[]): string | undefined {
  if (typed === '' || names.length === 0) return undefined
  const best = closest(typed, [...names])
  return distance(typed, best) <= Math.min(3, Math.max(1, Math.floor(typed.length / 2))) ? best : undefined
}
