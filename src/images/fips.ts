// FIPS classification of an image: a heuristic on its name, which a pod annotation overrides.
//
// The name rule: `fips` is a token of the repository path or of the tag. Tokens are what `-`, `_`, `.` and
// `/` separate, compared without case; the token may carry a version (`fips140`, `fips1402`). So
// `chainguard/nginx-fips`, `acme/fips/api`, `ubi9_fips`, `api:2.1-fips`, `go:1.22.fips140` are FIPS, and
// `fipster`, `nofips`, `myfips:1` are not. `non-fips` and `no-fips` (the token after `non` or `no`) say the
// opposite and are not FIPS. The registry host is not looked at.
//
// The override: the pod annotation `snyk-watch.io/fips: "true" | "false"` (any case; any other value is
// ignored) classifies every image the pod runs. An override on any pod running the image wins over the name.
// When pods running the same image disagree, the image is not FIPS (a claim of FIPS must not be contradicted),
// and its classification says the annotations conflict.
import type {ImageRef} from '../models/image.ts'

export const fipsAnnotation = 'snyk-watch.io/fips'

/** Where a FIPS classification comes from. */
export type FipsSource = 'name' | 'annotation' | 'conflicting-annotations'

export interface FipsClassification {
  fips: boolean
  source: FipsSource
}

const separators = /[-_./]/
const fipsToken = /^fips\d*$/

/** Whether `name` has `fips` as a token (see the rule above). */
export function hasFipsToken(name: string): boolean {
  const lower = name.toLowerCase()
  if (!lower.includes('fips')) return false
  const tokens = lower.split(separators)
  for (let i = 0; i < tokens.length; i++) {
    if (!fipsToken.test(tokens[i]!)) continue
    const before = tokens[i - 1]
    if (before === 'non' || before === 'no') continue
    return true
  }
  return false
}

/** The name heuristic alone: `fips` as a token of the repository or the tag. */
export function isFipsByName(image: Pick<ImageRef, 'repository' | 'tag'>): boolean {
  return hasFipsToken(image.repository) || (image.tag !== undefined && hasFipsToken(image.tag))
}

/** The override a pod's annotations carry: true, false, or undefined when absent or not `true`/`false`. */
export function fipsAnnotationOf(annotations: Readonly<Record<string, string>> | undefined): boolean | undefined {
  const value = annotations?.[fipsAnnotation]
  if (value === undefined) return undefined
  const normalised = value.trim().toLowerCase()
  return normalised === 'true' ? true : normalised === 'false' ? false : undefined
}

/**
 * Classifies an image from its name and where it runs: each placement's `fipsAnnotation` is the override of the
 * pod (absent: none). Any override wins over the name; overrides that disagree make it not FIPS, with source
 * `conflicting-annotations`.
 */
export function classifyFips(image: Pick<ImageRef, 'repository' | 'tag'>, placements: ReadonlyArray<{readonly fipsAnnotation?: boolean}>): FipsClassification {
  let sawTrue = false
  let sawFalse = false
  for (const placement of placements) {
    const override = placement.fipsAnnotation
    if (override === true) sawTrue = true
    else if (override === false) sawFalse = true
  }
  if (sawTrue && sawFalse) return {fips: false, source: 'conflicting-annotations'}
  if (sawTrue || sawFalse) return {fips: sawTrue, source: 'annotation'}
  return {fips: isFipsByName(image), source: 'name'}
}
