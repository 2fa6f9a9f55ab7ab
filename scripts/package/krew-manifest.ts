// plugin.yaml at the top level: the krew `v1alpha2` Plugin manifest. People edit its texts (descriptions,
// caveats); `npm run package` rewrites only what a build decides (the version, and each platform's `uri`,
// `sha256` and `bin`), through yaml's Document API so the rest stays as written.
import {readFileSync, writeFileSync} from 'node:fs'
import {parseDocument} from 'yaml'
import type {BuiltArchive} from './archives.ts'

/** Where a release's archives are published (the GitHub release of the tag `v<version>`). */
export function releaseUri(homepage: string, version: string, file: string): string {
  return `${homepage.replace(/\/+$/, '')}/releases/download/v${version}/${file}`
}

/** krew's platform order: the same order on every build keeps the file stable. */
const order = ['linux/amd64', 'linux/arm64', 'darwin/amd64', 'darwin/arm64', 'windows/amd64']

/** Rewrites `file`'s version and platforms for `archives` (every platform built: krew lists one per os/arch). */
export function writeKrewManifest(file: string, o: {version: string; archives: BuiltArchive[]}): void {
  const doc = parseDocument(readFileSync(file, 'utf8'))
  const homepage = doc.getIn(['spec', 'homepage'])
  if (typeof homepage !== 'string') throw new Error(`${file}: spec.homepage is missing`)
  doc.setIn(['spec', 'version'], `v${o.version}`)
  const platforms = [...o.archives]
    .sort((a, b) => order.indexOf(`${a.os}/${a.arch}`) - order.indexOf(`${b.os}/${b.arch}`))
    .map((archive) => ({
      selector: {matchLabels: {os: archive.os, arch: archive.arch}},
      uri: releaseUri(homepage, o.version, archive.file),
      sha256: archive.sha256,
      bin: archive.bin,
    }))
  doc.setIn(['spec', 'platforms'], doc.createNode(platforms))
  writeFileSync(file, doc.toString({lineWidth: 0}))
}

/** The platforms `file` lists, for checks: os/arch -> sha256. */
export function manifestSums(file: string): Map<string, string> {
  const doc = parseDocument(readFileSync(file, 'utf8')).toJS() as {spec?: {platforms?: Array<{selector?: {matchLabels?: {os?: string; arch?: string}}; sha256?: string}>}}
  const sums = new Map<string, string>()
  for (const platform of doc.spec?.platforms ?? []) sums.set(`${platform.selector?.matchLabels?.os}/${platform.selector?.matchLabels?.arch}`, platform.sha256 ?? '')
  return sums
}
