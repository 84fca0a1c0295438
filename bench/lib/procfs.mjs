// Readings from /proc: a process's resident memory and CPU time, the machine's CPU time, and TCP connections.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Resident memory of a process in KiB and its thread count (from /proc/<pid>/status): rss = VmRSS, anon = RssAnon
 * (the private part: heaps, stacks, JIT code; VmRSS also counts the mapped files, such as assemblies, that were touched).
 */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name} line`);
    return Number(match[1]);
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), threads: Number(/^Threads:\s+(\d+)$/m.exec(status)?.[1] ?? 0) };
}

/** True while the process exists. */
export function alive(pid) {
  try {
    readFileSync(`/proc/${pid}/stat`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

/** The command line of a process, arguments joined by spaces. */
export function commandLine(pid) {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** {ppid, cpu}: the parent pid and the user + system CPU seconds of a process (from /proc/<pid>/stat); null when gone. */
function stat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: the fields after it start behind the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name come field 3 of stat(5) (state), 4 (ppid), ... 14 (utime), 15 (stime).
  return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** User + system CPU seconds a process has used; 0 when it is gone. */
export function cpuSeconds(pid) {
  return stat(pid)?.cpu ?? 0;
}

/** CPU seconds of a process and its direct children (e.g. the PostgreSQL postmaster and its backends). */
export function cpuSecondsWithChildren(pid) {
  let total = cpuSeconds(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s && s.ppid === pid) total += s.cpu;
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine, over all cores (from /proc/stat). */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / TICKS_PER_SECOND, total: (busy + idle + iowait) / TICKS_PER_SECOND };
}

/** The 1-minute load average. */
export function loadAverage() {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * Established IPv4 and IPv6 TCP connections whose remote end is `port` (from /proc/net/tcp and tcp6), as a set of
 * "local address->remote address" keys, so the same connections can be found again later.
 */
export function connectionsTo(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 4) continue;
      // columns: sl, local_address, rem_address, st (01 = ESTABLISHED)
      if (columns[3] === '01' && columns[2].endsWith(`:${hexPort}`)) found.add(`${columns[1]}->${columns[2]}`);
    }
  }
  return found;
}
