import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildReport, MemoryReading } from './child-protocol.js'

/** The `ready` line every server child prints first. */
export interface ReadyLine {
  readonly type: 'ready'
  readonly url: string
  /** The simulator's admin token (simulator children only). */
  readonly adminToken?: string
  readonly pid: number
  readonly afterLoad: MemoryReading
  readonly beforeLoad?: MemoryReading
  readonly loadMs?: number
  /** CPU time of the start, all threads (simulator children only). */
  readonly loadCpuMs?: number
  readonly cards?: number
  readonly products?: readonly string[]
  readonly cardIds?: readonly string[]
  /** What a simulator's log store found at start (durable children only). */
  readonly store?: unknown
}

type Line = { readonly type: string } & Record<string, unknown>

/** A benchmark server running in its own node process, driven over the line protocol. */
export class ServerProcess {
  private readonly child: ChildProcess
  private readonly waiting: { resolve: (line: Line) => void; reject: (e: Error) => void }[] = []
  private exited: Error | null = null
  private readonly exit: Promise<void>

  readonly name: string

  private constructor(name: string, script: string, args: readonly string[]) {
    this.name = name
    this.child = spawn(process.execPath, [script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = new Error(`${name} exited (code ${code ?? '-'}, signal ${signal ?? '-'}).`)
        for (const waiter of this.waiting.splice(0)) {
          waiter.reject(this.exited)
        }
        resolve()
      })
    })
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.onLine(text))
  }

  /** Spawns `node <script next to this file> ...args` and waits for its `ready` line. */
  static async start(
    name: string,
    scriptFile: string,
    args: readonly string[] = [],
    timeoutMs = 120_000,
  ): Promise<{ server: ServerProcess; ready: ReadyLine }> {
    const script = fileURLToPath(new URL(scriptFile, import.meta.url))
    const server = new ServerProcess(name, script, args)
    try {
      const ready = await server.next(timeoutMs)
      if (ready.type !== 'ready') {
        throw new Error(`${name} answered '${ready.type}' instead of its ready line.`)
      }
      return { server, ready: ready as unknown as ReadyLine }
    } catch (error) {
      await server.stop()
      throw error
    }
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Starts a new measurement window in the child (peak RSS and CPU time from now). */
  async resetPeak(): Promise<void> {
    const line = await this.command('reset-peak')
    if (line.type !== 'ack') {
      throw new Error(`${this.name} did not acknowledge reset-peak: ${JSON.stringify(line)}`)
    }
  }

  /** The child's figures for the window since the last reset. */
  async report(): Promise<ChildReport> {
    const line = await this.command('report')
    if (line.type !== 'report') {
      throw new Error(`${this.name} answered '${line.type}' to report: ${JSON.stringify(line)}`)
    }
    return line as unknown as ChildReport
  }

  /** CPU time (user + system) the child has used so far, in microseconds. */
  async cpuMicros(): Promise<number> {
    const line = await this.command('cpu')
    if (
      line.type !== 'cpu' ||
      typeof line.userUs !== 'number' ||
      typeof line.systemUs !== 'number'
    ) {
      throw new Error(`${this.name} answered ${JSON.stringify(line)} to cpu.`)
    }
    return line.userUs + line.systemUs
  }

  /** Ends the child's stdin (it closes and exits); SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) {
      return
    }
    this.child.stdin?.end()
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exit
    clearTimeout(kill)
  }

  private command(text: string): Promise<Line> {
    if (this.exited) {
      return Promise.reject(this.exited)
    }
    const answer = this.next(30_000)
    this.child.stdin!.write(`${text}\n`)
    return answer
  }

  private next(timeoutMs: number): Promise<Line> {
    if (this.exited) {
      return Promise.reject(this.exited)
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (line: Line) => {
          clearTimeout(timer)
          resolve(line)
        },
        reject: (error: Error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(waiter)
        if (index >= 0) {
          this.waiting.splice(index, 1)
        }
        reject(new Error(`${this.name} did not answer within ${timeoutMs} ms.`))
      }, timeoutMs)
      this.waiting.push(waiter)
    })
  }

  private onLine(text: string): void {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      console.error(`[${this.name}] ${text}`)
      return
    }
    const waiter = this.waiting.shift()
    if (waiter) {
      waiter.resolve(line)
    } else {
      console.error(`[${this.name}] unexpected line: ${text.slice(0, 200)}`)
    }
  }
}
