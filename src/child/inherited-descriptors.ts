import { closeSync } from 'node:fs';
import { closeDescriptorsArgument } from '../protocol.js';
import { controlFd, noticeFd } from './pipes.js';

/**
 * Closes the descriptors a sandboxed pool's parent holds without close-on-exec, which this child
 * inherited (pool/local/inherited-descriptors.ts): the permission model does not check what is read
 * or written through them. Before anything of the pool's runs here. Not the IPC channel nor the
 * pipes beside it, which Node may have placed on one of their numbers.
 */
export function closeInheritedDescriptors(): void {
  const at = process.argv.indexOf(closeDescriptorsArgument);
  if (at < 0) return;
  // Node has taken NODE_CHANNEL_FD out of the environment by now; the channel knows its descriptor.
  const channel = (process.channel as { fd?: number } | undefined)?.fd ?? 3;
  for (const fd of JSON.parse(process.argv[at + 1] ?? '[]') as number[]) {
    if (!Number.isInteger(fd) || fd <= 2 || fd === channel || fd === noticeFd || fd === controlFd) continue;
    try {
      closeSync(fd);
    } catch {
      // Not open here: nothing to close.
    }
  }
}
