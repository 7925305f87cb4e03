import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { readCpuMs, readMemory, type ProcessMemory } from './proc-status.js'

/**
 * The built simulator CLI (`bin/conax-sim.js`) in a child process. The adapter never imports the
 * simulator: the benchmark meets it on the wire, as a deployment does.
 */
export class SimulatorChild {
  private readonly child: ChildProcess
  private readonly exited: Promise<void>
  private stderr = ''
  private hasExited = false

  /** Base URL the simulator printed (`http://127.0.0.1:<port>`). */
  readonly url: string
  readonly pid: number
  /** The admin API token the child was started with (CONTEGO_SIM_ADMIN_TOKEN). */
  readonly adminToken: string

  private constructor(child: ChildProcess, url: string, exited: Promise<void>, token: string) {
    this.child = child
    this.url = url
    this.adminToken = token
    this.pid = child.pid ?? -1
    this.exited = exited
  }

  /** Spawns `node <bin> ...args` and waits for its "listening on <url>" line. */
  static start(bin: string, args: readonly string[], timeoutMs = 120_000): Promise<SimulatorChild> {
    const token = randomBytes(32).toString('base64url')
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONTEGO_SIM_ADMIN_TOKEN: token },
    })
    let stderr = ''
    let done = false
    let instance: SimulatorChild | null = null
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
      if (instance) {
        instance.stderr = stderr
      }
    })
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        if (instance) {
          instance.hasExited = true
        }
        resolve()
      })
    })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done = true
        child.kill('SIGKILL')
        reject(new Error(`conax-sim did not print its URL within ${timeoutMs} ms: ${stderr}`))
      }, timeoutMs)
      void exited.then(() => {
        if (!done) {
          done = true
          clearTimeout(timer)
          reject(new Error(`conax-sim exited before listening (code ${child.exitCode}): ${stderr}`))
        }
      })
      // Keep reading stdout for the whole run, so that the pipe never fills up.
      createInterface({ input: child.stdout }).on('line', (line) => {
        const url = /listening on (http:\/\/\S+)/.exec(line)?.[1]
        if (url && !done) {
          done = true
          clearTimeout(timer)
          instance = new SimulatorChild(child, url, exited, token)
          resolve(instance)
        }
      })
    })
  }

  /** Calls the simulator's admin API (`path` like `/admin/stats`) with its token. */
  admin(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        Authorization: `Bearer ${this.adminToken}`,
      },
    })
  }

  /** The child's VmRSS and VmHWM (peak since it started), read from /proc/<pid>/status. */
  memory(): ProcessMemory {
    return readMemory(this.pid)
  }

  /** CPU time (user + system) the child has used so far, in ms. */
  cpuMs(): number {
    return readCpuMs(this.pid)
  }

  /** The last lines the child wrote on stderr (for error messages). */
  lastErrors(): string {
    return this.stderr
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.hasExited) {
      return
    }
    this.child.kill('SIGTERM')
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(kill)
  }
}
