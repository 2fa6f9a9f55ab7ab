// The claim step of the submission protocol, the same for `sync` and `watch`: ask the store whether this run
// should submit an image. A claim held by a run on this host whose process is gone (killed, crashed) is given
// back at once rather than after its lease, and the image asked for again; the answer says which run it was
// taken over from.
import {releaseIfGone} from '../state/claim-holders.ts'
import type {ClaimOptions, ClaimResult} from '../state/records.ts'
import type {StateStore} from '../state/state-store.ts'

export async function claimImage(store: StateStore, key: string, options: ClaimOptions): Promise<ClaimResult> {
  const claim = await store.claim(key, options)
  if (claim.claimed || claim.reason !== 'in-flight' || claim.heldBy === options.runId) return claim
  const holder = claim.heldBy
  if (!(await releaseIfGone(store, holder))) return claim
  const again = await store.claim(key, options)
  return again.claimed && !again.takenOverFrom ? {...again, takenOverFrom: holder} : again
}

/**
 * `claimImage` for many keys: one `claimMany` for all, each holder met looked up once (not once per image it
 * holds), and the images of holders that are gone asked for again in one more `claimMany`.
 */
export async function claimImages(store: StateStore, keys: readonly string[], options: ClaimOptions): Promise<Map<string, ClaimResult>> {
  const claims = await store.claimMany(keys, options)
  const heldBy = new Map<string, string[]>()
  for (const [key, claim] of claims) {
    if (claim.claimed || claim.reason !== 'in-flight' || claim.heldBy === options.runId) continue
    heldBy.set(claim.heldBy, [...(heldBy.get(claim.heldBy) ?? []), key])
  }
  const again: Array<{holder: string; keys: string[]}> = []
  for (const [holder, held] of heldBy) if (await releaseIfGone(store, holder)) again.push({holder, keys: held})
  if (again.length === 0) return claims
  const retried = await store.claimMany(again.flatMap((entry) => entry.keys), options)
  for (const {holder, keys: held} of again) {
    for (const key of held) {
      const claim = retried.get(key)!
      claims.set(key, claim.claimed && !claim.takenOverFrom ? {...claim, takenOverFrom: holder} : claim)
    }
  }
  return claims
}

/** When an image the store did not grant becomes worth asking for again (`watch` reconsiders it then). */
export function dueAgainAt(claim: Exclude<ClaimResult, {claimed: true}>, retryAfterMs: number): number {
  switch (claim.reason) {
    case 'recent':
      return claim.resubmitAt
    case 'in-flight':
      return claim.expiresAt + 1
    default:
      return claim.at + retryAfterMs
  }
}
