// Runs one build tool (npm, tar, postject, rcodesign, cargo) as a child process with its output kept back: a tool
// that succeeds says nothing on our screen, one that fails has the end of its output in the error.
import {spawn} from 'node:child_process'

export interface RunToolOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Called with each line the tool prints, as it prints it (for long runs such as cargo install). */
  onLine?: (line: string) => void
}

/** Runs `command args`, resolves with its standard output; rejects with the last 4 KB of its output if it fails. */
export function runTool(command: string, args: string[], options: RunToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let all = ''
    const collect = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString()
      if (isStdout) stdout += text
      all += text
      if (all.length > 64_000) all = all.slice(-16_000)
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line)
    }
    child.stdout.on('data', (chunk: Buffer) => collect(chunk, true))
    child.stderr.on('data', (chunk: Buffer) => collect(chunk, false))
    child.on('error', (error) => reject(new Error(`cannot run ${command}: ${error.message}`)))
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout)
      else reject(new Error(`${command} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with ${code}`}:\n${all.slice(-4096)}`))
    })
  })
}
