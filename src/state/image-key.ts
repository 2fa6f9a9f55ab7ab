// The key an image is deduplicated by, in the store and in flight.
import {imageKeyOf} from '../images/image-key.ts'
import type {ImageRef} from '../models/image.ts'

/** The dedupe key of the pipeline (see src/images/image-key.ts): one image per repository + digest. */
export function imageKey(image: ImageRef, runningDigest?: string): string {
  return imageKeyOf({image, ...(runningDigest === undefined ? {} : {runningDigest})})
}

/** `registry/repository:tag`, the name drift is tracked under; undefined for a digest-only reference. */
export function tagName(image: ImageRef): string | undefined {
  return image.tag === undefined ? undefined : `${image.registry}/${image.repository}:${image.tag}`
}
