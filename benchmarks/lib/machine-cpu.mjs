// Where the machine's CPU went during a measurement: the database server, the broker, the
// benchmark's own processes (this one and the relay or raw publisher it forked), and the rest
// (the kernel's own threads and interrupts, other programs). Read from /proc, so Linux only, and
// only the servers running on this machine are seen; elsewhere `machineCpu()` returns null.
//
// On a machine where the servers share the benchmark's cores, a relay that costs the machine
// more CPU per event than the raw publisher is slower in proportion once the cores are busy: the
// report shows both, so a ratio below target can be read as "which process spent the difference".
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Process names (/proc/<pid>/stat "comm") of each server kind. */
const ROLES = {
  database: new Set(['postgres', 'mariadbd', 'mysqld']),
  // RabbitMQ's VM and its helpers, and the other local brokers.
  broker: new Set(['beam.smp', 'erl_child_setup', 'epmd', 'inet_gethost', 'nats-server', 'redis-server']),
};
// USER_HZ: the unit of /proc times; 100 on every Linux the kernel documents it for.
const TICK_MS = 10;

/** Every process's name, parent and CPU ticks: its own (utime + stime) and its reaped children's (cutime + cstime). */
function readProcesses() {
  const processes = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    let text;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may contain spaces and parentheses: the fields start after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    processes.set(Number(name), {
      comm: text.slice(text.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    });
  }
  return processes;
}

/**
 * User + system CPU (ms) of a server's process tree: the root (the postmaster; mariadbd, one
 * process whose threads all count in its own stat), its live children (backends, walsenders,
 * background workers) and, through the root's reaped times, the children that already exited.
 */
export function processTreeCpuMs(rootPid) {
  if (rootPid === null) return NaN;
  let ticks = 0;
  for (const [pid, stat] of readProcesses()) {
    if (pid === rootPid) ticks += stat.own + stat.reaped;
    else if (stat.ppid === rootPid) ticks += stat.own;
  }
  return ticks * TICK_MS;
}

/** CPU ms so far: the whole machine (/proc/stat, every core) and each role; null off Linux. */
function snapshot() {
  let cpuLine;
  try {
    cpuLine = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return null;
  }
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const [user, nice, system, , , irq, softirq, steal] = cpuLine.trim().split(/\s+/).slice(1).map(Number);
  const totals = { machine: (user + nice + system + irq + softirq + (steal ?? 0)) * TICK_MS, database: 0, broker: 0, benchmark: 0 };
  const processes = readProcesses();
  const ours = new Set([process.pid]);
  // Descendants of this process (a forked relay child and anything it started).
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of processes) {
      if (!ours.has(pid) && ours.has(stat.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  for (const [pid, stat] of processes) {
    // Own + reaped: a live child's time is in its own row only; once reaped, in its parent's only
    // (an exited PostgreSQL backend in the postmaster's, an exited relay child in this process's).
    const ticks = (stat.own + stat.reaped) * TICK_MS;
    if (ours.has(pid)) totals.benchmark += ticks;
    else if (ROLES.database.has(stat.comm)) totals.database += ticks;
    else if (ROLES.broker.has(stat.comm)) totals.broker += ticks;
  }
  return totals;
}

/**
 * Starts measuring; `stop(wallMs)` returns the CPU ms each role used meanwhile, `otherMs` (the
 * machine's minus the three) and `busy` (the share of all cores' time that was busy); null off Linux.
 */
export function machineCpu() {
  const start = snapshot();
  return {
    stop(wallMs) {
      const end = snapshot();
      if (start === null || end === null) return null;
      const ms = (key) => Math.max(0, end[key] - start[key]);
      const used = { machineMs: ms('machine'), databaseMs: ms('database'), brokerMs: ms('broker'), benchmarkMs: ms('benchmark') };
      return {
        ...used,
        otherMs: Math.max(0, used.machineMs - used.databaseMs - used.brokerMs - used.benchmarkMs),
        busy: used.machineMs / (wallMs * availableParallelism()),
      };
    },
  };
}

const ROLE_NAMES = ['machine', 'database', 'broker', 'benchmark', 'other'];
/** `name` under a prefix: ('machineUsPerEvent', 'raw') -> 'rawMachineUsPerEvent'; '' leaves it. */
export function prefixed(name, prefix) {
  return prefix === '' ? name : prefix + name[0].toUpperCase() + name.slice(1);
}
/** The keys `cpuPerEvent` writes (unprefixed). */
export const MACHINE_FIGURES = Object.freeze([...ROLE_NAMES.map((role) => `${role}UsPerEvent`), 'machineBusy']);

/**
 * The flat per-event figures of a `machineCpu()` result, prefixed (`rawMachineUsPerEvent`...),
 * or nothing when there is none: `{ machineUsPerEvent, databaseUsPerEvent, brokerUsPerEvent,
 * benchmarkUsPerEvent, otherUsPerEvent, machineBusy }`.
 */
export function cpuPerEvent(used, events, prefix = '') {
  if (used === null || used === undefined || events <= 0) return {};
  const out = Object.fromEntries(ROLE_NAMES.map((role) => [prefixed(`${role}UsPerEvent`, prefix), (used[`${role}Ms`] * 1000) / events]));
  out[prefixed('machineBusy', prefix)] = used.busy;
  return out;
}
