// CPU time of processes on this machine, read from /proc (Linux): what a benchmark charges
// each part of the path it measures.
import { execSync } from "node:child_process";
import fs from "node:fs";

const CLK_TCK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** The parent process id of a process (fields of /proc/<pid>/stat after the command's closing parenthesis). */
export function parentPid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** CPU seconds (user + system) of a process, with its reaped children's when asked; 0 once it has gone. */
export function cpuSeconds(pid: number, withChildren = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of the whole PostgreSQL server: the postmaster (with its exited children) and every live backend. */
export function postgresCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster, true);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentPid(Number(entry)) === postmaster) total += cpuSeconds(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}
