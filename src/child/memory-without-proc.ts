import { getHeapStatistics } from 'node:v8';

/**
 * Where there is no /proc (a chroot, a sandbox or container that mounts none), `process.memoryUsage()`
 * throws: libuv reads the resident set size from /proc/self/stat. tinypool's child entry calls it
 * after every task, outside any call, with the function it bound as it loaded: each child then
 * ended after its first call (its calls answered, a CHILD_THREW warning the only sign), and the pool
 * started a new one for every call. So, run before that entry loads (sentinel-first.ts), this gives
 * such a process V8's own figures instead: the heap as it is, and for `rss` the heap's physical size
 * with the memory V8 knows to be held outside it (an estimate; the true figure needs /proc).
 */
export function memoryUsageWithoutProc(): void {
  try {
    process.memoryUsage();
    return;
  } catch {}
  const usage = (): NodeJS.MemoryUsage => {
    const heap = getHeapStatistics() as ReturnType<typeof getHeapStatistics> & { external_memory?: number };
    const external = heap.external_memory ?? 0;
    return {
      rss: heap.total_physical_size + heap.malloced_memory + external,
      heapTotal: heap.total_heap_size,
      heapUsed: heap.used_heap_size,
      external,
      arrayBuffers: 0,
    };
  };
  usage.rss = () => usage().rss;
  process.memoryUsage = usage;
}
