// LICENSE is the SPDX text of package.json's license; plugin.yaml keeps its hand-written texts when the
// package step rewrites its version and platforms, and stays within krew's rules (short description length).
import assert from 'node:assert/strict'
import {copyFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'
import {checkLicense, spdxLicenseText} from '../../../scripts/package/license.ts'
import {manifestSums, writeKrewManifest} from '../../../scripts/package/krew-manifest.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const work = mkdtempSync(path.join(tmpdir(), 'snyk-watch-manifest-'))
after(() => rmSync(work, {recursive: true, force: true}))

describe('LICENSE', () => {
  it("is the SPDX text of package.json's license", () => {
    assert.doesNotThrow(() => checkLicense(root))
    assert.match(spdxLicenseText('Apache-2.0'), /^Apache License\nVersion 2\.0, January 2004/)
    assert.throws(() => spdxLicenseText('Not-A-License'), /spdx-license-list has no license Not-A-License/)
  })
})

describe('plugin.yaml', () => {
  const manifest = parse(readFileSync(path.join(root, 'plugin.yaml'), 'utf8')) as {apiVersion: string; kind: string; metadata: {name: string}; spec: Record<string, unknown>}
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}

  it('is a krew v1alpha2 Plugin named snyk-watch at the package version', () => {
    assert.equal(manifest.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2')
    assert.equal(manifest.kind, 'Plugin')
    assert.equal(manifest.metadata.name, 'snyk-watch')
    assert.equal(manifest.spec.version, `v${pkg.version}`)
    assert.ok(String(manifest.spec.shortDescription).length <= 50, 'krew limits shortDescription to 50 characters')
    assert.match(String(manifest.spec.caveats), /SNYK_TOKEN/)
    assert.match(String(manifest.spec.caveats), /--org/)
    assert.match(String(manifest.spec.caveats), /Node\.js is not needed/)
  })

  it('the package step rewrites version and platforms only', () => {
    const copy = path.join(work, 'plugin.yaml')
    copyFileSync(path.join(root, 'plugin.yaml'), copy)
    const sha = (c: string) => c.repeat(64)
    writeKrewManifest(copy, {
      version: '9.8.7',
      archives: [
        {os: 'windows', arch: 'amd64', file: 'kubectl-snyk_watch_9.8.7_windows_amd64.zip', path: '', sha256: sha('b'), bin: 'kubectl-snyk_watch.exe'},
        {os: 'linux', arch: 'amd64', file: 'kubectl-snyk_watch_9.8.7_linux_amd64.tar.gz', path: '', sha256: sha('a'), bin: 'kubectl-snyk_watch'},
      ],
    })
    const text = readFileSync(copy, 'utf8')
    const rewritten = parse(text) as typeof manifest & {spec: {platforms: Array<{uri: string; bin: string}>}}
    assert.equal(rewritten.spec.version, 'v9.8.7')
    assert.equal(rewritten.spec.description, manifest.spec.description)
    assert.equal(rewritten.spec.caveats, manifest.spec.caveats)
    assert.match(text, /^# The krew manifest/)
    assert.deepEqual([...manifestSums(copy)], [['linux/amd64', sha('a')], ['windows/amd64', sha('b')]])
    assert.equal(rewritten.spec.platforms[0]!.uri, 'https://github.com/snyk-watch/kubectl-snyk-watch/releases/download/v9.8.7/kubectl-snyk_watch_9.8.7_linux_amd64.tar.gz')
    assert.equal(rewritten.spec.platforms[1]!.bin, 'kubectl-snyk_watch.exe')
  })
})
