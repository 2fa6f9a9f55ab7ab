// Runs the real kubectl built for the test bed.
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const execFileAsync = promisify(execFile)

export interface KubectlResult {
  stdout: string
  stderr: string
  code: number
}

export async function kubectl(binary: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<KubectlResult> {
  try {
    const {stdout, stderr} = await execFileAsync(binary, args, {env: {...process.env, ...env}, maxBuffer: 256 * 1024 * 1024})
    return {stdout, stderr, code: 0}
  } catch (error) {
    const failed = error as {stdout?: string; stderr?: string; code?: number}
    return {stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: typeof failed.code === 'number' ? failed.code : 1}
  }
}
