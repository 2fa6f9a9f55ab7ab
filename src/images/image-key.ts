// The key images are deduplicated by: one unique image per key.
//
// - `registry/repository@digest` when a digest is known: the digest the runtime resolved first (it is
//   what actually runs), else the digest written in the reference. Tags are left out, so
//   `nginx:1.27` and `nginx:stable` running the same manifest are one image, while the same tag on two
//   nodes that pulled different content (a moved tag) are two.
// - `registry/repository:tag` otherwise (a container not started yet, or a runtime that reports only a
//   local image id).
// The repository is part of the key: the same digest in two repositories (a mirror, a retagged copy)
// is imported through different registries, so it is two images here.

import type {ImageObservation} from '../models/image.ts'
import {formatRepository} from './image-reference.ts'

export function imageKeyOf(observation: Pick<ImageObservation, 'image' | 'runningDigest'>): string {
  const {image, runningDigest} = observation
  const repository = formatRepository(image)
  const digest = runningDigest ?? image.digest
  if (digest !== undefined) return `${repository}@${digest}`
  // A parsed reference without a digest always has a tag (`latest` by default).
  return `${repository}:${image.tag ?? 'latest'}`
}
