import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseImageID, runningDigestOf} from '../../../src/images/running-digest.ts'
import type {RunningImage} from '../../../src/images/running-digest.ts'

const DIGEST = `sha256:${'ab'.repeat(32)}`
const CONFIG = `sha256:${'cd'.repeat(32)}`

// status.*ContainerStatuses[].imageID as each runtime writes it.
const IMAGE_IDS: Array<[runtime: string, imageID: string, expected: RunningImage]> = [
  ['containerd', `docker.io/library/nginx@${DIGEST}`, {kind: 'repository-digest', digest: DIGEST, registry: 'docker.io', repository: 'library/nginx'}],
  ['CRI-O', `quay.io/acme/api@${DIGEST}`, {kind: 'repository-digest', digest: DIGEST, registry: 'quay.io', repository: 'acme/api'}],
  ['containerd, private registry with port', `registry.local:5000/team/app@${DIGEST}`, {kind: 'repository-digest', digest: DIGEST, registry: 'registry.local:5000', repository: 'team/app'}],
  ['docker (familiar name)', `docker-pullable://nginx@${DIGEST}`, {kind: 'repository-digest', digest: DIGEST, registry: 'docker.io', repository: 'library/nginx'}],
  ['docker (namespaced name)', `docker-pullable://bitnami/redis@${DIGEST}`, {kind: 'repository-digest', digest: DIGEST, registry: 'docker.io', repository: 'bitnami/redis'}],
  ['docker, image built locally', `docker://${CONFIG}`, {kind: 'image-id', imageId: CONFIG}],
  ['CRI-O / containerd, image id only', CONFIG, {kind: 'image-id', imageId: CONFIG}],
  ['container not started', '', {kind: 'unknown'}],
  ['unknown form', 'something-else', {kind: 'unrecognised', imageID: 'something-else'}],
  ['name without digest', 'docker.io/library/nginx:1.27', {kind: 'unrecognised', imageID: 'docker.io/library/nginx:1.27'}],
  ['malformed digest', 'docker.io/library/nginx@sha256:abc', {kind: 'unrecognised', imageID: 'docker.io/library/nginx@sha256:abc'}],
]

describe('parseImageID', () => {
  for (const [runtime, imageID, expected] of IMAGE_IDS) {
    it(`reads ${runtime}: ${JSON.stringify(imageID.slice(0, 50))}`, () => {
      assert.deepEqual(parseImageID(imageID), expected)
    })
  }
})

describe('runningDigestOf', () => {
  it('gives the repository digest from containerd, CRI-O and docker', () => {
    assert.equal(runningDigestOf(`docker.io/library/nginx@${DIGEST}`), DIGEST)
    assert.equal(runningDigestOf(`docker-pullable://nginx@${DIGEST}`), DIGEST)
  })

  it('never passes an image id off as a registry digest', () => {
    assert.equal(runningDigestOf(`docker://${CONFIG}`), undefined)
    assert.equal(runningDigestOf(CONFIG), undefined)
  })

  it('knows nothing about a container that has not started', () => {
    assert.equal(runningDigestOf(''), undefined)
  })
})
