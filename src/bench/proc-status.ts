import { readFileSync } from 'node:fs'

/** Memory figures of one process, in MB, as /proc/<pid>/status gives them. */
export interface ProcessMemory {
  /** Resident set size now (VmRSS). */
  readonly rssMb: number
  /** Peak resident set size since the process started (VmHWM). */
  readonly peakRssMb: number
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  return match?.[1] === undefined ? Number.NaN : Number(match[1])
}

/** Reads VmRSS and VmHWM of a process (`self` for this one) from /proc (Linux only). */
export function readMemory(pid: number | 'self' = 'self'): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return {
    rssMb: statusKb(status, 'VmRSS') / 1024,
    peakRssMb: statusKb(status, 'VmHWM') / 1024,
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  // USER_HZ is 100 on every Linux that node supports.
  return ticks * 10
}
