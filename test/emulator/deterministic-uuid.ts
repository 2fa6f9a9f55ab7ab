import {createHash} from 'node:crypto'

/**
 * A UUID (version-4 layout) derived from a seed and the parts that identify a thing, so that the same
 * world built from the same seed always has the same ids.
 */
export function deterministicUuid(seed: string, ...parts: string[]): string {
  const hex = createHash('sha256').update([seed, ...parts].join('\u0000')).digest('hex')
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** A number in [0, 1) derived from text: stable across runs and machines. */
export function stableFraction(...parts: string[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 2 ** 32
}
