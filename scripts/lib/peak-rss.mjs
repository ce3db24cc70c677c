// Preloaded into the CLI by the benchmarks (node --import): reports the process's peak resident
// set size on exit, on stderr, where the benchmark picks it up.
// VmHWM from /proc, not process.resourceUsage().maxRSS: Linux carries the parent's high-water
// mark across fork+exec into ru_maxrss, so a CLI spawned by a 1 GB benchmark process would
// "peak" at 1 GB without ever using it. VmHWM belongs to this process's own address space.
import { readFileSync } from 'node:fs';

process.on('exit', () => {
  let kib = process.resourceUsage().maxRSS;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) kib = Number(match[1]);
  } catch {
    // Not Linux: maxRSS is the best there is.
  }
  // CPU time of the whole process, worker threads included: on a shared machine, work per
  // CPU-second is the figure that does not depend on what else is running.
  const cpu = process.cpuUsage();
  // The main thread's own CPU time (Linux): the work no other thread can take, which is about
  // what the run would take by the wall clock on an idle machine.
  let main = '';
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    main = `\nmain-thread-cpu-ms ${(Number(fields[11]) + Number(fields[12])) * 10}`;
  } catch {
    // Not Linux: no figure.
  }
  process.stderr.write(`\npeak-rss-kib ${kib}\ncpu-ms ${Math.round((cpu.user + cpu.system) / 1000)}${main}\n`);
});
