import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) that processes have used, from /proc/<pid>/stat. On a
 * shared 2-core machine wall time swings with everyone else's work; CPU time per step
 * (gateway, NATS server, PostgreSQL backends) says where the work is, and how much of
 * the two cores the pipeline needs at all. Linux only; a process that is gone counts 0.
 */
const CLOCK_TICKS_PER_SECOND = 100;

export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces, inside parentheses): utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Processes whose command name (/proc/<pid>/comm) is `name`, e.g. the machine's nats-server. */
export function pidsNamed(name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'latin1').trim() === name) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
