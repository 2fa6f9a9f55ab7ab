// What `npm run package` leaves in dist/release, for the packaging tests (`npm run test:package` builds it
// first). A test that finds it missing fails and says how to build it.
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const releaseDir = path.join(root, 'dist', 'release')
export const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}).version

/** A file of the release, failing the test with the command that builds it when it is not there. */
export function releaseFile(name: string): string {
  const file = path.join(releaseDir, name)
  if (!existsSync(file)) throw new Error(`${path.relative(root, file)} is missing: run npm run package first (npm run test:package does)`)
  return file
}
