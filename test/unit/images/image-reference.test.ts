import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatImageRef, InvalidImageReferenceError, parseImageReference} from '../../../src/images/image-reference.ts'
import type {InvalidImageReferenceReason} from '../../../src/images/image-reference.ts'

const SHA256 = `sha256:${'f'.repeat(64)}`
const SHA512 = `sha512:${'e'.repeat(128)}`

// Input as a pod spec may hold it -> the canonical reference the container tooling pulls.
const NORMALISED: Array<[input: string, canonical: string]> = [
  ['nginx', 'docker.io/library/nginx:latest'],
  ['nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['library/nginx', 'docker.io/library/nginx:latest'],
  ['docker.io/nginx', 'docker.io/library/nginx:latest'],
  ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['index.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
  ['index.docker.io/nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['registry-1.docker.io/bitnami/redis:7', 'docker.io/bitnami/redis:7'],
  ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
  ['library/foo/bar', 'docker.io/library/foo/bar:latest'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app', 'localhost:5000/app:latest'],
  // Without a `/`, `host:5000` is an official image `host` with the tag `5000`, as docker reads it.
  ['localhost:5000', 'docker.io/library/localhost:5000'],
  ['test.com:5000', 'docker.io/library/test.com:5000'],
  ['test_com/foo', 'docker.io/test_com/foo:latest'],
  ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
  ['registry:5000/team/sub/app', 'registry:5000/team/sub/app:latest'],
  [`host:5000/a/b:tag@${SHA256}`, `host:5000/a/b:tag@${SHA256}`],
  [`nginx:1.27@${SHA256}`, `docker.io/library/nginx:1.27@${SHA256}`],
  [`nginx@${SHA256}`, `docker.io/library/nginx@${SHA256}`],
  [`ghcr.io/acme/api@${SHA256}`, `ghcr.io/acme/api@${SHA256}`],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`, `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`],
  ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v2', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v2'],
  ['europe-west1-docker.pkg.dev/proj/repo/img:1', 'europe-west1-docker.pkg.dev/proj/repo/img:1'],
  ['192.168.0.1:8/debian', '192.168.0.1:8/debian:latest'],
  ['[::1]:5000/repo', '[::1]:5000/repo:latest'],
  ['[2001:db8::1]/repo:tag', '[2001:db8::1]/repo:tag'],
  // An uppercase first element cannot be a namespace, so it is a registry host.
  ['Docker/docker', 'Docker/docker:latest'],
  ['lowercase:Uppercase', 'docker.io/library/lowercase:Uppercase'],
  ['docker---rules/dock__er', 'docker.io/docker---rules/dock__er:latest'],
  // 64 hex characters are an image id on their own, a name when qualified.
  [`docker.io/${'1a'.repeat(32)}`, `docker.io/library/${'1a'.repeat(32)}:latest`],
  [`nginx:${'t'.repeat(128)}`, `docker.io/library/nginx:${'t'.repeat(128)}`],
]

const INVALID: Array<[input: string, reason: InvalidImageReferenceReason]> = [
  ['', 'empty'],
  ['Nginx', 'uppercase'],
  ['Uppercase:tag', 'uppercase'],
  ['docker/Docker', 'uppercase'],
  ['test:5000/Uppercase/lowercase:tag', 'uppercase'],
  ['1a'.repeat(32), 'image-id'],
  [':justtag', 'invalid-repository'],
  [`@${SHA256}`, 'invalid-repository'],
  ['docker///docker', 'invalid-repository'],
  ['docker/', 'invalid-repository'],
  ['-docker', 'invalid-repository'],
  ['docker-/docker', 'invalid-repository'],
  // A first element with a `.` is a registry host, as for docker.
  ['dock..er/docker', 'invalid-registry'],
  ['dock_.er/docker', 'invalid-registry'],
  ['docker/dock_.er', 'invalid-repository'],
  ['____/____', 'invalid-repository'],
  ['aa/asdf$$^/aa', 'invalid-repository'],
  ['nginx latest', 'invalid-repository'],
  ['https://github.com/docker/docker', 'invalid-registry'],
  ['-docker.io/docker/docker', 'invalid-registry'],
  ['fc00::1:5000/debian', 'invalid-registry'],
  ['[fe80::1%eth0]:5000/debian', 'invalid-registry'],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid-registry'],
  ['[2001:db8::1]:5000', 'invalid-repository'],
  ['nginx:', 'invalid-tag'],
  ['nginx:-dash', 'invalid-tag'],
  [`nginx:${'t'.repeat(129)}`, 'invalid-tag'],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', 'invalid-digest'],
  [`validname@invaliddigest:${'f'.repeat(64)}`, 'invalid-digest'],
  [`nginx@sha256:${'F'.repeat(64)}`, 'invalid-digest'],
  [`nginx@${SHA256}@${SHA256}`, 'invalid-digest'],
  ['nginx@latest', 'invalid-digest'],
  [`${'a/'.repeat(128)}a:tag`, 'name-too-long'],
]

describe('parseImageReference', () => {
  for (const [input, canonical] of NORMALISED) {
    it(`normalises ${input.length > 70 ? `${input.slice(0, 70)}...` : input}`, () => {
      assert.equal(formatImageRef(parseImageReference(input)), canonical)
    })
  }

  it('splits registry, repository, tag and digest', () => {
    assert.deepEqual(parseImageReference(`host:5000/a/b:tag@${SHA256}`), {registry: 'host:5000', repository: 'a/b', tag: 'tag', digest: SHA256})
    assert.deepEqual(parseImageReference('nginx'), {registry: 'docker.io', repository: 'library/nginx', tag: 'latest'})
  })

  it('adds no tag to a digest-only reference', () => {
    assert.deepEqual(parseImageReference(`nginx@${SHA256}`), {registry: 'docker.io', repository: 'library/nginx', digest: SHA256})
  })

  it('accepts a name of exactly 255 characters and rejects 256', () => {
    const registry = 'registry.example.com'
    const path = (length: number): string => `team/${'a'.repeat(length - 5)}`
    const at255 = parseImageReference(`${registry}/${path(255 - registry.length - 1)}:tag`)
    assert.equal(`${at255.registry}/${at255.repository}`.length, 255)
    assert.throws(() => parseImageReference(`${registry}/${path(256 - registry.length - 1)}:tag`), {reason: 'name-too-long'})
  })

  for (const [input, reason] of INVALID) {
    it(`rejects ${JSON.stringify(input.length > 70 ? `${input.slice(0, 70)}...` : input)} (${reason})`, () => {
      assert.throws(
        () => parseImageReference(input),
        (error: unknown) => error instanceof InvalidImageReferenceError && error.reason === reason && error.reference === input && error.message.includes(JSON.stringify(input)),
      )
    })
  }

  it('explains an uppercase repository in words a user can act on', () => {
    assert.throws(() => parseImageReference('Nginx:1.27'), {message: 'invalid image reference "Nginx:1.27": repository name "library/Nginx" must be lowercase'})
  })

  it('fails fast on long malformed names (no catastrophic backtracking)', () => {
    const started = performance.now()
    for (const input of [`${'a'.repeat(5000)}!`, `${'a-'.repeat(2500)}!`, `${'a.'.repeat(2500)}-/x`, `x/${'a'.repeat(100000)}$`]) {
      assert.throws(() => parseImageReference(input), InvalidImageReferenceError)
    }
    assert.ok(performance.now() - started < 2000)
  })
})

describe('formatImageRef', () => {
  it('prints the familiar short form people type', () => {
    const familiar = (input: string): string => formatImageRef(parseImageReference(input), {familiar: true})
    assert.equal(familiar('docker.io/library/nginx:1.27'), 'nginx:1.27')
    assert.equal(familiar('index.docker.io/bitnami/redis'), 'bitnami/redis:latest')
    assert.equal(familiar('library/foo/bar:1'), 'library/foo/bar:1')
    assert.equal(familiar(`nginx@${SHA256}`), `nginx@${SHA256}`)
    assert.equal(familiar('ghcr.io/acme/api:2'), 'ghcr.io/acme/api:2')
  })

  it('round-trips every canonical reference', () => {
    for (const [, canonical] of NORMALISED) assert.equal(formatImageRef(parseImageReference(canonical)), canonical)
  })
})
