// The LICENSE file at the repository root is the SPDX text of the license package.json names, taken from
// the maintained `spdx-license-list` package rather than typed by hand. `npm run package` checks it (and
// `node scripts/package/license.ts --write` regenerates it when the license changes).
import {readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const require = createRequire(import.meta.url)

/** The SPDX license text for `spdxId` (e.g. `Apache-2.0`), ending in one newline. */
export function spdxLicenseText(spdxId: string): string {
  if (!/^[A-Za-z0-9.+-]+$/.test(spdxId)) throw new Error(`"${spdxId}" is not a single SPDX license identifier`)
  let entry: {licenseText?: string}
  try {
    entry = require(`spdx-license-list/licenses/${spdxId}.json`) as {licenseText?: string}
  } catch {
    throw new Error(`spdx-license-list has no license ${spdxId}`)
  }
  if (!entry.licenseText) throw new Error(`spdx-license-list has no text for ${spdxId}`)
  return entry.licenseText.replace(/\s+$/, '') + '\n'
}

/** The license text the repository's package.json calls for. */
export function expectedLicense(root: string): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {license?: string}
  if (!pkg.license) throw new Error('package.json names no license')
  return spdxLicenseText(pkg.license)
}

/** Throws unless LICENSE at `root` is exactly the SPDX text of package.json's license. */
export function checkLicense(root: string): void {
  let actual: string
  try {
    actual = readFileSync(path.join(root, 'LICENSE'), 'utf8')
  } catch {
    throw new Error('LICENSE is missing: run node scripts/package/license.ts --write')
  }
  if (actual !== expectedLicense(root)) throw new Error("LICENSE is not the SPDX text of package.json's license: run node scripts/package/license.ts --write")
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  if (process.argv.includes('--write')) writeFileSync(path.join(root, 'LICENSE'), expectedLicense(root))
  else checkLicense(root)
}
