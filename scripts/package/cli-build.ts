// `npm run build` for the packaging scripts: tsc into dist/ and oclif.manifest.json, which is where the executables
// take each command's flags and help from, run only when the sources are newer than the manifest.
import {spawn} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'

function newestChange(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** Whether oclif.manifest.json (written last by the build) is newer than every source and package.json. */
export function buildIsFresh(root: string): boolean {
  try {
    const manifest = statSync(path.join(root, 'oclif.manifest.json')).mtimeMs
    return manifest >= Math.max(newestChange(path.join(root, 'src')), statSync(path.join(root, 'package.json')).mtimeMs)
  } catch {
    return false
  }
}

function runNode(root: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {cwd: root, stdio: 'inherit'})
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} exited with ${code}`))))
  })
}

/** What `npm run build` runs, with this Node.js; unless the build is fresh (or `force`). Returns whether it built. */
export async function buildCli(root: string, options: {force?: boolean} = {}): Promise<boolean> {
  if (!options.force && buildIsFresh(root)) return false
  await runNode(root, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'])
  await runNode(root, [path.join(root, 'scripts', 'oclif-manifest.ts')])
  return true
}
