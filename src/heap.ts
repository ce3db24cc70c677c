import v8 from 'node:v8';
import vm from 'node:vm';

// V8 sizes its old generation for the machine, not for the job. Measured on a million-row
// re-run on a 24 GiB box: building the ledger index let garbage reach ~340 MB RSS before V8
// collected, and once rows flowed the heap settled some 40 MB above what was alive (rows live
// across many awaits, so their garbage is promoted). Nothing is retained, but peak RSS went over
// budget. A hard --max-old-space-size would crash a run whose target legitimately holds a large
// directory, so the long loops ask instead: a full collection whenever the heap has grown half
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
 * for every batch of lines while the ledger index is built and every 1024 rows of a run. */
export function tidyHeap(): void {
  if (v8.getHeapStatistics().used_heap_size <= threshold) return;
  collector()();
  threshold = Math.max(FLOOR, GROWTH * v8.getHeapStatistics().used_heap_size);
}
