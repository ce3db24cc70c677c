import v8 from 'node:v8';
import { tidyHeap } from '../src/heap.js';

describe('tidyHeap', () => {
  test('collects garbage once the heap has outgrown what is alive, instead of waiting for V8', () => {
    let garbage: number[][] | undefined = Array.from({ length: 150 }, (_, i) => new Array<number>(100_000).fill(i));
    const before = v8.getHeapStatistics().used_heap_size;
    garbage = undefined;
    void garbage;
    tidyHeap();
    const after = v8.getHeapStatistics().used_heap_size;
    expect(before - after).toBeGreaterThan(50 * 1024 * 1024);
  });

  test('does nothing while the heap is small', () => {
    tidyHeap(); // the threshold is now 1.5 × the live size
    const before = v8.getHeapStatistics().used_heap_size;
    const kept = new Array<number>(1000).fill(1);
    tidyHeap();
    expect(v8.getHeapStatistics().used_heap_size).toBeGreaterThanOrEqual(before);
    expect(kept).toHaveLength(1000);
  });
});
