/**
 * A small but valid SBOM of an emulated container project: the image and a few OS packages, in the
 * formats `GET /rest/orgs/{org_id}/projects/{project_id}/sbom` documents (CycloneDX 1.4-1.6 JSON or XML,
 * SPDX 2.3 JSON). Deterministic for a project, apart from timestamps.
 */
import {deterministicUuid} from './deterministic-uuid.ts'
import type {Project} from './snyk-world.ts'

export const SBOM_FORMATS = [
  'cyclonedx1.6+json',
  'cyclonedx1.6+xml',
  'cyclonedx1.5+json',
  'cyclonedx1.5+xml',
  'cyclonedx1.4+json',
  'cyclonedx1.4+xml',
  'spdx2.3+json',
] as const

export type SbomFormat = (typeof SBOM_FORMATS)[number]

export function isSbomFormat(value: string): value is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(value)
}

export interface SbomOptions {
  readonly seed: string
  readonly withLicenses: boolean
}

interface OsPackage {
  readonly name: string
  readonly version: string
  readonly license: string
}

const DEBIAN: readonly OsPackage[] = [
  {name: 'base-files', version: '12.4+deb12u7', license: 'GPL-2.0-or-later'},
  {name: 'libc6', version: '2.36-9+deb12u8', license: 'LGPL-2.1-or-later'},
  {name: 'openssl', version: '3.0.14-1~deb12u2', license: 'Apache-2.0'},
  {name: 'zlib1g', version: '1:1.2.13.dfsg-1', license: 'Zlib'},
]

const ALPINE: readonly OsPackage[] = [
  {name: 'alpine-baselayout', version: '3.6.5-r0', license: 'GPL-2.0-only'},
  {name: 'musl', version: '1.2.5-r0', license: 'MIT'},
  {name: 'libssl3', version: '3.3.2-r0', license: 'Apache-2.0'},
  {name: 'zlib', version: '1.3.1-r1', license: 'Zlib'},
]

function packagesOf(project: Project): {packages: readonly OsPackage[]; purl: (pkg: OsPackage) => string} {
  return project.type === 'apk'
    ? {packages: ALPINE, purl: (pkg) => `pkg:apk/alpine/${pkg.name}@${encodeURIComponent(pkg.version)}?distro=alpine-3.20`}
    : {packages: DEBIAN, purl: (pkg) => `pkg:deb/debian/${pkg.name}@${encodeURIComponent(pkg.version)}?distro=debian-12`}
}

/** The media type Snyk documents for a format. */
export function sbomMediaType(format: SbomFormat): string {
  if (format.startsWith('spdx')) return 'application/json'
  return format.endsWith('+xml') ? 'application/vnd.cyclonedx+xml' : 'application/vnd.cyclonedx+json'
}

/** The SBOM document: a JSON value, or XML text for the `+xml` formats. */
export function sbomDocument(project: Project, format: SbomFormat, options: SbomOptions): unknown {
  if (format === 'spdx2.3+json') return spdx(project, options)
  const specVersion = format.slice('cyclonedx'.length, format.indexOf('+'))
  return format.endsWith('+xml') ? cycloneDxXml(project, specVersion, options) : cycloneDxJson(project, specVersion, options)
}

function cycloneDxJson(project: Project, specVersion: string, options: SbomOptions): object {
  const {packages, purl} = packagesOf(project)
  const rootRef = `1-${project.repository}@${project.tag}`
  const tool = {name: 'snyk-emulator', version: '1.0.0'}
  const components = packages.map((pkg, i) => ({
    type: 'library',
    'bom-ref': `${i + 2}-${pkg.name}@${pkg.version}`,
    name: pkg.name,
    version: pkg.version,
    purl: purl(pkg),
    ...(options.withLicenses ? {licenses: [{license: {id: pkg.license}}]} : {}),
  }))
  return {
    bomFormat: 'CycloneDX',
    specVersion,
    serialNumber: `urn:uuid:${deterministicUuid(options.seed, 'sbom', project.id)}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: specVersion === '1.4' ? [{vendor: 'Snyk', ...tool}] : {components: [{type: 'application', author: 'Snyk', ...tool}]},
      component: {type: 'container', 'bom-ref': rootRef, name: project.repository, version: project.tag},
    },
    components,
    dependencies: [
      {ref: rootRef, dependsOn: components.map((component) => component['bom-ref'])},
      ...components.map((component) => ({ref: component['bom-ref'], dependsOn: []})),
    ],
  }
}

function cycloneDxXml(project: Project, specVersion: string, options: SbomOptions): string {
  const {packages, purl} = packagesOf(project)
  const components = packages
    .map((pkg, i) => {
      const licenses = options.withLicenses ? `<licenses><license><id>${xml(pkg.license)}</id></license></licenses>` : ''
      return `<component type="library" bom-ref="${xml(`${i + 2}-${pkg.name}@${pkg.version}`)}"><name>${xml(pkg.name)}</name><version>${xml(pkg.version)}</version>${licenses}<purl>${xml(purl(pkg))}</purl></component>`
    })
    .join('')
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<bom xmlns="http://cyclonedx.org/schema/bom/${specVersion}" serialNumber="urn:uuid:${deterministicUuid(options.seed, 'sbom', project.id)}" version="1">`,
    `<metadata><timestamp>${new Date().toISOString()}</timestamp>`,
    `<component type="container" bom-ref="${xml(`1-${project.repository}@${project.tag}`)}"><name>${xml(project.repository)}</name><version>${xml(project.tag)}</version></component></metadata>`,
    `<components>${components}</components>`,
    '</bom>',
  ].join('\n')
}

function spdx(project: Project, options: SbomOptions): object {
  const {packages, purl} = packagesOf(project)
  const spdxId = (name: string): string => `SPDXRef-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`
  const rootId = spdxId(`1-${project.repository}-${project.tag}`)
  const license = (id: string): string => (options.withLicenses ? id : 'NOASSERTION')
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: project.name,
    documentNamespace: `https://snyk.io/spdx/${deterministicUuid(options.seed, 'sbom', project.id)}`,
    creationInfo: {created: new Date().toISOString(), creators: ['Tool: snyk-emulator-1.0.0', 'Organization: Snyk']},
    packages: [
      {name: project.repository, SPDXID: rootId, versionInfo: project.tag, downloadLocation: 'NOASSERTION', licenseConcluded: 'NOASSERTION', primaryPackagePurpose: 'CONTAINER'},
      ...packages.map((pkg, i) => ({
        name: pkg.name,
        SPDXID: spdxId(`${i + 2}-${pkg.name}`),
        versionInfo: pkg.version,
        downloadLocation: 'NOASSERTION',
        licenseConcluded: license(pkg.license),
        externalRefs: [{referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(pkg)}],
      })),
    ],
    relationships: [
      {spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId},
      ...packages.map((pkg, i) => ({spdxElementId: rootId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: spdxId(`${i + 2}-${pkg.name}`)})),
    ],
  }
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
