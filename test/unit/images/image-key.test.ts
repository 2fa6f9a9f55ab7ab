import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {imageKeyOf} from '../../../src/images/image-key.ts'
import {parseImageReference} from '../../../src/images/image-reference.ts'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const key = (reference: string, runningDigest?: string): string =>
  imageKeyOf(runningDigest === undefined ? {image: parseImageReference(reference)} : {image: parseImageReference(reference), runningDigest})

describe('imageKeyOf', () => {
  it('keys an image by repository and running digest', () => {
    assert.equal(key('nginx:1.27', A), `docker.io/library/nginx@${A}`)
  })

  it('makes two tags of the same running digest one image', () => {
    assert.equal(key('nginx:1.27', A), key('nginx:stable', A))
  })

  it('makes one tag that runs different content on two nodes two images', () => {
    assert.notEqual(key('nginx:latest', A), key('nginx:latest', B))
  })

  it('makes the same digest in two repositories two images', () => {
    assert.notEqual(key('nginx:1.27', A), key('mirror.example.com/library/nginx:1.27', A))
  })

  it('uses the running digest before the digest written in the reference', () => {
    assert.equal(key(`nginx:1.27@${A}`, B), `docker.io/library/nginx@${B}`)
  })

  it('uses the reference digest when nothing is running yet', () => {
    assert.equal(key(`nginx@${A}`), `docker.io/library/nginx@${A}`)
    assert.equal(key(`nginx@${A}`), key('nginx:1.27', A))
  })

  it('falls back to the tag when no digest is known', () => {
    assert.equal(key('nginx'), 'docker.io/library/nginx:latest')
    assert.equal(key('docker.io/library/nginx'), key('nginx:latest'))
    assert.notEqual(key('nginx:1.27'), key('nginx:1.26'))
  })
})
