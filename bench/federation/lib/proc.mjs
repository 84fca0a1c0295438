// Readings from /proc: a process's CPU time and peak RSS, and how busy each core was.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system) of a process, in ms; null when it is gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** A field of /proc/<pid>/status in kB (e.g. VmHWM, the peak RSS); null when it is gone. */
export function processStatusKb(pid, field) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Busy and total jiffies per core (cpu0, cpu1, ...), from /proc/stat. */
export function coreTimes() {
  const cores = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^cpu(\d+)\s+(.*)$/);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    cores[m[1]] = { busy, total: busy + idle + iowait };
  }
  return cores;
}

/** Percent busy of each core between two coreTimes() readings. */
export function coreBusyPercent(before, after) {
  const result = {};
  for (const core of Object.keys(after)) {
    const total = after[core].total - before[core].total;
    result[core] = total > 0 ? (100 * (after[core].busy - before[core].busy)) / total : 0;
  }
  return result;
}

/** The load average (1 minute). */
export function loadAverage() {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
