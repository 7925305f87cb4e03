import { readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

/**
 * The child side of the benchmark's line protocol. A server child writes one JSON object per line
 * on stdout (`ready` once, then one `report` per `report` command) and reads commands, one per
 * line, on stdin:
 *
 * - `reset-peak`: start a new measurement window (peak RSS counted from now);
 * - `report`: answer the memory figures of the current window;
 * - `cpu`: answer the CPU time this process has used so far (user and system, microseconds);
 * - end of stdin or SIGTERM: close and exit.
 */

const MB = 1024 * 1024

/** Memory figures of this process, in MB, as /proc/self/status gives them. */
export interface MemoryReading {
  /** Resident set size now (VmRSS). */
  readonly rssMb: number
  /** Peak resident set size (VmHWM) since start or since the last peak reset. */
  readonly hwmMb: number
}

/** A `report` line: the figures of the window since the last `reset-peak`. */
export interface ChildReport extends MemoryReading {
  readonly type: 'report'
  /** Highest RSS seen by a 50 ms sampler in the window (a cross-check of `hwmMb`). */
  readonly sampledPeakMb: number
  /** Whether the kernel's peak counter could be reset, so `hwmMb` covers the window only. */
  readonly peakResetWorks: boolean
  readonly heapUsedMb: number
  /** Anything server-specific (the simulator adds its journal's status counts). */
  readonly extra: Record<string, unknown>
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return match?.[1] === undefined ? Number.NaN : Number(match[1])
}

/** Reads VmRSS and VmHWM of this process from /proc/self/status. */
export function readMemory(): MemoryReading {
  const status = readFileSync('/proc/self/status', 'utf8')
  return {
    rssMb: statusKb(status, 'VmRSS') / 1024,
    hwmMb: statusKb(status, 'VmHWM') / 1024,
  }
}

/** Resets the kernel's VmHWM to the current RSS (Linux >= 4.0); false when not allowed. */
function resetKernelPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** Writes one protocol line on stdout. */
export function sendLine(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

/** Serves the command loop until stdin ends or SIGTERM, then runs `close` and exits. */
export function serveCommands(
  close: () => Promise<void>,
  extra: () => Record<string, unknown> = () => ({}),
): void {
  let sampledPeak = process.memoryUsage.rss()
  let peakResetWorks = false
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss())
  }, 50)
  sampler.unref()

  const report = (): ChildReport => {
    const memory = readMemory()
    return {
      type: 'report',
      ...memory,
      sampledPeakMb: Math.max(sampledPeak, process.memoryUsage.rss()) / MB,
      peakResetWorks,
      heapUsedMb: process.memoryUsage().heapUsed / MB,
      extra: extra(),
    }
  }

  let closing = false
  const shutdown = (): void => {
    if (closing) {
      return
    }
    closing = true
    clearInterval(sampler)
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('bench server failed to close:', error)
        process.exit(1)
      },
    )
  }

  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const command = line.trim()
    if (command === 'reset-peak') {
      peakResetWorks = resetKernelPeak()
      sampledPeak = process.memoryUsage.rss()
      sendLine({ type: 'ack', command, peakResetWorks, ...readMemory() })
    } else if (command === 'report') {
      sendLine({ ...report() })
    } else if (command === 'cpu') {
      const cpu = process.cpuUsage()
      sendLine({ type: 'cpu', userUs: cpu.user, systemUs: cpu.system })
    } else if (command !== '') {
      sendLine({ type: 'error', message: `unknown command '${command}'` })
    }
  })
  lines.on('close', shutdown)
  process.on('SIGTERM', shutdown)
}
