import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {classifyFips, fipsAnnotationOf, hasFipsToken, isFipsByName} from '../../../src/images/fips.ts'
import {imagesOfPod} from '../../../src/images/pod-images.ts'

describe('FIPS by name', () => {
  it('finds fips as a token of the repository or the tag', () => {
    for (const [repository, tag] of [
      ['chainguard/nginx-fips', 'latest'],
      ['acme/fips/api', '2.1'],
      ['redhat/ubi9_fips', '9.4'],
      ['fips-tools', '1'],
      ['acme/api', '2.1-fips'],
      ['acme/api', 'fips'],
      ['golang', '1.22.fips140'],
      ['acme/api', '2.1-fips-140-2'],
      ['acme/api', '2.1-FIPS'],
      ['acme/Fips.Base', '1'],
    ] as const) {
      assert.equal(isFipsByName({repository, tag}), true, `${repository}:${tag}`)
    }
  })

  it('does not match fips inside a word, a negation, or the registry', () => {
    for (const [repository, tag] of [
      ['library/nginx', '1.27'],
      ['acme/fipster', '1'],
      ['acme/nofips', '1'],
      ['acme/myfips-tools', '1'],
      ['acme/api', '2.1-non-fips'],
      ['acme/api', '2.1-no-fips'],
      ['acme/non_fips', '1'],
      ['acme/fipsy', '1'],
      ['acme/fips1x', '1'],
    ] as const) {
      assert.equal(isFipsByName({repository, tag}), false, `${repository}:${tag}`)
    }
    assert.equal(isFipsByName({repository: 'acme/api'}), false, 'a digest-only reference has no tag')
    assert.equal(hasFipsToken('fips.example.com'), true, 'the token rule itself; the registry is simply not passed to it')
  })
})

describe('FIPS annotation and classification', () => {
  it('reads snyk-watch.io/fips as true or false, in any case; anything else is no override', () => {
    assert.equal(fipsAnnotationOf({'snyk-watch.io/fips': 'true'}), true)
    assert.equal(fipsAnnotationOf({'snyk-watch.io/fips': ' FALSE '}), false)
    assert.equal(fipsAnnotationOf({'snyk-watch.io/fips': 'yes'}), undefined)
    assert.equal(fipsAnnotationOf({'other/fips': 'true'}), undefined)
    assert.equal(fipsAnnotationOf(undefined), undefined)
  })

  it('an override on any pod wins over the name; overrides that disagree make it not FIPS', () => {
    const fipsName = {repository: 'chainguard/nginx-fips', tag: '1.27'}
    const plainName = {repository: 'library/nginx', tag: '1.27'}
    assert.deepEqual(classifyFips(fipsName, [{}, {}]), {fips: true, source: 'name'})
    assert.deepEqual(classifyFips(plainName, []), {fips: false, source: 'name'})
    assert.deepEqual(classifyFips(plainName, [{}, {fipsAnnotation: true}]), {fips: true, source: 'annotation'})
    assert.deepEqual(classifyFips(fipsName, [{fipsAnnotation: false}, {}]), {fips: false, source: 'annotation'})
    assert.deepEqual(classifyFips(fipsName, [{fipsAnnotation: true}, {fipsAnnotation: false}]), {fips: false, source: 'conflicting-annotations'})
  })

  it('the pod annotation reaches every observation of the pod', () => {
    const {observations} = imagesOfPod(
      {namespace: 'shop', name: 'web-1', workload: {kind: 'Deployment', name: 'web'}, fipsAnnotation: true, containers: [{name: 'web', image: 'nginx:1.27'}], initContainers: [{name: 'init', image: 'busybox'}]},
      {target: 'kc#dev', cluster: 'dev'},
    )
    assert.deepEqual(observations.map((o) => o.fipsAnnotation), [true, true])
    const plain = imagesOfPod({namespace: 'shop', name: 'web-2', workload: {kind: 'Pod', name: 'web-2'}, containers: [{name: 'web', image: 'nginx:1.27'}]}, {target: 'kc#dev', cluster: 'dev'})
    assert.equal('fipsAnnotation' in plain.observations[0]!, false)
  })
})
