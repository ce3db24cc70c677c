import v8 from 'node:v8';
import vm from 'node:vm';

// V8 sizes its old generation for the machine, not for the job. Building the ledger index parses
// every line of a million-line ledger in a tight loop, and on a 24 GiB box V8 let the garbage
// reach ~340 MB RSS before collecting (the rows that follow sit near 215 MB, so nothing is
// retained). A hard --max-old-space-size would crash a run whose target legitimately holds a
// large directory, so the loop asks instead: a full collection whenever the heap has grown half
// again over the last one's live size.

const FLOOR = 32 * 1024 * 1024;
const GROWTH = 1.5;

let collect: (() => void) | undefined;
let threshold = FLOOR;

function collector(): () => void {
  if (!collect) {
    // The documented way to reach gc() without starting node with --expose-gc.
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  return collect;
}

/** Cheap (one heap statistic); collects only when the heap has outgrown what is alive. Called
 * for every batch of lines while the ledger index is built. */
export function tidyHeap(): void {
  if (v8.getHeapStatistics().used_heap_size <= threshold) return;
  collector()();
  threshold = Math.max(FLOOR, GROWTH * v8.getHeapStatistics().used_heap_size);
}
